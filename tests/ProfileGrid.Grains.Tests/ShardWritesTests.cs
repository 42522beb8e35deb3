using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Tests;

/// <summary>What a write-behind shard answers a profile that waits for its push to be stored.</summary>
public class ShardWritesTests
{
    private static readonly TimeProvider Clock = TimeProvider.System;

    [Fact]
    public async Task A_push_is_written_once_the_next_write_succeeds_and_not_before()
    {
        var writes = new ShardWrites(TimeSpan.FromMilliseconds(400));
        var ticket = writes.Ticket(writePending: true);
        Assert.Equal(ShardWriteState.Pending, await writes.WaitAsync(ticket, Clock));

        var waiting = writes.WaitAsync(ticket, Clock);
        writes.Written();
        Assert.Equal(ShardWriteState.Written, await waiting);

        // Taken when nothing was left to write (an older push overtaken by one already written): nothing to wait for.
        Assert.Equal(ShardWriteState.Written, await writes.WaitAsync(writes.Ticket(writePending: false), Clock));
    }

    [Fact]
    public async Task A_ticket_of_another_activation_or_of_one_ending_unwritten_is_lost()
    {
        var first = new ShardWrites(TimeSpan.FromSeconds(5));
        var ticket = first.Ticket(writePending: true);
        Assert.Equal(ShardWriteState.Lost, await new ShardWrites().WaitAsync(ticket, Clock));

        var waiting = first.WaitAsync(ticket, Clock);
        first.End();
        Assert.Equal(ShardWriteState.Lost, await waiting);
    }

    [Fact]
    public async Task A_write_that_succeeded_before_the_end_still_counts()
    {
        var writes = new ShardWrites();
        var ticket = writes.Ticket(writePending: true);
        writes.Written();
        writes.End();
        Assert.Equal(ShardWriteState.Written, await writes.WaitAsync(ticket, Clock));
        Assert.Equal(ShardWriteState.Lost, await writes.WaitAsync(writes.Ticket(writePending: true), Clock));
    }

    [Fact]
    public void A_quiet_ingest_brings_a_pending_write_forward_once_and_a_large_shard_paced_as_its_interval_is()
    {
        var writes = new ShardWrites();
        var delays = new List<TimeSpan>();
        IGrainTimer Schedule(TimeSpan due)
        {
            delays.Add(due);
            return new UnusedTimer();
        }

        IGrainTimer scheduled = new UnusedTimer();
        Assert.Same(scheduled, writes.BringForwardIfQuiet(scheduled, dirty: true, ingestQuiet: false, entries: 100, Schedule));
        Assert.Same(scheduled, writes.BringForwardIfQuiet(scheduled, dirty: false, ingestQuiet: true, entries: 100, Schedule));

        var forward = writes.BringForwardIfQuiet(scheduled, dirty: true, ingestQuiet: true, entries: 100, Schedule);
        Assert.NotSame(scheduled, forward);
        Assert.Same(forward, writes.BringForwardIfQuiet(forward, dirty: true, ingestQuiet: true, entries: 100, Schedule));

        // Once that write starts, the next waiter may bring the one after forward; a shard of 62,500 entries (a million
        // users over sixteen shards) waits as much longer as its interval is.
        writes.WriteStarting();
        writes.BringForwardIfQuiet(new UnusedTimer(), dirty: true, ingestQuiet: true, entries: 62_500, Schedule);
        Assert.Equal([ShardWrites.QuietWriteDelay, ShardWrites.QuietWriteDelay * 12.5], delays);
    }

    private sealed class UnusedTimer : IGrainTimer
    {
        public void Change(TimeSpan dueTime, TimeSpan period) => throw new NotSupportedException();

        public void Dispose()
        {
        }
    }
}
