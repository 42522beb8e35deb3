namespace ProfileGrid.Abstractions.Recommendations;

/// <summary>
/// Settings of a training run; every null field keeps the tenant's last value (or the configured default). Validated
/// by the recommender grain, each problem naming its field.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.recommender-train-request")]
public sealed record RecommenderTrainRequest
{
    /// <summary>What produces the hybrid's personal candidates: <c>item-cf</c> or <c>ease</c>.</summary>
    [Id(0)] public string? CandidateAlgorithm { get; init; }

    [Id(1)] public double? ViewWeight { get; init; }
    [Id(2)] public double? AddToCartWeight { get; init; }
    [Id(3)] public double? PurchaseWeight { get; init; }
    [Id(4)] public double? RatingWeight { get; init; }
    [Id(5)] public double? RatingScale { get; init; }

    /// <summary>Interactions lose half their weight every this many days (0: no decay).</summary>
    [Id(6)] public double? HalfLifeDays { get; init; }

    /// <summary>Item-item CF: neighbours kept per item.</summary>
    [Id(7)] public int? Neighbours { get; init; }

    /// <summary>Item-item CF: the shrinkage added to the cosine's denominator.</summary>
    [Id(8)] public double? Shrinkage { get; init; }

    /// <summary>EASE: the most popular items it models (its cost grows with the cube of this).</summary>
    [Id(9)] public int? EaseMaxItems { get; init; }

    /// <summary>Hybrid: users with fewer distinct items than this get popularity blended in.</summary>
    [Id(10)] public int? ColdStartThreshold { get; init; }

    /// <summary>Trending: the half-life in days of the recency weighting.</summary>
    [Id(11)] public double? TrendingHalfLifeDays { get; init; }

    /// <summary>
    /// A rating below this (in the rating scale) is a dislike: the pair weighs 0 in training and in the serving history.
    /// Null when never set: half the rating scale. In a status, the value the model was trained with (null: a model
    /// trained before the setting existed, when every rating was positive).
    /// </summary>
    [Id(12)] public double? MinPositiveRating { get; init; }
}

/// <summary>How a training run ended.</summary>
[GenerateSerializer]
public enum RecommenderTrainOutcome
{
    Trained,
    InvalidSettings,
    InsufficientData,
    AlreadyRunning,
    Failed,
}

[GenerateSerializer, Immutable, Alias("pg.recommender-train-result")]
public sealed record RecommenderTrainResult(
    [property: Id(0)] RecommenderTrainOutcome Outcome,
    [property: Id(1)] string[] Problems,
    [property: Id(2)] RecommenderStatus? Status);

/// <summary>The current model: its version, what it was trained on and with, and how long it took.</summary>
[GenerateSerializer, Immutable, Alias("pg.recommender-status")]
public sealed record RecommenderStatus
{
    [Id(0)] public long Version { get; init; }
    [Id(1)] public DateTimeOffset TrainedAt { get; init; }
    [Id(2)] public int Users { get; init; }
    [Id(3)] public int Items { get; init; }
    [Id(4)] public long Interactions { get; init; }
    [Id(5)] public TimeSpan TrainingTime { get; init; }
    [Id(6)] public long ModelBytes { get; init; }
    [Id(7)] public string CandidateAlgorithm { get; init; } = "";

    /// <summary>The settings the model was trained with, every field set.</summary>
    [Id(8)] public RecommenderTrainRequest Settings { get; init; } = new();

    /// <summary>Notes a user should read (e.g. EASE limited to its most popular items).</summary>
    [Id(9)] public string[] Warnings { get; init; } = [];
}
