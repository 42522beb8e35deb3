using Orleans.Concurrency;
using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One partition of the durable event log (key: partition number, <see cref="ProfileBuckets.LogPartition"/> of the
/// profile key). It appends batches of many users in one storage write (group commit), acknowledges once the write is
/// durable, then hands each user's events to their profile grain in log order. Profiles write their state behind; the
/// partition's checkpoint only moves past a record once every profile it touched has written it (or has been set aside
/// because its state cannot be written), and on activation the partition replays from there.
/// </summary>
public interface IEventLogPartitionGrain : IGrainWithIntegerKey
{
    /// <summary>Durably appends the batches; returns the log position of the record that holds them.</summary>
    Task<long> AppendAsync(ProfileBatch[] batches);

    /// <summary>
    /// A profile reports that its state up to and including <paramref name="position"/> is durable (with what it pushed
    /// to its shards), and that it holds positions from <paramref name="unwrittenFrom"/> on unwritten (null: none).
    /// </summary>
    [OneWay]
    Task FlushedAsync(string profileKey, long position, long? unwrittenFrom);

    /// <summary>
    /// A profile reports that writing its state failed. When the profile has failed too often its unwritten range is set
    /// aside (recorded, and no longer holding the checkpoint back): returns the last log position that range covers;
    /// null otherwise.
    /// </summary>
    Task<long?> WriteFailedAsync(string profileKey, string error);

    /// <summary>Activates the partition (replaying what no profile has persisted yet) and reports its state.</summary>
    Task<LogPartitionStatus> GetStatusAsync();

    /// <summary>
    /// Reads the tenant's privacy ledger again for the readers of this partition's silo: an erasure has begun, and its
    /// profiles are erased next. A replay must not apply their older events to them again from a filter read before.
    /// </summary>
    [AlwaysInterleave]
    Task ReloadPrivacyAsync(string tenant);

    /// <summary>
    /// A merge of a profile of this partition was decided by the identifier grain <paramref name="identifier"/> (its key)
    /// (<paramref name="pending"/>), or carried out or dropped: until then <see cref="LogPartitionStatus.MergesPending"/>
    /// counts it, so a person whose merge is still to come is not reported as all written. A decision is saved with the
    /// checkpoint before this returns, so that a partition activated after a crash still counts it and has the identifier
    /// carry it out at once.
    /// </summary>
    [AlwaysInterleave]
    Task NoteMergeAsync(string mergeId, string identifier, bool pending);

    /// <summary>
    /// A reader of the log behind the archive (a merge's history read: the lake, then the log past the watermark) asks that
    /// no archive step trim the log until it lets go (steps already running skip their trims too), so that records archived
    /// while it reads are still in the log when it gets there. A hold lapses after a few minutes (a reader that died). An
    /// erasure trims all the same.
    /// </summary>
    [AlwaysInterleave]
    Task HoldTrimAsync(Guid reader);

    /// <summary>
    /// Lets go of <see cref="HoldTrimAsync"/>. True when nothing trimmed the log while it was held: no trim was under way when
    /// it came and none began meanwhile (an erasure's), it did not lapse, and the partition did not move to another silo.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> ReleaseTrimAsync(Guid reader);

    /// <summary>
    /// Waits until every record this partition acknowledged so far that holds events of <paramref name="profileKey"/> has
    /// been handed to that profile, for at most <paramref name="timeout"/>: a direct write then comes after the events
    /// acknowledged before it, as their senders saw them, whatever the dispatch backlog (probe60: an event dated a few
    /// minutes ahead and acknowledged just before a PUT outranked it when applied after it). True when nothing was
    /// waiting or all of it was handed over; false on the timeout, or while the partition replays from its log.
    /// </summary>
    [AlwaysInterleave]
    Task<bool> AwaitDeliveredAsync(string profileKey, TimeSpan timeout);

    /// <summary>
    /// Saves the checkpoint, then archives to the data lake what the log holds past the archive watermark (one step,
    /// at most ProfileGrid:Lake:MaxRecordsPerArchive records) and trims the log behind both. Returns the position of the
    /// last archived record (-1: none), or null when the silo has no lake. The partition also does this by itself every
    /// ProfileGrid:Lake:ArchiveInterval.
    /// </summary>
    Task<long?> ArchiveNowAsync();

    /// <summary>
    /// Erasure of users of <paramref name="tenant"/> already in its privacy ledger: reloads the ledger (so dispatch,
    /// replay and archiving skip their erased events), rewrites this partition's lake files without their rows (partition
    /// 0 also the profile snapshots), drops them from the set-aside records, seals the log segment being written, gets the
    /// checkpoint past it (profiles are asked to write at once), archives what the sealed segments hold and deletes them.
    /// Throws, after doing the rest, when the sealed segments could not be deleted yet (the seal failed, or the checkpoint
    /// did not pass them in time): the erasure then stays pending and is retried (docs/privacy.md). It archives the whole
    /// backlog of the sealed segments, which can outlast the default response timeout; past this one the call fails while
    /// the partition goes on, and the retry continues from the archive's watermark.
    /// </summary>
    [ResponseTimeout("00:05:00")]
    Task<PartitionErasure> EraseAsync(string tenant, string[] userIds);
}

/// <summary>One profile's events as the gateway grouped them, with the key they were grouped by.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-batch")]
public sealed record ProfileBatch([property: Id(0)] string ProfileKey, [property: Id(1)] EventBatch Batch);

[GenerateSerializer, Immutable, Alias("pg.log-partition-status")]
public sealed record LogPartitionStatus(
    [property: Id(0)] int Partition,
    [property: Id(1)] long Checkpoint,
    [property: Id(2)] long NextPosition,
    [property: Id(3)] int ProfilesWithUnwrittenState,
    [property: Id(4)] int RecordsAwaitingDispatch,
    [property: Id(5)] bool Replaying,
    [property: Id(6)] long ProfilesSetAside = 0,
    [property: Id(7)] SetAsideProfile[]? RecentlySetAside = null,
    [property: Id(8)] int ReplaysWithoutProgress = 0,
    [property: Id(9)] long? StalledReplayFrom = null,
    [property: Id(10)] int MergesPending = 0);

/// <summary>
/// A profile whose state could not be written after the configured number of attempts: the log positions it held
/// unwritten (still in the log) and the last error. The partition's checkpoint moved on without it.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.set-aside-profile")]
public sealed record SetAsideProfile(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string UserId,
    [property: Id(2)] int Partition,
    [property: Id(3)] long FromPosition,
    [property: Id(4)] long ThroughPosition,
    [property: Id(5)] int Attempts,
    [property: Id(6)] string Error,
    [property: Id(7)] DateTimeOffset At);

/// <summary>
/// What a profile grain tells the log after being handed a record: where its unwritten state begins, if anywhere,
/// and whether it refused the record because it is missing an earlier one (a gap only a replay may fill).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.logged-apply-result")]
public readonly record struct LoggedApplyResult([property: Id(0)] long? UnwrittenFrom, [property: Id(1)] bool Gap = false);
