using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Silo.Gateway;

/// <summary>The gRPC (and REST) face of segmentation: runs, segments with live sizes, members, map and curves, and RFM cells.</summary>
public sealed class SegmentServiceImpl(
    IClusterClient cluster,
    SegmentLookup lookup,
    EventValidator validator,
    IOptions<SegmentationOptions> options,
    TimeProvider clock) : SegmentService.SegmentServiceBase
{
    public const int DefaultPageSize = 100;
    public const int MaxPageSize = 1000;

    public override async Task<SegmentsResponse> ListSegments(ListSegmentsRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        return ToProto(tenant, await Segmentation(tenant).GetOverviewAsync());
    }

    public override async Task<SegmentsResponse> RunSegmentation(RunSegmentationRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var settings = ToSettings(request);
        // Thresholds not named (0) stay the tenant's: the segmentation grain fills them from its last run (or the
        // configured defaults) and judges the combination.
        var result = await Segmentation(tenant).RunAsync(settings.ToRequest() with
        {
            DormantAfterDays = request.DormantAfterDays,
            AtRiskAfterDays = request.AtRiskAfterDays,
            NewWithinDays = request.NewWithinDays,
            LoyalMinOrders = request.LoyalMinOrders,
            HighValueSpendRatio = request.HighValueSpendRatio,
        });
        var code = result.Outcome switch
        {
            SegmentationRunOutcome.Published => StatusCode.OK,
            SegmentationRunOutcome.InvalidSettings => StatusCode.InvalidArgument,
            SegmentationRunOutcome.InsufficientData => StatusCode.FailedPrecondition,
            SegmentationRunOutcome.AlreadyRunning => StatusCode.Aborted,
            _ => StatusCode.Internal,
        };
        if (code != StatusCode.OK)
        {
            throw new RpcException(new Status(code, string.Join(" ", result.Problems)));
        }

        var response = ToProto(tenant, await Segmentation(tenant).GetOverviewAsync());
        response.Warnings.AddRange(result.Problems);
        return response;
    }

    public override async Task<SegmentMembership> GetUserSegment(GetUserSegmentRequest request, ServerCallContext context)
    {
        var tenant = GatewayPaths.FromPath(request.Tenant, context, "tenant");
        var userId = GatewayPaths.FromPath(request.UserId, context, "user_id");
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        var key = new ProfileKey(tenant, userId).ToString();
        var (segment, whose) = (await lookup.SegmentOfAsync(tenant, key), userId);
        if (segment is null && await PersonOfId.FindAsync(cluster, tenant, userId) is { } person)
        {
            // A merged visitor (or one a login linked before it sent anything) holds no features of its own: it answers
            // as the person, as GetProfile does, rather than "no behavioral events" (probe52); user_id says whom.
            (segment, whose) = (await lookup.SegmentOfAsync(tenant, new ProfileKey(tenant, person).ToString()), person);
        }

        return SegmentLookup.ToProto(
            segment ?? throw new RpcException(new Status(
                StatusCode.NotFound,
                $"User '{userId}' in tenant '{tenant}' has no segment: the tenant has no segmentation model yet, or the user has no behavioral events.")),
            whose);
    }

    public override async Task<UserSegmentExplanation> ExplainUserSegment(ExplainUserSegmentRequest request, ServerCallContext context)
    {
        var tenant = GatewayPaths.FromPath(request.Tenant, context, "tenant");
        var userId = GatewayPaths.FromPath(request.UserId, context, "user_id");
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        var key = new ProfileKey(tenant, userId).ToString();
        var result = await lookup.ExplainAsync(tenant, key);
        if (result.Outcome == SegmentExplanationOutcome.NoFeatures && await PersonOfId.FindAsync(cluster, tenant, userId) is { } person)
        {
            (userId, result) = (person, await lookup.ExplainAsync(tenant, new ProfileKey(tenant, person).ToString())); // as GetUserSegment
        }

        // NotFound in both cases, as GetUserSegment answers them, with the reason that applies.
        return result.Outcome switch
        {
            SegmentExplanationOutcome.Explained => SegmentLookup.ToProto(tenant, userId, result.Explanation!),
            SegmentExplanationOutcome.NoModel => throw new RpcException(new Status(
                StatusCode.NotFound,
                $"User '{userId}' in tenant '{tenant}' has no segment to explain: the tenant has no segmentation model yet; run segmentation first.")),
            _ => throw new RpcException(new Status(
                StatusCode.NotFound,
                $"User '{userId}' in tenant '{tenant}' has no segment to explain: no features are held for the user (an unknown user, or one without behavioral events yet).")),
        };
    }

    public override async Task<ListSegmentMembersResponse> ListSegmentMembers(ListSegmentMembersRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var pageSize = ValidatedPageSize(request.PageSize);
        var model = await RequireModelAsync(tenant);
        if (model.Segment(request.SegmentId) is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"Segment {request.SegmentId} is not in model {model.Version}; its segments are {string.Join(", ", model.Segments.Select(s => s.Id))}."));
        }

        return await PageMembersAsync(tenant, request.PageToken, pageSize, (shard, after, size) => shard.GetMembersAsync(request.SegmentId, after, size));
    }

    public override async Task<RfmCellsResponse> ListRfmCells(ListRfmCellsRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var overview = await Segmentation(tenant).GetOverviewAsync();
        var response = new RfmCellsResponse
        {
            Tenant = tenant,
            ModelVersion = overview.Model?.Version ?? 0,
            UsersWithFeatures = overview.UsersWithFeatures,
        };
        if (overview.Model?.Rfm is { } rfm)
        {
            response.FittedOn = rfm.FittedOn;
            response.Recency = Edges(RfmModel.RecencyFeature, rfm.RecencyEdges);
            response.Frequency = Edges(RfmModel.FrequencyFeature, rfm.FrequencyEdges);
            response.Monetary = Edges(RfmModel.MonetaryFeature, rfm.MonetaryEdges);
            response.Warnings.AddRange(overview.Model.Warnings.Where(w => w.StartsWith(RfmModel.WarningPrefix, StringComparison.Ordinal)));
        }

        var sizes = overview.RfmSizes ?? [];
        var scored = sizes.Values.Sum(v => (long)v);
        response.Scored = scored;
        response.Cells.AddRange(RfmCells.All.Select(cell =>
        {
            var size = sizes.GetValueOrDefault(cell);
            return new RfmCell
            {
                Cell = cell,
                Name = RfmCells.NameOf(cell),
                Rule = RfmCells.RuleOf(cell),
                Size = size,
                Share = scored > 0 ? (double)size / scored : 0,
            };
        }));
        return response;
    }

    public override async Task<ListSegmentMembersResponse> ListRfmMembers(ListRfmMembersRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var cell = GatewayPaths.FromPath(request.Cell, context, "cell");
        if (!RfmCells.IsCell(cell))
        {
            throw Invalid("cell", $"'{cell}' is not an RFM cell; valid cells are {string.Join(", ", RfmCells.All)}");
        }

        var pageSize = ValidatedPageSize(request.PageSize);
        await RequireModelAsync(tenant);
        return await PageMembersAsync(tenant, request.PageToken, pageSize, (shard, after, size) => shard.GetRfmMembersAsync(cell, after, size));
    }

    private static RfmEdges Edges(string feature, double[] edges)
    {
        var result = new RfmEdges { Feature = feature };
        result.Edges.AddRange(edges);
        return result;
    }

    private static int ValidatedPageSize(int requested)
    {
        var pageSize = requested == 0 ? DefaultPageSize : requested;
        if (pageSize is < 1 or > MaxPageSize)
        {
            throw Invalid("page_size", $"must be between 1 and {MaxPageSize}; got {requested}");
        }

        return pageSize;
    }

    /// <summary>
    /// One page of members, shard after shard in key order; the token names the shard and the last key returned, so
    /// a page costs its own size whatever its position.
    /// </summary>
    private async Task<ListSegmentMembersResponse> PageMembersAsync(
        string tenant, string pageToken, int pageSize, Func<IFeatureShardGrain, string?, int, Task<string[]>> membersOf)
    {
        var (shard, after) = ShardPageToken.Parse(pageToken) ?? throw Invalid("page_token", "is not a token returned by this API");
        var response = new ListSegmentMembersResponse();
        string? last = null;
        for (; shard < lookup.Shards && response.UserIds.Count < pageSize; shard++, after = null)
        {
            var members = await membersOf(lookup.Shard(tenant, shard), after, pageSize - response.UserIds.Count);
            foreach (var member in members)
            {
                response.UserIds.Add(ProfileKey.Parse(member).UserId);
                last = member;
            }

            if (response.UserIds.Count >= pageSize)
            {
                break;
            }
        }

        if (response.UserIds.Count >= pageSize && last is not null)
        {
            response.NextPageToken = ShardPageToken.Format(shard, last);
        }

        return response;
    }

    public override async Task<SegmentMapResponse> GetSegmentMap(GetSegmentMapRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        if (request.MaxPoints < 0)
        {
            throw Invalid("max_points", "must not be negative");
        }

        var model = await RequireModelAsync(tenant);
        var map = model.Map;
        var response = new SegmentMapResponse
        {
            ModelVersion = model.Version,
            XAxis = Axis(model, 0),
            YAxis = Axis(model, 1),
        };
        var points = request.MaxPoints > 0 ? map.Points.Take(request.MaxPoints) : map.Points;
        response.Points.AddRange(points.Select(p => new Contracts.V1.MapPoint { X = p.X, Y = p.Y, SegmentId = p.SegmentId }));
        return response;
    }

    public override async Task<SegmentCurvesResponse> GetSegmentCurves(GetSegmentCurvesRequest request, ServerCallContext context)
    {
        var tenant = ValidatedTenant(GatewayPaths.FromPath(request.Tenant, context, "tenant"));
        var model = await RequireModelAsync(tenant);
        var response = new SegmentCurvesResponse
        {
            ModelVersion = model.Version,
            ElbowK = model.ElbowK,
            SilhouetteK = model.SilhouetteK,
            ChosenK = model.K,
            Reason = model.KReason,
        };
        foreach (var p in model.Curve)
        {
            var point = new Contracts.V1.KCurvePoint { K = p.K, Inertia = p.Inertia, Silhouette = p.Silhouette };
            if (double.IsFinite(p.CalinskiHarabasz))
            {
                point.CalinskiHarabasz = p.CalinskiHarabasz;
            }

            if (double.IsFinite(p.DaviesBouldin))
            {
                point.DaviesBouldin = p.DaviesBouldin;
            }

            response.Points.Add(point);
        }
        return response;
    }

    private static MapAxis Axis(SegmentModelView model, int axis)
    {
        var result = new MapAxis
        {
            ExplainedVarianceRatio = model.Map.ExplainedVarianceRatio.Length > axis ? model.Map.ExplainedVarianceRatio[axis] : 0,
        };
        if (model.Map.Loadings.Length > axis)
        {
            result.Loadings.AddRange(model.Features.Select((f, j) => new FeatureValue { Feature = f, Value = model.Map.Loadings[axis][j] }));
        }

        return result;
    }

    private async Task<SegmentModelView> RequireModelAsync(string tenant) =>
        await Segmentation(tenant).GetModelAsync()
        ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"Tenant '{tenant}' has no segmentation model yet; run segmentation first."));

    private SegmentationSettings ToSettings(RunSegmentationRequest request)
    {
        var defaults = options.Value.DefaultSettings();
        var normalization = request.Normalization switch
        {
            "" => defaults.Normalization,
            "zscore" => NormalizationKind.ZScore,
            "minmax" => NormalizationKind.MinMax,
            _ => throw Invalid("normalization", $"'{request.Normalization}' is not zscore or minmax"),
        };

        if (request.K < 0)
        {
            throw Invalid("k", $"must not be negative; got {request.K}");
        }

        if (request.MinK < 0)
        {
            throw Invalid("min_k", $"must not be negative; got {request.MinK}");
        }

        if (request.MaxK < 0)
        {
            throw Invalid("max_k", $"must not be negative; got {request.MaxK}");
        }

        if (!AsOfParameter.TryParse(request.AsOf, clock.GetUtcNow(), out var asOf, out var reason))
        {
            throw Invalid("as_of", reason!);
        }

        var settings = defaults with
        {
            AsOf = asOf,
            Algorithm = string.IsNullOrEmpty(request.Algorithm) ? defaults.Algorithm : request.Algorithm,
            K = request.K == 0 ? null : request.K,
            MinK = request.MinK == 0 ? defaults.MinK : request.MinK,
            MaxK = request.MaxK == 0 ? defaults.MaxK : request.MaxK,
            Features = request.Features.Count > 0 ? request.Features.ToArray() : defaults.Features,
            Normalization = normalization,
            Window = string.IsNullOrEmpty(request.Window) ? defaults.Window : request.Window,
            LogRecency = request.HasLogRecency ? request.LogRecency : defaults.LogRecency,
            DropUninformativeFeatures = request.HasDropUninformativeFeatures ? request.DropUninformativeFeatures : defaults.DropUninformativeFeatures,
            CorrelationThreshold = request.CorrelationThreshold == 0 ? defaults.CorrelationThreshold : request.CorrelationThreshold,
        };
        var problems = settings.Validate(ProfileFeatures.All, 0);
        if (problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join(" ", problems)));
        }

        return settings;
    }

    private static SegmentsResponse ToProto(string tenant, SegmentOverview overview)
    {
        var response = new SegmentsResponse
        {
            Tenant = tenant,
            UsersWithFeatures = overview.UsersWithFeatures,
            Unassigned = overview.Unassigned,
            Running = overview.Running,
        };
        if (overview.Model is not { } model)
        {
            return response;
        }

        response.ModelVersion = model.Version;
        response.TrainedAt = WireTime.Of(model.TrainedAt);
        if (model.EvaluatedAt is { } evaluatedAt)
        {
            response.EvaluatedAt = WireTime.Of(evaluatedAt);
        }

        response.Algorithm = model.Algorithm;
        response.Features.AddRange(model.Features);
        response.TrainedOn = model.TrainedOn;
        response.Population = model.Population;
        response.K = model.K;
        response.KReason = model.KReason;
        response.Silhouette = model.Silhouette;
        response.Inertia = model.Inertia;
        // NaN in the model means "not measured": absent in the answer, where a JSON "NaN" string would break numeric readers.
        if (!double.IsNaN(model.StabilityAdjustedRandIndex))
        {
            response.StabilityAdjustedRandIndex = model.StabilityAdjustedRandIndex;
        }

        if (!double.IsNaN(model.AgreementWithPrevious))
        {
            response.AgreementWithPrevious = model.AgreementWithPrevious;
        }
        response.Warnings.AddRange(model.Warnings);
        response.LabelThresholds = new LabelThresholds
        {
            DormantAfterDays = model.LabelRules.DormantAfterDays,
            AtRiskAfterDays = model.LabelRules.AtRiskAfterDays,
            NewWithinDays = model.LabelRules.NewWithinDays,
            LoyalMinOrders = model.LabelRules.LoyalMinOrders,
            HighValueSpendRatio = model.LabelRules.HighValueSpendRatio,
        };
        var assigned = overview.Sizes.Values.Sum(v => (long)v);
        foreach (var segment in model.Segments)
        {
            var size = overview.Sizes.GetValueOrDefault(segment.Id);
            var proto = new Contracts.V1.Segment
            {
                Id = segment.Id,
                Label = segment.Label,
                Size = size,
                Share = assigned > 0 ? (double)size / assigned : 0,
                TrainingSize = segment.TrainingSize,
                Unstable = segment.Unstable,
                Rule = segment.Rule,
                Description = segment.Description,
                Facts = ToProto(segment.Facts),
            };
            if (double.IsFinite(segment.Stability))
            {
                proto.Stability = segment.Stability;
            }

            proto.Centroid.AddRange(model.Features.Select((f, j) => new FeatureValue { Feature = f, Value = segment.CentroidInOriginalUnits[j] }));
            proto.DistinguishingFeatures.AddRange(segment.DistinguishingFeatures.Select(d => new Contracts.V1.DistinguishingFeature { Feature = d.Feature, Value = d.Value, ZScore = d.ZScore }));
            response.Segments.Add(proto);
        }

        return response;
    }

    private static Contracts.V1.SegmentFacts ToProto(SegmentFactsView facts)
    {
        var proto = new Contracts.V1.SegmentFacts { Members = facts.Members, Share = facts.Share, BuyerShare = facts.BuyerShare };
        if (facts.DaysSinceLastPurchase is { } last) proto.DaysSinceLastPurchase = last;
        if (facts.DaysSinceFirstPurchase is { } first) proto.DaysSinceFirstPurchase = first;
        if (facts.Orders is { } orders) proto.Orders = orders;
        if (facts.TypicalSpend is { } spend) proto.TypicalSpend = spend;
        if (facts.RevenueShare is { } revenue) proto.RevenueShare = revenue;
        if (facts.SpendRatio is { } ratio) proto.SpendRatio = ratio;
        if (facts.TypicalSpendRatio is { } typical) proto.TypicalSpendRatio = typical;
        if (facts.DaysSinceLastSeen is { } seen) proto.DaysSinceLastSeen = seen;
        if (facts.Sessions is { } sessions) proto.Sessions = sessions;
        return proto;
    }

    private string ValidatedTenant(string tenant)
    {
        if (!validator.TryValidateKey(tenant, "_", out var error))
        {
            throw Invalid(error!.Field, error.Reason);
        }

        return tenant;
    }

    private ISegmentationGrain Segmentation(string tenant) => cluster.GetGrain<ISegmentationGrain>(tenant);

    private static RpcException Invalid(string field, string reason) =>
        new(new Status(StatusCode.InvalidArgument, $"{field}: {reason}"));
}
