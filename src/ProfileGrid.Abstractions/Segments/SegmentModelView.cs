namespace ProfileGrid.Abstractions.Segments;

/// <summary>
/// A published segmentation model as it crosses grains: what it reads (features and their source columns), the fitted
/// transform, the segments with their centroids, how k was chosen, quality figures and the 2-D map. Built by the
/// segmentation grain from the trained model; immutable, so Orleans passes it without copying.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.segment-model-view")]
public sealed record SegmentModelView
{
    [Id(0)] public long Version { get; init; }

    [Id(1)] public DateTimeOffset TrainedAt { get; init; }

    /// <summary>The clustering algorithm, as a run names it (kmeans, ward, average, complete, ...).</summary>
    [Id(2)] public string Algorithm { get; init; } = "";

    /// <summary>The features the model uses, in model column order.</summary>
    [Id(3)] public string[] Features { get; init; } = [];

    /// <summary>Per model column: its index in the feature vector that profiles push.</summary>
    [Id(4)] public int[] SourceColumns { get; init; } = [];

    [Id(5)] public FeatureScalingView Scaling { get; init; } = new();

    [Id(6)] public SegmentView[] Segments { get; init; } = [];

    /// <summary>The smallest id a future model may give a segment that matches none of this model's.</summary>
    [Id(7)] public int NextSegmentId { get; init; }

    /// <summary>Rows the model was fitted on (a sample when more vectors were held).</summary>
    [Id(8)] public int TrainedOn { get; init; }

    /// <summary>Vectors held across the shards when the training sample was drawn.</summary>
    [Id(9)] public long Population { get; init; }

    [Id(10)] public KCurvePointView[] Curve { get; init; } = [];

    [Id(11)] public int ElbowK { get; init; }

    [Id(12)] public int SilhouetteK { get; init; }

    /// <summary>Why this k, in words.</summary>
    [Id(13)] public string KReason { get; init; } = "";

    [Id(14)] public double Silhouette { get; init; }

    [Id(15)] public double Inertia { get; init; }

    /// <summary>Mean adjusted Rand index of bootstrap refits against the model (NaN when not checked).</summary>
    [Id(16)] public double StabilityAdjustedRandIndex { get; init; } = double.NaN;

    /// <summary>Share of training rows that kept their previous model's segment (NaN for the first model).</summary>
    [Id(17)] public double AgreementWithPrevious { get; init; } = double.NaN;

    [Id(18)] public SegmentMapView Map { get; init; } = new();

    /// <summary>What the run decided about the data on its own (features left out, the window chosen), in words.</summary>
    [Id(19)] public string[] Warnings { get; init; } = [];

    /// <summary>Classic RFM quintile edges fitted with the model (buyers only); null when it has none (no buyer, or an older model).</summary>
    [Id(20)] public RfmModelView? Rfm { get; init; }

    /// <summary>The thresholds the segment names were judged by.</summary>
    [Id(21)] public LabelRulesView LabelRules { get; init; } = new();

    /// <summary>The instant days-since features are measured to, in training and in every assignment; null: the time of each.</summary>
    [Id(22)] public DateTimeOffset? EvaluatedAt { get; init; }

    public int K => Segments.Length;

    public SegmentView? Segment(int id) => Array.Find(Segments, s => s.Id == id);
}

/// <summary>
/// RFM quintile edges: the 20/40/60/80% quantiles (linear interpolation) of days since the last purchase, orders and
/// revenue over the buyers of the training rows. A value's bin is 1 + the edges strictly below it; frequency and
/// monetary score = bin, recency score = 6 - bin.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.rfm-model-view")]
public sealed record RfmModelView
{
    /// <summary>Column of recency_days in the feature vector that profiles push.</summary>
    [Id(0)] public int RecencyColumn { get; init; }

    /// <summary>Column of frequency (orders).</summary>
    [Id(1)] public int FrequencyColumn { get; init; }

    /// <summary>Column of monetary (revenue).</summary>
    [Id(2)] public int MonetaryColumn { get; init; }

    [Id(3)] public double[] RecencyEdges { get; init; } = [];

    [Id(4)] public double[] FrequencyEdges { get; init; } = [];

    [Id(5)] public double[] MonetaryEdges { get; init; } = [];

    /// <summary>Buyers the edges were fitted on.</summary>
    [Id(6)] public int FittedOn { get; init; }
}

/// <summary>The fitted per-column transform: optional log1p, then (x - offset) / scale.</summary>
[GenerateSerializer, Immutable, Alias("pg.feature-scaling-view")]
public sealed record FeatureScalingView
{
    /// <summary>zscore or minmax.</summary>
    [Id(0)] public string Kind { get; init; } = "zscore";

    [Id(1)] public bool[] Log1pColumns { get; init; } = [];

    [Id(2)] public double[] Offsets { get; init; } = [];

    [Id(3)] public double[] Scales { get; init; } = [];
}

/// <summary>One segment of a published model.</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-view")]
public sealed record SegmentView
{
    /// <summary>Stable id: a segment matched to one of the previous model's keeps its id (and label).</summary>
    [Id(0)] public int Id { get; init; }

    [Id(1)] public string Label { get; init; } = "";

    /// <summary>Centroid in the model's normalised space.</summary>
    [Id(2)] public double[] Centroid { get; init; } = [];

    /// <summary>The segment's average member in original units (days, orders, currency, ...), at training time.</summary>
    [Id(3)] public double[] CentroidInOriginalUnits { get; init; } = [];

    [Id(4)] public DistinguishingFeatureView[] DistinguishingFeatures { get; init; } = [];

    [Id(5)] public int TrainingSize { get; init; }

    /// <summary>Mean bootstrap Jaccard of this segment (NaN when stability was not checked).</summary>
    [Id(6)] public double Stability { get; init; } = double.NaN;

    [Id(7)] public bool Unstable { get; init; }

    /// <summary>The naming rule the segment satisfied (browser, inactive, dormant, high-value, at-risk, new, loyal, casual); "" for older models.</summary>
    [Id(8)] public string Rule { get; init; } = "";

    /// <summary>One line in business words: who they are, how many, when they last bought, orders and spend.</summary>
    [Id(9)] public string Description { get; init; } = "";

    /// <summary>The business facts the label and description were judged on.</summary>
    [Id(10)] public SegmentFactsView Facts { get; init; } = new();
}

/// <summary>What a segment's members are like at training time; purchase figures are medians over its buyers (null: unknown).</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-facts-view")]
public sealed record SegmentFactsView
{
    [Id(0)] public int Members { get; init; }

    [Id(1)] public double Share { get; init; }

    [Id(2)] public double BuyerShare { get; init; }

    [Id(3)] public double? DaysSinceLastPurchase { get; init; }

    [Id(4)] public double? DaysSinceFirstPurchase { get; init; }

    [Id(5)] public double? Orders { get; init; }

    [Id(6)] public double? TypicalSpend { get; init; }

    [Id(7)] public double? RevenueShare { get; init; }

    [Id(8)] public double? SpendRatio { get; init; }

    [Id(9)] public double? TypicalSpendRatio { get; init; }

    [Id(10)] public double? DaysSinceLastSeen { get; init; }

    [Id(11)] public double? Sessions { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.distinguishing-feature-view")]
public sealed record DistinguishingFeatureView(
    [property: Id(0)] string Feature,
    [property: Id(1)] double Value,
    [property: Id(2)] double ZScore);

[GenerateSerializer, Immutable, Alias("pg.k-curve-point-view")]
public sealed record KCurvePointView(
    [property: Id(0)] int K,
    [property: Id(1)] double Inertia,
    [property: Id(2)] double Silhouette,
    [property: Id(3)] double CalinskiHarabasz = double.NaN,
    [property: Id(4)] double DaviesBouldin = double.NaN);

/// <summary>The 2-D PCA projection: loadings explain the axes, points are a sample of training rows with their segment.</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-map-view")]
public sealed record SegmentMapView
{
    [Id(0)] public double[] Mean { get; init; } = [];

    [Id(1)] public double[][] Loadings { get; init; } = [];

    [Id(2)] public double[] ExplainedVarianceRatio { get; init; } = [];

    [Id(3)] public MapPointView[] Points { get; init; } = [];
}

[GenerateSerializer, Immutable, Alias("pg.map-point-view")]
public sealed record MapPointView(
    [property: Id(0)] double X,
    [property: Id(1)] double Y,
    [property: Id(2)] int SegmentId);

/// <summary>What a segmentation run should fit; null fields take the tenant's last settings or the configured defaults.</summary>
[GenerateSerializer, Immutable, Alias("pg.segmentation-request")]
public sealed record SegmentationRequest
{
    [Id(0)] public string Algorithm { get; init; } = "kmeans";

    /// <summary>A fixed number of segments; null chooses k in <see cref="MinK"/>..<see cref="MaxK"/>.</summary>
    [Id(1)] public int? K { get; init; }

    [Id(2)] public int MinK { get; init; } = 3;

    [Id(3)] public int MaxK { get; init; } = 8;

    /// <summary>Features to use, by name; empty uses every feature.</summary>
    [Id(4)] public string[] Features { get; init; } = [];

    /// <summary>zscore or minmax.</summary>
    [Id(5)] public string Normalization { get; init; } = "zscore";

    [Id(6)] public int KMeansInitializations { get; init; } = 5;

    [Id(7)] public int HierarchicalMaxPoints { get; init; } = 5000;

    [Id(8)] public int SilhouetteSampleSize { get; init; } = 2000;

    [Id(9)] public int StabilityRuns { get; init; } = 5;

    [Id(10)] public int StabilitySampleSize { get; init; } = 3000;

    [Id(11)] public int MapPoints { get; init; } = 1000;

    [Id(12)] public int Seed { get; init; } = 42;

    /// <summary>auto, lifetime or 365d: which frequency and spend the default features count.</summary>
    [Id(13)] public string Window { get; init; } = "auto";

    [Id(14)] public bool LogRecency { get; init; }

    [Id(15)] public bool DropUninformativeFeatures { get; init; } = true;

    [Id(16)] public double CorrelationThreshold { get; init; } = 0.95;

    // The naming thresholds; 0 keeps the tenant's (those of its last run, or the configured defaults).
    [Id(17)] public double DormantAfterDays { get; init; }

    [Id(18)] public double AtRiskAfterDays { get; init; }

    [Id(19)] public double NewWithinDays { get; init; }

    [Id(20)] public double LoyalMinOrders { get; init; }

    [Id(21)] public double HighValueSpendRatio { get; init; }

    /// <summary>Measure days-since features to this instant (a history that ended before it); null: the time of the run.</summary>
    [Id(22)] public DateTimeOffset? AsOf { get; init; }
}

/// <summary>A model's naming thresholds (see the segmentation library's LabelRules).</summary>
[GenerateSerializer, Immutable, Alias("pg.label-rules-view")]
public sealed record LabelRulesView
{
    [Id(0)] public double DormantAfterDays { get; init; } = 180;

    [Id(1)] public double AtRiskAfterDays { get; init; } = 90;

    [Id(2)] public double NewWithinDays { get; init; } = 60;

    [Id(3)] public double LoyalMinOrders { get; init; } = 3;

    [Id(4)] public double HighValueSpendRatio { get; init; } = 2;
}
