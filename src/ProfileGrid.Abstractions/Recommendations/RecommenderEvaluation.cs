namespace ProfileGrid.Abstractions.Recommendations;

/// <summary>An offline evaluation of the algorithms on the tenant's own interactions (defaults: k 10, random 75/25, seed 42, all algorithms, all slices).</summary>
[GenerateSerializer, Immutable, Alias("pg.recommender-evaluation-request")]
public sealed record RecommenderEvaluationRequest
{
    [Id(0)] public int K { get; init; } = 10;

    /// <summary>random (stratified per user), time (each user's latest), or time-global (one cutoff).</summary>
    [Id(1)] public string Split { get; init; } = "random";

    [Id(2)] public double Ratio { get; init; } = 0.75;
    [Id(3)] public int Seed { get; init; } = 42;

    /// <summary>Empty: every algorithm.</summary>
    [Id(4)] public string[] Algorithms { get; init; } = [];

    /// <summary>Empty: segment, gender, age-band and country.</summary>
    [Id(5)] public string[] Slices { get; init; } = [];
}

[GenerateSerializer, Immutable, Alias("pg.metrics-view")]
public sealed record MetricsView(
    [property: Id(0)] int Users,
    [property: Id(1)] int UsersRecommended,
    [property: Id(2)] double Precision,
    [property: Id(3)] double Recall,
    [property: Id(4)] double Ndcg,
    [property: Id(5)] double Map,
    [property: Id(6)] double MapAtK,
    [property: Id(7)] double HitRate,
    [property: Id(8)] double Coverage,
    [property: Id(9)] double Novelty);

[GenerateSerializer, Immutable, Alias("pg.algorithm-metrics-view")]
public sealed record AlgorithmMetricsView(
    [property: Id(0)] string Algorithm,
    [property: Id(1)] MetricsView Metrics,
    [property: Id(2)] double TrainSeconds,
    [property: Id(3)] double RecommendSeconds);

[GenerateSerializer, Immutable, Alias("pg.slice-group-view")]
public sealed record SliceGroupView([property: Id(0)] string Group, [property: Id(1)] MetricsView Metrics);

/// <summary>A metric's lowest and highest group in a slice, and min/max (null when the highest is 0).</summary>
[GenerateSerializer, Immutable, Alias("pg.metric-spread-view")]
public sealed record MetricSpreadView(
    [property: Id(0)] string Metric,
    [property: Id(1)] string MinGroup,
    [property: Id(2)] double Min,
    [property: Id(3)] string MaxGroup,
    [property: Id(4)] double Max,
    [property: Id(5)] double? Ratio);

[GenerateSerializer, Immutable, Alias("pg.slice-metrics-view")]
public sealed record SliceMetricsView(
    [property: Id(0)] string Slice,
    [property: Id(1)] string Algorithm,
    [property: Id(2)] SliceGroupView[] Groups,
    [property: Id(3)] MetricSpreadView[] Spreads);

[GenerateSerializer, Immutable, Alias("pg.recommender-evaluation-view")]
public sealed record RecommenderEvaluationView
{
    [Id(0)] public int K { get; init; }
    [Id(1)] public string Split { get; init; } = "";
    [Id(2)] public double Ratio { get; init; }
    [Id(3)] public int Seed { get; init; }
    [Id(4)] public int TrainUsers { get; init; }
    [Id(5)] public int TrainItems { get; init; }
    [Id(6)] public int TrainPairs { get; init; }
    [Id(7)] public int TestUsers { get; init; }
    [Id(8)] public int HeldOutPairs { get; init; }
    [Id(9)] public int TrainOnlyUsers { get; init; }
    [Id(10)] public AlgorithmMetricsView[] Algorithms { get; init; } = [];
    [Id(11)] public SliceMetricsView[] Slices { get; init; } = [];
    [Id(12)] public DateTimeOffset EvaluatedAt { get; init; }

    /// <summary>
    /// The instant the age-band slices measure ages at: the history's last interaction, when its users were those ages
    /// (a 1998 ratings file's users by their 1998 ages), not <see cref="EvaluatedAt"/> as their profiles read today.
    /// </summary>
    [Id(13)] public DateTimeOffset AgesAsOf { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.recommender-evaluation-result")]
public sealed record RecommenderEvaluationResult(
    [property: Id(0)] RecommenderTrainOutcome Outcome,
    [property: Id(1)] string[] Problems,
    [property: Id(2)] RecommenderEvaluationView? Report);
