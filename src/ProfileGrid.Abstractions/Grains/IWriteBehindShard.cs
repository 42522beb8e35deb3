using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// A shard that takes profiles' pushes into memory and writes them behind (the feature, interaction and feedback
/// shards). A profile on the log path reports its state written to its log partition only once what it pushed is in
/// the shards' written state too: the checkpoint then never passes a record whose derived data a kill could lose, and
/// the replay after a crash wakes every profile whose push may be missing, which pushes again on activation.
/// </summary>
public interface IWriteBehindShard : IGrain
{
    /// <summary>
    /// Waits (a few seconds at most) until the shard's write that carries <paramref name="ticket"/>'s update has
    /// succeeded. <see cref="ShardWriteState.Lost"/>: the activation that took it is gone without writing it, so the
    /// update must be sent again.
    /// </summary>
    [AlwaysInterleave]
    Task<ShardWriteState> WaitWrittenAsync(ShardWriteTicket ticket);
}

/// <summary>Which write of which shard activation carries an update (what a write-behind shard answers a push with).</summary>
/// <param name="Activation">A number the shard's activation drew when it started.</param>
/// <param name="Write">The activation's successful writes, counted from 1, once the one carrying the update has succeeded.</param>
[GenerateSerializer, Immutable, Alias("pg.shard-write-ticket")]
public readonly record struct ShardWriteTicket([property: Id(0)] long Activation, [property: Id(1)] long Write);

public enum ShardWriteState
{
    /// <summary>In the shard's written state.</summary>
    Written,

    /// <summary>Not written yet; ask again.</summary>
    Pending,

    /// <summary>The activation that took the update ended without writing it: send the update again.</summary>
    Lost,
}
