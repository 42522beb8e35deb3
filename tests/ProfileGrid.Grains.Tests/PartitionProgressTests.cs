using FsCheck.Xunit;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests;

/// <summary>The checkpoint arithmetic of a log partition, without a cluster.</summary>
public class PartitionProgressTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_fresh_partition_replays_from_its_checkpoint_up_to_what_was_appended_before()
    {
        var progress = new PartitionProgress(checkpoint: 10, end: 50);
        Assert.True(progress.ReplayRequested);
        Assert.Equal(10, progress.Checkpoint);

        progress.Appended(50, 60);
        var (from, until) = progress.BeginReplay();
        Assert.Equal((10L, 50L), (from, until));
        progress.ReplayingAt(30);
        Assert.Equal(30, progress.Checkpoint);
        progress.EndReplay(from, completed: true);

        // The record appended meanwhile is not dispatched yet, so the checkpoint stops at it.
        Assert.Equal(50, progress.Checkpoint);
        progress.Dispatched(50);
        Assert.Equal(60, progress.Checkpoint);
        Assert.True(progress.AllWritten);
    }

    /// <summary>
    /// A profile's write report (one-way) handled before the answer of the apply it follows: the answer still names the
    /// record as unwritten, but the report already covers it, so the checkpoint must not wait for another report.
    /// </summary>
    [Fact]
    public void A_write_report_that_overtakes_the_apply_answer_still_counts()
    {
        var progress = new PartitionProgress(checkpoint: 0, end: 0);
        progress.Appended(0, 10);
        progress.Appended(10, 20);

        progress.Applied("a", 0, unwrittenFrom: 0, Now);
        progress.DeliveryDone();
        progress.Dispatched(0);
        progress.Flushed("a", 10);                          // written through record 10 ...
        progress.Applied("a", 10, unwrittenFrom: 0, Now);   // ... before its answer for record 10 is handled
        progress.DeliveryDone();
        progress.Dispatched(10);

        Assert.Equal(20, progress.Checkpoint);
        Assert.True(progress.AllWritten);
    }

    /// <summary>
    /// A busy profile whose reports wait for its shards always has a newer record by the time one arrives: the report
    /// says what it still holds unwritten, and the checkpoint moves up to that instead of staying at the session's first
    /// record until the profile goes quiet.
    /// </summary>
    [Fact]
    public void A_write_report_with_records_still_unwritten_moves_the_checkpoint_up_to_them()
    {
        var progress = new PartitionProgress(checkpoint: 0, end: 0);
        for (var position = 0L; position < 30; position += 10)
        {
            progress.Appended(position, position + 10);
            progress.Applied("busy", position, unwrittenFrom: 0, Now);
            progress.DeliveryDone();
            progress.Dispatched(position);
        }

        progress.Flushed("busy", 10, unwrittenFrom: 20);
        Assert.Equal(20, progress.Checkpoint);
        Assert.False(progress.AllWritten);

        // Without what is still unwritten (records handed may not have reached the profile yet) it stays; a report
        // that says less than the range holds never lowers it.
        progress.Flushed("busy", 10, unwrittenFrom: null);
        progress.Flushed("busy", 0, unwrittenFrom: 10);
        Assert.Equal(20, progress.Checkpoint);
        progress.Flushed("busy", 20, unwrittenFrom: null);
        Assert.Equal(30, progress.Checkpoint);
        Assert.True(progress.AllWritten);
    }

    [Fact]
    public void A_write_report_of_an_earlier_position_does_not_cover_a_later_record()
    {
        var progress = new PartitionProgress(checkpoint: 0, end: 0);
        progress.Appended(0, 10);
        progress.Appended(10, 20);

        progress.Applied("a", 0, unwrittenFrom: 0, Now);
        progress.DeliveryDone();
        progress.Dispatched(0);
        progress.Flushed("a", 0);
        progress.Applied("a", 10, unwrittenFrom: 10, Now);
        progress.DeliveryDone();
        progress.Dispatched(10);
        Assert.Equal(10, progress.Checkpoint);

        // A report remembered during one record's delivery does not carry over to the next.
        progress.Appended(20, 30);
        progress.Flushed("b", 20);
        progress.DeliveryDone();
        progress.Applied("b", 20, unwrittenFrom: 20, Now);
        progress.Dispatched(20);
        Assert.Equal(10, progress.Checkpoint);

        progress.Flushed("a", 10);
        progress.Flushed("b", 20);
        Assert.Equal(30, progress.Checkpoint);
        Assert.True(progress.AllWritten);
    }

    [Fact]
    public void A_partition_at_its_checkpoint_does_not_replay()
    {
        var progress = new PartitionProgress(checkpoint: 50, end: 50);
        Assert.False(progress.ReplayRequested);
        Assert.True(progress.AllWritten);
    }

    [Fact]
    public void The_checkpoint_waits_for_every_profile_of_a_record_to_write_it()
    {
        var progress = new PartitionProgress(0, 0);
        progress.Appended(0, 10);
        progress.Appended(10, 20);
        Assert.Equal(0, progress.Checkpoint);

        progress.Applied("a", 0, unwrittenFrom: 0, Now);
        progress.Applied("b", 0, unwrittenFrom: 0, Now);
        progress.Dispatched(0);
        progress.Applied("a", 10, unwrittenFrom: 0, Now);
        progress.Dispatched(10);
        Assert.Equal(0, progress.Checkpoint);
        Assert.Equal(10, progress.PreviousOf("a"));

        progress.Flushed("b", 0);
        Assert.Equal(0, progress.Checkpoint);

        // A write that covers only part of what the partition handed the profile does not release it.
        progress.Flushed("a", 0);
        Assert.Equal(0, progress.Checkpoint);
        progress.Flushed("a", 10);
        Assert.Equal(20, progress.Checkpoint);
        Assert.True(progress.AllWritten);
    }

    [Fact]
    public void A_profile_that_keeps_failing_is_set_aside_and_the_checkpoint_moves_on()
    {
        var progress = new PartitionProgress(0, 0);
        progress.Appended(0, 10);
        progress.Applied("stuck", 0, 0, Now);
        progress.Applied("fine", 0, 0, Now);
        progress.Dispatched(0);
        progress.Flushed("fine", 0);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal(attempt, progress.WriteFailed("stuck", "Data too large")!.Failures);
        }

        Assert.Equal(["stuck"], progress.FailingAtLeast(3));
        Assert.Equal(0, progress.Checkpoint);
        var range = progress.SetAside("stuck")!;
        Assert.Equal((0L, 0L, "Data too large"), (range.From, range.Through, range.LastError));
        Assert.Equal(10, progress.Checkpoint);
        Assert.Null(progress.WriteFailed("stuck", "again"));
    }

    [Fact]
    public void A_failed_call_holds_the_checkpoint_until_a_replay_delivers_it()
    {
        var progress = new PartitionProgress(0, 0);
        progress.Appended(0, 10);
        progress.ApplyFailed("a", 0, "TimeoutException: silo died", Now, profileFailed: false);
        progress.Dispatched(0);
        Assert.Equal(0, progress.Checkpoint);

        // A call lost with a silo is no attempt of the profile's: it must not bring the profile closer to being set aside.
        Assert.Equal(0, progress.Unwritten["a"].Failures);
        Assert.Empty(progress.FailingAtLeast(1));
        progress.ApplyFailed("a", 0, "RequestFailedException: key too long", Now);
        Assert.Equal(1, progress.Unwritten["a"].Failures);

        Assert.Equal(0, progress.RestartStuck(Now.AddSeconds(30), TimeSpan.FromMinutes(1)));
        Assert.Equal(1, progress.RestartStuck(Now.AddMinutes(2), TimeSpan.FromMinutes(1)));
        progress.RequestReplay(progress.Checkpoint);
        var (from, until) = progress.BeginReplay();
        Assert.Equal((0L, 10L), (from, until));
        progress.ReplayingAt(0);
        progress.Applied("a", 0, unwrittenFrom: null, Now);
        progress.EndReplay(from, completed: true);
        Assert.Equal(10, progress.Checkpoint);
    }

    [Fact]
    public void A_profile_that_keeps_answering_is_not_stuck_while_it_waits_to_write()
    {
        var progress = new PartitionProgress(0, 0);
        progress.Appended(0, 10);
        progress.Applied("busy", 0, 0, Now);
        progress.Dispatched(0);
        progress.Appended(10, 20);
        progress.Applied("busy", 10, 0, Now.AddSeconds(50));
        progress.Dispatched(10);

        Assert.Equal(0, progress.RestartStuck(Now.AddSeconds(90), TimeSpan.FromMinutes(1)));
        Assert.Equal(1, progress.RestartStuck(Now.AddSeconds(111), TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void Replays_that_end_requested_again_at_their_start_are_counted_until_one_makes_progress()
    {
        var progress = new PartitionProgress(0, 0);
        progress.Appended(0, 10);
        progress.Appended(10, 20);
        progress.RequestReplay(0);

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            // The profile at 0 refuses its record again: a gap it reports, which asks for a replay from the checkpoint.
            var (from, _) = progress.BeginReplay();
            progress.ReplayingAt(0);
            progress.RequestReplay(0);
            progress.EndReplay(from, completed: true);
            Assert.Equal((attempt, (long?)0), (progress.ReplaysWithoutProgress, progress.StalledReplayFrom));
        }

        // A failed replay made no progress either.
        var (failedFrom, _) = progress.BeginReplay();
        progress.EndReplay(failedFrom, completed: false);
        Assert.Equal(4, progress.ReplaysWithoutProgress);

        // This time it is applied: nothing is asked for again, and the count starts over.
        var (next, _) = progress.BeginReplay();
        progress.ReplayingAt(0);
        progress.Applied("a", 0, unwrittenFrom: null, Now);
        progress.EndReplay(next, completed: true);
        Assert.Equal((0, (long?)null), (progress.ReplaysWithoutProgress, progress.StalledReplayFrom));
    }

    [Fact]
    public void A_replay_that_fails_part_way_is_requested_again()
    {
        var progress = new PartitionProgress(5, 40);
        var (from, _) = progress.BeginReplay();
        progress.ReplayingAt(20);
        progress.EndReplay(from, completed: false);
        Assert.True(progress.ReplayRequested);
        Assert.Equal(5, progress.Checkpoint);
    }

    /// <summary>
    /// Random interleavings of appends, dispatches (each profile's call succeeding or failing), writes, write failures,
    /// set-asides, stuck replays and replays, against a model of the profiles (log order, the gap refusal, write-behind).
    /// Safety: the checkpoint never passes a record that some profile has neither written nor been set aside for. Liveness:
    /// once every profile has written and nothing is left to dispatch or replay, the checkpoint reaches the end.
    /// </summary>
    [Property(MaxTest = 1000)]
    public bool The_checkpoint_never_passes_an_unwritten_record(int seed, byte[] operations)
    {
        var random = new Random(seed);
        var world = new World();
        foreach (var operation in operations)
        {
            world.Step(operation % 8, random);
            if (!world.Safe())
            {
                return false;
            }
        }

        world.Settle();
        return world.Safe() && world.Progress.AllWritten && world.Progress.Checkpoint == world.Progress.End;
    }

    private sealed class World
    {
        private static readonly string[] Keys = ["a", "b", "c", "d"];
        private readonly Dictionary<long, string[]> _records = [];
        private readonly Queue<long> _undispatched = new();
        private readonly Dictionary<string, ModelProfile> _profiles = Keys.ToDictionary(k => k, _ => new ModelProfile());
        private readonly List<(string Key, long From, long Through)> _setAside = [];
        private long _lastCheckpoint;

        public PartitionProgress Progress { get; } = new(0, 0);

        public void Step(int operation, Random random)
        {
            switch (operation)
            {
                case 0 or 1:
                    var position = Progress.End;
                    Progress.Appended(position, position + 1 + random.Next(3));
                    _records[position] = [.. Keys.Where(_ => random.Next(2) == 0).DefaultIfEmpty(Keys[random.Next(Keys.Length)])];
                    _undispatched.Enqueue(position);
                    break;
                case 2 or 3 when _undispatched.Count > 0 && !Progress.ReplayRequested:
                    Dispatch(_undispatched.Dequeue(), chain: null, random, failures: true);
                    break;
                case 4:
                    Flush(Keys[random.Next(Keys.Length)], random);
                    break;
                case 5:
                    var key = Keys[random.Next(Keys.Length)];
                    if (Progress.WriteFailed(key, "refused") is { Failures: >= 2 })
                    {
                        SetAside(key);
                    }

                    break;
                case 6:
                    Progress.RequestReplay(Progress.Checkpoint);
                    break;
                case 7 when Progress.ReplayRequested:
                    Replay(random, failures: true);
                    break;
            }
        }

        /// <summary>Delivers everything and lets every profile write: what a partition does once storage answers again.</summary>
        public void Settle()
        {
            for (var round = 0; round < 10 && !Progress.AllWritten; round++)
            {
                if (Progress.ReplayRequested)
                {
                    Replay(new Random(round), failures: false);
                }

                while (_undispatched.Count > 0 && !Progress.ReplayRequested)
                {
                    Dispatch(_undispatched.Dequeue(), chain: null, new Random(round), failures: false);
                }

                if (!Progress.ReplayRequested && Progress.ProfilesUnwritten > 0)
                {
                    // A failed call only a replay delivers: the stuck-profile replay.
                    Progress.RequestReplay(Progress.Checkpoint);
                    Replay(new Random(round), failures: false);
                }

                foreach (var key in Keys)
                {
                    Flush(key, random: null);
                }
            }
        }

        /// <summary>Every record before the checkpoint is written (or set aside) by every profile it touched.</summary>
        public bool Safe()
        {
            var checkpoint = Progress.Checkpoint;
            if (checkpoint < _lastCheckpoint)
            {
                return false;
            }

            _lastCheckpoint = checkpoint;
            return _records.Where(r => r.Key < checkpoint).All(r => r.Value.All(key =>
                _profiles[key].WrittenThrough >= r.Key || _setAside.Any(s => s.Key == key && s.From <= r.Key && r.Key <= s.Through)));
        }

        private void Dispatch(long position, Dictionary<string, long>? chain, Random random, bool failures)
        {
            foreach (var key in _records[position])
            {
                long? previous;
                if (chain is not null)
                {
                    previous = chain.TryGetValue(key, out var chained) ? chained : null;
                    chain[key] = position;
                }
                else
                {
                    previous = Progress.PreviousOf(key);
                }

                if (failures && random.Next(6) == 0)
                {
                    Progress.ApplyFailed(key, position, "unreachable", DateTimeOffset.UnixEpoch);
                    continue;
                }

                var (unwrittenFrom, gap) = _profiles[key].Apply(position, previous);
                Progress.Applied(key, position, gap ? unwrittenFrom ?? position : unwrittenFrom, DateTimeOffset.UnixEpoch);
                if (gap)
                {
                    Progress.RequestReplay(Progress.Checkpoint);
                }
            }

            if (chain is null)
            {
                Progress.Dispatched(position);
            }
        }

        private void Replay(Random random, bool failures)
        {
            var (from, until) = Progress.BeginReplay();
            var chain = new Dictionary<string, long>();
            foreach (var position in _records.Keys.Where(p => p >= from && p < until).Order())
            {
                Progress.ReplayingAt(position);
                Dispatch(position, chain, random, failures);
            }

            Progress.EndReplay(from, completed: true);
        }

        private void Flush(string key, Random? random)
        {
            if (_profiles[key].Write(random) is ({ } through, var stillUnwritten))
            {
                Progress.Flushed(key, through, stillUnwritten);
            }
        }

        private void SetAside(string key)
        {
            if (Progress.SetAside(key) is { } range)
            {
                _setAside.Add((key, range.From, range.Through));
                _profiles[key].SetAside();
            }
        }
    }

    /// <summary>
    /// A profile as the partition sees it: log order, the gap refusal, and write-behind, whose report may cover only
    /// the first of the records it holds unwritten (a report waiting for the shards while later records came in).
    /// </summary>
    private sealed class ModelProfile
    {
        private readonly List<long> _unwritten = [];

        private long? _unwrittenFrom => _unwritten.Count > 0 ? _unwritten[0] : null;

        public long LastApplied { get; private set; } = -1;

        public long WrittenThrough { get; private set; } = -1;

        public (long? UnwrittenFrom, bool Gap) Apply(long position, long? previous)
        {
            if (position <= LastApplied)
            {
                return (_unwrittenFrom, false);
            }

            if (previous is { } p && LastApplied < p)
            {
                return (_unwrittenFrom, true);
            }

            LastApplied = position;
            _unwritten.Add(position);
            return (_unwrittenFrom, false);
        }

        public (long? Through, long? StillUnwrittenFrom) Write(Random? random)
        {
            if (_unwritten.Count == 0)
            {
                return (null, null);
            }

            var written = random is null || random.Next(2) == 0 ? _unwritten.Count : 1 + random.Next(_unwritten.Count);
            WrittenThrough = _unwritten[written - 1];
            _unwritten.RemoveRange(0, written);
            return (WrittenThrough, _unwrittenFrom);
        }

        public void SetAside() => _unwritten.Clear();
    }
}
