namespace ProfileGrid.Grains;

/// <summary>
/// How long a shard (feature or interaction) waits between writes of its state. A shard writes its whole state, so at a
/// fixed interval its write cost grows with the users it holds: at a million users, sixteen feature shards and sixteen
/// interaction shards serialized their entries every two seconds, about 150 MB a second of large-object garbage that kept
/// the host in full collections (docs/benchmarks.md, "Growth"). Spacing the writes in proportion to the entries bounds the
/// cost per second of every shard whatever its size; a small shard keeps the configured interval.
/// </summary>
public static class ShardWritePacing
{
    /// <summary>Entries a shard writes at the configured interval; a larger shard waits that interval once per so many entries.</summary>
    public const int EntriesPerInterval = 5_000;

    public static TimeSpan Interval(TimeSpan configured, int entries) =>
        entries <= EntriesPerInterval ? configured : configured * ((double)entries / EntriesPerInterval);
}
