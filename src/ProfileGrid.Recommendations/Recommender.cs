namespace ProfileGrid.Recommendations;

/// <summary>Where a recommended item came from (wire names, kebab-case).</summary>
public static class RecommendationSources
{
    public const string ItemItemCf = "cf";
    public const string Ease = "ease";
    public const string Popular = "popular";
    public const string SegmentPopular = "segment-popular";
    public const string Trending = "trending";
    public const string Rule = "rule";
}

/// <summary>
/// One recommended item: its score (comparable only within one list), its source (<see cref="RecommendationSources"/>)
/// and why it is there (the neighbour item that put it there for CF and EASE, the segment for segment popularity, the
/// rule id for a rule; null when there is nothing more to say).
/// </summary>
public sealed record ScoredItem(string ItemId, double Score, string Source, string? Because = null);

/// <summary>
/// What a trained model is asked: the user's history (item id and weight, as <see cref="InteractionWeights"/> gives it;
/// items the model does not know are ignored), their segment label, how many items, and items never to return
/// (already seen items are the caller's to put here).
/// </summary>
public sealed record RecommendationQuery(
    IReadOnlyList<(string ItemId, double Weight)> History,
    string? Segment,
    int Count,
    IReadOnlySet<string> Exclude);

/// <summary>A trained model: immutable, safe to call from many threads at once.</summary>
public interface IRecommender
{
    /// <summary>The algorithm's name (popularity, trending, item-cf, ease, hybrid).</summary>
    string Algorithm { get; }

    /// <summary>Up to <see cref="RecommendationQuery.Count"/> items, best first, none of them excluded.</summary>
    IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query);
}

/// <summary>Trains one algorithm on a matrix; pure and CPU-bound (callers run it off any grain's turn).</summary>
public interface IRecommenderTrainer
{
    string Algorithm { get; }

    IRecommender Train(InteractionMatrix data, DateTimeOffset now);
}
