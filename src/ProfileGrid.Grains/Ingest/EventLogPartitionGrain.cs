using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Serialization;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;

namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// What a partition persists: its checkpoint, and the profiles it set aside (written in the same row, so a set-aside
/// record is durable exactly when the checkpoint that passed its range is).
/// </summary>
[GenerateSerializer, Alias("pg.log-checkpoint")]
public sealed class LogCheckpoint
{
    /// <summary>Every record before this position is reflected in durably written profile state, or set aside.</summary>
    [Id(0)] public long Position { get; set; }

    /// <summary>Profiles set aside by this partition, ever.</summary>
    [Id(1)] public long SetAsideCount { get; set; }

    /// <summary>The latest <see cref="EventLogPartitionGrain.KeptSetAside"/> of them, oldest first.</summary>
    [Id(2)] public List<SetAsideProfile> RecentlySetAside { get; set; } = [];

    /// <summary>Merges of this partition's profiles decided and not yet carried out: merge id to identifier grain key (null: none).</summary>
    [Id(3)] public Dictionary<string, string>? MergesPending { get; set; }
}

/// <summary>
/// One partition of the event log; see <see cref="IEventLogPartitionGrain"/>. Reentrant so that appends arriving
/// while a write is in flight gather into the next write (group commit). One pump task does the work (appending,
/// dispatching in log order, replaying); <see cref="PartitionProgress"/> holds the checkpoint arithmetic. All state
/// changes happen between awaits on the grain's single-threaded scheduler.
/// </summary>
[Reentrant]
public sealed partial class EventLogPartitionGrain(
    [PersistentState("log-checkpoint", ProfileStores.Profiles)] IPersistentState<LogCheckpoint> checkpoint,
    IEventLog log,
    Serializer serializer,
    IOptions<IngestOptions> options,
    IngestActivity activity,
    Stats.StatsCollector stats,
    ProfileGridMetrics metrics,
    TimeProvider clock,
    ILogger<EventLogPartitionGrain> logger,
    IServiceProvider services)
    : Grain, IEventLogPartitionGrain
{
    // The lake archiver (null when the silo has no lake), and its step in flight: off this grain's turn, never in the pump's way.
    private readonly Lake.LakeArchiver? _archiver = Lake.LakeArchiving.ArchiverOf(services);
    private Task<long?> _archiving = Task.FromResult<long?>(null);

    // The tenants' privacy ledgers (erased users' events are never handed to a profile again); null in hosts without one.
    private readonly Privacy.PrivacyFilters? _privacy = services.GetService(typeof(Privacy.PrivacyFilters)) as Privacy.PrivacyFilters;

    // An erasure's request to seal the log segment being written, carried out by the pump between appends: its result is
    // the log's end after the seal (every record before it lies in sealed segments).
    private TaskCompletionSource<long>? _sealRequest;
    private bool _forceSave;
    private DateTimeOffset _archivedAt;

    /// <summary>Set-aside records kept in the checkpoint row per partition (older ones remain in the logs).</summary>
    public const int KeptSetAside = 100;

    private const int MaxErrorLength = 500;

    /// <summary>How long an erasure waits for the checkpoint to pass the sealed segments before it leaves them to its next attempt.</summary>
    private static readonly TimeSpan ErasureCheckpointWait = TimeSpan.FromSeconds(30);

    private readonly IngestOptions _options = options.Value;
    private readonly Queue<PendingAppend> _pending = new();
    // With the moment each record was acknowledged (a Stopwatch timestamp, in memory only): the ingest lag statistic.
    private readonly Queue<(long Position, ProfileBatch[] Profiles, ActivityContext[]? Traces, long AckedAt)> _toDispatch = new();
    private readonly List<SetAsideProfile> _setAsideUnsaved = [];
    // The record being dispatched (dequeued from _toDispatch, not yet handed to all of its profiles), and who waits on it.
    private (long Position, ProfileBatch[] Profiles)? _dispatching;
    private readonly List<(long Through, TaskCompletionSource Delivered)> _deliveryWaiters = [];
    private Dictionary<string, string> _mergesPending = new(StringComparer.Ordinal);

    // When this activation counted each merge, and when it last asked the identifiers of those counted longer ago.
    private readonly Dictionary<string, DateTimeOffset> _mergeNotedAt = new(StringComparer.Ordinal);
    private DateTimeOffset _mergesSweptAt;
    private Task _sweepingMerges = Task.CompletedTask;
    private PartitionProgress _progress = null!;
    private ProfileGridMetrics.PartitionBacklog? _backlog;
    private int _partition;
    private Task _pump = Task.CompletedTask;
    private (GrainType Type, GrainInterfaceType Interface)? _profileGrainTypes;
    private Task _saving = Task.CompletedTask;
    private TaskCompletionSource _wake = NewSignal();

    // After an append failure nothing more is appended by this activation; after a failed replay, the next
    // maintenance tick (not the pump, at once) tries again.
    private bool _appendsRefused;
    private bool _replayHeld;

    // The quiet-spell check (IngestOptions.QuietFlushAfter): armed when the pump runs dry with profiles unwritten.
    private IGrainTimer? _quietTimer;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _partition = (int)this.GetPrimaryKeyLong();
        _progress = new PartitionProgress(checkpoint.State.Position, await log.GetEndAsync(_partition, cancellationToken));
        _backlog = metrics.TrackPartition(_partition);
        _mergesPending = new Dictionary<string, string>(checkpoint.State.MergesPending ?? [], StringComparer.Ordinal);
        if (_mergesPending.Count > 0)
        {
            // Counted before a crash: their identifiers carry them out now rather than at their reminders' next tick.
            _ = ResumeMergesAsync();
        }

        // The first archive step comes one interval after activation, not at the first tick: a starting silo is busy
        // appending and replaying, and a step at once archived a bulk load's first seconds as small Parquet parts (one per
        // tenant, day and partition) that the next step added to and compaction then merged (docs/lake.md).
        _archivedAt = clock.GetUtcNow();
        this.RegisterGrainTimer(
            MaintainAsync,
            new GrainTimerCreationOptions(_options.CheckpointInterval, _options.CheckpointInterval) { KeepAlive = true, Interleave = true });
        Kick();
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await SaveCheckpointAsync();
        _backlog?.Dispose();
    }

    async Task<long> IEventLogPartitionGrain.AppendAsync(ProfileBatch[] batches)
    {
        if (_appendsRefused)
        {
            // Transient (the gateway answers Unavailable): a new activation takes appends once this one has gone.
            throw new TimeoutException($"Log partition {_partition} is restarting after a failed append; retry.");
        }

        var pending = new PendingAppend(LogRecordCodec.EncodeRented(batches), batches, IngestTracing.Capture());
        var ticket = activity.AppendStarted();
        try
        {
            _pending.Enqueue(pending);
            Kick();
            return await pending.Completion.Task;
        }
        finally
        {
            activity.AppendEnded(ticket);
        }
    }

    Task IEventLogPartitionGrain.FlushedAsync(string profileKey, long position, long? unwrittenFrom)
    {
        _progress.Flushed(profileKey, position, unwrittenFrom);
        ReportBacklog();
        return Task.CompletedTask;
    }

    async Task<long?> IEventLogPartitionGrain.WriteFailedAsync(string profileKey, string error)
    {
        var range = _progress.WriteFailed(profileKey, Truncate(error));
        if (range is null || range.Failures < _options.MaxWriteAttempts)
        {
            return null;
        }

        var through = SetAside(profileKey);
        await SaveCheckpointAsync();
        return through;
    }

    Task<LogPartitionStatus> IEventLogPartitionGrain.GetStatusAsync()
    {
        var recent = checkpoint.State.RecentlySetAside.Concat(_setAsideUnsaved).TakeLast(10).Reverse().ToArray();
        return Task.FromResult(new LogPartitionStatus(
            _partition, _progress.Checkpoint, _progress.End, _progress.ProfilesUnwritten, _progress.Undispatched, _progress.Replaying,
            checkpoint.State.SetAsideCount + _setAsideUnsaved.Count, recent, _progress.ReplaysWithoutProgress, _progress.StalledReplayFrom,
            _mergesPending.Count));
    }

    async Task IEventLogPartitionGrain.NoteMergeAsync(string mergeId, string identifier, bool pending)
    {
        if (!pending)
        {
            _mergesPending.Remove(mergeId); // saved with the next checkpoint (a stale entry is asked about again later)
            _mergeNotedAt.Remove(mergeId);
            return;
        }

        _mergesPending[mergeId] = identifier;
        _mergeNotedAt[mergeId] = clock.GetUtcNow();
        if (checkpoint.State.MergesPending?.ContainsKey(mergeId) != true)
        {
            await SaveCheckpointAsync();
            if (checkpoint.State.MergesPending?.ContainsKey(mergeId) != true)
            {
                _mergesPending.Remove(mergeId);
                throw new InvalidOperationException($"Log partition {_partition}: the merge {mergeId} could not be saved with the checkpoint; retry.");
            }
        }
    }

    /// <summary>Has the identifiers of merges counted before this activation carry them out; the done ones are no longer counted.</summary>
    private async Task ResumeMergesAsync(DateTimeOffset? notedBefore = null)
    {
        var asked = _mergesPending
            .Where(merge => notedBefore is not { } before || !_mergeNotedAt.TryGetValue(merge.Key, out var noted) || noted < before)
            .ToList();
        foreach (var chunk in asked.Chunk(MergesResumedAtOnce))
        {
            await Task.WhenAll(chunk.Select(async merge =>
            {
                try
                {
                    if (!await GrainFactory.GetGrain<IIdentifierGrain>(merge.Value).ResumeMergeAsync(merge.Key))
                    {
                        _mergesPending.Remove(merge.Key);
                        _mergeNotedAt.Remove(merge.Key);
                    }
                }
                catch (Exception ex)
                {
                    LogMergeResumeFailed(_partition, merge.Key, ex); // still counted; the merge's reminder retries it
                }
            }));
        }
    }

    private const int MergesResumedAtOnce = 8;

    async Task<long?> IEventLogPartitionGrain.ArchiveNowAsync()
    {
        if (_archiver is null)
        {
            return null;
        }

        await SaveCheckpointAsync();
        await _archiving.ContinueWith(_ => { }, TaskScheduler.Current);
        _archivedAt = clock.GetUtcNow();
        _archiving = ArchiveOffTurn(checkpoint.State.Position);
        return await _archiving;
    }

    Task IEventLogPartitionGrain.HoldTrimAsync(Guid reader)
    {
        _archiver?.TrimGate(_partition).Hold(reader, clock.GetUtcNow() + MaxTrimHold);
        return Task.CompletedTask;
    }

    Task<bool> IEventLogPartitionGrain.ReleaseTrimAsync(Guid reader) => Task.FromResult(_archiver?.TrimGate(_partition).Release(reader) ?? false);

    private static readonly TimeSpan MaxTrimHold = TimeSpan.FromMinutes(5);

    /// <summary>One archive step on the thread pool: it reads the log and writes Parquet, and touches no grain state.</summary>
    private Task<long?> ArchiveOffTurn(long durableCheckpoint)
    {
        var (archiver, partition) = (_archiver!, _partition);
        var snapshots = partition == 0 ? services.GetService(typeof(Lake.LakeSnapshotter)) as Lake.LakeSnapshotter : null;
        return Task.Run(async () =>
        {
            var through = await archiver.ArchiveGuardedAsync(partition, durableCheckpoint);
            if (snapshots is not null)
            {
                // Partition 0 takes each day's profile snapshots (one partition, so the cluster takes them once).
                await archiver.SnapshotGuardedAsync(snapshots);
            }

            return (long?)through;
        });
    }

    /// <summary>Starts the pump, or wakes it if it waits on a step that cannot take the new work.</summary>
    private void Kick()
    {
        if (_pump.IsCompleted)
        {
            _pump = PumpAsync();
        }
        else
        {
            _wake.TrySetResult();
        }
    }

    /// <summary>
    /// The partition's one worker. Two steps may be in flight at once, one of each kind: an append (a group commit of
    /// what is pending) and a delivery (a replay, or the dispatch of the oldest appended record), so that appends keep
    /// being acknowledged while profiles take earlier records. Ends when there is nothing left to do.
    /// </summary>
    private async Task PumpAsync()
    {
        // The pump outlives the call that started it: its work is traced per record (IngestTracing), not under that call.
        Activity.Current = null;
        var append = Task.CompletedTask;
        var deliver = Task.CompletedTask;
        while (true)
        {
            ReportBacklog();
            if (_wake.Task.IsCompleted)
            {
                _wake = NewSignal();
            }

            if (append.IsCompleted && _sealRequest is { } seal)
            {
                _sealRequest = null;
                append = _appendsRefused
                    ? Task.FromResult(seal.TrySetException(new InvalidOperationException($"Log partition {_partition} is restarting after a failed append.")))
                    : SealLogAsync(seal);
            }
            else if (append.IsCompleted && _pending.Count > 0 && !_appendsRefused)
            {
                append = AppendGroupAsync();
            }

            if (deliver.IsCompleted)
            {
                if (_progress.ReplayRequested && !_replayHeld)
                {
                    deliver = ReplayAsync();
                }
                else if (_toDispatch.Count > 0)
                {
                    deliver = DispatchNextAsync();
                }
            }

            // Waits only on steps in flight (a finished one would end the wait at once) or on new work.
            var inFlight = append.IsCompleted ? deliver : deliver.IsCompleted ? append : null;
            if (append.IsCompleted && deliver.IsCompleted)
            {
                ArmQuietFlush(_options.QuietFlushAfter);
                return;
            }

            await (inFlight is null ? Task.WhenAny(append, deliver, _wake.Task) : Task.WhenAny(inFlight, _wake.Task));
        }
    }

    private void ArmQuietFlush(TimeSpan after)
    {
        if (_quietTimer is null && after > TimeSpan.Zero && _progress.ProfilesUnwritten > 0)
        {
            _quietTimer = this.RegisterGrainTimer(
                QuietFlushAsync, new GrainTimerCreationOptions(after, Timeout.InfiniteTimeSpan) { KeepAlive = false, Interleave = true });
        }
    }

    /// <summary>
    /// No append arriving at or in flight on this silo's partitions for <see cref="IngestOptions.QuietFlushAfter"/>: the profiles holding
    /// this partition's unwritten records are told to write now (one-way; a profile already writing, or backing off
    /// after failures, keeps its own schedule).
    /// </summary>
    private Task QuietFlushAsync(CancellationToken cancellationToken)
    {
        _quietTimer?.Dispose();
        _quietTimer = null;
        var quietFor = activity.QuietFor;
        if (quietFor < _options.QuietFlushAfter || !_pump.IsCompleted)
        {
            // Appends came or are in flight: the pump re-arms when it runs dry, or this waits out the rest of the spell.
            if (_pump.IsCompleted)
            {
                ArmQuietFlush(_options.QuietFlushAfter - quietFor);
            }

            return Task.CompletedTask;
        }

        foreach (var profileKey in _progress.Unwritten.Keys)
        {
            ProfileGrain(profileKey).WriteBehindNowAsync().Ignore();
        }

        return Task.CompletedTask;
    }

    private async Task AppendGroupAsync()
    {
        var group = TakeGroup();
        LogAppend appended;
        try
        {
            var record = LogRecords.FrameRented(group.Select(p => p.Payload).ToList());
            group.ForEach(p => LogRecords.Return(p.Payload));
            try
            {
                appended = await log.AppendAsync(_partition, _progress.End, record);
            }
            finally
            {
                // Logs copy what they keep (and the blob log sends its own copy), so the buffer is free once the call returns.
                LogRecords.Return(record);
            }
        }
        catch (Exception ex)
        {
            // Nothing is acknowledged. The log may have moved under us (a second writer during a membership change),
            // so never resync and carry on: refuse what is pending and let a new activation start from the log's real
            // end. Clients retry; event ids make that safe.
            _appendsRefused = true;
            LogAppendFailed(_partition, group.Count + _pending.Count, ex);
            group.ForEach(p => p.Completion.TrySetException(ex));
            while (_pending.TryDequeue(out var refused))
            {
                refused.Completion.TrySetException(ex);
            }

            DeactivateOnIdle();
            return;
        }

        _progress.Appended(appended.Position, appended.Next);
        _toDispatch.Enqueue((appended.Position, ByProfile(group.SelectMany(p => p.Batches)), IngestTracing.Enabled ? [.. group.Select(p => p.Trace)] : null, System.Diagnostics.Stopwatch.GetTimestamp()));
        group.ForEach(p => p.Completion.TrySetResult(appended.Position));
    }

    private async Task SealLogAsync(TaskCompletionSource<long> done)
    {
        try
        {
            var next = await log.SealAsync(_partition, _progress.End);
            _progress.Sealed(next);
            done.TrySetResult(next);
        }
        catch (Exception ex)
        {
            // Someone else appended (a second writer), or storage failed: the erasure fails and stays pending, and its
            // next attempt seals again (after a failed append, from a new activation that knows the log's real end).
            LogSealFailed(_partition, ex);
            done.TrySetException(ex);
        }
    }

    async Task IEventLogPartitionGrain.ReloadPrivacyAsync(string tenant)
    {
        if (_privacy is not null)
        {
            await _privacy.ReloadAsync(tenant);
        }
    }

    async Task<PartitionErasure> IEventLogPartitionGrain.EraseAsync(string tenant, string[] userIds)
    {
        var filter = _privacy is null ? Privacy.PrivacyFilter.None : await _privacy.ReloadAsync(tenant);
        var ids = userIds.ToHashSet(StringComparer.Ordinal);
        bool Names(SetAsideProfile record) => record.Tenant == tenant && ids.Contains(record.UserId);
        var setAside = _setAsideUnsaved.RemoveAll(Names);
        if (checkpoint.State.RecentlySetAside.Any(Names))
        {
            setAside += checkpoint.State.RecentlySetAside.RemoveAll(Names);
            _forceSave = true;
        }

        // Every record before sealedAt lies in a sealed segment, which the trim below may delete whole.
        var (sealedLog, sealedAt) = (false, long.MaxValue);
        if (log.IsDurable)
        {
            var endBefore = _progress.End;
            var seal = _sealRequest ??= new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            Kick();
            sealedAt = await seal.Task;
            sealedLog = sealedAt != endBefore;
        }

        // The trim may only pass what profiles have written: get the checkpoint there now rather than whenever the
        // profiles' write-behind or the next traffic would (a resumed erasure runs in a quiet cluster).
        var clearsLog = log.IsDurable && _archiver is { TrimsLog: true };
        if (clearsLog)
        {
            await CheckpointThroughAsync(sealedAt);
        }

        await SaveCheckpointAsync();
        if (_archiver is null)
        {
            return new PartitionErasure(_partition, 0, 0, 0, 0, sealedLog, setAside);
        }

        try
        {
            await _archiving;
        }
        catch (Exception)
        {
            // Logged by the step itself.
        }

        var (archiver, partition, durable) = (_archiver, _partition, checkpoint.State.Position);
        var erasing = Task.Run(() => archiver.EraseAsync(partition, tenant, filter, durable, snapshots: partition == 0, archiveBefore: sealedAt, users: ids));
        _archiving = erasing.ContinueWith(_ => (long?)null, TaskScheduler.Default);
        var lake = await erasing;
        if (clearsLog && durable < sealedAt)
        {
            // The lake is clean, but sealed segments may still hold the users' events: the erasure stays pending, and the
            // ledger's next attempt finds the checkpoint further on.
            throw new InvalidOperationException(
                $"Log partition {partition}: the checkpoint ({durable}) has not passed the segments sealed for the erasure (up to {sealedAt}) yet, so they are not deleted; the erasure is retried.");
        }

        if (clearsLog && await log.HoldsSegmentsBeforeAsync(partition, sealedAt))
        {
            throw new InvalidOperationException(
                $"Log partition {partition}: a segment before the erasure's seal ({sealedAt}) is still there after the trim; the erasure is retried.");
        }

        return new PartitionErasure(partition, lake.FilesRewritten, lake.RowsRemoved, lake.SnapshotRowsRemoved, lake.SegmentsTrimmed, sealedLog, setAside);
    }

    /// <summary>
    /// Waits (at most <see cref="ErasureCheckpointWait"/>) until the checkpoint reaches <paramref name="position"/>, asking
    /// the profiles that hold unwritten records before it to write now, and retrying a held replay.
    /// </summary>
    private async Task CheckpointThroughAsync(long position)
    {
        var deadline = clock.GetUtcNow() + ErasureCheckpointWait;
        var asked = new HashSet<string>(StringComparer.Ordinal);
        while (_progress.Checkpoint < position && clock.GetUtcNow() < deadline)
        {
            foreach (var (profileKey, range) in _progress.Unwritten)
            {
                if (range.From < position && asked.Add(profileKey))
                {
                    ProfileGrain(profileKey).WriteBehindNowAsync().Ignore();
                }
            }

            if (_replayHeld)
            {
                _replayHeld = false;
                Kick();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100));
        }

        await SaveCheckpointAsync();
    }

    private List<PendingAppend> TakeGroup()
    {
        var group = new List<PendingAppend>();
        var bytes = 0;
        while (_pending.TryPeek(out var next) && (group.Count == 0 || bytes + next.Payload.Count <= _options.MaxRecordBytes))
        {
            bytes += next.Payload.Count;
            group.Add(_pending.Dequeue());
        }

        return group;
    }

    private async Task DispatchNextAsync()
    {
        var (position, profiles, traces, ackedAt) = _toDispatch.Dequeue();
        _dispatching = (position, profiles);
        try
        {
            using var span = IngestTracing.StartDispatch(_partition, position, traces, replay: false);
            await DispatchAsync(position, profiles, replayChain: null, ackedAt);
            _progress.Dispatched(position);
        }
        finally
        {
            _dispatching = null;
            ReleaseDeliveryWaiters(position);
        }
    }

    public async Task<bool> AwaitDeliveredAsync(string profileKey, TimeSpan timeout)
    {
        if (_progress.Replaying || _progress.ReplayRequested)
        {
            return false;
        }

        long? through = _dispatching is { } current && Holds(current.Profiles, profileKey) ? current.Position : null;
        foreach (var (position, profiles, _, _) in _toDispatch)
        {
            if (Holds(profiles, profileKey))
            {
                through = position;
            }
        }

        if (through is not { } last)
        {
            return true;
        }

        var waiter = (last, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _deliveryWaiters.Add(waiter);
        Kick();
        try
        {
            await waiter.Item2.Task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            _deliveryWaiters.Remove(waiter);
            return false;
        }

        static bool Holds(ProfileBatch[] profiles, string key)
        {
            foreach (var profile in profiles)
            {
                if (string.Equals(profile.ProfileKey, key, StringComparison.Ordinal))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private void ReleaseDeliveryWaiters(long dispatched)
    {
        for (var i = _deliveryWaiters.Count - 1; i >= 0; i--)
        {
            if (_deliveryWaiters[i].Through <= dispatched)
            {
                _deliveryWaiters[i].Delivered.TrySetResult();
                _deliveryWaiters.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Hands one record to its profiles; records are dispatched one at a time, so each profile sees log order.
    /// Each call names the position handed to that profile before (unless it was written since): a call can fail
    /// at the caller and still arrive later, out of order, so a profile that does not hold its predecessor refuses
    /// it instead of moving past a gap. In a replay the chain starts afresh (<paramref name="replayChain"/>):
    /// everything before the replay range is in written state (or set aside).
    /// </summary>
    private async Task DispatchAsync(long position, ProfileBatch[] profiles, Dictionary<string, long>? replayChain, long ackedAt = 0)
    {
        var gap = false;
        await Task.WhenAll(profiles.Select(async profile =>
        {
            var key = profile.ProfileKey;
            var batch = profile.Batch;
            if (_privacy is not null)
            {
                // An erased user's events from before the erasure never reach a profile again (replays, re-imports).
                try
                {
                    var parsed = ProfileKey.Parse(key);
                    var filter = await _privacy.ForTenantAsync(parsed.Tenant);
                    if (!filter.IsEmpty && filter.Keep(parsed.UserId, batch) is var kept && kept != batch)
                    {
                        if (kept is null)
                        {
                            return;
                        }

                        batch = kept;
                    }
                }
                catch (Exception ex)
                {
                    // The tenant's ledger could not be read (its silo is gone): not applied, as a failed call; replayed later.
                    LogDispatchFailed(_partition, position, ex);
                    _progress.ApplyFailed(key, position, Truncate($"{ex.GetType().Name}: {ex.Message}"), clock.GetUtcNow(), profileFailed: false);
                    return;
                }
            }

            long? previous;
            if (replayChain is not null)
            {
                previous = replayChain.TryGetValue(key, out var chained) ? chained : null;
                replayChain[key] = position;
            }
            else
            {
                previous = _progress.PreviousOf(key);
            }

            try
            {
                var result = await ProfileGrain(key).ApplyLoggedAsync(batch, _partition, position, previous);

                // Not applied on a gap: its range keeps the checkpoint before the gap, and a replay hands it everything in order.
                gap |= result.Gap;
                _progress.Applied(key, position, result.Gap ? result.UnwrittenFrom ?? position : result.UnwrittenFrom, clock.GetUtcNow());
                if (ackedAt != 0 && !result.Gap && stats.Enabled)
                {
                    // Acknowledged (appended) to applied in the profile's memory; replays have no acknowledgement time and are not measured.
                    stats.For(ProfileKey.Parse(key).Tenant)?.Lag(System.Diagnostics.Stopwatch.GetElapsedTime(ackedAt).TotalMilliseconds);
                }
            }
            catch (Exception ex)
            {
                // Not known to be applied: keep the checkpoint before it; the stuck-profile check replays it later.
                LogDispatchFailed(_partition, position, ex);
                _progress.ApplyFailed(key, position, Truncate($"{ex.GetType().Name}: {ex.Message}"), clock.GetUtcNow(), profileFailed: !IsTransport(ex));
            }
        }));

        _progress.DeliveryDone();
        if (gap)
        {
            _progress.RequestReplay(_progress.Checkpoint);
        }
    }

    private async Task ReplayAsync()
    {
        var (from, until) = _progress.BeginReplay();
        var completed = false;
        try
        {
            var records = 0;
            var chain = new Dictionary<string, long>(StringComparer.Ordinal);
            await foreach (var (position, record) in log.ReadAsync(_partition, from))
            {
                if (position >= until)
                {
                    break;
                }

                _progress.ReplayingAt(position);
                using var span = IngestTracing.StartDispatch(_partition, position, null, replay: true);
                await DispatchAsync(position, Decode(record), chain);
                records++;
            }

            completed = true;
            if (records > 0)
            {
                LogReplayed(_partition, records, from);
            }
        }
        catch (Exception ex)
        {
            // The range stays requested, so the checkpoint cannot pass it; the next maintenance tick retries it.
            LogReplayFailed(_partition, ex);
        }
        finally
        {
            _progress.EndReplay(from, completed);

            // A replay that made no progress (a profile refused again at or before where it began, or it failed): the
            // next one waits for the maintenance tick. Replayed at once, a profile that keeps refusing (a merge that could
            // not read its history) made a loop of a thousand replays and log lines a second.
            _replayHeld = _progress.ReplaysWithoutProgress > 0;
        }
    }

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        foreach (var key in _progress.FailingAtLeast(_options.MaxWriteAttempts))
        {
            SetAside(key);
        }

        await SaveCheckpointAsync();
        ReportBacklog();
        var now = clock.GetUtcNow();
        if (_mergesPending.Count > 0 && _sweepingMerges.IsCompleted && now - _mergesSweptAt >= _options.StuckAfter)
        {
            // A merge counted here whose identifier never decided it (the claim failed after the count: its silo died under
            // the call) or settled it without telling (the un-count was lost) held allWritten false until this partition
            // was activated again (probe66: four minutes and more). Asked again once it is StuckAfter old: one the
            // identifier no longer holds is not counted any more.
            _mergesSweptAt = now;
            _sweepingMerges = ResumeMergesAsync(notedBefore: now - _options.StuckAfter);
        }

        if (_archiver is not null && _archiving.IsCompleted && clock.GetUtcNow() - _archivedAt >= _archiver.Interval)
        {
            _archivedAt = clock.GetUtcNow();
            _archiving = ArchiveOffTurn(checkpoint.State.Position);
        }

        if (_replayHeld)
        {
            _replayHeld = false;
            Kick();
            return;
        }

        if (!_progress.Replaying && _progress.RestartStuck(clock.GetUtcNow(), _options.StuckAfter) is > 0 and var stuck)
        {
            // A profile that never reported its write is presumed lost with its silo: replay, and profiles skip what
            // they already hold.
            LogStuckReplay(_partition, stuck);
            _progress.RequestReplay(_progress.Checkpoint);
            Kick();
        }
    }

    /// <summary>Stops holding the checkpoint for a profile that keeps failing; the record is saved with the next checkpoint.</summary>
    /// <summary>Records the profile's unwritten range as set aside; returns the last position it covers (null: none held).</summary>
    private long? SetAside(string profileKey)
    {
        if (_progress.SetAside(profileKey) is not { } range)
        {
            return null;
        }

        var (tenant, user) = Identify(profileKey);
        var record = new SetAsideProfile(tenant, user, _partition, range.From, range.Through, range.Failures, range.LastError ?? "unknown", clock.GetUtcNow());
        _setAsideUnsaved.Add(record);
        LogSetAside(_partition, profileKey, range.From, range.Through, range.Failures, range.LastError);
        return range.Through;
    }

    /// <summary>Saves after the save in flight, if any: two writes of the same row at once would fail on its ETag.</summary>
    private Task SaveCheckpointAsync() => _saving = SaveAfterAsync(_saving);

    private async Task SaveAfterAsync(Task previous)
    {
        await previous;
        await SaveNowAsync();
    }

    private async Task SaveNowAsync()
    {
        var safe = _progress.Checkpoint;
        var saved = checkpoint.State;
        if (safe == saved.Position && _setAsideUnsaved.Count == 0 && !_forceSave && MergesSaved(saved))
        {
            return;
        }

        _forceSave = false;

        var added = _setAsideUnsaved.ToList();
        checkpoint.State = new LogCheckpoint
        {
            Position = safe,
            SetAsideCount = saved.SetAsideCount + added.Count,
            RecentlySetAside = [.. saved.RecentlySetAside.Concat(added).TakeLast(KeptSetAside)],
            MergesPending = _mergesPending.Count == 0 ? null : new Dictionary<string, string>(_mergesPending, StringComparer.Ordinal),
        };
        try
        {
            await checkpoint.WriteStateAsync();
            _setAsideUnsaved.RemoveRange(0, added.Count);
        }
        catch (Exception ex)
        {
            // Keep the last saved value so the next attempt writes again, and refresh the ETag in case another
            // writer got in between.
            LogCheckpointFailed(_partition, ex);
            try
            {
                await checkpoint.ReadStateAsync();
            }
            catch (Exception readFailure)
            {
                LogCheckpointFailed(_partition, readFailure);
                checkpoint.State = saved;
            }
        }
    }

    private bool MergesSaved(LogCheckpoint saved) =>
        (saved.MergesPending?.Count ?? 0) == _mergesPending.Count && _mergesPending.Keys.All(id => saved.MergesPending!.ContainsKey(id));

    /// <summary>A failure of the call rather than of the profile: its silo died or left, or the answer came too late.</summary>
    private static bool IsTransport(Exception ex) =>
        ex is OrleansMessageRejectionException or SiloUnavailableException or TimeoutException or OperationCanceledException;

    private static (string Tenant, string UserId) Identify(string profileKey)
    {
        try
        {
            var key = ProfileKey.Parse(profileKey);
            return (key.Tenant, key.UserId);
        }
        catch (FormatException)
        {
            return (string.Empty, profileKey);
        }
    }

    private static string Truncate(string error) => error.Length <= MaxErrorLength ? error : error[..MaxErrorLength];

    /// <summary>One entry per profile, in first-seen order; a profile's batches (several requests, size chunks) joined in order.</summary>
    private static ProfileBatch[] ByProfile(IEnumerable<ProfileBatch> batches)
    {
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        var merged = new List<(string Key, List<EventBatch> Batches)>();
        foreach (var batch in batches)
        {
            if (byKey.TryGetValue(batch.ProfileKey, out var index))
            {
                merged[index].Batches.Add(batch.Batch);
            }
            else
            {
                byKey[batch.ProfileKey] = merged.Count;
                merged.Add((batch.ProfileKey, [batch.Batch]));
            }
        }

        return [.. merged.Select(m => m.Batches.Count == 1
            ? new ProfileBatch(m.Key, m.Batches[0])
            : new ProfileBatch(m.Key, new EventBatch([.. m.Batches.SelectMany(b => b.Events)])))];
    }

    private ProfileBatch[] Decode(byte[] record) => ByProfile(LogRecords.Read(record, serializer));

    /// <summary>
    /// A profile's grain reference, made from the grain and interface types resolved once: GetGrain looks the interface
    /// up by reflection on every call (Orleans 10.4), once per profile of every record here.
    /// </summary>
    private IUserProfileGrain ProfileGrain(string key)
    {
        if (_profileGrainTypes is not { } types)
        {
            var reference = (GrainReference)(object)GrainFactory.GetGrain<IUserProfileGrain>(key);
            _profileGrainTypes = (reference.GrainId.Type, reference.InterfaceType);
            return (IUserProfileGrain)(object)reference;
        }

        return (IUserProfileGrain)GrainFactory.GetGrain(GrainId.Create(types.Type, key), types.Interface);
    }

    private void ReportBacklog() => _backlog?.Set(_progress.ProfilesUnwritten, _progress.Undispatched);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>An append waiting for its group commit; its payload is a pooled buffer, given back once framed into a record.</summary>
    private sealed record PendingAppend(ArraySegment<byte> Payload, ProfileBatch[] Batches, ActivityContext Trace)
    {
        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning, Message = "Log partition {Partition}: appending {Appends} batches failed")]
    private partial void LogAppendFailed(int partition, int appends, Exception exception);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "Log partition {Partition}: profile {ProfileKey} set aside after {Attempts} failed attempts; positions {From} to {Through} are not in its written state and the checkpoint moves on. Last error: {Error}")]
    private partial void LogSetAside(int partition, string profileKey, long from, long through, int attempts, string? error);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "Log partition {Partition}: dispatching the record at {Position} failed")]
    private partial void LogDispatchFailed(int partition, long position, Exception exception);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Log partition {Partition}: replayed {Records} records from position {From}")]
    private partial void LogReplayed(int partition, int records, long from);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Error, Message = "Log partition {Partition}: replay failed")]
    private partial void LogReplayFailed(int partition, Exception exception);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Log partition {Partition}: {Profiles} profiles have not written their state in time; replaying")]
    private partial void LogStuckReplay(int partition, int profiles);

    [LoggerMessage(EventId = 3763, Level = LogLevel.Warning, Message = "Log partition {Partition}: sealing the log segment for an erasure failed; the erasure stays pending and seals again on its next attempt")]
    private partial void LogSealFailed(int partition, Exception exception);

    [LoggerMessage(EventId = 3122, Level = LogLevel.Warning, Message = "Log partition {Partition}: merge {MergeId}, pending before the partition's activation, could not be carried out now; its reminder tries again")]
    private partial void LogMergeResumeFailed(int partition, string mergeId, Exception exception);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Log partition {Partition}: writing the checkpoint failed")]
    private partial void LogCheckpointFailed(int partition, Exception exception);
}
