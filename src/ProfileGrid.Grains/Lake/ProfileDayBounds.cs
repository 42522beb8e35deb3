using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// The lake days that can hold a user's rows, from what the user's profile knows: the UTC days of its first and last
/// event (<c>FirstSeen</c>, <c>LastSeen</c>). A read of one user's history (a merge, an unmerge, a rebuild, an export)
/// then opens those days only. A bound is given only where the profile is known to have applied every lake row of the
/// user: the rows at or before the archive watermark the read goes with, so the partition's checkpoint (everything before
/// it is in written profile state) must have passed that watermark; the rows past the watermark come from the log,
/// unpruned. Otherwise the user's range is <see cref="LakeDayRange.All"/> (no pruning, never a missed row).
/// </summary>
public sealed partial class ProfileDayBounds(IGrainFactory grains, IOptions<IngestOptions> ingest, ILogger<ProfileDayBounds> logger)
{
    /// <summary>
    /// Each user's days, for a read of the lake that goes with the archive watermarks <paramref name="marks"/> (per log
    /// partition: the lake rows at or before it are read from the lake, the rest from the log). Waits a little for a
    /// partition's checkpoint to pass its watermark (it trails the log by about a flush interval after an archive step);
    /// a partition that does not get there in time leaves its users unbounded.
    /// </summary>
    public async Task<Dictionary<string, LakeDayRange>> OfAsync(
        string tenant, IReadOnlyCollection<string> userIds, IReadOnlyDictionary<int, long> marks, CancellationToken cancellationToken = default)
    {
        var partitionOf = PartitionsOf(tenant, userIds);
        var deadline = DateTime.UtcNow + ingest.Value.FlushInterval + ingest.Value.CheckpointInterval + TimeSpan.FromSeconds(1);
        var settled = new Dictionary<int, LogPartitionStatus?>();
        foreach (var partition in partitionOf.Values.Distinct())
        {
            settled[partition] = await SettledAsync(partition, marks.TryGetValue(partition, out var mark) ? mark : long.MaxValue, deadline, cancellationToken);
        }

        // Only now, with every row up to the watermarks in the profiles' written state, are their first and last events read.
        var ranges = new Dictionary<string, LakeDayRange>(StringComparer.Ordinal);
        foreach (var (user, partition) in partitionOf)
        {
            ranges[user] = settled[partition] is { } status ? await RangeOfAsync(tenant, user, status) : LakeDayRange.All;
        }

        LogBounds(tenant, ranges.Count, ranges.Count(r => r.Value.IsEmpty), ranges.Count(r => r.Value.IsAll));
        return ranges;
    }

    /// <summary>
    /// Each user's days without waiting for any checkpoint, for a read that also takes from the log every record from
    /// the partition's checkpoint on (<see cref="UnsettledBounds.UnwrittenFrom"/>): a row before the checkpoint is in
    /// its profile's written state and so within its days, and any other row is read from the log. A merge reads so: it
    /// runs while the merged profile refuses its new records until the merge is done, which holds the checkpoint back,
    /// so waiting for the checkpoint there waited for the merge itself (an outside probe saw merges of 4 minutes, each
    /// ending in a read of every day of the tenant, and the partitions stalled behind them).
    /// </summary>
    public async Task<UnsettledBounds> OfWithoutWaitingAsync(string tenant, IReadOnlyCollection<string> userIds, CancellationToken cancellationToken = default)
    {
        var partitionOf = PartitionsOf(tenant, userIds);
        var statuses = new Dictionary<int, LogPartitionStatus>();
        foreach (var partition in partitionOf.Values.Distinct())
        {
            cancellationToken.ThrowIfCancellationRequested();
            statuses[partition] = await grains.GetGrain<IEventLogPartitionGrain>(partition).GetStatusAsync();
        }

        // Read after the checkpoints: a profile's view holds at least its written state.
        var ranges = new Dictionary<string, LakeDayRange>(StringComparer.Ordinal);
        foreach (var (user, partition) in partitionOf)
        {
            ranges[user] = await RangeOfAsync(tenant, user, statuses[partition]);
        }

        LogBounds(tenant, ranges.Count, ranges.Count(r => r.Value.IsEmpty), ranges.Count(r => r.Value.IsAll));
        return new UnsettledBounds(ranges, statuses.ToDictionary(s => s.Key, s => s.Value.Checkpoint));
    }

    private Dictionary<string, int> PartitionsOf(string tenant, IReadOnlyCollection<string> userIds) =>
        userIds.Distinct(StringComparer.Ordinal)
            .ToDictionary(u => u, u => ProfileBuckets.LogPartition(new ProfileKey(tenant, u).ToString(), ingest.Value.Partitions), StringComparer.Ordinal);

    /// <summary>The user's days from their profile, unless the partition recently set the profile aside (its state may lack rows).</summary>
    private async Task<LakeDayRange> RangeOfAsync(string tenant, string user, LogPartitionStatus status) =>
        (status.RecentlySetAside ?? []).Any(s => s.Tenant == tenant && s.UserId == user)
            ? LakeDayRange.All
            : RangeOf(await grains.GetGrain<IUserProfileGrain>(new ProfileKey(tenant, user).ToString()).GetViewAsync());

    /// <summary>The days of a profile's events: none without events, open on a side the profile does not know.</summary>
    public static LakeDayRange RangeOf(ProfileView? view) => view switch
    {
        null => LakeDayRange.None,
        { EventsApplied: 0, Behavior.FirstSeen: null, Behavior.LastSeen: null } => LakeDayRange.None,
        _ => LakeDayRange.Between(view.Behavior.FirstSeen, view.Behavior.LastSeen),
    };

    private async Task<LogPartitionStatus?> SettledAsync(int partition, long mark, DateTime deadline, CancellationToken cancellationToken)
    {
        var grain = grains.GetGrain<IEventLogPartitionGrain>(partition);
        while (true)
        {
            var status = await grain.GetStatusAsync();
            if (status.Checkpoint > mark)
            {
                return status;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return null;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
        }
    }

    [LoggerMessage(EventId = 3311, Level = LogLevel.Debug, Message = "Lake: a read of {Users} users of tenant {Tenant}: {Empty} without events, {Unbounded} unbounded, the rest by their days")]
    private partial void LogBounds(string tenant, int users, int empty, int unbounded);
}

/// <summary>Users' lake days, good for the rows before <see cref="UnwrittenFrom"/> (per log partition, a record position).</summary>
public sealed record UnsettledBounds(Dictionary<string, LakeDayRange> Days, Dictionary<int, long> UnwrittenFrom);
