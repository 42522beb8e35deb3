namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// The checkpoint arithmetic of one log partition, without Orleans: which records are acknowledged (appended), which
/// are handed to their profiles (dispatched), which profiles still hold unwritten state from which positions, which
/// range must be replayed, and so how far the checkpoint may advance. The checkpoint is the earliest position that may
/// not be reflected in durably written profile state; everything before it is.
/// </summary>
/// <remarks>Not thread-safe: the partition grain calls it between awaits on its single-threaded scheduler.</remarks>
public sealed class PartitionProgress
{
    private readonly Queue<long> _undispatched = new();
    private readonly Dictionary<string, UnwrittenRange> _unwritten = new(StringComparer.Ordinal);

    // Write reports received while a record is being delivered. A report is a one-way call: it can be handled before
    // the answer of the apply it follows, and must not be lost when that answer comes (see Applied). Cleared when the
    // delivery of the record is done (DeliveryDone), so it holds a record's worth of keys at most.
    private readonly Dictionary<string, long> _reportedDuringDelivery = new(StringComparer.Ordinal);
    private long? _replayFrom;
    private long? _replayCursor;

    /// <summary>A partition resuming at <paramref name="checkpoint"/> with the log ending at <paramref name="end"/>.</summary>
    public PartitionProgress(long checkpoint, long end)
    {
        End = end;

        // Whatever lies between the checkpoint and the end of the log may be missing from written profile state.
        if (checkpoint < end)
        {
            RequestReplay(checkpoint);
        }
    }

    /// <summary>Where the next record will be appended: every acknowledged record lies before it.</summary>
    public long End { get; private set; }

    /// <summary>Appended records not yet handed to their profiles.</summary>
    public int Undispatched => _undispatched.Count;

    /// <summary>The oldest appended record not yet dispatched.</summary>
    public long? NextToDispatch => _undispatched.Count > 0 ? _undispatched.Peek() : null;

    /// <summary>Profiles holding state from this partition that they have not written yet.</summary>
    public int ProfilesUnwritten => _unwritten.Count;

    public bool ReplayRequested => _replayFrom is not null;

    /// <summary>Where the requested replay starts; null when none is requested.</summary>
    public long? ReplayRequestedFrom => _replayFrom;

    public bool Replaying => _replayCursor is not null;

    public IReadOnlyDictionary<string, UnwrittenRange> Unwritten => _unwritten;

    /// <summary>How far the checkpoint may advance now.</summary>
    public long Checkpoint
    {
        get
        {
            var safe = _replayCursor ?? NextToDispatch ?? End;
            if (_replayFrom is { } from)
            {
                safe = Math.Min(safe, from);
            }

            foreach (var range in _unwritten.Values)
            {
                safe = Math.Min(safe, range.From);
            }

            return safe;
        }
    }

    /// <summary>Everything appended and everything dispatched is in written state (what <c>allWritten</c> reports).</summary>
    public bool AllWritten => _unwritten.Count == 0 && _undispatched.Count == 0 && _replayFrom is null && _replayCursor is null && Checkpoint == End;

    /// <summary>A record was durably appended at <paramref name="position"/>; the next one goes to <paramref name="next"/>.</summary>
    public void Appended(long position, long next)
    {
        if (position < End || next <= position)
        {
            throw new InvalidOperationException($"Record at {position} (next {next}) does not follow the end {End}.");
        }

        _undispatched.Enqueue(position);
        End = next;
    }

    /// <summary>The log's segment was sealed: the next record goes to <paramref name="next"/>, with no record in between.</summary>
    public void Sealed(long next)
    {
        if (next < End)
        {
            throw new InvalidOperationException($"A sealed log cannot end at {next}, before {End}.");
        }

        End = next;
    }

    /// <summary>The oldest undispatched record has been handed to all its profiles (each outcome tracked on its own).</summary>
    public void Dispatched(long position)
    {
        if (NextToDispatch != position)
        {
            throw new InvalidOperationException($"Record {position} is not the next to dispatch ({NextToDispatch}).");
        }

        _undispatched.Dequeue();
    }

    /// <summary>The position last handed to <paramref name="profileKey"/> that it has not written yet, if any.</summary>
    public long? PreviousOf(string profileKey) => _unwritten.TryGetValue(profileKey, out var range) ? range.Through : null;

    /// <summary>
    /// A profile took the record at <paramref name="position"/>; it holds unwritten state from
    /// <paramref name="unwrittenFrom"/> on, or nothing unwritten at all (null).
    /// </summary>
    public void Applied(string profileKey, long position, long? unwrittenFrom, DateTimeOffset now)
    {
        // A report of state written through this record or later may have overtaken this answer: then everything the
        // profile holds up to here is written (a report names the LogPosition of the state it wrote).
        if (unwrittenFrom is not { } from || (_reportedDuringDelivery.TryGetValue(profileKey, out var reported) && reported >= position))
        {
            _unwritten.Remove(profileKey);
            return;
        }

        // It answered, so its activation is alive (a new one that lost state would have refused with a gap): only a
        // profile that goes silent counts as stuck, not one that waits its turn to write while events keep coming.
        Track(profileKey, from, position, now).Since = now;
    }

    /// <summary>
    /// Handing the record to a profile failed: not known to be applied, so it counts as unwritten. It counts as a failed
    /// attempt only when the profile itself failed (<paramref name="profileFailed"/>); a call lost with a silo or timed
    /// out under load says nothing about the profile, and must never get it set aside.
    /// </summary>
    public void ApplyFailed(string profileKey, long position, string error, DateTimeOffset now, bool profileFailed = true)
    {
        var range = Track(profileKey, position, position, now);
        range.LastError = error;
        if (profileFailed)
        {
            range.Failures++;
        }
    }

    /// <summary>
    /// A profile wrote its state through <paramref name="position"/>, and holds positions from
    /// <paramref name="unwrittenFrom"/> on unwritten (null: none it knows of; records handed to it meanwhile may not have
    /// reached it yet, so its range goes only once the report covers the last of them).
    /// </summary>
    public void Flushed(string profileKey, long position, long? unwrittenFrom = null)
    {
        if (_unwritten.TryGetValue(profileKey, out var range))
        {
            if (position >= range.Through)
            {
                _unwritten.Remove(profileKey);
            }
            else if (unwrittenFrom > range.From)
            {
                // A profile that keeps taking records while its reports wait for its shards: the checkpoint follows it.
                range.From = unwrittenFrom.Value;
            }
        }

        _reportedDuringDelivery[profileKey] = Math.Max(position, _reportedDuringDelivery.GetValueOrDefault(profileKey, long.MinValue));
    }

    /// <summary>Every profile of the record being delivered has answered (or failed): reports received meanwhile are forgotten.</summary>
    public void DeliveryDone() => _reportedDuringDelivery.Clear();

    /// <summary>A profile failed to write its state; returns the range it holds, with the attempt counted, or null if untracked.</summary>
    public UnwrittenRange? WriteFailed(string profileKey, string error)
    {
        if (!_unwritten.TryGetValue(profileKey, out var range))
        {
            return null;
        }

        range.Failures++;
        range.LastError = error;
        return range;
    }

    /// <summary>
    /// Stops waiting for a profile's unwritten range (it is recorded elsewhere as set aside): the checkpoint may pass
    /// it. Returns the range, or null if the profile was not tracked.
    /// </summary>
    public UnwrittenRange? SetAside(string profileKey) =>
        _unwritten.Remove(profileKey, out var range) ? range : null;

    /// <summary>Profiles with at least <paramref name="maxFailures"/> failed attempts.</summary>
    public IReadOnlyList<string> FailingAtLeast(int maxFailures) =>
        [.. _unwritten.Where(p => p.Value.Failures >= maxFailures).Select(p => p.Key)];

    /// <summary>Profiles that neither wrote nor answered for longer than <paramref name="stuckAfter"/>; all clocks restart.</summary>
    public int RestartStuck(DateTimeOffset now, TimeSpan stuckAfter)
    {
        if (!_unwritten.Values.Any(r => now - r.Since > stuckAfter))
        {
            return 0;
        }

        foreach (var range in _unwritten.Values)
        {
            range.Since = now;
        }

        return _unwritten.Count;
    }

    /// <summary>The records from <paramref name="from"/> on must be handed to their profiles again, in order.</summary>
    public void RequestReplay(long from) => _replayFrom = Math.Min(_replayFrom ?? from, from);

    /// <summary>
    /// Starts the requested replay: it covers the records from <c>From</c> up to, not including, <c>Until</c> (the first
    /// record not dispatched yet, which the normal dispatch hands out afterwards).
    /// </summary>
    public (long From, long Until) BeginReplay()
    {
        var from = _replayFrom ?? throw new InvalidOperationException("No replay was requested.");
        if (_replayCursor is not null)
        {
            throw new InvalidOperationException("A replay is running.");
        }

        _replayFrom = null;
        _replayCursor = from;
        return (from, NextToDispatch ?? End);
    }

    /// <summary>The replay is about to hand out the record at <paramref name="position"/>.</summary>
    public void ReplayingAt(long position) => _replayCursor = position;

    /// <summary>
    /// The replay ended. One that failed part-way leaves its range requested again; what a profile refused during it
    /// was requested on its own (<see cref="RequestReplay"/>).
    /// </summary>
    public void EndReplay(long from, bool completed)
    {
        _replayCursor = null;
        if (!completed)
        {
            RequestReplay(from);
        }

        // Asked for again at or before its own start (a profile refused again there, or the replay failed): it moved nothing.
        if (_replayFrom <= from)
        {
            ReplaysWithoutProgress++;
            StalledReplayFrom = _replayFrom;
        }
        else
        {
            ReplaysWithoutProgress = 0;
            StalledReplayFrom = null;
        }
    }

    /// <summary>
    /// Replays in a row that ended with a replay requested again at or before where they began: none moved the checkpoint's
    /// floor. A partition waits for its maintenance tick before the next such replay; one that keeps at it is reported.
    /// </summary>
    public int ReplaysWithoutProgress { get; private set; }

    /// <summary>Where the last replay without progress must start again; null after one that made progress.</summary>
    public long? StalledReplayFrom { get; private set; }

    private UnwrittenRange Track(string profileKey, long from, long position, DateTimeOffset now)
    {
        if (_unwritten.TryGetValue(profileKey, out var range))
        {
            range.From = Math.Min(range.From, from);
            range.Through = Math.Max(range.Through, position);
        }
        else
        {
            _unwritten[profileKey] = range = new UnwrittenRange { From = from, Through = position, Since = now };
        }

        return range;
    }
}

/// <summary>The positions a profile holds from one partition that are not in its written state yet.</summary>
public sealed class UnwrittenRange
{
    /// <summary>The earliest such position: the checkpoint cannot pass it.</summary>
    public long From { get; set; }

    /// <summary>The latest position handed to the profile.</summary>
    public long Through { get; set; }

    /// <summary>When the profile last answered a record (or the stuck-profile replay last restarted the clock).</summary>
    public DateTimeOffset Since { get; set; }

    /// <summary>Failed attempts (calls that failed, state writes that failed) since the profile last wrote.</summary>
    public int Failures { get; set; }

    public string? LastError { get; set; }
}
