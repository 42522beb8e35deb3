using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using Orleans.Serialization;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Ingest;

[GenerateSerializer, Alias("pg.log-checkpoint")]
public sealed class LogCheckpoint
{
    /// <summary>Every record before this position is reflected in durably written profile state.</summary>
    [Id(0)] public long Position { get; set; }
}

/// <summary>
/// One partition of the event log; see <see cref="IEventLogPartitionGrain"/>. Reentrant so that appends arriving
/// while a write is in flight gather into the next write (group commit). All state changes happen between awaits
/// on the grain's single-threaded scheduler.
/// </summary>
[Reentrant]
public sealed partial class EventLogPartitionGrain(
    [PersistentState("log-checkpoint", ProfileStores.Profiles)] IPersistentState<LogCheckpoint> checkpoint,
    IEventLog log,
    Serializer serializer,
    IOptions<IngestOptions> options,
    TimeProvider clock,
    ILogger<EventLogPartitionGrain> logger)
    : Grain, IEventLogPartitionGrain
{
    private readonly IngestOptions _options = options.Value;
    private readonly List<PendingAppend> _pending = [];
    private readonly Queue<(long Position, EventBatch[] Batches)> _toDispatch = new();
    private readonly Dictionary<string, Unwritten> _unwritten = new(StringComparer.Ordinal);
    private int _partition;
    private long _nextPosition;
    private bool _writing;
    private bool _dispatching;
    private bool _replaying;
    private bool _replayNeeded;
    private long _replayPosition;

    // Set while a replay range has not been replayed to its end; keeps the checkpoint from passing it.
    private long? _replayFloor;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _partition = (int)this.GetPrimaryKeyLong();
        _nextPosition = await log.GetEndAsync(_partition, cancellationToken);
        this.RegisterGrainTimer(
            MaintainAsync,
            new GrainTimerCreationOptions(_options.CheckpointInterval, _options.CheckpointInterval) { KeepAlive = true, Interleave = true });

        // Whatever lies between the checkpoint and the end of the log may be missing from written profile state.
        _ = ReplayAsync(checkpoint.State.Position);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await SaveCheckpointAsync();
    }

    async Task<long> IEventLogPartitionGrain.AppendAsync(EventBatch[] batches)
    {
        var pending = new PendingAppend(serializer.SerializeToArray(batches), batches);
        _pending.Add(pending);
        if (!_writing)
        {
            _writing = true;
            _ = WriteLoopAsync();
        }

        return await pending.Completion.Task;
    }

    Task IEventLogPartitionGrain.FlushedAsync(string profileKey, long position)
    {
        if (_unwritten.TryGetValue(profileKey, out var unwritten) && position >= unwritten.Through)
        {
            _unwritten.Remove(profileKey);
        }

        return Task.CompletedTask;
    }

    Task<LogPartitionStatus> IEventLogPartitionGrain.GetStatusAsync() =>
        Task.FromResult(new LogPartitionStatus(_partition, SafeCheckpoint(), _nextPosition, _unwritten.Count, _toDispatch.Count, _replaying));

    private async Task WriteLoopAsync()
    {
        try
        {
            while (_pending.Count > 0)
            {
                var group = TakeGroup();
                long position;
                try
                {
                    var appended = await log.AppendAsync(_partition, _nextPosition, Encode(group));
                    (position, _nextPosition) = (appended.Position, appended.Next);
                }
                catch (Exception ex)
                {
                    // Nothing is acknowledged. The log may have moved under us (a second writer during a membership
                    // change), so never resync and carry on: refuse what is pending and let a new activation start
                    // from the log's real end. Clients retry; event ids make that safe.
                    LogAppendFailed(_partition, group.Count + _pending.Count, ex);
                    group.ForEach(p => p.Completion.TrySetException(ex));
                    _pending.ForEach(p => p.Completion.TrySetException(ex));
                    _pending.Clear();
                    DeactivateOnIdle();
                    return;
                }

                _toDispatch.Enqueue((position, group.SelectMany(p => p.Batches).ToArray()));
                group.ForEach(p => p.Completion.TrySetResult(position));
                StartDispatch();
            }
        }
        finally
        {
            _writing = false;
        }
    }

    private List<PendingAppend> TakeGroup()
    {
        var group = new List<PendingAppend>();
        var bytes = 0;
        while (_pending.Count > 0 && (group.Count == 0 || bytes + _pending[0].Payload.Length <= _options.MaxRecordBytes))
        {
            bytes += _pending[0].Payload.Length;
            group.Add(_pending[0]);
            _pending.RemoveAt(0);
        }

        return group;
    }

    private void StartDispatch()
    {
        if (!_dispatching && !_replaying)
        {
            _dispatching = true;
            _ = DispatchLoopAsync();
        }
    }

    private async Task DispatchLoopAsync()
    {
        try
        {
            while (_toDispatch.Count > 0 && !_replaying && !_replayNeeded)
            {
                var (position, batches) = _toDispatch.Peek();
                await DispatchAsync(position, batches, replayChain: null);
                _toDispatch.Dequeue();
            }
        }
        finally
        {
            _dispatching = false;
            if (_replayNeeded && !_replaying)
            {
                _replayNeeded = false;
                _ = ReplayAsync(SafeCheckpoint());
            }
        }
    }

    /// <summary>
    /// Hands one record to its profiles; records are dispatched one at a time, so each profile sees log order.
    /// Each call names the position handed to that profile before (unless it was written since): a call can fail
    /// at the caller and still arrive later, out of order, so a profile that does not hold its predecessor refuses
    /// it instead of moving past a gap. In a replay the chain starts afresh (<paramref name="replayChain"/>):
    /// everything before the replay range is in written state.
    /// </summary>
    private async Task DispatchAsync(long position, EventBatch[] batches, Dictionary<string, long>? replayChain)
    {
        var byProfile = batches
            .GroupBy(b => new ProfileKey(b.Events[0].Tenant, b.Events[0].UserId).ToString(), StringComparer.Ordinal)
            .Select(g => (Key: g.Key, Batch: g.Count() == 1 ? g.First() : new EventBatch(g.SelectMany(b => b.Events).ToList())));

        await Task.WhenAll(byProfile.Select(async profile =>
        {
            long? previous = replayChain is not null
                ? replayChain.TryGetValue(profile.Key, out var chained) ? chained : null
                : _unwritten.TryGetValue(profile.Key, out var pending) ? pending.Through : null;
            if (replayChain is not null)
            {
                replayChain[profile.Key] = position;
            }

            long? unwrittenFrom;
            try
            {
                var result = await GrainFactory.GetGrain<IUserProfileGrain>(profile.Key)
                    .ApplyLoggedAsync(profile.Batch, _partition, position, previous);
                if (result.Gap)
                {
                    // Not applied: its entry keeps the checkpoint before the gap, and a replay hands it everything in order.
                    _replayNeeded = true;
                    unwrittenFrom = result.UnwrittenFrom ?? position;
                }
                else
                {
                    unwrittenFrom = result.UnwrittenFrom;
                }
            }
            catch (Exception ex)
            {
                // Not known to be applied: keep the checkpoint before it; the stuck-profile check replays it later.
                LogDispatchFailed(_partition, position, ex);
                unwrittenFrom = position;
            }

            Track(profile.Key, unwrittenFrom, position);
        }));
    }

    private void Track(string profileKey, long? unwrittenFrom, long position)
    {
        if (unwrittenFrom is not { } from)
        {
            _unwritten.Remove(profileKey);
            return;
        }

        if (_unwritten.TryGetValue(profileKey, out var existing))
        {
            existing.From = Math.Min(existing.From, from);
            existing.Through = Math.Max(existing.Through, position);
        }
        else
        {
            _unwritten[profileKey] = new Unwritten { From = from, Through = position, Since = clock.GetUtcNow() };
        }
    }

    private async Task ReplayAsync(long from)
    {
        _replaying = true;
        _replayFloor = Math.Min(_replayFloor ?? from, from);
        from = _replayFloor.Value;
        try
        {
            while (_dispatching)
            {
                await Task.Delay(10);
            }

            var until = _toDispatch.Count > 0 ? _toDispatch.Peek().Position : _nextPosition;
            var records = 0;
            var chain = new Dictionary<string, long>(StringComparer.Ordinal);
            _replayNeeded = false;
            _replayPosition = from;
            await foreach (var (position, record) in log.ReadAsync(_partition, from))
            {
                if (position >= until)
                {
                    break;
                }

                _replayPosition = position;
                await DispatchAsync(position, Decode(record), chain);
                records++;
            }

            // A profile that refused (a call that failed and arrived late) leaves the floor for the next maintenance.
            if (!_replayNeeded)
            {
                _replayFloor = null;
            }

            _replayNeeded = false;
            if (records > 0)
            {
                LogReplayed(_partition, records, from);
            }
        }
        catch (Exception ex)
        {
            // The floor stays: the checkpoint cannot pass the unreplayed range, and the next maintenance retries it.
            LogReplayFailed(_partition, ex);
        }
        finally
        {
            _replaying = false;
            StartDispatch();
        }
    }

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        await SaveCheckpointAsync();

        if (!_replaying && !_dispatching && _replayFloor is { } floor)
        {
            _ = ReplayAsync(floor);
            return;
        }

        var now = clock.GetUtcNow();
        if (!_replaying && _unwritten.Values.Any(u => now - u.Since > _options.StuckAfter))
        {
            // A profile that never reported its write is presumed lost with its silo: replay, and profiles skip
            // what they already hold.
            foreach (var unwritten in _unwritten.Values)
            {
                unwritten.Since = now;
            }

            LogStuckReplay(_partition, _unwritten.Count);
            _ = ReplayAsync(SafeCheckpoint());
        }
    }

    private async Task SaveCheckpointAsync()
    {
        var safe = SafeCheckpoint();
        var saved = checkpoint.State.Position;
        if (safe != saved)
        {
            checkpoint.State.Position = safe;
            try
            {
                await checkpoint.WriteStateAsync();
            }
            catch (Exception ex)
            {
                // Keep the last saved value so the next attempt writes again, and refresh the ETag in case another
                // writer got in between.
                LogCheckpointFailed(_partition, ex);
                checkpoint.State.Position = saved;
                try
                {
                    await checkpoint.ReadStateAsync();
                }
                catch (Exception readFailure)
                {
                    LogCheckpointFailed(_partition, readFailure);
                }
            }
        }
    }

    /// <summary>The earliest position that may not be reflected in written profile state yet.</summary>
    private long SafeCheckpoint()
    {
        var safe = _replaying ? _replayPosition : _toDispatch.Count > 0 ? _toDispatch.Peek().Position : _nextPosition;
        if (_replayFloor is { } floor && !_replaying)
        {
            safe = Math.Min(safe, floor);
        }

        foreach (var unwritten in _unwritten.Values)
        {
            safe = Math.Min(safe, unwritten.From);
        }

        return safe;
    }

    // Record layout: [count:int32] then count x ([length:int32][Orleans-serialized EventBatch[]]). Each append keeps
    // the bytes its caller serialized, so a group commit never serializes twice.
    private static byte[] Encode(List<PendingAppend> group)
    {
        var record = new byte[4 + group.Sum(p => 4 + p.Payload.Length)];
        BinaryPrimitives.WriteInt32LittleEndian(record, group.Count);
        var offset = 4;
        foreach (var pending in group)
        {
            BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(offset), pending.Payload.Length);
            pending.Payload.CopyTo(record, offset + 4);
            offset += 4 + pending.Payload.Length;
        }

        return record;
    }

    private EventBatch[] Decode(byte[] record)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(record);
        var batches = new List<EventBatch>();
        var offset = 4;
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(offset));
            batches.AddRange(serializer.Deserialize<EventBatch[]>(record.AsSpan(offset + 4, length)) ?? []);
            offset += 4 + length;
        }

        return [.. batches];
    }

    private sealed record PendingAppend(byte[] Payload, EventBatch[] Batches)
    {
        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Unwritten
    {
        public long From { get; set; }

        public long Through { get; set; }

        public DateTimeOffset Since { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log partition {Partition}: appending {Appends} batches failed")]
    private partial void LogAppendFailed(int partition, int appends, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log partition {Partition}: dispatching the record at {Position} failed")]
    private partial void LogDispatchFailed(int partition, long position, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Log partition {Partition}: replayed {Records} records from position {From}")]
    private partial void LogReplayed(int partition, int records, long from);

    [LoggerMessage(Level = LogLevel.Error, Message = "Log partition {Partition}: replay failed")]
    private partial void LogReplayFailed(int partition, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log partition {Partition}: {Profiles} profiles have not written their state in time; replaying")]
    private partial void LogStuckReplay(int partition, int profiles);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Log partition {Partition}: writing the checkpoint failed")]
    private partial void LogCheckpointFailed(int partition, Exception exception);
}
