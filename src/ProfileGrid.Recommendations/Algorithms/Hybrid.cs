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

        var distinct = 0;
        HashSet<string>? seen = null;
        foreach (var (itemId, weight) in query.History)
        {
            if (weight > 0 && (seen ??= new HashSet<string>(query.History.Count, StringComparer.Ordinal)).Add(itemId))
            {
                distinct++;
            }
        }

        var popular = new List<ScoredItem>(query.Count);
        Popularity.Fill(query.Segment, query.Count, query.Exclude, popular, null);
        if (distinct == 0)
        {
            return popular;
        }

        var alpha = LowHistoryItems == 0 ? 1 : Math.Min(1.0, (double)distinct / LowHistoryItems);
        var beta = Math.Max(1 - alpha, PopularityFloor);
        var personal = Personalized.Recommend(query);

        // Serving calls this on every request: one presized index and one array, no LINQ (by allocation trace the blend
        // was the largest share of a Recommend's garbage).
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
        var result = new List<ScoredItem>(Math.Min(query.Count, used));
        foreach (var entry in ranked[..result.Capacity])
        {
            var from = entry.Personal >= entry.Popular ? entry.From! : entry.PopularFrom!;
            result.Add(new ScoredItem(from.ItemId, entry.Personal + entry.Popular, from.Source, from.Because));
        }

        return result;
    }

    private readonly record struct Blend(double Personal, ScoredItem? From, double Popular, ScoredItem? PopularFrom, int Order);
}
