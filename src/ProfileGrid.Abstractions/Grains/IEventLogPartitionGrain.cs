using Orleans.Concurrency;
using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One partition of the durable event log (key: partition number). It appends batches of many users in one
/// storage write (group commit), acknowledges once the write is durable, then hands each user's events to their
/// profile grain in log order. Profiles write their state behind; the partition's checkpoint only moves past a
/// record once every profile it touched has written it, and on activation the partition replays from there.
/// </summary>
public interface IEventLogPartitionGrain : IGrainWithIntegerKey
{
    /// <summary>Durably appends the batches; returns the log position of the record that holds them.</summary>
    Task<long> AppendAsync(EventBatch[] batches);

    /// <summary>A profile reports that its state up to and including <paramref name="position"/> is durable.</summary>
    [OneWay]
    Task FlushedAsync(string profileKey, long position);

    /// <summary>Activates the partition (replaying what no profile has persisted yet) and reports its state.</summary>
    Task<LogPartitionStatus> GetStatusAsync();
}

[GenerateSerializer, Immutable, Alias("pg.log-partition-status")]
public sealed record LogPartitionStatus(
    [property: Id(0)] int Partition,
    [property: Id(1)] long Checkpoint,
    [property: Id(2)] long NextPosition,
    [property: Id(3)] int ProfilesWithUnwrittenState,
    [property: Id(4)] int RecordsAwaitingDispatch,
    [property: Id(5)] bool Replaying);

/// <summary>
/// What a profile grain tells the log after being handed a record: where its unwritten state begins, if anywhere,
/// and whether it refused the record because it is missing an earlier one (a gap only a replay may fill).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.logged-apply-result")]
public readonly record struct LoggedApplyResult([property: Id(0)] long? UnwrittenFrom, [property: Id(1)] bool Gap = false);
