using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains;

/// <summary>
/// Counts a write-behind shard's successful writes, so that a profile can wait until what it pushed is stored
/// (<see cref="IWriteBehindShard"/>). A shard's updates and writes never overlap (neither interleaves), so an update
/// taken now is carried by the next write that succeeds. One per shard activation, used on its scheduler only.
/// </summary>
public sealed class ShardWrites
{
    /// <summary>How long one <see cref="WaitAsync"/> waits before it answers <see cref="ShardWriteState.Pending"/>.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(10);

    private readonly long _activation = Random.Shared.NextInt64(1, long.MaxValue);
    private long _written;
    private bool _ended;
    private TaskCompletionSource _nextWrite = new();

    /// <summary>
    /// The ticket for an update just taken: the next successful write when <paramref name="writePending"/> (the shard
    /// holds changes it will write), else the last one (the update changed nothing that is not written).
    /// </summary>
    public ShardWriteTicket Ticket(bool writePending) => new(_activation, writePending ? _written + 1 : _written);

    /// <summary>A write of the shard's state succeeded: every update taken before it began is stored.</summary>
    public void Written()
    {
        _written++;
        Release();
    }

    /// <summary>The activation is ending: writes after this one will not come, so waiters for them learn so now.</summary>
    public void End()
    {
        _ended = true;
        Release();
    }

    public async Task<ShardWriteState> WaitAsync(ShardWriteTicket ticket, TimeProvider clock)
    {
        if (ticket.Activation != _activation)
        {
            return ShardWriteState.Lost;
        }

        var deadline = clock.GetUtcNow() + MaxWait;
        while (_written < ticket.Write)
        {
            if (_ended)
            {
                return ShardWriteState.Lost;
            }

            var remaining = deadline - clock.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return ShardWriteState.Pending;
            }

            try
            {
                await _nextWrite.Task.WaitAsync(remaining, clock);
            }
            catch (TimeoutException)
            {
                return ShardWriteState.Pending;
            }
        }

        return ShardWriteState.Written;
    }

    private void Release()
    {
        var released = _nextWrite;
        _nextWrite = new TaskCompletionSource();
        released.SetResult();
    }
}
