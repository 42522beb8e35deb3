using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Silo.Hosting.Operations;

/// <summary>
/// The acknowledged-but-unwritten backlog of the whole cluster (every log partition's status, as GET /v1/admin/ingest
/// reads it): degraded above <see cref="HealthSettings.MaxUnwrittenProfiles"/> profiles holding unwritten events or
/// <see cref="HealthSettings.MaxRecordsAwaitingDispatch"/> records awaiting dispatch, with the figures in the description.
/// Nothing acknowledged is at risk (the log holds it); a growing backlog means writes or dispatch fall behind.
/// </summary>
public sealed class IngestBacklogHealthCheck(IGrainFactory grains, IOptions<IngestOptions> ingest, HostSettings host, HealthSettings health)
    : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (host.UsesStreams)
        {
            return HealthCheckResult.Healthy("ingest by Orleans streams: each batch is written before its message is deleted, so there is no write-behind backlog");
        }

        LogPartitionStatus[] partitions;
        try
        {
            partitions = await Task.WhenAll(Enumerable.Range(0, ingest.Value.Partitions)
                    .Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).GetStatusAsync()))
                .WaitAsync(health.StorageTimeout + TimeSpan.FromSeconds(3), cancellationToken);
        }
        catch (TimeoutException)
        {
            return HealthCheckResult.Degraded("the log partitions did not all report their backlog in time");
        }

        return Assess(partitions, health);
    }

    /// <summary>The verdict on the partitions' statuses: degraded by a backlog above its limits or a replay that keeps making no progress.</summary>
    public static HealthCheckResult Assess(IReadOnlyList<LogPartitionStatus> partitions, HealthSettings health)
    {
        var unwritten = partitions.Sum(p => (long)p.ProfilesWithUnwrittenState);
        var awaiting = partitions.Sum(p => (long)p.RecordsAwaitingDispatch);
        var replaying = partitions.Count(p => p.Replaying);
        var setAside = partitions.Sum(p => p.ProfilesSetAside);
        var stalled = partitions.Where(p => p.ReplaysWithoutProgress >= health.MaxReplaysWithoutProgress).ToList();
        var data = new Dictionary<string, object>
        {
            ["profilesWithUnwrittenState"] = unwritten,
            ["maxUnwrittenProfiles"] = health.MaxUnwrittenProfiles,
            ["recordsAwaitingDispatch"] = awaiting,
            ["maxRecordsAwaitingDispatch"] = health.MaxRecordsAwaitingDispatch,
            ["partitionsReplaying"] = replaying,
            ["profilesSetAside"] = setAside,
            ["partitionsReplayingWithoutProgress"] = stalled.Count,
        };
        var figures = $"{unwritten} profiles with unwritten state (limit {health.MaxUnwrittenProfiles}), {awaiting} log records awaiting dispatch " +
            $"(limit {health.MaxRecordsAwaitingDispatch}), {replaying} of {partitions.Count} partitions replaying, {setAside} profiles set aside";
        if (stalled.Count > 0)
        {
            var which = string.Join(", ", stalled.Select(p => $"partition {p.Partition} from position {p.StalledReplayFrom} ({p.ReplaysWithoutProgress} times)"));
            return HealthCheckResult.Degraded(
                $"a replay keeps making no progress: {which}; a profile there keeps refusing its records (GET /v1/admin/ingest shows the partition); {figures}",
                data: data);
        }

        return unwritten > health.MaxUnwrittenProfiles || awaiting > health.MaxRecordsAwaitingDispatch
            ? HealthCheckResult.Degraded($"ingest backlog above its limit: {figures}", data: data)
            : HealthCheckResult.Healthy(figures, data);
    }
}
