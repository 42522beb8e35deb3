using System.Collections.Concurrent;
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
/// An append in flight for <see cref="InFlightAbandonedAfter"/> stops counting: its caller has timed out long since, and
/// one that never ends (a partition deactivated with it queued) would otherwise keep the silo from ever being quiet.
/// </summary>
public sealed class IngestActivity(TimeProvider clock, IOptions<IngestOptions> options)
{
    /// <summary>Twice Orleans' response timeout for the append call (30 s by default): its caller has had its answer.</summary>
    public static readonly TimeSpan InFlightAbandonedAfter = TimeSpan.FromMinutes(1);

    // Ticket -> start ticks. A few entries at most (appends in flight on the silo's partitions), so the quiet check scans them.
    private readonly ConcurrentDictionary<long, long> _inFlight = new();
    private long _lastTicket;
    private long _lastChangeTicks;

    /// <summary>An append arrived at one of the silo's partitions; <see cref="AppendEnded"/> with the ticket must follow, however it ends.</summary>
    public long AppendStarted()
    {
        var now = clock.GetUtcNow().UtcTicks;
        var ticket = Interlocked.Increment(ref _lastTicket);
        _inFlight[ticket] = now;
        Volatile.Write(ref _lastChangeTicks, now);
        return ticket;
    }

    /// <summary>An append was answered, stored or refused.</summary>
    public void AppendEnded(long ticket)
    {
        Volatile.Write(ref _lastChangeTicks, clock.GetUtcNow().UtcTicks);
        _inFlight.TryRemove(ticket, out _);
    }

    /// <summary>
    /// Time since the silo's last append was answered and none has arrived since (zero while one is in flight, unless it
    /// has been for <see cref="InFlightAbandonedAfter"/>; since the epoch, if none yet).
    /// </summary>
    public TimeSpan QuietFor
    {
        get
        {
            var now = clock.GetUtcNow();
            if (!_inFlight.IsEmpty)
            {
                var abandonedBefore = (now - InFlightAbandonedAfter).UtcTicks;
                foreach (var (ticket, started) in _inFlight)
                {
                    if (started > abandonedBefore)
                    {
                        return TimeSpan.Zero;
                    }

                    _inFlight.TryRemove(ticket, out _);
                }
            }

            return now - new DateTimeOffset(Volatile.Read(ref _lastChangeTicks), TimeSpan.Zero);
        }
    }

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
