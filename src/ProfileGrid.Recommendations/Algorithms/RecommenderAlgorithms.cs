namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>Algorithm names, as options, the factory and serialized models spell them.</summary>
public static class RecommenderAlgorithms
{
    public const string Popularity = "popularity";
    public const string Trending = "trending";
    public const string ItemCf = "item-cf";
    public const string Ease = "ease";
    public const string Hybrid = "hybrid";

    public static IReadOnlyList<string> All { get; } = [Popularity, Trending, ItemCf, Ease, Hybrid];
}

/// <summary>Options of every algorithm in one record, as a tenant's configuration binds them.</summary>
public sealed record RecommenderOptions
{
    public PopularityOptions Popularity { get; init; } = new();
    public ItemCfOptions ItemCf { get; init; } = new();
    public EaseOptions Ease { get; init; } = new();
    public HybridOptions Hybrid { get; init; } = new();

    /// <summary>Every problem of every algorithm's options, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Validate() =>
    [
        .. (Popularity ?? new()).Validate(), .. (ItemCf ?? new()).Validate(), .. (Ease ?? new()).Validate(), .. (Hybrid ?? new()).Validate(),
    ];
}

/// <summary>Trainers by algorithm name.</summary>
public static class RecommenderTrainers
{
    /// <summary>
    /// The trainer of <paramref name="algorithm"/> (<see cref="RecommenderAlgorithms"/>) with its part of
    /// <paramref name="options"/>. Throws <see cref="ArgumentException"/> naming the field for an unknown name or
    /// invalid options.
    /// </summary>
    public static IRecommenderTrainer Create(string algorithm, RecommenderOptions? options = null)
    {
        options ??= new RecommenderOptions();
        return algorithm switch
        {
            RecommenderAlgorithms.Popularity => new PopularityTrainer(options.Popularity),
            RecommenderAlgorithms.Trending => new PopularityTrainer(options.Popularity, trending: true),
            RecommenderAlgorithms.ItemCf => new ItemCfTrainer(options.ItemCf),
            RecommenderAlgorithms.Ease => new EaseTrainer(options.Ease),
            RecommenderAlgorithms.Hybrid => new HybridTrainer(options),
            _ => throw new ArgumentException(
                $"algorithm: '{algorithm}' is not one of {string.Join(", ", RecommenderAlgorithms.All)}", nameof(algorithm)),
        };
    }
}

internal static class Options
{
    public static void Throw(IReadOnlyList<string> problems)
    {
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems));
        }
    }
}
