using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Abstractions.Segments;

/// <summary>
/// Why a user is in their segment, as the feature shard that holds the user's vector computes it: the vector aged to
/// <see cref="AsOf"/>, against the model's centroids, in the model's normalised space (where assignment measures
/// distances). Immutable, so Orleans passes it without copying.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.segment-explanation-view")]
public sealed record SegmentExplanationView
{
    [Id(0)] public long ModelVersion { get; init; }

    /// <summary>The instant the user's features are aged to (when the shard answered).</summary>
    [Id(1)] public DateTimeOffset AsOf { get; init; }

    /// <summary>The segment nearest to the user's features now: the one assignment gives them.</summary>
    [Id(2)] public SegmentDistanceView Segment { get; init; } = new(0, "", 0);

    /// <summary>The second nearest segment; null when the model has a single segment.</summary>
    [Id(3)] public SegmentDistanceView? NearestOther { get; init; }

    /// <summary>NearestOther.Distance - Segment.Distance; NaN without a nearest other.</summary>
    [Id(4)] public double Margin { get; init; }

    /// <summary>One entry per model feature, in model column order.</summary>
    [Id(5)] public FeatureContributionView[] Features { get; init; } = [];

    /// <summary>Up to three features that most favour the segment over the nearest other, most first.</summary>
    [Id(6)] public string[] Favouring { get; init; } = [];

    /// <summary>One line of plain English, built from the figures.</summary>
    [Id(7)] public string Summary { get; init; } = "";

    /// <summary>
    /// The segment the shard lists the user in (what GetUserSegment answers). It differs from <see cref="Segment"/>
    /// only when ageing alone has moved the user since their last update; they move at their next update or model.
    /// </summary>
    [Id(8)] public UserSegment? Listed { get; init; }
}

/// <summary>A segment and the user's Euclidean distance to its centroid in the model's normalised space.</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-distance-view")]
public sealed record SegmentDistanceView(
    [property: Id(0)] int SegmentId,
    [property: Id(1)] string Label,
    [property: Id(2)] double Distance);

/// <summary>
/// One feature of an explanation: the user's value and the two centroids in original units and in the normalised
/// space, and the feature's part of each squared distance (NaN fields for the nearest other of a one-segment model).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.feature-contribution-view")]
public sealed record FeatureContributionView(
    [property: Id(0)] string Feature,
    [property: Id(1)] double Value,
    [property: Id(2)] double Centroid,
    [property: Id(3)] double NearestOtherCentroid,
    [property: Id(4)] double Normalised,
    [property: Id(5)] double CentroidNormalised,
    [property: Id(6)] double NearestOtherCentroidNormalised,
    [property: Id(7)] double Contribution,
    [property: Id(8)] double NearestOtherContribution);

/// <summary>Whether a shard could explain a user's segment.</summary>
[GenerateSerializer]
public enum SegmentExplanationOutcome
{
    Explained,

    /// <summary>The tenant has no published model yet.</summary>
    NoModel,

    /// <summary>The shard holds no feature vector for the user (unknown, or no behavioral events yet).</summary>
    NoFeatures,
}

[GenerateSerializer, Immutable, Alias("pg.segment-explanation-result")]
public sealed record SegmentExplanationResult(
    [property: Id(0)] SegmentExplanationOutcome Outcome,
    [property: Id(1)] SegmentExplanationView? Explanation);
