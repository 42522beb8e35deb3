using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains;

/// <summary>
/// Counts a write-behind shard's successful writes, so that a profile can wait until what it pushed is stored
/// (<see cref="IWriteBehindShard"/>). A shard's updates and writes never overlap (neither interleaves), so an update
/// taken now is carried by the next write that succeeds. One per shard activation, used on its scheduler only.
/// </summary>
public sealed class ShardWrites(TimeSpan? maxWait = null)
{
    /// <summary>How long one <see cref="WaitAsync"/> waits by default before it answers <see cref="ShardWriteState.Pending"/>.</summary>
    public static readonly TimeSpan DefaultMaxWait = TimeSpan.FromSeconds(10);

    private readonly TimeSpan _maxWait = maxWait ?? DefaultMaxWait;

    private readonly long _activation = Random.Shared.NextInt64(1, long.MaxValue);
    private long _written;
    private bool _ended;
    private bool _broughtForward;
    private int _waiting;
    private Task? _ticking;
    private TaskCompletionSource _nextWrite = new();

    /// <summary>
    /// The ticket for an update just taken: the next successful write when <paramref name="writePending"/> (the shard
    /// holds changes it will write), else the last one (the update changed nothing that is not written).
    /// </summary>
    public ShardWriteTicket Ticket(bool writePending) => new(_activation, writePending ? _written + 1 : _written);

    /// <summary>
    /// How soon a write brought forward (<see cref="BringForwardIfQuiet"/>) happens in a shard of up to
    /// <see cref="ShardWritePacing.EntriesPerInterval"/> entries (a larger one waits in proportion, as its writes are
    /// paced): waiters arriving meanwhile share it. 50 ms: at 200 ms, the chain of brought-forward writes that the
    /// profiles of a burst wait on took about 0.15 s more of the time from the last acknowledgement to durable
    /// (docs/benchmarks.md, run K).
    /// </summary>
    public static readonly TimeSpan QuietWriteDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The shard's write-behind timer, brought forward (by <paramref name="schedule"/>) to <see cref="QuietWriteDelay"/>,
    /// paced for its <paramref name="entries"/> (<see cref="ShardWritePacing"/>), when a waiter comes while the silo's
    /// ingest has gone quiet (<paramref name="ingestQuiet"/>), the shard holds unwritten changes (<paramref name="dirty"/>)
    /// on that timer, and no write was brought forward since the last began. After a burst the log's quiet-spell flush
    /// has every profile write at once, and each waits for its pushes to be stored before it reports its records
    /// written: at the shards' interval (2 s) that wait was most of the time from the last acknowledgement to durable
    /// (docs/benchmarks.md, 2026-12-06). While events stream in, writes keep their interval and coalesce.
    /// </summary>
    public IGrainTimer? BringForwardIfQuiet(IGrainTimer? scheduled, bool dirty, bool ingestQuiet, int entries, Func<TimeSpan, IGrainTimer> schedule)
    {
        if (scheduled is null || !dirty || !ingestQuiet || _broughtForward)
        {
            return scheduled;
        }

        _broughtForward = true;
        scheduled.Dispose();
        return schedule(ShardWritePacing.Interval(QuietWriteDelay, entries));
    }

    /// <summary>A write of the shard's state begins (its timer fired): a later waiter may bring the next one forward.</summary>
    public void WriteStarting() => _broughtForward = false;

    /// <summary>A write of the shard's state succeeded: every update taken before it began is stored.</summary>
    public void Written()
    {
        _written++;
        Release();
    }

    /// <summary>The activation's last write (<paramref name="lastFlush"/>), then <see cref="End"/> whatever came of it.</summary>
    public async Task EndAfterAsync(Task lastFlush)
    {
        try
        {
            await lastFlush;
        }
        finally
        {
            End();
        }
    }

    /// <summary>The activation is ending: writes after this one will not come, so waiters for them learn so now.</summary>
    public void End()
    {
        _ended = true;
        Release();
    }

    /// <summary>
    /// Waits until the write that carries <paramref name="ticket"/> has succeeded (<see cref="ShardWriteState.Written"/>),
    /// for the max wait at most (<see cref="ShardWriteState.Pending"/>); <see cref="ShardWriteState.Lost"/> for a
    /// ticket of another activation, or once this one is ending without that write.
    /// </summary>
    public async Task<ShardWriteState> WaitAsync(ShardWriteTicket ticket, TimeProvider clock)
    {
        if (ticket.Activation != _activation)
        {
            return ShardWriteState.Lost;
        }

        var deadline = clock.GetUtcNow() + _maxWait;
        _waiting++;
        try
        {
            while (_written < ticket.Write)
            {
                if (_ended)
                {
                    return ShardWriteState.Lost;
                }

                if (clock.GetUtcNow() >= deadline)
                {
                    return ShardWriteState.Pending;
                }

                // One timer for all waiters rather than one each: a large shard that writes every 25 s has thousands.
                _ticking ??= TickWhileWaitedForAsync(clock);
                await _nextWrite.Task;
            }

            return ShardWriteState.Written;
        }
        finally
        {
            _waiting--;
        }
    }

    /// <summary>Wakes the waiters every few seconds, so that each answers within about its max wait even when no write comes.</summary>
    private async Task TickWhileWaitedForAsync(TimeProvider clock)
    {
        try
        {
            while (_waiting > 0 && !_ended)
            {
                await Task.Delay(_maxWait / 4, clock);
                Release();
            }
        }
        finally
        {
            _ticking = null;
        }
    }

    private void Release()
    {
        var released = _nextWrite;
        _nextWrite = new TaskCompletionSource();
        released.SetResult();
    }
}
