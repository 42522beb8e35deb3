namespace ProfileGrid.Grains.Ingest;

/// <summary>The log ingest path (configuration section "ProfileGrid:Ingest").</summary>
public sealed class IngestOptions
{
    public const string Section = "ProfileGrid:Ingest";

    /// <summary>
    /// Log partitions; a user belongs to partition <see cref="Abstractions.ProfileBuckets.LogPartition"/>. Fixed for the life of a deployment:
    /// changing it moves users between partitions while their state still refers to the old ones.
    /// </summary>
    public int Partitions { get; set; } = 16;

    /// <summary>How long a profile keeps changes in memory before writing them (they are safe in the log meanwhile).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When the silo's log partitions have had no append in flight or arriving for this long (<see cref="IngestActivity"/>),
    /// the profiles holding unwritten records write them at once instead of waiting out <see cref="FlushInterval"/>: while
    /// events stream in, writes are coalesced; when a burst ends (or its client pauses), its last events are durable in
    /// profile state soon after, on capacity the store has spare. At most one early write per profile per quiet spell.
    /// <see cref="TimeSpan.Zero"/> turns it off (profiles then always wait for <see cref="FlushInterval"/>). 200 ms: at
    /// 500 ms the spell was 0.5 s of the 1.1 s from the last acknowledgement to durable in memory (docs/benchmarks.md).
    /// </summary>
    public TimeSpan QuietFlushAfter { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How often a partition persists its checkpoint.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A profile that has not reported its write for this long is presumed lost (its silo died); the partition then
    /// replays from its checkpoint, and profiles skip what they already hold.
    /// </summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound of one log record; a group commit holds at most this many serialized bytes.</summary>
    public int MaxRecordBytes { get; set; } = 2 * 1024 * 1024;

    /// <summary>
    /// Failed attempts (state writes, or calls the profile itself failed, say on activation; never calls lost with a
    /// silo or timed out, which say nothing about the profile) after which a profile's unwritten
    /// range is set aside: recorded with its positions and last error in the partition's checkpoint row, logged
    /// (EventId 3101), shown in GET /v1/admin/ingest, and no longer holding the checkpoint back. Write retries back
    /// off from <see cref="FlushInterval"/> (doubling, at most a minute), so with the defaults a profile is set aside
    /// after about four minutes of refusals; failed calls are retried by the stuck-profile replay
    /// (<see cref="StuckAfter"/>). The profile keeps its changes in memory and goes on trying to write them.
    /// </summary>
    public int MaxWriteAttempts { get; set; } = 8;

    /// <summary>
    /// Write-behind profile state writes (the log path's flushes) in flight at once per silo. Flushes beyond it wait
    /// their turn without blocking their grain, so storage is not flooded by a burst of new users and grain calls do
    /// not expire. Writes someone awaits (direct updates, stream deliveries) do not queue behind them. On Azure Storage
    /// the profile store sends writes in transactions of up to 100 rows, a few at once, so up to 800 writes in
    /// flight make full transactions without more requests.
    /// </summary>
    public int MaxConcurrentStateWrites { get; set; } = 800;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Partitions is < 1 or > 1024)
        {
            problems.Add("Partitions must be between 1 and 1024.");
        }

        if (FlushInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add("FlushInterval must be at least 10 ms.");
        }

        if (QuietFlushAfter < TimeSpan.Zero || (QuietFlushAfter > TimeSpan.Zero && QuietFlushAfter < TimeSpan.FromMilliseconds(10)))
        {
            problems.Add("QuietFlushAfter must be 0 (off) or at least 10 ms.");
        }

        if (CheckpointInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add("CheckpointInterval must be at least 10 ms.");
        }

        if (StuckAfter <= FlushInterval)
        {
            problems.Add("StuckAfter must be longer than FlushInterval.");
        }

        if (MaxWriteAttempts is < 1 or > 1000)
        {
            problems.Add("MaxWriteAttempts must be between 1 and 1000.");
        }

        if (MaxConcurrentStateWrites is < 1 or > 1024)
        {
            problems.Add("MaxConcurrentStateWrites must be between 1 and 1024.");
        }

        if (MaxRecordBytes is < 64 * 1024 or > 3 * 1024 * 1024)
        {
            problems.Add("MaxRecordBytes must be between 64 KiB and 3 MiB (one append block holds 4 MiB).");
        }

        return problems;
    }
}
