using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Segments;

/// <summary>
/// The one mapping home between the segmentation library's types and the grain contract's: the library knows no
/// Orleans, the contract knows no algorithms.
/// </summary>
public static class SegmentContractMapping
{
    public static SegmentModelView ToView(this SegmentModel model) => new()
    {
        Version = model.Version,
        TrainedAt = model.TrainedAt,
        Algorithm = model.Algorithm,
        Features = model.Features,
        SourceColumns = model.SourceColumns,
        Scaling = new FeatureScalingView
        {
            Kind = ToName(model.Normalizer.Kind),
            Log1pColumns = model.Normalizer.Log1pColumns,
            Offsets = model.Normalizer.Offsets,
            Scales = model.Normalizer.Scales,
        },
        Segments = model.Segments.Select(s => new SegmentView
        {
            Id = s.Id,
            Label = s.Label,
            Rule = s.Rule,
            Description = s.Description,
            Facts = new SegmentFactsView
            {
                Members = s.Facts.Members,
                Share = s.Facts.Share,
                BuyerShare = s.Facts.BuyerShare,
                DaysSinceLastPurchase = s.Facts.DaysSinceLastPurchase,
                DaysSinceFirstPurchase = s.Facts.DaysSinceFirstPurchase,
                Orders = s.Facts.Orders,
                TypicalSpend = s.Facts.TypicalSpend,
                RevenueShare = s.Facts.RevenueShare,
                SpendRatio = s.Facts.SpendRatio,
                TypicalSpendRatio = s.Facts.TypicalSpendRatio,
                DaysSinceLastSeen = s.Facts.DaysSinceLastSeen,
                Sessions = s.Facts.Sessions,
            },
            Centroid = s.Centroid,
            CentroidInOriginalUnits = s.CentroidInOriginalUnits,
            DistinguishingFeatures = s.DistinguishingFeatures.Select(d => new DistinguishingFeatureView(d.Feature, d.Value, d.ZScore)).ToArray(),
            TrainingSize = s.TrainingSize,
            Stability = s.Stability,
            Unstable = s.Unstable,
        }).ToArray(),
        NextSegmentId = model.NextSegmentId,
        TrainedOn = model.TrainedOn,
        Population = model.Population,
        Curve = model.Curve.Select(p => new KCurvePointView(p.K, p.Inertia, p.Silhouette, p.CalinskiHarabasz, p.DaviesBouldin)).ToArray(),
        ElbowK = model.ElbowK,
        SilhouetteK = model.SilhouetteK,
        KReason = model.KReason,
        Silhouette = model.Silhouette,
        Inertia = model.Inertia,
        StabilityAdjustedRandIndex = model.StabilityAdjustedRandIndex,
        AgreementWithPrevious = model.AgreementWithPrevious,
        Map = new SegmentMapView
        {
            Mean = model.Map.Mean,
            Loadings = model.Map.Loadings,
            ExplainedVarianceRatio = model.Map.ExplainedVarianceRatio,
            Points = model.Map.Points.Select(p => new MapPointView(p.X, p.Y, p.SegmentId)).ToArray(),
        },
        Warnings = model.Warnings,
        LabelRules = new LabelRulesView
        {
            DormantAfterDays = model.LabelRules.DormantAfterDays,
            AtRiskAfterDays = model.LabelRules.AtRiskAfterDays,
            NewWithinDays = model.LabelRules.NewWithinDays,
            LoyalMinOrders = model.LabelRules.LoyalMinOrders,
            HighValueSpendRatio = model.LabelRules.HighValueSpendRatio,
        },
        Rfm = model.Rfm?.ToView(),
        EvaluatedAt = model.EvaluatedAt,
    };

    public static RfmModelView ToView(this RfmModel rfm) => new()
    {
        RecencyColumn = rfm.RecencyColumn,
        FrequencyColumn = rfm.FrequencyColumn,
        MonetaryColumn = rfm.MonetaryColumn,
        RecencyEdges = rfm.RecencyEdges,
        FrequencyEdges = rfm.FrequencyEdges,
        MonetaryEdges = rfm.MonetaryEdges,
        FittedOn = rfm.FittedOn,
    };

    public static RfmModel ToModel(this RfmModelView view) => new()
    {
        RecencyColumn = view.RecencyColumn,
        FrequencyColumn = view.FrequencyColumn,
        MonetaryColumn = view.MonetaryColumn,
        RecencyEdges = view.RecencyEdges,
        FrequencyEdges = view.FrequencyEdges,
        MonetaryEdges = view.MonetaryEdges,
        FittedOn = view.FittedOn,
    };

    public static UserRfm ToContract(this RfmScore score) => new(score.Recency, score.Frequency, score.Monetary, score.Code, score.Cell);

    /// <summary>What a shard assigns with: the transform and the centroids (the map and the curves stay behind).</summary>
    public static SegmentModel ToAssignmentModel(this SegmentModelView view) => new()
    {
        Version = view.Version,
        TrainedAt = view.TrainedAt,
        EvaluatedAt = view.EvaluatedAt,
        Algorithm = view.Algorithm,
        Features = view.Features,
        SourceColumns = view.SourceColumns,
        Normalizer = new Normalizer
        {
            Kind = ToKind(view.Scaling.Kind),
            Log1pColumns = view.Scaling.Log1pColumns,
            Offsets = view.Scaling.Offsets,
            Scales = view.Scaling.Scales,
        },
        Segments = view.Segments.Select(s => new SegmentDefinition
        {
            Id = s.Id,
            Label = s.Label,
            Centroid = s.Centroid,
            CentroidInOriginalUnits = s.CentroidInOriginalUnits,
            TrainingSize = s.TrainingSize,
            Stability = s.Stability,
            Unstable = s.Unstable,
        }).ToArray(),
        NextSegmentId = view.NextSegmentId,
        Rfm = view.Rfm?.ToModel(),
    };

    /// <summary>
    /// An explanation as it crosses grains, with the segment the shard lists the user in; when ageing alone has moved
    /// the user away from it, the summary says so, so that it never silently contradicts GetUserSegment.
    /// </summary>
    public static SegmentExplanationView ToView(this SegmentExplanation explanation, DateTimeOffset asOf, UserSegment? listed)
    {
        var summary = explanation.Summary;
        if (listed is not null && listed.SegmentId != explanation.Segment.SegmentId)
        {
            summary += $" Still listed in '{listed.Label}' from before their features aged; they move at their next update or the next model.";
        }

        return new SegmentExplanationView
        {
            ModelVersion = explanation.ModelVersion,
            AsOf = asOf,
            Segment = ToView(explanation.Segment),
            NearestOther = explanation.NearestOther is { } other ? ToView(other) : null,
            Margin = explanation.Margin,
            Features = explanation.Features.Select(f => new FeatureContributionView(
                f.Feature, f.Value, f.Centroid, f.NearestOtherCentroid, f.Normalised, f.CentroidNormalised, f.NearestOtherCentroidNormalised,
                f.Contribution, f.NearestOtherContribution)).ToArray(),
            Favouring = [.. explanation.Favouring],
            Summary = summary,
            Listed = listed,
        };
    }

    private static SegmentDistanceView ToView(SegmentDistance distance) => new(distance.SegmentId, distance.Label, distance.Distance);

    public static SegmentationRequest ToRequest(this SegmentationSettings settings) => new()
    {
        Algorithm = settings.Algorithm,
        K = settings.K,
        MinK = settings.MinK,
        MaxK = settings.MaxK,
        Features = [.. settings.Features],
        Normalization = ToName(settings.Normalization),
        KMeansInitializations = settings.KMeansInitializations,
        HierarchicalMaxPoints = settings.HierarchicalMaxPoints,
        SilhouetteSampleSize = settings.SilhouetteSampleSize,
        StabilityRuns = settings.StabilityRuns,
        StabilitySampleSize = settings.StabilitySampleSize,
        MapPoints = settings.MapPoints,
        Seed = settings.Seed,
        Window = settings.Window,
        LogRecency = settings.LogRecency,
        DropUninformativeFeatures = settings.DropUninformativeFeatures,
        CorrelationThreshold = settings.CorrelationThreshold,
        DormantAfterDays = settings.LabelRules.DormantAfterDays,
        AtRiskAfterDays = settings.LabelRules.AtRiskAfterDays,
        NewWithinDays = settings.LabelRules.NewWithinDays,
        LoyalMinOrders = settings.LabelRules.LoyalMinOrders,
        HighValueSpendRatio = settings.LabelRules.HighValueSpendRatio,
        AsOf = settings.AsOf,
    };

    /// <summary>The run's settings; thresholds the request leaves at 0 come from <paramref name="tenantRules"/>.</summary>
    public static SegmentationSettings ToSettings(this SegmentationRequest request, LabelRules tenantRules) => new()
    {
        Algorithm = request.Algorithm,
        K = request.K,
        MinK = request.MinK,
        MaxK = request.MaxK,
        Features = request.Features,
        Normalization = ToKind(request.Normalization),
        KMeansInitializations = request.KMeansInitializations,
        HierarchicalMaxPoints = request.HierarchicalMaxPoints,
        SilhouetteSampleSize = request.SilhouetteSampleSize,
        StabilityRuns = request.StabilityRuns,
        StabilitySampleSize = request.StabilitySampleSize,
        MapPoints = request.MapPoints,
        Seed = request.Seed,
        Window = request.Window,
        LogRecency = request.LogRecency,
        DropUninformativeFeatures = request.DropUninformativeFeatures,
        CorrelationThreshold = request.CorrelationThreshold,
        AsOf = request.AsOf,
        LabelRules = new LabelRules
        {
            DormantAfterDays = Or(request.DormantAfterDays, tenantRules.DormantAfterDays),
            AtRiskAfterDays = Or(request.AtRiskAfterDays, tenantRules.AtRiskAfterDays),
            NewWithinDays = Or(request.NewWithinDays, tenantRules.NewWithinDays),
            LoyalMinOrders = Or(request.LoyalMinOrders, tenantRules.LoyalMinOrders),
            HighValueSpendRatio = Or(request.HighValueSpendRatio, tenantRules.HighValueSpendRatio),
        },
    };

    private static double Or(double requested, double tenants) => requested == 0 ? tenants : requested;

    /// <summary>The normalisation's name as the API spells it.</summary>
    public static string ToName(NormalizationKind kind) => kind switch
    {
        NormalizationKind.MinMax => "minmax",
        _ => "zscore",
    };

    /// <summary>The normalisation named <paramref name="name"/>; throws on a name the API does not know.</summary>
    public static NormalizationKind ToKind(string name) => name switch
    {
        "zscore" => NormalizationKind.ZScore,
        "minmax" => NormalizationKind.MinMax,
        _ => throw new ArgumentException($"'{name}' is not zscore or minmax.", nameof(name)),
    };
}
