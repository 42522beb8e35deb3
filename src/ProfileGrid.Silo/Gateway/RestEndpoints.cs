using Orleans.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Domain;
using ProfileGrid.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Gateway;

/// <summary>The REST routes that are not transcoded gRPC: the profile's JSON document view and the admin views.</summary>
public static class RestEndpoints
{
    public static IEndpointRouteBuilder MapProfileDocumentApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGroup("/v1/tenants/{tenant}/users/{userId}").MapGet("/document", GetDocumentAsync);
        return routes;
    }

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder routes)
    {
        var admin = routes.MapGroup("/v1/admin");
        admin.MapGet("/cluster", GetClusterAsync);
        admin.MapGet("/ingest", GetIngestAsync);
        admin.MapLakeAdminApi();
        return routes;
    }

    /// <summary>
    /// The JSON document view (snake_case codes, the list of missing fields): the shape exports and notebooks read, built
    /// from the same view as GetProfile.
    /// </summary>
    private static async Task<Results<ContentHttpResult, BadRequest<ErrorBody>, NotFound<ErrorBody>>> GetDocumentAsync(
        HttpContext http, string tenant, string userId, string? asOf, IGrainFactory grains, EventValidator validator, TimeProvider clock)
    {
        // Route values are decoded except "%2F"; take both from the raw path, decoded exactly once.
        (tenant, userId) = (GatewayPaths.FromRawPath(http, "tenant") ?? tenant, GatewayPaths.FromRawPath(http, "userId") ?? userId);
        if (!validator.TryValidateKey(tenant, userId, out var error))
        {
            return TypedResults.BadRequest(new ErrorBody(error!.ToString()));
        }

        if (RestJsonGuard.UnexpectedQueryParameter(http, "asOf") is { } unexpected)
        {
            return TypedResults.BadRequest(new ErrorBody(unexpected.ToString()));
        }

        if (!AsOfParameter.TryParse(asOf, clock.GetUtcNow(), out var at, out var reason))
        {
            return TypedResults.BadRequest(new ErrorBody($"asOf: {reason}"));
        }

        var view = await grains.Reference<IUserProfileGrain>(new ProfileKey(tenant, userId).ToString()).GetViewAsync(at);
        if (view is null && AnonymousProfiles.IsAnonymous(userId)
            && await PersonOfId.FindAsync(grains, tenant, userId) is { } person)
        {
            // A visitor a login linked before it sent anything reads as the person, as GetProfile answers (review59).
            view = await grains.Reference<IUserProfileGrain>(new ProfileKey(tenant, person).ToString()).GetViewAsync(at);
        }

        if (view?.MergedInto is { } canonical)
        {
            // As GetProfile: a merged profile answers as its canonical one (docs/identity.md).
            view = await grains.Reference<IUserProfileGrain>(new ProfileKey(tenant, canonical).ToString()).GetViewAsync(at) ?? view;
        }

        return view is null
            ? TypedResults.NotFound(new ErrorBody($"No profile for user '{userId}' in tenant '{tenant}'."))
            : TypedResults.Text(ProfileJson.Serialize(view, indented: true), "application/json");
    }

    /// <summary>Active silos, and activations per grain type and per silo.</summary>
    private static async Task<IResult> GetClusterAsync(IGrainFactory grains)
    {
        var management = grains.GetGrain<IManagementGrain>(0);
        var silos = await management.GetHosts(onlyActive: true);
        var statistics = await management.GetSimpleGrainStatistics();
        var activations = statistics
            .GroupBy(s => s.GrainType.Split(',')[0].Split('.').Last())
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
        // Per silo: a silo that rejoined after a crash is seen hosting grains again, not only answering at the edge.
        var activationsPerSilo = statistics
            .GroupBy(s => s.SiloAddress.ToString())
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
        return TypedResults.Json(new { activeSilos = silos.Count, silos = silos.Keys.Select(s => s.ToString()).Order().ToArray(), activations, activationsPerSilo });
    }

    /// <summary>Where each log partition stands: how much is acknowledged but not yet in written profile state.</summary>
    private static async Task<IResult> GetIngestAsync(
        IGrainFactory grains, Microsoft.Extensions.Options.IOptions<IngestOptions> ingest, HostSettings settings, IEventLog log,
        [FromKeyedServices(ProfileStores.Profiles)] IGrainStorage profileStore)
    {
        var partitions = await Task.WhenAll(Enumerable.Range(0, ingest.Value.Partitions)
            .Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).GetStatusAsync()));
        return TypedResults.Json(new
        {
            path = settings.UsesStreams ? "stream" : "log",
            durableLog = log.IsDurable,
            profilesWithUnwrittenState = partitions.Sum(p => p.ProfilesWithUnwrittenState),
            // Logins answer before their merge is carried out: a person still waiting for a visitor's history is not all written.
            mergesPending = partitions.Sum(p => p.MergesPending),
            allWritten = partitions.All(p => p.ProfilesWithUnwrittenState == 0 && p.RecordsAwaitingDispatch == 0 && !p.Replaying && p.Checkpoint == p.NextPosition && p.MergesPending == 0),

            // Profiles whose state could not be written (IngestOptions.MaxWriteAttempts): the checkpoint moved on without them.
            profilesSetAside = partitions.Sum(p => p.ProfilesSetAside),
            recentlySetAside = partitions.SelectMany(p => p.RecentlySetAside ?? []).OrderByDescending(r => r.At).Take(10).ToArray(),

            // This silo's profile state writes on Azure Storage, and the table transactions that carried them.
            stateWrites = profileStore is BatchedTableGrainStorage batched ? new { rows = batched.RowsWritten, transactions = batched.Transactions } : null,

            // This silo's appends to the durable log (each one storage request).
            logAppends = log is AzureBlobEventLog blobLog ? new { appends = blobLog.AppendCounts.Appends, bytes = blobLog.AppendCounts.Bytes } : null,
            partitions,
        });
    }

    /// <summary>
    /// The body of a REST error: what was wrong, in words. Under "message" as in the transcoded routes' errors
    /// (google.rpc.Status), so one field reads every error; "error" is the same text, as these routes first answered.
    /// </summary>
    public sealed record ErrorBody(string Error)
    {
        public string Message => Error;
    }
}
