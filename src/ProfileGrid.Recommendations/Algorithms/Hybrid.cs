using System.Buffers;
using System.Numerics;

namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>Options of the <c>hybrid</c> algorithm.</summary>
public sealed record HybridOptions
{
    /// <summary>The personalized component: item-cf (default: any catalog size, fast to train) or ease (capped catalog).</summary>
    public string Personalized { get; init; } = RecommenderAlgorithms.ItemCf;

    /// <summary>
    /// Users with fewer distinct history items than this are blended with popularity: with h items the personalized
    /// scores weigh h / LowHistoryItems and popularity the rest. 3: one or two items say little about a taste, and by
    /// three most users' neighbour lists overlap enough to rank on their own. 0: no blending (only a user without
    /// history gets popularity).
    /// </summary>
    public int LowHistoryItems { get; init; } = 3;

    /// <summary>
    /// The weight popularity keeps however long the history (0.001 by default): it tops up a list the personalized
    /// component cannot fill and breaks near-ties, without reordering personalized items that differ by more than that.
    /// </summary>
    public double PopularityFloor { get; init; } = 0.001;

    /// <summary>Problems with these options, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Personalized is not (RecommenderAlgorithms.ItemCf or RecommenderAlgorithms.Ease))
        {
            problems.Add($"hybrid.personalized must be item-cf or ease ('{Personalized}')");
        }

        if (LowHistoryItems is < 0 or > 1000)
        {
            problems.Add($"hybrid.low_history_items must be between 0 and 1000 ({LowHistoryItems})");
        }

        if (!(PopularityFloor is > 0 and < 1))
        {
            problems.Add($"hybrid.popularity_floor must be between 0 and 1, exclusive ({PopularityFloor})");
        }

        return problems;
    }
}

/// <summary>Trains the hybrid's personalized component (item-cf or ease) and its popularity component on the same data.</summary>
public sealed class HybridTrainer : IRecommenderTrainer
{
    private readonly RecommenderOptions _options;

    public HybridTrainer(RecommenderOptions? options = null)
    {
        _options = options ?? new RecommenderOptions();
        Options.Throw(_options.Validate());
    }

    public string Algorithm => RecommenderAlgorithms.Hybrid;

    IRecommender IRecommenderTrainer.Train(InteractionMatrix data, DateTimeOffset now) => Train(data, now);

    public HybridModel Train(InteractionMatrix data, DateTimeOffset now)
    {
        IRecommender personalized = _options.Hybrid.Personalized == RecommenderAlgorithms.Ease
            ? new EaseTrainer(_options.Ease).Train(data)
            : new ItemCfTrainer(_options.ItemCf).Train(data);
        var popularity = new PopularityTrainer(_options.Popularity).Train(data, now);
        return new HybridModel(personalized, popularity, _options.Hybrid.LowHistoryItems, _options.Hybrid.PopularityFloor);
    }
}

/// <summary>
/// The hybrid: each component's whole list for the query (every item the personalized component scores above 0, and
/// the segment's popularity list when it has one, else the global one) is scaled to its best score (so both run 0..1),
/// then an item scores α·personalized + max(1 − α, floor)·popularity with α = min(1, h / LowHistoryItems), h the user's
/// distinct history items; an item absent from a list has 0 of it. Blending whole lists, not their first n, gives an
/// item the same score whatever n is asked, so a list of n is the first n of a longer one. So a user with no history (cold start) gets the popularity list: their segment's when it has one, else the
/// global one; a user with a long history gets the personalized list, topped up by popularity when it runs short.
/// Each item keeps the source (and because) of the component that gave it the larger share of its score. Segment
/// rules are not applied here: serving applies them to this list.
/// </summary>
public sealed class HybridModel : IRecommender
{
    internal HybridModel(IRecommender personalized, PopularityModel popularity, int lowHistoryItems, double popularityFloor)
    {
        if (personalized is not (ItemCfModel or EaseModel))
        {
            throw new ArgumentException("The personalized component must be item-cf or ease.", nameof(personalized));
        }

        Personalized = personalized;
        Popularity = popularity;
        _sharedIndex = personalized is ItemCfModel cf && (ReferenceEquals(cf.Items, popularity.Items) || cf.Items.AsSpan().SequenceEqual(popularity.Items))
            ? cf
            : null;
        if (personalized is EaseModel ease && ease.Items.Any(item => popularity.IndexOf(item) < 0))
        {
            throw new ArgumentException("The personalized component knows items the popularity component does not: they were trained apart.", nameof(personalized));
        }

        LowHistoryItems = lowHistoryItems;
        PopularityFloor = popularityFloor;
        _slots = ArrayPool<int>.Create((int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(popularity.Items.Length, 16)), 64);
    }

    public string Algorithm => RecommenderAlgorithms.Hybrid;

    public IRecommender Personalized { get; }

    public PopularityModel Popularity { get; }

    public int LowHistoryItems { get; }

    public double PopularityFloor { get; }

    /// <summary>What a user should know of how the model was trained (from its personalized component).</summary>
    public IReadOnlyList<string> Warnings => Personalized is EaseModel ease ? ease.Warnings : [];

    public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query)
    {
        Queries.Check(query);
        if (query.Count == 0)
        {
            return [];
        }

        var distinct = DistinctPositiveItems(query.History);
        if (distinct == 0)
        {
            var popular = new List<ScoredItem>(Math.Min(query.Count, Popularity.Items.Length));
            Popularity.Fill(query.Segment, query.Count, query.Exclude, popular, null);
            return popular;
        }

        var alpha = LowHistoryItems == 0 ? 1 : Math.Min(1.0, (double)distinct / LowHistoryItems);
        var beta = Math.Max(1 - alpha, PopularityFloor);
        return _sharedIndex is { } cf && !BlendByItemIdOnly
            ? BlendByIndex(cf, query, alpha, beta)
            : BlendItems(query, alpha, beta);
    }

    /// <summary>How many distinct items the history holds with a positive weight.</summary>
    private static int DistinctPositiveItems(IReadOnlyList<(string ItemId, double Weight)> history)
    {
        // A profile's history is short and has each item once: comparing pairs costs less than building a set.
        if (history.Count > 64)
        {
            var seen = new HashSet<string>(history.Count, StringComparer.Ordinal);
            var count = 0;
            foreach (var (itemId, weight) in history)
            {
                if (weight > 0 && seen.Add(itemId))
                {
                    count++;
                }
            }

            return count;
        }

        var distinct = 0;
        for (var i = 0; i < history.Count; i++)
        {
            if (!(history[i].Weight > 0))
            {
                continue;
            }

            var repeated = false;
            for (var j = 0; j < i && !repeated; j++)
            {
                repeated = history[j].Weight > 0 && string.Equals(history[j].ItemId, history[i].ItemId, StringComparison.Ordinal);
            }

            if (!repeated)
            {
                distinct++;
            }
        }

        return distinct;
    }

    // Item-cf trained with the popularity on the same data numbers items alike: then the blend works on indices and builds
    // an item only for what it returns (by allocation trace, the blend's items were the largest share of a Recommend's
    // garbage). EASE keeps its own (capped) index and takes the general path.
    private readonly ItemCfModel? _sharedIndex;

    // Each popularity index's slot among a query's personal candidates, plus 1 (0: not one), so that the blend walks the
    // popularity list past them. Every call leaves its array zeroed again, so the pool never needs a full clear.
    private readonly ArrayPool<int> _slots;

    /// <summary>True when the components number items alike, so that the blend works on indices.</summary>
    internal bool BlendsByIndex => _sharedIndex is not null;

    /// <summary>For tests: blend by item id even where the index path applies, so that the two can be compared.</summary>
    internal bool BlendByItemIdOnly { get; set; }

    private IReadOnlyList<ScoredItem> BlendByIndex(ItemCfModel cf, RecommendationQuery query, double alpha, double beta)
    {
        var bound = cf.MaxCandidates(query.History.Count);
        var scores = ArrayPool<double>.Shared.Rent(bound);
        var items = ArrayPool<int>.Shared.Rent(bound);
        var because = ArrayPool<int>.Shared.Rent(bound);
        BlendEntry[]? ranked = null;
        try
        {
            var count = cf.CandidateIndices(query.History, scores, items, because);
            ranked = Rank(query, alpha, beta, items.AsSpan(0, count), scores.AsSpan(0, count), out var length);
            var names = cf.Items;
            var result = new ScoredItem[length];
            for (var i = 0; i < length; i++)
            {
                var entry = ranked[i];
                result[i] = entry.PersonalSlot >= 0 && entry.Personal >= entry.Popular
                    ? new ScoredItem(names[entry.Item], entry.Personal + entry.Popular, RecommendationSources.ItemItemCf, names[because[entry.PersonalSlot]])
                    : PopularItem(entry, query.Segment);
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scores);
            ArrayPool<int>.Shared.Return(items);
            ArrayPool<int>.Shared.Return(because);
            if (ranked is not null)
            {
                ArrayPool<BlendEntry>.Shared.Return(ranked);
            }
        }
    }

    /// <summary>The blend by item id, for components numbered apart (EASE keeps its own capped index).</summary>
    private List<ScoredItem> BlendItems(RecommendationQuery query, double alpha, double beta)
    {
        var personal = Personalized.Recommend(query with { Count = int.MaxValue });
        var items = ArrayPool<int>.Shared.Rent(personal.Count);
        var scores = ArrayPool<double>.Shared.Rent(personal.Count);
        BlendEntry[]? ranked = null;
        try
        {
            for (var r = 0; r < personal.Count; r++)
            {
                items[r] = Popularity.IndexOf(personal[r].ItemId);
                scores[r] = personal[r].Score;
            }

            ranked = Rank(query, alpha, beta, items.AsSpan(0, personal.Count), scores.AsSpan(0, personal.Count), out var length);
            var result = new List<ScoredItem>(length);
            for (var i = 0; i < length; i++)
            {
                var entry = ranked[i];
                result.Add(entry.PersonalSlot >= 0 && entry.Personal >= entry.Popular
                    ? personal[entry.PersonalSlot] with { Score = entry.Personal + entry.Popular }
                    : PopularItem(entry, query.Segment));
            }

            return result;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(items);
            ArrayPool<double>.Shared.Return(scores);
            if (ranked is not null)
            {
                ArrayPool<BlendEntry>.Shared.Return(ranked);
            }
        }
    }

    private ScoredItem PopularItem(BlendEntry entry, string? segment) => entry.FromSegment
        ? new ScoredItem(Popularity.Items[entry.Item], entry.Personal + entry.Popular, RecommendationSources.SegmentPopular, segment)
        : new ScoredItem(Popularity.Items[entry.Item], entry.Personal + entry.Popular, Popularity.GlobalSource);

    /// <summary>
    /// The first <see cref="RecommendationQuery.Count"/> items of the blend of every personal candidate (popularity indices,
    /// with their personalized scores) and the whole popularity list, best first, ties in item id order and a candidate
    /// before an item only popularity offers. Returns a pooled array (the caller returns it) holding <paramref name="length"/>.
    /// </summary>
    private BlendEntry[] Rank(RecommendationQuery query, double alpha, double beta, ReadOnlySpan<int> personalItems, ReadOnlySpan<double> personalScores,
        out int length)
    {
        var names = Popularity.Items;
        var exclude = query.Exclude;
        var popular = new PopularPart(Popularity, query.Segment, exclude);
        var wanted = (int)Math.Min(query.Count, (long)personalItems.Length + names.Length);
        var ranked = ArrayPool<BlendEntry>.Shared.Rent(wanted);
        var heapScores = ArrayPool<double>.Shared.Rent(wanted);
        var heapItems = ArrayPool<int>.Shared.Rent(wanted);
        var slots = _slots.Rent(names.Length);
        try
        {
            length = 0;
            if (wanted == 0)
            {
                return ranked;
            }

            // Scaled to the best candidate not excluded; the exclusions are asked only of a candidate that would be the best.
            double top = 0;
            for (var t = 0; t < personalItems.Length; t++)
            {
                slots[personalItems[t]] = t + 1;
                if (personalScores[t] > top && !exclude.Contains(names[personalItems[t]]))
                {
                    top = personalScores[t];
                }
            }

            var best = new TopN(heapScores.AsSpan(0, wanted), heapItems.AsSpan(0, wanted));
            for (var t = 0; t < personalItems.Length && top > 0; t++)
            {
                // A popularity share is at most 1: most of a long history's candidates are out before it is looked up.
                var item = personalItems[t];
                var personal = alpha * personalScores[t] / top;
                if (!best.WouldTake(personal + beta, item))
                {
                    continue;
                }

                var score = personal + beta * popular.ShareOf(item);
                if (best.WouldTake(score, item) && !exclude.Contains(names[item]))
                {
                    best.Offer(score, item);
                }
            }

            var kept = best.SortDescending();

            // An item popularity alone offers scores its share of popularity, which falls along the popularity list: so the
            // best candidates and that list, merged in order, are the blend's order without scoring the rest of the catalog.
            var phase = 0;
            var position = 0;
            var havePopular = popular.Next(ref phase, ref position, exclude, slots, out var popularItem);
            var popularShare = havePopular ? beta * popular.ShareOf(popularItem) : 0;
            var next = 0;
            while (length < wanted && (next < kept || havePopular))
            {
                if (next < kept && (!havePopular || heapScores[next] >= popularShare))
                {
                    var item = heapItems[next++];
                    var slot = slots[item] - 1;
                    ranked[length++] = new BlendEntry(item, alpha * personalScores[slot] / top, beta * popular.ShareOf(item), slot, popular.InSegmentList(item));
                }
                else
                {
                    ranked[length++] = new BlendEntry(popularItem, 0, popularShare, -1, popular.InSegmentList(popularItem));
                    havePopular = popular.Next(ref phase, ref position, exclude, slots, out popularItem);
                    popularShare = havePopular ? beta * popular.ShareOf(popularItem) : 0;
                }
            }

            return ranked;
        }
        finally
        {
            foreach (var item in personalItems)
            {
                slots[item] = 0;
            }

            _slots.Return(slots);
            ArrayPool<double>.Shared.Return(heapScores);
            ArrayPool<int>.Shared.Return(heapItems);
        }
    }

    /// <summary>An item of the blend: its two shares, its slot among the personal candidates (-1: none) and whether its popularity is its segment's.</summary>
    private readonly record struct BlendEntry(int Item, double Personal, double Popular, int PersonalSlot, bool FromSegment);

    /// <summary>
    /// The popularity component's list for one query, as the blend reads it: the segment's list when the segment has one,
    /// else the global list, each score scaled to the list's best not excluded. The global items that top a segment's list
    /// up have no share (nobody in the segment took them): they follow, in global order, for a list that runs out.
    /// </summary>
    private readonly struct PopularPart
    {
        private readonly PopularityModel _model;
        private readonly int[] _list;
        private readonly float[] _scores;
        private readonly int[] _ranks;
        private readonly bool _segment;
        private readonly double _best;

        public PopularPart(PopularityModel model, string? segment, IReadOnlySet<string> exclude)
        {
            _model = model;
            var s = model.SegmentIndexOf(segment);
            _segment = s >= 0;
            (_list, _scores, _ranks) = _segment
                ? (model.SegmentItems[s], model.SegmentScores[s], model.SegmentRanks[s])
                : (model.GlobalItems, model.GlobalScores, model.GlobalRanks);
            _best = 0;
            for (var r = 0; r < _list.Length; r++)
            {
                if (!exclude.Contains(model.Items[_list[r]]))
                {
                    _best = _scores[r];
                    break;
                }
            }
        }

        /// <summary>The item's score scaled to the list's best; 0 outside the list.</summary>
        public double ShareOf(int item)
        {
            var rank = _ranks[item];
            return rank < 0 || _best == 0 ? 0 : _scores[rank] / _best;
        }

        public bool InSegmentList(int item) => _segment && _ranks[item] >= 0;

        /// <summary>
        /// The next item popularity serves that is neither excluded nor a personal candidate (<paramref name="candidateSlots"/>
        /// not 0): the list, then, after a segment's list, the global items outside it.
        /// </summary>
        public bool Next(ref int phase, ref int position, IReadOnlySet<string> exclude, int[] candidateSlots, out int item)
        {
            var names = _model.Items;
            while (true)
            {
                var list = phase == 0 ? _list : _model.GlobalItems;
                if (position == list.Length)
                {
                    if (phase == 1 || !_segment)
                    {
                        item = -1;
                        return false;
                    }

                    (phase, position) = (1, 0);
                    continue;
                }

                item = list[position++];
                if (candidateSlots[item] == 0 && (phase == 0 || _ranks[item] < 0) && !exclude.Contains(names[item]))
                {
                    return true;
                }
            }
        }
    }
}
