namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// When this silo's log partitions last took an append. A partition that has had nothing for a while is not enough to
/// call the ingest quiet: with many partitions and a slow store, any one of them can wait half a second between
/// appends in the middle of a burst, and early writes then only add storage load (on Azurite they cost a quarter of
/// the durable throughput). So the quiet-spell flush (<see cref="IngestOptions.QuietFlushAfter"/>) waits until every
/// partition of the silo has been given nothing for that long.
/// </summary>
public sealed class IngestActivity(TimeProvider clock)
{
    private long _lastAppendTicks;

    public void Appended() => Volatile.Write(ref _lastAppendTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>Time since the last append to any of this silo's partitions (or since the epoch, if none yet).</summary>
    public TimeSpan QuietFor => clock.GetUtcNow() - new DateTimeOffset(Volatile.Read(ref _lastAppendTicks), TimeSpan.Zero);

    /// <summary>Whether nothing was appended for <paramref name="spell"/> (IngestOptions.QuietFlushAfter); never when it is 0 (off).</summary>
    public bool IsQuiet(TimeSpan spell) => spell > TimeSpan.Zero && QuietFor >= spell;
}
