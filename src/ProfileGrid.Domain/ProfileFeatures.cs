using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// The segmentation feature vector of a profile as of a time: plain numbers in original units, taken from its
/// <see cref="ProfileView"/> (unrounded), so they are the figures a read shows. Nothing here is stored.
/// </summary>
/// <remarks>
/// Features, by name:
/// <list type="bullet">
/// <item><c>recency_days</c>: days since the last purchase; for a profile that never purchased, days since it was
/// first seen (a feature vector needs a number where the profile has none); 0 without events.</item>
/// <item><c>frequency</c>: orders ever (lifetime).</item>
/// <item><c>monetary</c>: revenue ever (lifetime), in the reporting currency.</item>
/// <item><c>average_order_value</c>: all-time revenue per priced order, in the reporting currency; 0 without priced orders.</item>
/// <item><c>engagement_velocity</c>: <see cref="ProfileMetrics.EngagementVelocity"/>, decayed events per day.</item>
/// <item><c>sessions</c>: sessions ever counted.</item>
/// <item><c>tenure_days</c>: days since first seen; 0 without events.</item>
/// <item><c>category_diversity</c>: number of categories with a positive affinity.</item>
/// <item><c>days_since_last_seen</c>: days since the last event of any kind; 0 without events. Unlike
/// <c>recency_days</c> it tells a lapsed user from one who still visits but rarely buys.</item>
/// <item><c>frequency_365d</c>: orders in the 365-day window (today included); lifetime orders when no 365-day
/// window is configured.</item>
/// <item><c>monetary_365d</c>: revenue in the 365-day window, in the reporting currency; lifetime when no 365-day
/// window is configured.</item>
/// <item><c>days_since_first_purchase</c>: days since the first purchase; for a profile that never purchased, days
/// since it was first seen (as <c>recency_days</c>); 0 without events.</item>
/// </list>
/// The windowed pair says what a customer is worth now; the lifetime pair is classic RFM over the whole history.
/// New features are appended, so a vector's columns keep their positions across releases.
/// </remarks>
public static class ProfileFeatures
{
    private const int FrequencyWindowDays = 365;

    /// <summary>Below this a double is subnormal: it has lost digits on its way to 0.</summary>
    private const double SmallestNormalDouble = 2.2250738585072014E-308;

    /// <summary>Every feature name, in the default vector order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        "recency_days", "frequency", "monetary", "average_order_value", "engagement_velocity", "sessions", "tenure_days", "category_diversity",
        "days_since_last_seen", "frequency_365d", "monetary_365d", "days_since_first_purchase",
    ];

    /// <summary>The features whose value counts only a window of days, so they fall as old orders leave it.</summary>
    public static IReadOnlyList<string> Windowed { get; } = ["frequency_365d", "monetary_365d"];

    private static readonly HashSet<string> HeavyTailed = new(StringComparer.Ordinal)
    {
        "frequency", "monetary", "average_order_value", "engagement_velocity", "sessions", "frequency_365d", "monetary_365d",
        // How long ago someone arrived matters on a relative scale (a week against a month, not 14 against 15 months):
        // on the log scale the newest customers stand apart from those of a few months ago.
        "tenure_days", "days_since_first_purchase",
    };

    /// <summary>
    /// The values of <paramref name="features"/> (default <see cref="All"/>), in that order, as of <paramref name="now"/>:
    /// those of the read view built at that instant (<see cref="Extract(ProfileView, IReadOnlyList{string}?)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">A feature name is not one of <see cref="All"/>.</exception>
    public static double[] Extract(UserProfile profile, ProfileOptions options, DateTimeOffset now, IReadOnlyList<string>? features = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        features ??= All;
        Check(features);
        return Extract(ProfileViews.BuildFeatureBasis(profile, options, now), features);
    }

    /// <summary>
    /// The values of <paramref name="features"/> (default <see cref="All"/>), in that order, as of the view's
    /// <see cref="ProfileView.AsOf"/>: the figures a read of the same view shows, unrounded, so the segments and
    /// GetProfile agree by construction.
    /// </summary>
    /// <exception cref="ArgumentException">A feature name is not one of <see cref="All"/>.</exception>
    public static double[] Extract(ProfileView view, IReadOnlyList<string>? features = null)
    {
        ArgumentNullException.ThrowIfNull(view);
        features ??= All;
        Check(features);
        var behavior = view.Behavior;
        var now = view.AsOf;

        var values = new double[features.Count];
        for (var i = 0; i < features.Count; i++)
        {
            values[i] = features[i] switch
            {
                // A vector needs a number where the profile has none: a user who never bought counts from first seen.
                "recency_days" => DaysSince(behavior.LastPurchaseAt ?? behavior.FirstSeen, now),
                "frequency" => behavior.Orders,
                "monetary" => (double)behavior.Monetary.Amount,
                "average_order_value" => (double)(behavior.AverageOrderValue?.Amount ?? 0m),
                "engagement_velocity" => behavior.EngagementAsOf is { } basis
                    ? behavior.EngagementScore * Decay.Factor(now - basis, view.EngagementHalfLife) * Decay.RatePerDay(view.EngagementHalfLife)
                    : 0,
                "sessions" => behavior.Sessions,
                "tenure_days" => DaysSince(behavior.FirstSeen, now),
                "category_diversity" => CategoryDiversity(view),
                "days_since_last_seen" => DaysSince(behavior.LastSeen, now),
                "frequency_365d" => FrequencyWindow(view).Orders,
                "monetary_365d" => (double)FrequencyWindow(view).Revenue.Amount,
                "days_since_first_purchase" => DaysSince(behavior.FirstPurchaseAt ?? behavior.FirstSeen, now),
                _ => throw new InvalidOperationException("unreachable"),
            };
        }

        return values;
    }

    /// <summary>
    /// The engagement velocity (decayed events per day) as of the view's last event, or null without one: what a holder
    /// of the view's vector keeps beside it, because the vector's own value, decayed to the view's instant, is 0 for a
    /// history about twenty years older than that instant.
    /// </summary>
    public static double? EngagementAtLastSeen(ProfileView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var behavior = view.Behavior;
        return behavior is { EngagementAsOf: { } basis, LastSeen: { } lastSeen }
            ? behavior.EngagementScore * Decay.Factor(lastSeen - basis, view.EngagementHalfLife) * Decay.RatePerDay(view.EngagementHalfLife)
            : null;
    }

    /// <summary>True for counts and amounts with heavy right tails, which should be log1p-transformed before scaling.</summary>
    /// <exception cref="ArgumentException">The name is not one of <see cref="All"/>.</exception>
    public static bool IsHeavyTailed(string feature)
    {
        if (!All.Contains(feature, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown feature '{feature}'. Valid features: {string.Join(", ", All)}.", nameof(feature));
        }

        return HeavyTailed.Contains(feature);
    }

    /// <summary>
    /// Moves a vector extracted at <paramref name="asOf"/> to <paramref name="now"/> without the profile: recency,
    /// tenure, days since last seen and days since first purchase grow by the days in between and engagement velocity decays with the engagement half-life, exactly as
    /// <see cref="Extract"/> would compute them with no new events. <see cref="Windowed"/> counts keep their values:
    /// without the daily buckets a shard cannot drop days out of a window; the profile tells when they next change
    /// (<see cref="NextWindowChange"/>) and is asked again then.
    /// Returns a new array.
    /// </summary>
    public static double[] Age(double[] values, IReadOnlyList<string> features, DateTimeOffset asOf, DateTimeOffset now, ProfileOptions options) =>
        MoveTo(values, features, asOf, now > asOf ? now : asOf, options);

    /// <summary>
    /// Moves a vector extracted at <paramref name="asOf"/> to <paramref name="at"/>, later (<see cref="Age"/>) or earlier:
    /// a segmentation run as of a past instant (a history imported years after it ended) measures recency, tenure and the
    /// other days-since features to that instant. Earlier, they shrink by the days in between, never below 0 (a user
    /// active after <paramref name="at"/> counts as active then), and engagement velocity is undecayed by the same
    /// half-life. Counts, sums and the <see cref="Windowed"/> counts stay as extracted. Returns a new array.
    /// </summary>
    public static double[] MoveTo(double[] values, IReadOnlyList<string> features, DateTimeOffset asOf, DateTimeOffset at, ProfileOptions options) =>
        MoveTo(values, features, asOf, at, options, engagementAtLastSeen: null);

    /// <summary>
    /// <see cref="MoveTo(double[], IReadOnlyList{string}, DateTimeOffset, DateTimeOffset, ProfileOptions)"/>, with the
    /// engagement velocity the profile had at its last event (<see cref="EngagementAtLastSeen"/>): a vector whose velocity
    /// has decayed below double precision (a history some twenty years old, 1,000 seven-day half-lives, read today) takes
    /// its velocity at <paramref name="at"/> from that value instead, so a run as of the history's end sees it.
    /// </summary>
    public static double[] MoveTo(
        double[] values, IReadOnlyList<string> features, DateTimeOffset asOf, DateTimeOffset at, ProfileOptions options, double? engagementAtLastSeen)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(features);
        var moved = (double[])values.Clone();
        if (at == asOf)
        {
            return moved;
        }

        var later = at > asOf;
        var days = (at - asOf).TotalDays;
        var decay = Decay.Factor(later ? at - asOf : asOf - at, options.EngagementHalfLife);
        if (!later && IndexOf(features, "days_since_last_seen") is var lastSeen and >= 0 && values[lastSeen] < -days)
        {
            // Back only as far as the last event: the velocity of a user active after the instant is theirs at that event
            // (a profile read as of that instant shows none: a vector needs a value). Undecayed further, one event today on
            // a years-old history grew by 2^(years / half-life) and put its user in a segment of their own.
            decay = Decay.Factor(TimeSpan.FromDays(values[lastSeen]), options.EngagementHalfLife);
        }

        for (var i = 0; i < features.Count; i++)
        {
            switch (features[i])
            {
                case "recency_days":
                case "tenure_days":
                case "days_since_last_seen":
                case "days_since_first_purchase":
                    moved[i] = later ? moved[i] + days : Math.Max(0, moved[i] + days);
                    break;
                case "engagement_velocity" when moved[i] < SmallestNormalDouble && engagementAtLastSeen is > 0 and var atLastSeen
                                                && IndexOf(features, "days_since_last_seen") is var seen and >= 0:
                    // Underflowed (or subnormal, its digits gone): decayed again from the last event, or taken at it when
                    // the instant is before it (as the clamp above does).
                    var sinceLastSeen = values[seen] + days;
                    moved[i] = sinceLastSeen > 0 ? atLastSeen * Decay.Factor(TimeSpan.FromDays(sinceLastSeen), options.EngagementHalfLife) : atLastSeen;
                    break;
                case "engagement_velocity" when later:
                    moved[i] *= decay;
                    break;
                case "engagement_velocity":
                    // Exact inverse of the decay; a value that had decayed to 0 (some twenty years of half-lives) stays 0.
                    var undecayed = moved[i] / decay;
                    moved[i] = double.IsFinite(undecayed) ? undecayed : moved[i];
                    break;
            }
        }

        return moved;
    }

    private static int IndexOf(IReadOnlyList<string> features, string feature)
    {
        for (var i = 0; i < features.Count; i++)
        {
            if (features[i] == feature)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// The first instant after <paramref name="now"/> at which a <see cref="Windowed"/> feature among
    /// <paramref name="features"/> (default <see cref="All"/>) changes although no event arrives; null when none will.
    /// A window of W days counts UTC days from today - W + 1 through today, so a day's orders leave it at 00:00 UTC of
    /// the day W days later (and orders dated after today enter it at 00:00 UTC of their day). The answer is the
    /// earliest such midnight over the days with orders or revenue: what a holder of the vector (a feature shard, which
    /// has no daily buckets) needs to know to ask the profile again, at most once per purchase day per window.
    /// </summary>
    /// <exception cref="ArgumentException">A feature name is not one of <see cref="All"/>.</exception>
    public static DateTimeOffset? NextWindowChange(UserProfile profile, ProfileOptions options, DateTimeOffset now, IReadOnlyList<string>? features = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        features ??= All;
        Check(features);
        var today = UtcDay.Of(now);
        int? next = null;
        foreach (var days in features.Select(feature => WindowDaysOf(feature, options)).OfType<int>().Distinct())
        {
            var firstDay = DailyBuckets.FirstDayOfWindow(today, days);
            foreach (var bucket in profile.Behavior.DailyBuckets)
            {
                if (bucket.Day < firstDay || (bucket.Orders == 0 && bucket.Revenue == 0m && bucket.Refunded == 0m && bucket.RefundedByCurrency is null && bucket.RevenueByCurrency is null))
                {
                    continue;
                }

                // Buckets are ordered by day: the first one counted is the first to leave the window. One dated after
                // today (its sender's clock was ahead) enters at its day, which may come sooner; the first such ends the search.
                var change = bucket.Day <= today ? bucket.Day + days : bucket.Day;
                next = next is { } earlier && earlier <= change ? earlier : change;
                if (bucket.Day > today || next <= today + 1)
                {
                    break;
                }

                firstDay = today + 1; // only buckets after today can still come sooner
            }
        }

        return next is { } day ? UtcDay.Start(day) : null;
    }

    /// <summary>The window in days that <paramref name="feature"/> counts, or null when its value does not come from a window.</summary>
    private static int? WindowDaysOf(string feature, ProfileOptions options) =>
        Windowed.Contains(feature, StringComparer.Ordinal) && options.Windows().Contains(FrequencyWindowDays)
            ? FrequencyWindowDays
            : null; // without a 365-day window the windowed features fall back to lifetime values, which never age

    /// <summary>
    /// True when some feature moved by more than <paramref name="relativeTolerance"/> of the larger magnitude (and by
    /// more than 1e-9): enough to be worth telling the segmentation about.
    /// </summary>
    public static bool MateriallyDiffers(double[] previous, double[] current, double relativeTolerance)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        if (previous.Length != current.Length)
        {
            return true;
        }

        for (var i = 0; i < current.Length; i++)
        {
            var difference = Math.Abs(current[i] - previous[i]);
            if (difference > 1e-9 && difference > relativeTolerance * Math.Max(Math.Abs(current[i]), Math.Abs(previous[i])))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when the profile has seen at least one event, so its features mean something.</summary>
    public static bool HasFeatures(UserProfile profile) =>
        profile.EventsApplied > 0 || profile.Behavior.FirstSeen is not null;

    private static void Check(IReadOnlyList<string> features)
    {
        foreach (var name in features)
        {
            if (!All.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Unknown feature '{name}'. Valid features: {string.Join(", ", All)}.", nameof(features));
            }
        }
    }

    private static double DaysSince(DateTimeOffset? time, DateTimeOffset now) =>
        time is { } t && now > t ? (now - t).TotalDays : 0;

    /// <summary>The 365-day window, or "all" when no 365-day window is configured.</summary>
    private static RfmWindow FrequencyWindow(ProfileView view)
    {
        foreach (var window in view.Behavior.Windows)
        {
            if (window.Days == FrequencyWindowDays)
            {
                return window;
            }
        }

        return view.Behavior.Windows[0];
    }

    /// <summary>
    /// Categories with a positive affinity. Decay never turns a positive score into another sign, so the score at its basis
    /// is what counts: decayed to the instant, the scores of a history some twenty years old (1,074 half-lives) are below
    /// the smallest double, and every customer of a 1997 export counted no category (probe61).
    /// </summary>
    private static int CategoryDiversity(ProfileView view)
    {
        var count = 0;
        foreach (var affinity in view.Behavior.CategoryAffinities)
        {
            if (affinity.Score > 0)
            {
                count++;
            }
        }

        return count;
    }
}
