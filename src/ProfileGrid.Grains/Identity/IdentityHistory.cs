using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using ProfileGrid.Grains.Privacy;

namespace ProfileGrid.Grains.Identity;

/// <summary>
/// Every event of a few profiles of a tenant: the lake's rows plus the log past each partition's archive watermark (the
/// whole log when the silo has no lake), and how far each of their partitions was read. What a merge brings into a
/// canonical profile and what an unmerge rebuilds it from. The lake is read only on the days between each profile's
/// first and last event (<see cref="ProfileDayBounds"/>), streamed.
/// </summary>
public sealed partial class IdentityHistory(IServiceProvider services, IGrainFactory grains, IOptions<IngestOptions> ingest, ILogger<IdentityHistory> logger)
{
    private const int Attempts = 20, PrunedAttempts = 3;
    private static readonly TimeSpan SlowRead = TimeSpan.FromSeconds(2);

    /// <summary>The events of <paramref name="userIds"/>'s profiles, each profile's in log order; End: per user, the last position of its partition read.</summary>
    public async Task<(Dictionary<string, List<UserEvent>> Events, Dictionary<string, long> Ends)> ReadAsync(
        string tenant, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        var partitions = ingest.Value.Partitions;
        var partitionOf = userIds.Distinct(StringComparer.Ordinal)
            .ToDictionary(u => u, u => ProfileBuckets.LogPartition(new ProfileKey(tenant, u).ToString(), partitions), StringComparer.Ordinal);
        var wanted = partitionOf.Keys.ToHashSet(StringComparer.Ordinal);
        var involved = partitionOf.Values.Distinct().ToList();
        var archiver = LakeArchiving.ArchiverOf(services);
        var reader = (LakeReader)services.GetService(typeof(LakeReader))!;
        var bounds = (ProfileDayBounds)services.GetService(typeof(ProfileDayBounds))!;
        var started = Stopwatch.GetTimestamp();
        TimeSpan inBounds = default, inLake = default, inLog = default;
        var logHolds = archiver is null ? [] : involved.Select(p => grains.GetGrain<IEventLogPartitionGrain>(p)).ToList();
        for (var attempt = 1; ; attempt++)
        {
            // As LakeRebuilder: watermarks, lake, log past them, watermarks again; an archive step in between starts over,
            // unless the partitions held their logs untrimmed all along: then what it archived is still read from the log.
            // (Under load a read outlasted archive steps again and again; after three it read every day of the tenant.)
            var holder = Guid.NewGuid();
            await Task.WhenAll(logHolds.Select(p => p.HoldTrimAsync(holder)));
            var held = false;
            var marks = new Dictionary<int, ArchiveWatermark>();
            var rows = new List<LakeEventRow>();
            var ends = new Dictionary<int, long>();
            var trimmed = false;
            try
            {
                marks = archiver is null ? [] : await archiver.WatermarksAsync(involved, cancellationToken);
                var through = involved.ToDictionary(p => p, p => marks.TryGetValue(p, out var mark) ? mark.Through : -1);
                UnsettledBounds? pruned = null;
                if (archiver is not null)
                {
                    // Only the days each profile's events span (a profile without events reads nothing), streamed one file
                    // at a time, and the log from each partition's checkpoint where that is before the watermark: no wait
                    // for the checkpoint, which a merge under way holds back. After a few attempts that the archive kept
                    // moving under, the days are not bounded (the read is then as it always was: every day of the tenant).
                    var step = Stopwatch.GetTimestamp();
                    pruned = attempt <= PrunedAttempts ? await bounds.OfWithoutWaitingAsync(tenant, wanted, cancellationToken) : null;
                    inBounds += Stopwatch.GetElapsedTime(step);
                    step = Stopwatch.GetTimestamp();
                    var days = pruned?.Days ?? wanted.ToDictionary(u => u, _ => LakeDayRange.All, StringComparer.Ordinal);
                    await foreach (var row in reader.ReadUsersAsync(tenant, days, involved, cancellationToken))
                    {
                        rows.Add(row);
                    }

                    inLake += Stopwatch.GetElapsedTime(step);
                }

                var logStep = Stopwatch.GetTimestamp();
                foreach (var partition in involved)
                {
                    var unwrittenFrom = pruned?.UnwrittenFrom[partition] ?? long.MaxValue;
                    var (tail, end, startTrimmed) = await reader.ReadLogFromAsync(partition, through[partition], unwrittenFrom, tenant, wanted, cancellationToken);
                    rows.AddRange(tail);
                    ends[partition] = end;
                    trimmed |= startTrimmed;
                }

                inLog += Stopwatch.GetElapsedTime(logStep);
            }
            finally
            {
                held = await ReleaseAsync(logHolds, holder);
            }

            if (trimmed || (archiver is not null && !held && await archiver.ChangedSinceAsync(marks, cancellationToken)))
            {
                if (attempt == Attempts)
                {
                    throw new InvalidOperationException($"The archive of tenant '{tenant}' kept moving while identity history was read; try again.");
                }

                continue;
            }

            // The log may still hold an erased user's events until it is trimmed (always, in a memory run), and the read
            // from a checkpoint reaches back further than the archive: a merge never brings them back.
            var filter = services.GetService(typeof(PrivacyFilters)) is PrivacyFilters filters ? await filters.ForTenantAsync(tenant) : PrivacyFilter.None;
            var events = wanted.ToDictionary(u => u, _ => new List<UserEvent>(), StringComparer.Ordinal);
            foreach (var row in rows.Where(r => filter.IsEmpty || !filter.IsErased(r.UserId, r.Instant()))
                         .DistinctBy(r => (r.LogPartition, r.LogPosition, r.EventIndex))
                         .OrderBy(r => r.LogPartition).ThenBy(r => r.LogPosition).ThenBy(r => r.EventIndex))
            {
                events[row.UserId].Add(row.ToEvent());
            }

            if (Stopwatch.GetElapsedTime(started) is var took && took >= SlowRead)
            {
                LogSlowRead(tenant, wanted.Count, took.TotalSeconds, attempt, held, inBounds.TotalSeconds, inLake.TotalSeconds, inLog.TotalSeconds, rows.Count);
            }

            return (events, partitionOf.ToDictionary(p => p.Key, p => ends[p.Value], StringComparer.Ordinal));
        }
    }

    /// <summary>Lets go of the partitions' logs: true when every one stayed untrimmed (a failure to ask is "maybe trimmed").</summary>
    private static async Task<bool> ReleaseAsync(List<IEventLogPartitionGrain> holds, Guid holder)
    {
        try
        {
            return holds.Count > 0 && (await Task.WhenAll(holds.Select(p => p.ReleaseTrimAsync(holder)))).All(untrimmed => untrimmed);
        }
        catch (Exception)
        {
            return false; // a hold not let go lapses by itself
        }
    }

    [LoggerMessage(EventId = 3406, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant}: the history of {Profiles} profile(s) took {Seconds:F1} s in {Attempts} attempt(s) (log held untrimmed: {Held}): day bounds {Bounds:F2} s, lake {Lake:F2} s, log {Log:F2} s; {Rows} rows")]
    private partial void LogSlowRead(string tenant, int profiles, double seconds, int attempts, bool held, double bounds, double lake, double log, int rows);
}
