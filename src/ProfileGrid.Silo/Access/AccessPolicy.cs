using Grpc.AspNetCore.Server;

namespace ProfileGrid.Silo.Access;

/// <summary>What a caller needs to reach an endpoint.</summary>
public enum AccessKind
{
    /// <summary>No key: health, metrics, the root page, the dashboard's pages, gRPC health and reflection.</summary>
    Open,

    /// <summary>A key with <see cref="AccessRule.Scope"/>, bound to the tenant the request names.</summary>
    Tenant,

    /// <summary>A key with <see cref="AccessRule.Scope"/> and no tenant in the request (the tenant list, filtered to the key's).</summary>
    AnyTenant,

    /// <summary>An operator key: admin scope on every tenant (the admin API, keys, the Orleans dashboard, the detailed health).</summary>
    Operator,
}

/// <summary>An endpoint's rule; <paramref name="Scope"/> is null for open and operator endpoints.</summary>
public sealed record AccessRule(AccessKind Kind, string? Scope)
{
    public static readonly AccessRule Open = new(AccessKind.Open, null);
    public static readonly AccessRule Operator = new(AccessKind.Operator, ApiScopes.Admin);

    public override string ToString() => Kind switch
    {
        AccessKind.Open => "open",
        AccessKind.Operator => "operator (admin, every tenant)",
        AccessKind.AnyTenant => $"{Scope} (answer limited to the key's tenants)",
        _ => $"{Scope} on the tenant",
    };
}

/// <summary>
/// Every endpoint's rule, in one place: gRPC methods (and their REST transcodings) by full name, other routes by
/// pattern. An endpoint with no rule is refused (fail closed), and the access test enumerates the route table and the
/// service descriptors, so a new endpoint without a rule fails the build's tests.
/// </summary>
public static class AccessPolicy
{
    private static AccessRule T(string scope) => new(AccessKind.Tenant, scope);

    /// <summary>gRPC methods by full name ("/package.Service/Method"); REST transcodings share them.</summary>
    public static IReadOnlyDictionary<string, AccessRule> Methods { get; } = new Dictionary<string, AccessRule>(StringComparer.Ordinal)
    {
        ["/profilegrid.v1.ProfileGateway/IngestEvents"] = T(ApiScopes.Ingest),
        ["/profilegrid.v1.ProfileGateway/GetProfile"] = T(ApiScopes.Read),
        ["/profilegrid.v1.ProfileGateway/GetProfiles"] = T(ApiScopes.Read),
        ["/profilegrid.v1.ProfileGateway/UpsertAttributes"] = T(ApiScopes.Ingest),
        ["/profilegrid.v1.ProfileGateway/SetPreferences"] = T(ApiScopes.Ingest),
        ["/profilegrid.v1.ProfileGateway/ListProfiles"] = T(ApiScopes.Read),
        ["/profilegrid.v1.ProfileGateway/DeleteUser"] = T(ApiScopes.Admin),

        ["/profilegrid.v1.SegmentService/ListSegments"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/RunSegmentation"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.SegmentService/GetUserSegment"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/ExplainUserSegment"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/ListSegmentMembers"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/GetSegmentMap"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/GetSegmentCurves"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/ListRfmCells"] = T(ApiScopes.Read),
        ["/profilegrid.v1.SegmentService/ListRfmMembers"] = T(ApiScopes.Read),

        ["/profilegrid.v1.RecommendationService/Recommend"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/SimilarItems"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/TrainRecommender"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/GetRecommenderStatus"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/EvaluateRecommender"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/TrainReranker"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/GetRerankerStatus"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/UpsertItems"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/DeleteItems"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/GetItem"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/ListItems"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/ListRules"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/GetRule"] = T(ApiScopes.Read),
        ["/profilegrid.v1.RecommendationService/CreateRule"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/UpdateRule"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/DeleteRule"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.RecommendationService/ReplaceRules"] = T(ApiScopes.Admin),

        ["/profilegrid.v1.ExperimentService/ListExperiments"] = T(ApiScopes.Read),
        ["/profilegrid.v1.ExperimentService/GetExperiment"] = T(ApiScopes.Read),
        ["/profilegrid.v1.ExperimentService/CreateExperiment"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.ExperimentService/UpdateExperiment"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.ExperimentService/StartExperiment"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.ExperimentService/StopExperiment"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.ExperimentService/ArchiveExperiment"] = T(ApiScopes.Admin),
        ["/profilegrid.v1.ExperimentService/GetExperimentResults"] = T(ApiScopes.Read),
        ["/profilegrid.v1.ExperimentService/GetFairnessAudit"] = T(ApiScopes.Read),
    };

    /// <summary>gRPC services that are open: the standard health service (for load balancers) and reflection (the public contract only).</summary>
    public static IReadOnlyList<string> OpenServices { get; } = ["grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection", "grpc.reflection.v1.ServerReflection"];

    /// <summary>Routes that are not gRPC methods, by pattern. "/v1/admin" and "/orleans" below are operator-only whatever the route.</summary>
    public static IReadOnlyDictionary<string, AccessRule> Routes { get; } = new Dictionary<string, AccessRule>(StringComparer.OrdinalIgnoreCase)
    {
        ["/"] = AccessRule.Open,
        ["/healthz"] = AccessRule.Open,
        ["/metrics"] = AccessRule.Open,
        ["/healthz/detail"] = AccessRule.Operator,
        ["/dashboard/{page?}"] = AccessRule.Open,
        ["/v1/tenants"] = new(AccessKind.AnyTenant, ApiScopes.Read),
        ["/v1/events:ingest"] = new(AccessKind.AnyTenant, ApiScopes.Ingest), // its other methods: 405 naming POST
        ["/v1/tenants/{tenant}/stats"] = T(ApiScopes.Read),
        ["/v1/tenants/{tenant}/stats/series"] = T(ApiScopes.Read),
        ["/v1/tenants/{tenant}/users/{userId}/document"] = T(ApiScopes.Read),
        ["/v1/tenants/{tenant}/identity/{userId}"] = T(ApiScopes.Read),
        ["/v1/tenants/{tenant}/identity/merges/{mergeId}"] = T(ApiScopes.Read),
        ["/v1/tenants/{tenant}/identity/merges/{mergeId}/unmerge"] = T(ApiScopes.Admin),

        // Privacy (docs/privacy.md): erasure and the full export (raw events with their context) are admin's, not an app's.
        ["/v1/tenants/{tenant}/users/{userId}"] = T(ApiScopes.Admin),
        ["/v1/tenants/{tenant}/users/{userId}/export"] = T(ApiScopes.Admin),
    };

    /// <summary>Path prefixes whose every route is operator-only.</summary>
    public static IReadOnlyList<PathString> OperatorPrefixes { get; } = ["/v1/admin", "/orleans"];

    /// <summary>The rule of <paramref name="endpoint"/> reached at <paramref name="path"/>; null when it has none (refused).</summary>
    public static AccessRule? For(Endpoint? endpoint, PathString path)
    {
        if (endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>() is { } grpc)
        {
            return OpenServices.Contains(grpc.Method.ServiceName, StringComparer.Ordinal) ? AccessRule.Open
                : Methods.TryGetValue(grpc.Method.FullName, out var rule) ? rule : null;
        }

        foreach (var prefix in OperatorPrefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return AccessRule.Operator;
            }
        }

        if (endpoint is RouteEndpoint route && route.RoutePattern.RawText is { } pattern)
        {
            if (pattern.Contains(":grpcunimplemented}", StringComparison.Ordinal))
            {
                // gRPC's catch-alls for unknown services and methods: they answer Unimplemented and reach nothing.
                return AccessRule.Open;
            }

            var normalised = "/" + pattern.TrimStart('/');
            return Routes.TryGetValue(normalised, out var rule) ? rule : null;
        }

        return null;
    }
}
