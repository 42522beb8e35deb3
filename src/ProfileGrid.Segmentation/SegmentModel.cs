using System.Text.Json.Serialization;

namespace ProfileGrid.Segmentation;

/// <summary>One segment of a published model.</summary>
public sealed class SegmentDefinition
{
    /// <summary>Stable id: a segment matched to one of the previous model's keeps its id (and label).</summary>
    public int Id { get; init; }

    public string Label { get; init; } = "";

    /// <summary>The naming rule the segment satisfied when it was labelled (<see cref="SegmentLabeler.Rules"/>); "" for models from before rules were recorded.</summary>
    public string Rule { get; init; } = "";

    /// <summary>One line in business words: who they are, how many, when they last bought, orders and spend.</summary>
    public string Description { get; init; } = "";

    /// <summary>The business facts the label and description were judged on.</summary>
    public SegmentFacts Facts { get; init; } = new();

    /// <summary>Centroid in the model's normalised space; assignment measures distances to these.</summary>
    public double[] Centroid { get; init; } = [];

    /// <summary>The segment's average member in original units (days, orders, currency, ...), at training time.</summary>
    public double[] CentroidInOriginalUnits { get; init; } = [];

    /// <summary>The features that set the segment apart most (largest |z| against all training rows).</summary>
    public DistinguishingFeature[] DistinguishingFeatures { get; init; } = [];

    /// <summary>Training rows in this segment.</summary>
    public int TrainingSize { get; init; }

    /// <summary>Mean bootstrap Jaccard of this segment (NaN when stability was not checked).</summary>
    public double Stability { get; init; } = double.NaN;

    public bool Unstable { get; init; }
}

/// <summary>A point of the 2-D segment map: a training row projected on the first two principal components.</summary>
public sealed record MapPoint(double X, double Y, int SegmentId);

/// <summary>
/// The 2-D PCA projection of the normalised training rows: loadings explain the axes (one weight per model feature),
/// <see cref="Points"/> is a seeded sample of training rows with their segment.
/// </summary>
public sealed class SegmentMap
{
    public double[] Mean { get; init; } = [];

    public double[][] Loadings { get; init; } = [];

    public double[] ExplainedVarianceRatio { get; init; } = [];

    public MapPoint[] Points { get; init; } = [];
}

/// <summary>
/// A trained, versioned segmentation: the features it reads (as columns of the source vector), the normaliser fitted
/// on the training rows, the segments with their centroids, how k was chosen, quality figures and the map.
/// Immutable once published; plain properties so that it serialises with System.Text.Json.
/// </summary>
public sealed class SegmentModel
{
    public long Version { get; init; }

    public DateTimeOffset TrainedAt { get; init; }

    /// <summary>
    /// The instant the model measures days-since features to, for training and for every assignment (the run's
    /// <see cref="SegmentationSettings.AsOf"/>); null: the time of each assignment.
    /// </summary>
    public DateTimeOffset? EvaluatedAt { get; init; }

    /// <summary>kmeans, kmeans-mlnet, ward, average or complete.</summary>
    public string Algorithm { get; init; } = "";

    /// <summary>The features the model uses, in model column order.</summary>
    public string[] Features { get; init; } = [];

    /// <summary>Per model column: its index in the source vector the model assigns.</summary>
    public int[] SourceColumns { get; init; } = [];

    public Normalizer Normalizer { get; init; } = new();

    public SegmentDefinition[] Segments { get; init; } = [];

    /// <summary>The smallest id a future model may give a segment that matches none of this model's.</summary>
    public int NextSegmentId { get; init; }

    /// <summary>Rows the model was fitted on (a sample when more vectors were held).</summary>
    public int TrainedOn { get; init; }

    /// <summary>Vectors held across the shards when the training sample was drawn.</summary>
    public long Population { get; init; }

    public KCurvePoint[] Curve { get; init; } = [];

    public int ElbowK { get; init; }

    public int SilhouetteK { get; init; }

    /// <summary>Why this k: the rule of <see cref="KSelection.Choose"/>, or that k was requested.</summary>
    public string KReason { get; init; } = "";

    /// <summary>Mean silhouette of the chosen clustering (sampled above the configured size).</summary>
    public double Silhouette { get; init; }

    /// <summary>Sum of squared distances of training rows to their centroid, in normalised space.</summary>
    public double Inertia { get; init; }

    /// <summary>Mean adjusted Rand index of bootstrap refits against the model (NaN when not checked).</summary>
    public double StabilityAdjustedRandIndex { get; init; } = double.NaN;

    /// <summary>Share of training rows that kept their previous model's segment (NaN for the first model).</summary>
    public double AgreementWithPrevious { get; init; } = double.NaN;

    public SegmentMap Map { get; init; } = new();

    /// <summary>What the run decided about the data on its own (features left out, the window chosen), in words.</summary>
    public string[] Warnings { get; init; } = [];

    /// <summary>The thresholds the labels were judged by.</summary>
    public LabelRules LabelRules { get; init; } = new();

    /// <summary>
    /// Classic RFM quintile edges fitted on the same training rows (buyers only), scored beside the segments; null
    /// when the source has no recency, frequency and monetary columns or no buyer, and in models stored before RFM.
    /// </summary>
    public RfmModel? Rfm { get; init; }

    [JsonIgnore]
    public int K => Segments.Length;

    /// <summary>The id of the segment nearest to <paramref name="sourceVector"/> after this model's transform.</summary>
    public int Assign(double[] sourceVector) => Segments[NearestIndex(sourceVector)].Id;

    /// <summary>Index into <see cref="Segments"/> of the segment nearest to <paramref name="sourceVector"/>.</summary>
    public int NearestIndex(double[] sourceVector)
    {
        ArgumentNullException.ThrowIfNull(sourceVector);
        var row = new double[SourceColumns.Length];
        for (var j = 0; j < row.Length; j++)
        {
            row[j] = sourceVector[SourceColumns[j]];
        }

        var normalised = Normalizer.Transform(row);
        var best = 0;
        var bestDistance = double.PositiveInfinity;
        for (var s = 0; s < Segments.Length; s++)
        {
            var distance = ClusterMath.SquaredDistance(normalised, Segments[s].Centroid);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = s;
            }
        }

        return best;
    }

    public SegmentDefinition? Segment(int id) => Array.Find(Segments, s => s.Id == id);
}
