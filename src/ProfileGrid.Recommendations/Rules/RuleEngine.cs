using System.Buffers;
using System.Collections.Frozen;

namespace ProfileGrid.Recommendations.Rules;

/// <summary>Why a candidate did not make the list (wire names, snake_case).</summary>
public static class RemovalReasons
{
    /// <summary>The same item earlier in the candidate list.</summary>
    public const string Duplicate = "duplicate";

    /// <summary>The user opted out of personalization and the candidate came from a personal source.</summary>
    public const string Consent = "consent";

    /// <summary>The catalog says the item is not available (always on).</summary>
    public const string Unavailable = "unavailable";

    public const string Purchased = "purchased";

    /// <summary>The user rated the item, liked or not (always on; the purchase filter's switch does not release it).</summary>
    public const string Rated = "rated";

    public const string RecentlySeen = "recently_seen";

    /// <summary>The request's own exclusions.</summary>
    public const string Excluded = "excluded";

    public const string PageItem = "page_item";

    /// <summary>An exclude rule (its id is given).</summary>
    public const string RuleExclude = "rule_exclude";

    /// <summary>The category already had its share of the list (the limit_per_category rule's id is given).</summary>
    public const string CategoryLimit = "category_limit";

    /// <summary>A pinned item the catalog does not know (a pin needs a known, available item).</summary>
    public const string UnknownItem = "unknown_item";
}

/// <summary>One item of the final list and the rules that touched it (a pin, the boosts that changed its score).</summary>
public sealed record RankedItem(ScoredItem Item, IReadOnlyList<string> RuleIds);

/// <summary>A candidate (or pinned item) left out of the list, why, and the rule responsible if a rule was.</summary>
public sealed record RemovedCandidate(string ItemId, string Reason, string? RuleId = null);

/// <summary>The list after the rules, with how it came to be.</summary>
/// <param name="Items">At most n items, best first, no duplicates.</param>
/// <param name="RulesInForce">The ids of the rules that applied to this request (enabled, in their window, for this
/// user), in order of application.</param>
/// <param name="Removed">Candidates and pins left out by a filter, an exclusion or the category limit (not those that
/// merely did not fit in n).</param>
/// <param name="RuleSetVersion">The version of the rule set applied (for attribution and caches).</param>
public sealed record RuleOutcome(IReadOnlyList<RankedItem> Items, IReadOnlyList<string> RulesInForce, IReadOnlyList<RemovedCandidate> Removed, long RuleSetVersion)
{
    /// <summary>The final list as the shared contract's items.</summary>
    public IReadOnlyList<ScoredItem> Scored => Items.Select(i => i.Item).ToArray();
}

/// <summary>
/// Applies a tenant's rules to a recommender's candidate list at serving time. Pure and deterministic: the same
/// candidates, catalog, context and rules give the same list. Order of application:
/// <list type="number">
/// <item>filters: unavailable (always), purchased (default on), rated (always), seen within N days (if a filter rule asks), the
/// caller's exclusions, the page item; for an opted-out user, candidates from a personal source;</item>
/// <item>boosts re-score matching items (score × factor; a negative score is divided instead, so a boost always raises);</item>
/// <item>exclude rules;</item>
/// <item>the list is filled best first (ties: candidate order), skipping items whose category has reached the
/// per-category limit, so lower candidates fill n;</item>
/// <item>pins take their positions (pinned items count toward their category's limit but are never removed by it).</item>
/// </list>
/// </summary>
public static class RuleEngine
{
    /// <summary>
    /// Candidate sources that say nothing about the user: the only ones an opted-out user's list keeps. Anything else
    /// (cf, ease, segment-popular, and any source added later) is treated as personal.
    /// </summary>
    public static readonly FrozenSet<string> NonPersonalSources =
        new[] { RecommendationSources.Popular, RecommendationSources.Trending, RecommendationSources.Rule }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Prepares <paramref name="ruleSet"/> for many requests (cache it per version; it is immutable and thread-safe).</summary>
    public static CompiledRuleSet Compile(RuleSet ruleSet) => new(ruleSet);

    /// <summary>Compiles and applies in one call (for tests and one-off use; serving should cache <see cref="Compile"/>).</summary>
    public static RuleOutcome Apply(RuleSet ruleSet, IReadOnlyList<ScoredItem> candidates, Func<string, CatalogItem?> catalog, ServingContext context) =>
        Compile(ruleSet).Apply(candidates, catalog, context);
}

/// <summary>A rule set ready to apply: rules in order of application, their lists as hash sets. Immutable.</summary>
public sealed class CompiledRuleSet
{
    private readonly Compiled[] _rules;

    // Exclusions and boosts indexed by the key they match (item id, category, tag), to rule indices in order of
    // application: a candidate costs a few lookups however many rules the tenant has, not one test per rule.
    private readonly Dictionary<string, int[]> _excludeByItem = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _excludeByCategory = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int[]> _excludeByTag = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int[]> _boostByCategory = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, int[]> _boostByTag = new(StringComparer.OrdinalIgnoreCase);
    private readonly int[] _boostByPriceOnly;
    private readonly bool _hasBoosts;

    internal CompiledRuleSet(RuleSet ruleSet)
    {
        Version = ruleSet.Version;
        _rules = ruleSet.Rules
            .Where(r => r.Action?.Type is not null && RuleActionTypes.All.Contains(r.Action.Type.Trim().ToLowerInvariant()))
            .OrderBy(r => r.Priority)
            .ThenBy(r => r.Id ?? "", StringComparer.Ordinal)
            .Select(r => new Compiled(r))
            .ToArray();

        var excludeByItem = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var excludeByCategory = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        var excludeByTag = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        var boostByCategory = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        var boostByTag = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        var boostByPriceOnly = new List<int>();
        for (var index = 0; index < _rules.Length; index++)
        {
            var rule = _rules[index];
            if (rule.Type == RuleActionTypes.Exclude)
            {
                foreach (var item in rule.ExcludedItems)
                {
                    Add(excludeByItem, item, index);
                }

                foreach (var category in rule.ExcludedCategories)
                {
                    Add(excludeByCategory, category, index);
                }

                foreach (var tag in rule.ExcludedTags)
                {
                    Add(excludeByTag, tag, index);
                }
            }
            else if (rule.Type == RuleActionTypes.Boost)
            {
                // Each boost under one key only (the others are checked by Matches), so it is found once per item.
                if (rule.MatchCategory is { } category)
                {
                    Add(boostByCategory, category, index);
                }
                else if (rule.MatchTag is { } tag)
                {
                    Add(boostByTag, tag, index);
                }
                else if (rule.Band is not null)
                {
                    boostByPriceOnly.Add(index);
                }
            }
        }

        Freeze(excludeByItem, _excludeByItem);
        Freeze(excludeByCategory, _excludeByCategory);
        Freeze(excludeByTag, _excludeByTag);
        Freeze(boostByCategory, _boostByCategory);
        Freeze(boostByTag, _boostByTag);
        _boostByPriceOnly = [.. boostByPriceOnly];
        _hasBoosts = _boostByCategory.Count > 0 || _boostByTag.Count > 0 || _boostByPriceOnly.Length > 0;
        ReadsSeenItems = _rules.Any(r => r.SeenWithinDays is > 0);
        _segmentRuleIds = new HashSet<string>(_rules.Where(r => r.Segment is not null).Select(r => r.Id), StringComparer.Ordinal);

        static void Add(Dictionary<string, List<int>> index, string key, int rule)
        {
            if (!index.TryGetValue(key, out var rules))
            {
                index[key] = rules = [];
            }

            if (rules.Count == 0 || rules[^1] != rule)
            {
                rules.Add(rule);
            }
        }

        static void Freeze(Dictionary<string, List<int>> from, Dictionary<string, int[]> to)
        {
            foreach (var (key, rules) in from)
            {
                to[key] = [.. rules];
            }
        }
    }

    private readonly HashSet<string> _segmentRuleIds;

    public long Version { get; }

    /// <summary>True for a rule that applies to one segment only (not to everyone).</summary>
    public bool IsSegmentRule(string ruleId) => _segmentRuleIds.Contains(ruleId);

    /// <summary>
    /// True when a rule filters out items seen within some days, so that <see cref="ServingContext.SeenAt"/> matters;
    /// without one, a caller need not build it.
    /// </summary>
    public bool ReadsSeenItems { get; }

    /// <summary>
    /// The final list of at most <see cref="ServingContext.Count"/> items from <paramref name="candidates"/> (best
    /// first, usually 3-5× n so filters and the category limit leave enough). <paramref name="catalog"/> is asked once
    /// per item; an item it does not know stays a candidate (nothing says it is unavailable) but matches no category,
    /// tag or price rule, and cannot be pinned.
    /// </summary>
    public RuleOutcome Apply(IReadOnlyList<ScoredItem> candidates, Func<string, CatalogItem?> catalog, ServingContext context)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(context);

        var inForce = InForce(context, out var active);
        var removed = new List<RemovedCandidate>();
        var n = Math.Max(0, context.Count);

        // Filter switches: the first rule in order that sets one wins. An opted-out user's purchases, ratings and views
        // are personal data: the non-personalized list does not depend on them.
        var excludePurchased = inForce.FirstOrDefault(r => r.ExcludePurchased is not null)?.ExcludePurchased ?? true;
        var seenDays = inForce.FirstOrDefault(r => r.SeenWithinDays is not null)?.SeenWithinDays ?? 0;
        if (context.OptedOut)
        {
            excludePurchased = false;
            seenDays = 0;
        }

        var limitRule = inForce.FirstOrDefault(r => r.MaxPerCategory is not null);

        (string Reason, string? RuleId)? Filtered(string id, CatalogItem? item)
        {
            if (item is { Available: false })
            {
                return (RemovalReasons.Unavailable, null);
            }

            if (excludePurchased && context.Purchased.Contains(id))
            {
                return (RemovalReasons.Purchased, null);
            }

            if (!context.OptedOut && context.Rated.Contains(id))
            {
                return (RemovalReasons.Rated, null);
            }

            if (seenDays > 0 && context.SeenAt.TryGetValue(id, out var seenAt) && context.Now - seenAt < TimeSpan.FromDays(seenDays))
            {
                return (RemovalReasons.RecentlySeen, null);
            }

            if (context.Exclude.Contains(id))
            {
                return (RemovalReasons.Excluded, null);
            }

            return id == context.PageItem ? (RemovalReasons.PageItem, null) : null;
        }

        var boosts = new List<int>(0);
        void CollectBoosts(CatalogItem? item)
        {
            boosts.Clear();
            if (item is null || !_hasBoosts)
            {
                return;
            }

            if (item.Category is { } category && _boostByCategory.Count > 0 && _boostByCategory.TryGetValue(category.Trim(), out var byCategory))
            {
                Collect(byCategory);
            }

            if (_boostByTag.Count > 0)
            {
                for (var t = 0; t < item.Tags.Count; t++)
                {
                    if (_boostByTag.TryGetValue(item.Tags[t].Trim(), out var byTag))
                    {
                        Collect(byTag);
                    }
                }
            }

            Collect(_boostByPriceOnly);
            if (boosts.Count > 1)
            {
                boosts.Sort();
            }

            void Collect(int[] rules)
            {
                if (rules.Length == 0)
                {
                    return;
                }

                foreach (var rule in rules)
                {
                    // A tag listed twice on an item would find its boost twice.
                    if (active[rule] && _rules[rule].Matches(item) && !boosts.Contains(rule))
                    {
                        boosts.Add(rule);
                    }
                }
            }
        }

        // 1-3: filters, boosts, exclusions.
        var entries = new List<Entry>(candidates.Count);
        using var duplicates = new DuplicateCheck(candidates);
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (duplicates.IsRepeat(i))
            {
                removed.Add(new RemovedCandidate(candidate.ItemId, RemovalReasons.Duplicate));
                continue;
            }

            if (context.OptedOut && !RuleEngine.NonPersonalSources.Contains(candidate.Source))
            {
                removed.Add(new RemovedCandidate(candidate.ItemId, RemovalReasons.Consent));
                continue;
            }

            var item = catalog(candidate.ItemId);
            if (Filtered(candidate.ItemId, item) is { } filtered)
            {
                removed.Add(new RemovedCandidate(candidate.ItemId, filtered.Reason, filtered.RuleId));
                continue;
            }

            var score = double.IsNaN(candidate.Score) ? double.NegativeInfinity : candidate.Score;
            List<string>? touchedBy = null;
            CollectBoosts(item);
            foreach (var index in boosts)
            {
                // Multiplying a negative score (EASE gives some) would push it down; dividing it raises it.
                var rule = _rules[index];
                score = score >= 0 ? score * rule.Factor : score / rule.Factor;
                (touchedBy ??= []).Add(rule.Id);
            }

            if (ExcludedBy(candidate.ItemId, item, active) is { } excludingRule)
            {
                removed.Add(new RemovedCandidate(candidate.ItemId, RemovalReasons.RuleExclude, excludingRule));
                continue;
            }

            entries.Add(new Entry(candidate, item, score, i, touchedBy));
        }

        entries.Sort(static (a, b) =>
        {
            var byScore = b.Score.CompareTo(a.Score);
            return byScore != 0 ? byScore : a.Index.CompareTo(b.Index);
        });

        // 5 (placed before 4, so the fill knows which slots and categories the pins take). Most requests have no pin
        // and no category limit: their sets are made only when needed.
        (string ItemId, string RuleId)?[]? pins = null;
        HashSet<string>? pinned = null;
        Dictionary<string, int>? perCategory = limitRule is null ? null : new(StringComparer.OrdinalIgnoreCase);
        foreach (var rule in inForce)
        {
            if (rule.Type != RuleActionTypes.Pin)
            {
                continue;
            }

            pins ??= new (string ItemId, string RuleId)?[n + 1];
            pinned ??= new HashSet<string>(StringComparer.Ordinal);

            var next = rule.Position;
            foreach (var itemId in rule.PinItems)
            {
                if (pinned.Contains(itemId))
                {
                    continue;
                }

                var item = catalog(itemId);
                if (item is null)
                {
                    removed.Add(new RemovedCandidate(itemId, RemovalReasons.UnknownItem, rule.Id));
                    continue;
                }

                if (Filtered(itemId, item) is { } filtered)
                {
                    removed.Add(new RemovedCandidate(itemId, filtered.Reason, rule.Id));
                    continue;
                }

                if (ExcludedBy(itemId, item, active) is { } excludingRule)
                {
                    removed.Add(new RemovedCandidate(itemId, RemovalReasons.RuleExclude, excludingRule));
                    continue;
                }

                // A position an earlier pin took pushes this one down; past n it does not show.
                var position = next;
                while (position <= n && pins[position] is not null)
                {
                    position++;
                }

                if (position > n)
                {
                    break;
                }

                pins[position] = (itemId, rule.Id);
                pinned.Add(itemId);
                next = position + 1;
                if (item.Category is { } category && perCategory is not null)
                {
                    perCategory[category] = perCategory.GetValueOrDefault(category) + 1;
                }
            }
        }

        // 4: fill the other slots best first under the category limit.
        var slots = n - (pinned?.Count ?? 0);
        var fills = new List<Entry>(Math.Max(0, Math.Min(slots, entries.Count)));
        foreach (var entry in entries)
        {
            if (fills.Count >= slots)
            {
                break;
            }

            if (pinned is not null && pinned.Contains(entry.Candidate.ItemId))
            {
                continue;
            }

            if (limitRule is not null && perCategory is not null && entry.Item?.Category is { } category)
            {
                var count = perCategory.GetValueOrDefault(category);
                if (count >= limitRule.MaxPerCategory)
                {
                    removed.Add(new RemovedCandidate(entry.Candidate.ItemId, RemovalReasons.CategoryLimit, limitRule.Id));
                    continue;
                }

                perCategory[category] = count + 1;
            }

            fills.Add(entry);
        }

        if (pins is null)
        {
            // No pin: the list is the fills, in order, with their (boosted) scores.
            var filled = new RankedItem[fills.Count];
            for (var j = 0; j < filled.Length; j++)
            {
                filled[j] = Ranked(fills[j], fills[j].Score);
            }

            return new RuleOutcome(filled, IdsOf(inForce), removed, Version);
        }

        // Pins at their positions, fills around them; pins past a short list close up behind it.
        var slotsInOrder = new List<(Entry? Fill, (string ItemId, string RuleId)? Pin)>(n);
        var nextFill = 0;
        for (var position = 1; position <= n; position++)
        {
            if (pins[position] is { } pin)
            {
                slotsInOrder.Add((null, pin));
            }
            else if (nextFill < fills.Count)
            {
                slotsInOrder.Add((fills[nextFill++], null));
            }
        }

        // A pinned item takes the score of the first unpinned item below it (or above it, at the end), so the list
        // stays sorted by score for a client that sorts.
        var scores = new double[slotsInOrder.Count];
        double? below = null;
        for (var j = slotsInOrder.Count - 1; j >= 0; j--)
        {
            if (slotsInOrder[j].Fill is { } fill)
            {
                below = scores[j] = fill.Score;
            }
            else if (below is { } score)
            {
                scores[j] = score;
            }
            else
            {
                scores[j] = double.NaN; // pins at the end: set from above below
            }
        }

        double? above = null;
        for (var j = 0; j < slotsInOrder.Count; j++)
        {
            if (slotsInOrder[j].Fill is not null)
            {
                above = scores[j];
            }
            else if (double.IsNaN(scores[j]))
            {
                scores[j] = above ?? 0;
            }
        }

        var items = new RankedItem[slotsInOrder.Count];
        for (var j = 0; j < items.Length; j++)
        {
            var (fill, pin) = slotsInOrder[j];
            items[j] = fill is { } entry
                ? Ranked(entry, scores[j])
                : new RankedItem(new ScoredItem(pin!.Value.ItemId, scores[j], RecommendationSources.Rule, pin.Value.RuleId), [pin.Value.RuleId]);
        }

        return new RuleOutcome(items, IdsOf(inForce), removed, Version);

        // The candidate itself when no boost changed its score: a copy per item was most of what a request allocated here.
        static RankedItem Ranked(Entry entry, double score) => new(
            score.Equals(entry.Candidate.Score) ? entry.Candidate : entry.Candidate with { Score = score },
            (IReadOnlyList<string>?)entry.TouchedBy ?? []);
    }

    private static string[] IdsOf(List<Compiled> rules)
    {
        if (rules.Count == 0)
        {
            return [];
        }

        var ids = new string[rules.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = rules[i].Id;
        }

        return ids;
    }

    /// <summary>
    /// Whether an exclude rule in force for <paramref name="context"/> (its instant, segments and consent) removes the item:
    /// such items (a shop's fees and postage) are left out of the history a list is scored from too, so they neither bring
    /// candidates nor become the <c>because</c> of one.
    /// </summary>
    public Func<string, bool> Exclusion(Func<string, CatalogItem?> catalog, ServingContext context)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(context);
        if (_excludeByItem.Count == 0 && _excludeByCategory.Count == 0 && _excludeByTag.Count == 0)
        {
            return static _ => false;
        }

        InForce(context, out var active);
        return id => ExcludedBy(id, catalog(id), active) is not null;
    }

    /// <summary>The first exclude rule in force (<paramref name="active"/>, in order of application) that matches the item, or null.</summary>
    private string? ExcludedBy(string id, CatalogItem? item, bool[] active)
    {
        var first = int.MaxValue;
        First(_excludeByItem, id);
        if (item is not null)
        {
            if (item.Category is { } category && _excludeByCategory.Count > 0)
            {
                First(_excludeByCategory, category.Trim());
            }

            if (_excludeByTag.Count > 0)
            {
                for (var t = 0; t < item.Tags.Count; t++)
                {
                    First(_excludeByTag, item.Tags[t].Trim());
                }
            }
        }

        return first == int.MaxValue ? null : _rules[first].Id;

        void First(Dictionary<string, int[]> index, string key)
        {
            if (index.Count > 0 && index.TryGetValue(key, out var rules))
            {
                foreach (var rule in rules)
                {
                    if (active[rule])
                    {
                        first = Math.Min(first, rule);
                        return;
                    }
                }
            }
        }
    }

    private List<Compiled> InForce(ServingContext context, out bool[] active)
    {
        HashSet<string>? segments = null;
        var inForce = new List<Compiled>(_rules.Length);
        active = new bool[_rules.Length];
        for (var index = 0; index < _rules.Length; index++)
        {
            var rule = _rules[index];
            if (!rule.Source.IsActiveAt(context.Now))
            {
                continue;
            }

            if (rule.Segment is not null)
            {
                // A segment is personal data: an opted-out user is nobody's segment member to the rules.
                if (context.OptedOut)
                {
                    continue;
                }

                segments ??= new HashSet<string>(context.Segments.Where(s => s is not null).Select(s => s.Trim()), StringComparer.OrdinalIgnoreCase);
                if (!segments.Contains(rule.Segment))
                {
                    continue;
                }
            }

            inForce.Add(rule);
            active[index] = true;
        }

        return inForce;
    }

    private readonly record struct Entry(ScoredItem Candidate, CatalogItem? Item, double Score, int Index, List<string>? TouchedBy);

    /// <summary>
    /// Finds a candidate listed earlier in the same list. Up to 256 candidates (n × 5 for any n a request may ask) it
    /// compares hash codes in a pooled array, and strings only where two codes are equal: a hash set per request was a
    /// large share of what serving allocated. Past that, a hash set.
    /// </summary>
    private sealed class DuplicateCheck : IDisposable
    {
        private readonly IReadOnlyList<ScoredItem> _candidates;
        private readonly HashSet<string>? _set;
        private readonly int[]? _hashes;

        public DuplicateCheck(IReadOnlyList<ScoredItem> candidates)
        {
            _candidates = candidates;
            if (candidates.Count > 256)
            {
                _set = new HashSet<string>(candidates.Count, StringComparer.Ordinal);
            }
            else
            {
                _hashes = ArrayPool<int>.Shared.Rent(Math.Max(1, candidates.Count));
            }
        }

        /// <summary>True when candidate <paramref name="index"/> repeats an earlier one; call for 0, 1, 2, ... in order.</summary>
        public bool IsRepeat(int index)
        {
            var id = _candidates[index].ItemId;
            if (_set is not null)
            {
                return !_set.Add(id);
            }

            var hash = StringComparer.Ordinal.GetHashCode(id);
            var hashes = _hashes!;
            hashes[index] = hash;
            for (var earlier = 0; earlier < index; earlier++)
            {
                if (hashes[earlier] == hash && string.Equals(_candidates[earlier].ItemId, id, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }

        public void Dispose()
        {
            if (_hashes is not null)
            {
                ArrayPool<int>.Shared.Return(_hashes);
            }
        }
    }

    /// <summary>One rule with its lists as sets (normalised again here so an unvalidated set still applies sanely).</summary>
    private sealed class Compiled
    {
        private static readonly HashSet<string> Empty = [];

        public Compiled(RecommendationRule rule)
        {
            Source = rule;
            Id = rule.Id ?? "";
            Segment = rule.IsForEveryone ? null : rule.Segment!.Trim();
            var action = rule.Action!;
            Type = action.Type!.Trim().ToLowerInvariant();
            switch (Type)
            {
                case RuleActionTypes.Pin:
                    PinItems = action.Items?.ToArray() ?? [];
                    Position = Math.Max(1, action.Position ?? 1);
                    break;
                case RuleActionTypes.Boost:
                    Factor = action.Factor is > 0 and var f && !double.IsInfinity(f) ? f : 1;
                    MatchCategory = TextChecks.Code(action.Match?.Category);
                    MatchTag = TextChecks.Code(action.Match?.Tag);
                    Band = action.Match?.PriceBand;
                    break;
                case RuleActionTypes.Exclude:
                    ExcludedItems = action.Items is { Count: > 0 } items ? new HashSet<string>(items, StringComparer.Ordinal) : Empty;
                    ExcludedCategories = Codes(action.Categories);
                    ExcludedTags = Codes(action.Tags);
                    break;
                case RuleActionTypes.LimitPerCategory:
                    MaxPerCategory = Math.Max(1, action.MaxPerCategory ?? int.MaxValue);
                    break;
                case RuleActionTypes.Filter:
                    ExcludePurchased = action.ExcludePurchased;
                    SeenWithinDays = action.ExcludeSeenWithinDays;
                    break;
            }
        }

        public RecommendationRule Source { get; }

        public string Id { get; }

        public string? Segment { get; }

        public string Type { get; }

        public string[] PinItems { get; } = [];

        public int Position { get; } = 1;

        public double Factor { get; } = 1;

        public string? MatchCategory { get; }

        public string? MatchTag { get; }

        public PriceBand? Band { get; }

        public HashSet<string> ExcludedItems { get; } = Empty;

        public HashSet<string> ExcludedCategories { get; } = Empty;

        public HashSet<string> ExcludedTags { get; } = Empty;

        public int? MaxPerCategory { get; }

        public bool? ExcludePurchased { get; }

        public int? SeenWithinDays { get; }

        /// <summary>A boost's match: every criterion given holds. An item the catalog does not know matches nothing.</summary>
        public bool Matches(CatalogItem? item)
        {
            if (item is null || (MatchCategory is null && MatchTag is null && Band is null))
            {
                return false;
            }

            return (MatchCategory is null || string.Equals(item.Category?.Trim(), MatchCategory, StringComparison.OrdinalIgnoreCase))
                && (MatchTag is null || HasTag(item, MatchTag))
                && (Band is null || Band.Contains(item.Price, item.Currency));
        }

        private static bool HasTag(CatalogItem item, string tag)
        {
            foreach (var t in item.Tags)
            {
                if (string.Equals(t.Trim(), tag, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        private static HashSet<string> Codes(IReadOnlyList<string>? codes) =>
            codes is { Count: > 0 } ? new HashSet<string>(codes.Select(TextChecks.Code).OfType<string>(), StringComparer.OrdinalIgnoreCase) : Empty;
    }
}
