using System.Buffers;

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
/// The hybrid: each component's list is scaled to its best score (so both run 0..1), then an item scores
/// α·personalized + max(1 − α, floor)·popularity with α = min(1, h / LowHistoryItems), h the user's distinct history
/// items. So a user with no history (cold start) gets the popularity list: their segment's when it has one, else the
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
        LowHistoryItems = lowHistoryItems;
        PopularityFloor = popularityFloor;
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
        if (distinct > 0 && _sharedIndex is { } cf && !BlendByItemIdOnly)
        {
            var alphaByIndex = LowHistoryItems == 0 ? 1 : Math.Min(1.0, (double)distinct / LowHistoryItems);
            return BlendByIndex(cf, query, alphaByIndex, Math.Max(1 - alphaByIndex, PopularityFloor));
        }

        var popular = new List<ScoredItem>(query.Count);
        Popularity.Fill(query.Segment, query.Count, query.Exclude, popular, null);
        if (distinct == 0)
        {
            return popular;
        }

        var alpha = LowHistoryItems == 0 ? 1 : Math.Min(1.0, (double)distinct / LowHistoryItems);
        var beta = Math.Max(1 - alpha, PopularityFloor);
        return BlendItems(Personalized.Recommend(query), popular, query.Count, alpha, beta);
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

    /// <summary>True when the components number items alike, so that the blend works on indices.</summary>
    internal bool BlendsByIndex => _sharedIndex is not null;

    /// <summary>For tests: blend by item id even where the index path applies, so that the two can be compared.</summary>
    internal bool BlendByItemIdOnly { get; set; }

    private IReadOnlyList<ScoredItem> BlendByIndex(ItemCfModel cf, RecommendationQuery query, double alpha, double beta)
    {
        var wanted = query.Count;
        var personalScores = ArrayPool<double>.Shared.Rent(wanted);
        var personalItems = ArrayPool<int>.Shared.Rent(wanted);
        var personalBecause = ArrayPool<int>.Shared.Rent(wanted);
        var popularItems = ArrayPool<int>.Shared.Rent(wanted);
        var popularScores = ArrayPool<float>.Shared.Rent(wanted);
        var popularFromSegment = ArrayPool<bool>.Shared.Rent(wanted);
        var blended = ArrayPool<IndexBlend>.Shared.Rent(2 * wanted);
        try
        {
            var personal = cf.RecommendIndices(query, personalScores.AsSpan(0, wanted), personalItems.AsSpan(0, wanted), personalBecause.AsSpan(0, wanted));
            var popular = Popularity.FillIndices(query.Segment, query.Exclude, popularItems.AsSpan(0, wanted), popularScores.AsSpan(0, wanted), popularFromSegment.AsSpan(0, wanted));
            var top = personal > 0 ? personalScores[0] : 1;
            for (var r = 0; r < personal; r++)
            {
                blended[r] = new IndexBlend(alpha * personalScores[r] / top, r, 0, -1, r, personalItems[r]);
            }

            // The segment list and the global list that tops it up have their own scales: each is scaled to its own best.
            double bestSegment = 0, bestOther = 0;
            for (var r = 0; r < popular; r++)
            {
                if (popularFromSegment[r])
                {
                    bestSegment = Math.Max(bestSegment, popularScores[r]);
                }
                else
                {
                    bestOther = Math.Max(bestOther, popularScores[r]);
                }
            }

            var used = personal;
            for (var r = 0; r < popular; r++)
            {
                double score = popularScores[r];
                var share = beta * score / (popularFromSegment[r] ? bestSegment : bestOther);
                var slot = -1;
                for (var p = 0; p < personal; p++)
                {
                    if (blended[p].Item == popularItems[r])
                    {
                        slot = p;
                        break;
                    }
                }

                if (slot >= 0)
                {
                    blended[slot] = blended[slot] with { Popular = share, PopularRank = r };
                }
                else
                {
                    blended[used++] = new IndexBlend(0, -1, share, r, personal + r, popularItems[r]);
                }
            }

            var ranked = blended.AsSpan(0, used);
            ranked.Sort(static (a, b) =>
            {
                var byScore = (b.Personal + b.Popular).CompareTo(a.Personal + a.Popular);
                return byScore != 0 ? byScore : a.Order.CompareTo(b.Order);
            });
            var items = cf.Items;
            var result = new ScoredItem[Math.Min(query.Count, used)];
            for (var i = 0; i < result.Length; i++)
            {
                var entry = ranked[i];
                var score = entry.Personal + entry.Popular;
                if (entry.Personal >= entry.Popular)
                {
                    result[i] = new ScoredItem(items[entry.Item], score, RecommendationSources.ItemItemCf, items[personalBecause[entry.PersonalRank]]);
                }
                else
                {
                    var fromSegment = popularFromSegment[entry.PopularRank];
                    result[i] = new ScoredItem(items[entry.Item], score, fromSegment ? RecommendationSources.SegmentPopular : Popularity.GlobalSource, fromSegment ? query.Segment : null);
                }
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(personalScores);
            ArrayPool<int>.Shared.Return(personalItems);
            ArrayPool<int>.Shared.Return(personalBecause);
            ArrayPool<int>.Shared.Return(popularItems);
            ArrayPool<float>.Shared.Return(popularScores);
            ArrayPool<bool>.Shared.Return(popularFromSegment);
            ArrayPool<IndexBlend>.Shared.Return(blended);
        }
    }

    private readonly record struct IndexBlend(double Personal, int PersonalRank, double Popular, int PopularRank, int Order, int Item);

    /// <summary>The blend by item id, for components numbered apart (EASE keeps its own capped index).</summary>
    private static List<ScoredItem> BlendItems(IReadOnlyList<ScoredItem> personal, List<ScoredItem> popular, int count, double alpha, double beta)
    {
        var blended = new Blend[personal.Count + popular.Count];
        var slotOf = new Dictionary<string, int>(blended.Length, StringComparer.Ordinal);
        var top = personal.Count > 0 ? personal[0].Score : 1;
        for (var r = 0; r < personal.Count; r++)
        {
            slotOf[personal[r].ItemId] = r;
            blended[r] = new Blend(alpha * personal[r].Score / top, personal[r], 0, null, r);
        }

        // The segment list and the global list that tops it up have their own scales: each is scaled to its own best.
        double bestSegment = 0, bestOther = 0;
        foreach (var item in popular)
        {
            if (item.Source == RecommendationSources.SegmentPopular)
            {
                bestSegment = Math.Max(bestSegment, item.Score);
            }
            else
            {
                bestOther = Math.Max(bestOther, item.Score);
            }
        }

        var used = personal.Count;
        for (var r = 0; r < popular.Count; r++)
        {
            var item = popular[r];
            var share = beta * item.Score / (item.Source == RecommendationSources.SegmentPopular ? bestSegment : bestOther);
            if (slotOf.TryGetValue(item.ItemId, out var slot))
            {
                blended[slot] = blended[slot] with { Popular = share, PopularFrom = item };
            }
            else
            {
                slotOf[item.ItemId] = used;
                blended[used++] = new Blend(0, null, share, item, personal.Count + r);
            }
        }

        var ranked = blended.AsSpan(0, used);
        ranked.Sort(static (a, b) =>
        {
            var byScore = (b.Personal + b.Popular).CompareTo(a.Personal + a.Popular);
            return byScore != 0 ? byScore : a.Order.CompareTo(b.Order);
        });
        var result = new List<ScoredItem>(Math.Min(count, used));
        foreach (var entry in ranked[..result.Capacity])
        {
            var from = entry.Personal >= entry.Popular ? entry.From! : entry.PopularFrom!;
            result.Add(new ScoredItem(from.ItemId, entry.Personal + entry.Popular, from.Source, from.Because));
        }

        return result;
    }

    private readonly record struct Blend(double Personal, ScoredItem? From, double Popular, ScoredItem? PopularFrom, int Order);
}
