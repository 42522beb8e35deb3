using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Silo.Gateway;

/// <summary>The data lake's operator routes under /v1/admin/lake (guarded like every admin route; see docs/lake.md).</summary>
public static class LakeAdminApi
{
    public static RouteGroupBuilder MapLakeAdminApi(this RouteGroupBuilder admin)
    {
        var lake = admin.MapGroup("/lake");
        lake.MapGet("", GetLakeAsync);
        lake.MapPost("/archive", ArchiveAsync);
        lake.MapPost("/rebuild", RebuildAsync);
        lake.MapPost("/snapshot", SnapshotAsync);
        return admin;
    }

    /// <summary>Where the lake is and how far each partition is archived.</summary>
    private static async Task<IResult> GetLakeAsync(IServiceProvider services, IOptions<IngestOptions> ingest, CancellationToken cancellationToken)
    {
        if (LakeArchiving.ArchiverOf(services) is not { } archiver)
        {
            return NoLake();
        }

        var marks = new List<object>();
        for (var partition = 0; partition < ingest.Value.Partitions; partition++)
        {
            var mark = await archiver.GetWatermarkAsync(partition, cancellationToken);
            marks.Add(new { partition, archivedThrough = mark.Through, pendingFirst = mark.PendingFirst, pendingLast = mark.PendingLast });
        }

        return TypedResults.Json(new { location = archiver.Store.Location, partitions = marks });
    }

    /// <summary>Archives every partition now (one step each) and trims the log behind; answers each partition's watermark.</summary>
    private static async Task<IResult> ArchiveAsync(IServiceProvider services, IGrainFactory grains, IOptions<IngestOptions> ingest)
    {
        if (LakeArchiving.ArchiverOf(services) is null)
        {
            return NoLake();
        }

        var through = await Task.WhenAll(Enumerable.Range(0, ingest.Value.Partitions).Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).ArchiveNowAsync()));
        return TypedResults.Json(new { partitions = through.Select((t, p) => new { partition = p, archivedThrough = t }).ToArray() });
    }

    /// <summary>Rebuilds a tenant's profiles (or one user's) from the lake and the log not yet archived.</summary>
    private static async Task<IResult> RebuildAsync(RebuildRequest request, IServiceProvider services, EventValidator validator, CancellationToken cancellationToken)
    {
        if (LakeArchiving.ArchiverOf(services) is null)
        {
            return NoLake();
        }

        var valid = string.IsNullOrEmpty(request.UserId)
            ? validator.TryValidateTenant(request.Tenant ?? "", out var error)
            : validator.TryValidateKey(request.Tenant ?? "", request.UserId, out error);
        if (!valid)
        {
            return TypedResults.BadRequest(new RestEndpoints.ErrorBody(error!.ToString()));
        }

        var report = await services.GetRequiredService<LakeRebuilder>().RebuildAsync(request.Tenant!, string.IsNullOrEmpty(request.UserId) ? null : request.UserId, cancellationToken);
        return TypedResults.Json(new { tenant = report.Tenant, userId = report.UserId, profilesRebuilt = report.Profiles, events = report.Events });
    }

    /// <summary>Takes (or retakes) today's profile snapshot of a tenant.</summary>
    private static async Task<IResult> SnapshotAsync(RebuildRequest request, IServiceProvider services, EventValidator validator, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (LakeArchiving.ArchiverOf(services) is null)
        {
            return NoLake();
        }

        if (!validator.TryValidateTenant(request.Tenant ?? "", out var error))
        {
            return TypedResults.BadRequest(new RestEndpoints.ErrorBody(error!.ToString()));
        }

        var day = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var profiles = await services.GetRequiredService<LakeSnapshotter>().SnapshotAsync(request.Tenant!, day, cancellationToken);
        return TypedResults.Json(new { tenant = request.Tenant, date = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), profiles, file = LakePaths.Snapshot(request.Tenant!, day) });
    }

    private static IResult NoLake() =>
        TypedResults.NotFound(new RestEndpoints.ErrorBody("This silo has no data lake: set ProfileGrid:Lake:Enabled=true, with Azure Storage or ProfileGrid:Lake:Folder."));

    /// <summary>The body of POST /v1/admin/lake/rebuild and /snapshot (the snapshot ignores the user).</summary>
    public sealed record RebuildRequest(string? Tenant, string? UserId);
}
