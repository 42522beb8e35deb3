using Microsoft.Extensions.Options;

namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// Whether this silo's ingest has gone quiet: no append arriving at any of its log partitions, and none still on its way
/// to the log. A partition that has had nothing for a while is not enough: with many partitions and a slow store, any
/// one of them can wait half a second between appends in the middle of a burst, and early writes then only add storage
/// load (on Azurite they cost a quarter of the durable throughput). Nor is the time since the last arrival: while the
/// store stalls (Azurite saving its table database), every client waits on appends in flight and none arrives. So the
/// quiet-spell flush (<see cref="IngestOptions.QuietFlushAfter"/>) waits until no append has been in flight on the silo
/// for that long: the burst is over, or its client paused, and the store has the time to spare.
/// </summary>
public sealed class IngestActivity(TimeProvider clock, IOptions<IngestOptions> options)
{
    private long _lastChangeTicks;
    private int _inFlight;

    /// <summary>An append arrived at one of the silo's partitions; <see cref="AppendEnded"/> must follow, however it ends.</summary>
    public void AppendStarted()
    {
        Interlocked.Increment(ref _inFlight);
        Volatile.Write(ref _lastChangeTicks, clock.GetUtcNow().UtcTicks);
    }

    /// <summary>An append was answered, stored or refused.</summary>
    public void AppendEnded()
    {
        Volatile.Write(ref _lastChangeTicks, clock.GetUtcNow().UtcTicks);
        Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>
    /// Time since the silo's last append was answered and none has arrived since (zero while one is in flight; since the
    /// epoch, if none yet).
    /// </summary>
    public TimeSpan QuietFor => Volatile.Read(ref _inFlight) > 0
        ? TimeSpan.Zero
        : clock.GetUtcNow() - new DateTimeOffset(Volatile.Read(ref _lastChangeTicks), TimeSpan.Zero);

    /// <summary>Whether the ingest has been quiet for <see cref="IngestOptions.QuietFlushAfter"/>; never when that is 0 (off).</summary>
    public bool IsQuiet
    {
        get
        {
            var spell = options.Value.QuietFlushAfter;
            return spell > TimeSpan.Zero && QuietFor >= spell;
        }
    }
}
