using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Rebuilds profiles from their events (a backfill after a rule change): each profile is reset and given, in one
/// call, every event of the user the lake holds plus those of the log past the archive watermark, in log order.
/// </summary>
public sealed partial class LakeRebuilder(
    LakeReader reader, LakeArchiver archiver, IGrainFactory grains, IOptions<IngestOptions> ingest, ILogger<LakeRebuilder> logger,
    Privacy.PrivacyFilters? privacy = null, ProfileDayBounds? bounds = null)
{
    private const int Attempts = 5;

    /// <summary>Rebuilds the tenant's profiles that have events, or only <paramref name="userId"/>'s.</summary>
    public async Task<RebuildReport> RebuildAsync(string tenant, string? userId = null, CancellationToken cancellationToken = default)
    {
        var partitions = ingest.Value.Partitions;
        var users = 0;
        var events = 0;
        HashSet<string>? only = null;
        var aheadRetries = 0;
        for (var attempt = 1; ; attempt++)
        {
            // The log's tail, per partition, past the watermark; the end read bounds what a profile may already hold.
            var involved = userId is null
                ? Enumerable.Range(0, partitions).ToList()
                : [ProfileBuckets.LogPartition(new ProfileKey(tenant, userId).ToString(), partitions)];
            // Watermarks first, then the lake, then the log past them, then the watermarks again: an archive step in
            // between (which may trim what it archived) or a compaction (which may hide files from a listing) would leave
            // rows in neither read, so the reads start over.
            var marks = await archiver.WatermarksAsync(involved, cancellationToken);
            var through = marks.ToDictionary(m => m.Key, m => m.Value.Through);

            // One user: only the days its profile's events span, streamed (the first attempts; then every day, as a
            // tenant's rebuild reads).
            List<LakeEventRow> lake;
            if (userId is not null && bounds is not null && attempt <= 3)
            {
                lake = [];
                await foreach (var row in reader.ReadUsersAsync(tenant, await bounds.OfAsync(tenant, [userId], through, cancellationToken), involved, cancellationToken))
                {
                    lake.Add(row);
                }
            }
            else
            {
                lake = await reader.ReadTenantAsync(tenant, userId, userId is null ? null : involved, cancellationToken);
            }

            var tails = new Dictionary<int, (List<LakeEventRow> Rows, long End)>();
            foreach (var partition in involved)
            {
                tails[partition] = await reader.ReadLogAsync(partition, through[partition], tenant, userId, cancellationToken);
            }

            if (await archiver.ChangedSinceAsync(marks, cancellationToken))
            {
                if (attempt == Attempts * 4)
                {
                    throw new InvalidOperationException($"The archive of tenant '{tenant}' kept moving during the rebuild; try again.");
                }

                continue;
            }

            // The log's tail may still hold an erased user's events (until it is trimmed): a rebuild never brings them back.
            var filter = privacy is null ? Privacy.PrivacyFilter.None : await privacy.ReloadAsync(tenant);
            var byUser = lake.Concat(tails.Values.SelectMany(t => t.Rows))
                .Where(r => filter.IsEmpty || !filter.IsErased(r.UserId, r.Instant()))
                .GroupBy(r => r.UserId, StringComparer.Ordinal)
                .Where(g => only is null || only.Contains(g.Key))
                .ToList();
            var ahead = new List<string>();
            foreach (var user in byUser)
            {
                var key = new ProfileKey(tenant, user.Key).ToString();
                var partition = ProfileBuckets.LogPartition(key, partitions);
                var ordered = user.DistinctBy(r => (r.LogPartition, r.LogPosition, r.EventIndex))
                    .OrderBy(r => r.LogPosition).ThenBy(r => r.EventIndex)
                    .Select(r => r.ToEvent())
                    .ToList();
                var end = tails.TryGetValue(partition, out var tail) ? tail.End : -1;
                if (await grains.GetGrain<IUserProfileGrain>(key).RebuildAsync(new EventBatch(ordered), end))
                {
                    users++;
                    events += ordered.Count;
                }
                else
                {
                    ahead.Add(user.Key);
                }
            }

            if (ahead.Count == 0)
            {
                LogRebuilt(tenant, users, events);
                return new RebuildReport(tenant, userId, users, events);
            }

            if (++aheadRetries >= Attempts)
            {
                throw new InvalidOperationException($"{ahead.Count} profiles of tenant '{tenant}' kept taking new events during the rebuild; try again when ingest is quieter.");
            }

            // Profiles that took records appended after the tail was read: read again for them.
            only = [.. ahead];
        }
    }

    [LoggerMessage(EventId = 3310, Level = LogLevel.Information, Message = "Lake: rebuilt {Users} profiles of tenant {Tenant} from {Events} events")]
    private partial void LogRebuilt(string tenant, int users, int events);
}

/// <summary>What a rebuild did.</summary>
public sealed record RebuildReport(string Tenant, string? UserId, int Profiles, int Events);
