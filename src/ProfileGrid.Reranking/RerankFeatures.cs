using ProfileGrid.Recommendations;

namespace ProfileGrid.Reranking;

/// <summary>
/// What the features need of the user, computed once per request rather than once per candidate: the share of the
/// history in each category, the history by item id, and the request time.
/// </summary>
public sealed class RerankUserSummary
{
    private readonly Dictionary<string, double> _categoryShares;
    private readonly Dictionary<string, ItemInteraction> _history;

    private RerankUserSummary(RerankUser user, Dictionary<string, double> categoryShares, Dictionary<string, ItemInteraction> history, DateTimeOffset now)
    {
        User = user;
        _categoryShares = categoryShares;
        _history = history;
        Now = now;
    }

    /// <summary>The user as given.</summary>
    public RerankUser User { get; }

    /// <summary>The request time (serving: now; training: when the impression was logged).</summary>
    public DateTimeOffset Now { get; }

    /// <summary>Summarises <paramref name="user"/> at <paramref name="now"/>.</summary>
    /// <param name="categoryOf">The catalog's category of a history item (null: unknown item or no category).</param>
    /// <exception cref="ArgumentException">The user or their history is missing.</exception>
    public static RerankUserSummary Create(RerankUser user, Func<string, string?> categoryOf, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(categoryOf);
        if (user.History is null)
        {
            throw new ArgumentException("user.History is required (an empty list for a user without history).", nameof(user));
        }

        var history = new Dictionary<string, ItemInteraction>(user.History.Count, StringComparer.Ordinal);
        foreach (var interaction in user.History)
        {
            history[interaction.ItemId] = interaction;
        }

        var counts = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var itemId in history.Keys)
        {
            if (categoryOf(itemId) is { } category)
            {
                counts[category] = counts.GetValueOrDefault(category) + 1;
            }
        }

        // Share of all history items, those without a category included: a user with one categorised item out of
        // fifty is not a fan of that category.
        foreach (var category in counts.Keys)
        {
            counts[category] /= history.Count;
        }

        return new RerankUserSummary(user, counts, history, now);
    }

    internal double CategoryShare(string? category) => category is null ? 0 : _categoryShares.GetValueOrDefault(category);

    internal int HistoryCount => _history.Count;

    internal bool TryGetInteraction(string itemId, out ItemInteraction interaction) => _history.TryGetValue(itemId, out interaction);
}

/// <summary>
/// The feature vector of one (user, candidate item, list context) pair: a fixed-length float vector whose layout is
/// <see cref="Names"/>. Every feature is computed from what the serving path has at request time and what the trainer
/// can rebuild for a logged impression (docs/reranker.md lists them with their meaning):
/// <list type="bullet">
/// <item><c>base_rank</c>: the base recommender's 1-based position (the position bias the model must learn around).</item>
/// <item><c>base_score</c>: the base recommender's score.</item>
/// <item><c>log_popularity</c>: ln(1 + global popularity).</item>
/// <item><c>price_band</c>: floor(log2(1 + price)) (0 for free, 7 for 127..254); -1 when the price is unknown.</item>
/// <item><c>category_affinity</c>: the share of the user's history items in the candidate's category (0..1).</item>
/// <item><c>user_activity</c>: ln(1 + number of items in the user's history).</item>
/// <item><c>interacted</c>: 1 when the user already viewed, carted or bought the item.</item>
/// <item><c>purchased</c>: 1 when the user already bought it.</item>
/// <item><c>days_since_item_interaction</c>: ln(1 + days since the user last touched the item); -1 when never.</item>
/// <item><c>times_ignored</c>: times shown since the last click, capped at 50.</item>
/// <item><c>user_tenure</c>: ln(1 + days since the user was first seen).</item>
/// <item><c>age_band</c>: ordinal 1 (under_18) .. 7 (65_plus); 0 unknown or unrecognised.</item>
/// <item><c>source=*</c>: one-hot over the fixed vocabulary cf, ease, popular, segment-popular, trending, rule, other.</item>
/// <item><c>gender=*</c>: one-hot over the fixed vocabulary none, female, male, nonbinary, other.</item>
/// <item><c>segment=*</c>: one-hot; bucket none for -1, else bucket id mod 15.</item>
/// <item><c>slot=*</c>: one-hot; bucket none for null, else a stable FNV-1a hash of the lower-cased slot mod 7 (hashed
/// because slots are tenant-defined; the hash is the same on every silo, unlike <see cref="string.GetHashCode()"/>).</item>
/// </list>
/// Changing the layout changes <see cref="Layout"/>, and a model saved with another layout will not load.
/// </summary>
public sealed class RerankFeatures
{
    private static readonly string[] Sources =
    [
        RecommendationSources.ItemItemCf, RecommendationSources.Ease, RecommendationSources.Popular,
        RecommendationSources.SegmentPopular, RecommendationSources.Trending, RecommendationSources.Rule, "other",
    ];

    private static readonly string[] Genders = ["none", "female", "male", "nonbinary", "other"];

    private static readonly string[] AgeBands = ["under_18", "18_24", "25_34", "35_44", "45_54", "55_64", "65_plus"];

    /// <summary>Hashed buckets besides "none" for segments and slots.</summary>
    private const int SegmentBuckets = 15;
    private const int SlotBuckets = 7;
    private const int MaxTimesIgnored = 50;

    /// <summary>The index of base_rank, the base order the trainer compares against.</summary>
    internal const int BaseRank = 0;

    private const int BaseScore = 1, LogPopularity = 2, PriceBand = 3, CategoryAffinity = 4, UserActivity = 5,
        Interacted = 6, Purchased = 7, DaysSinceItemInteraction = 8, TimesIgnored = 9, UserTenure = 10, AgeBand = 11;
    private const int SourceStart = 12;
    private static readonly int GenderStart = SourceStart + Sources.Length;
    private static readonly int SegmentStart = GenderStart + Genders.Length;
    private static readonly int SlotStart = SegmentStart + 1 + SegmentBuckets;

    /// <summary>The number of features.</summary>
    public static readonly int Length = SlotStart + 1 + SlotBuckets;

    /// <summary>The feature names, in vector order.</summary>
    public static IReadOnlyList<string> Names { get; } = BuildNames();

    /// <summary>
    /// A fingerprint of the layout (names in order), stored with every saved model so that a model trained on another
    /// layout is refused at load rather than fed misplaced features.
    /// </summary>
    public static uint Layout { get; } = Fnv1a(string.Join(",", Names));

    private readonly float[] _values;

    private RerankFeatures(float[] values) => _values = values;

    /// <summary>The feature values, in the order of <see cref="Names"/>.</summary>
    public ReadOnlySpan<float> Values => _values;

    internal float[] Array => _values;

    /// <summary>The features of <paramref name="candidate"/> for the summarised user.</summary>
    /// <exception cref="ArgumentException">The position is not 1-based, the source is missing, or a number is not finite.</exception>
    public static RerankFeatures Compute(RerankUserSummary user, RerankCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(candidate);
        var (item, context) = (candidate.Item, candidate.Context);
        ArgumentNullException.ThrowIfNull(item, nameof(candidate.Item));
        ArgumentNullException.ThrowIfNull(context, nameof(candidate.Context));
        if (context.Position < 1)
        {
            throw new ArgumentException($"context.Position is 1-based ({context.Position}).", nameof(candidate));
        }

        if (!double.IsFinite(context.BaseScore))
        {
            throw new ArgumentException($"context.BaseScore must be a finite number ({context.BaseScore}).", nameof(candidate));
        }

        if (string.IsNullOrEmpty(context.Source))
        {
            throw new ArgumentException("context.Source is required (cf, ease, popular, segment-popular, trending or rule).", nameof(candidate));
        }

        var v = new float[Length];
        v[BaseRank] = context.Position;
        v[BaseScore] = (float)context.BaseScore;
        v[LogPopularity] = (float)Math.Log(1 + Math.Max(0, FiniteOrZero(item.Popularity)));
        v[PriceBand] = item.Price is { } price && double.IsFinite(price) && price >= 0 ? MathF.Floor((float)Math.Log2(1 + price)) : -1;
        v[CategoryAffinity] = (float)user.CategoryShare(item.Category);
        v[UserActivity] = (float)Math.Log(1 + user.HistoryCount);
        if (user.TryGetInteraction(item.ItemId, out var interaction))
        {
            v[Interacted] = 1;
            v[Purchased] = interaction.Purchases > 0 ? 1 : 0;
            v[DaysSinceItemInteraction] = (float)Math.Log(1 + Math.Max(0, (user.Now - interaction.LastAt).TotalDays));
        }
        else
        {
            v[DaysSinceItemInteraction] = -1;
        }

        v[TimesIgnored] = Math.Clamp(item.TimesIgnored, 0, MaxTimesIgnored);
        v[UserTenure] = (float)Math.Log(1 + Math.Max(0, FiniteOrZero(user.User.DaysSinceFirstSeen)));
        v[AgeBand] = user.User.AgeBand is { } band ? System.Array.IndexOf(AgeBands, band.ToLowerInvariant()) + 1 : 0;
        v[SourceStart + SourceIndex(context.Source)] = 1;
        v[GenderStart + GenderIndex(user.User.Gender)] = 1;
        v[SegmentStart + (user.User.SegmentId < 0 ? 0 : 1 + user.User.SegmentId % SegmentBuckets)] = 1;
        v[SlotStart + (context.Slot is null ? 0 : 1 + (int)(Fnv1a(context.Slot.ToLowerInvariant()) % SlotBuckets))] = 1;
        return new RerankFeatures(v);
    }

    /// <summary>
    /// Wraps a vector computed earlier (say, logged with the impression) by <see cref="Compute"/> with this layout.
    /// </summary>
    /// <exception cref="ArgumentException">The vector's length is not <see cref="Length"/> or a value is not finite.</exception>
    public static RerankFeatures FromValues(ReadOnlySpan<float> values)
    {
        if (values.Length != Length)
        {
            throw new ArgumentException($"values must hold {Length} features ({values.Length}).", nameof(values));
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new ArgumentException($"values[{i}] ({Names[i]}) is not finite ({values[i]}).", nameof(values));
            }
        }

        return new RerankFeatures(values.ToArray());
    }

    private static double FiniteOrZero(double value) => double.IsFinite(value) ? value : 0;

    private static int SourceIndex(string source)
    {
        var index = System.Array.IndexOf(Sources, source.ToLowerInvariant());
        return index >= 0 ? index : Sources.Length - 1;
    }

    private static int GenderIndex(string? gender) => gender?.ToLowerInvariant() switch
    {
        null or "" or "unknown" => 0,
        "female" => 1,
        "male" => 2,
        "nonbinary" or "non_binary" or "non-binary" => 3,
        _ => 4,
    };

    private static string[] BuildNames()
    {
        var names = new List<string>
        {
            "base_rank", "base_score", "log_popularity", "price_band", "category_affinity", "user_activity",
            "interacted", "purchased", "days_since_item_interaction", "times_ignored", "user_tenure", "age_band",
        };
        names.AddRange(Sources.Select(s => $"source={s}"));
        names.AddRange(Genders.Select(g => $"gender={g}"));
        names.Add("segment=none");
        names.AddRange(Enumerable.Range(0, SegmentBuckets).Select(b => $"segment=bucket{b}"));
        names.Add("slot=none");
        names.AddRange(Enumerable.Range(0, SlotBuckets).Select(b => $"slot=bucket{b}"));
        return names.ToArray();
    }

    /// <summary>32-bit FNV-1a over the UTF-16 code units: stable across processes and machines.</summary>
    internal static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ (uint)(c & 0xFF)) * 16777619u;
            hash = (hash ^ (uint)(c >> 8)) * 16777619u;
        }

        return hash;
    }
}
