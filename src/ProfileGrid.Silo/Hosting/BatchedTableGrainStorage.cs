using System.Buffers;
using System.Diagnostics;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging;
using Orleans.Storage;
using ProfileGrid.Abstractions;
using ProfileGrid.Grains;

namespace ProfileGrid.Silo.Hosting;

/// <summary>
/// Grain state in Azure Table storage, written in entity-group transactions: rows live in a fixed number of partitions
/// (<see cref="Buckets"/>, by a stable hash of the grain id), and the writes that wait for one partition while another
/// transaction is in flight go together, up to 100 rows and <see cref="MaxTransactionStateBytes"/>, in one request.
/// </summary>
/// <remarks>
/// <para>Why: Orleans' table storage gives every grain its own partition, so each write is a request of its own, and a
/// request is what storage charges for. Azurite spends about 1.4 ms of CPU on any table request and 0.27 ms per row
/// inside a transaction (docs/benchmarks.md, "Profile state written in transactions"), so on the log path, where every
/// active profile writes behind once per flush interval, the table writes were most of Azurite's work. Azure Table
/// bills a transaction as one operation too.</para>
/// <para>Each row keeps its own ETag condition inside the transaction (insert for a new row, replace if-match for an
/// existing one). A row refused on its condition fails only its own write, with the <see cref="InconsistentStateException"/>
/// Orleans' providers raise, and the rest of the transaction is sent again without it; any other failure fails every
/// write of that transaction with it (each grain retries its own, and one that in fact landed meets its ETag and
/// reconciles, as after a timed-out single write).</para>
/// <para>Rows: PartitionKey "{ServiceId}~{bucket:000}"; RowKey "{state name}|{grain id}" with '%', '/', '\', '#', '?'
/// and control characters percent-escaped (so distinct ids never share a row), or <see cref="ProfileKey.HashedStorageKey"/>
/// of it beyond <see cref="BoundedKeyGrainStorage.TableKeyLimit"/> characters; the state, serialized by the host's grain
/// storage serializer, in binary properties D0, D1, ... of at most 64 KiB each (a table property's limit); from
/// <see cref="CompressFromBytes"/> bytes on, zstd-compressed in Z0, Z1, ... with the uncompressed length in ZL when that
/// saves a sixteenth or more. Rows of both kinds are read, so rows written before compression stay readable; a release
/// before it cannot read a compressed row.</para>
/// <para>Why compressed: Azurite keeps every table row in one in-memory database that it saves whole, as one JSON string,
/// every 5 seconds while anything changed; the save's cost grows with the rows' bytes, and past V8's longest string
/// (about 512 MB) the save aborts the emulator (docs/benchmarks.md, "Azurite's table database"). A MovieLens user's
/// profile is about 10 KB serialized and about 3 KB compressed.</para>
/// <para>State written before this layout (by Orleans' table storage, read through <paramref name="legacy"/>) is read
/// when a grain has no row here; its first write moves it here and deletes the old row. Whether the old layout holds
/// any row of the service is asked once (<paramref name="legacyRowsExist"/>), so a deployment that never had one reads
/// once per activation; silos of a release before this layout must not run beside silos of this one (their writes
/// would go to the old layout unseen), so upgrade a cluster from it by stopping it and starting the new release.</para>
/// </remarks>
public sealed partial class BatchedTableGrainStorage(
    TableClient table, string serviceId, IGrainStorageSerializer serializer, IGrainStorage? legacy, ILogger<BatchedTableGrainStorage> logger,
    Func<Task<bool>>? legacyRowsExist = null)
    : IGrainStorage
{
    /// <summary>Table partitions the rows are spread over. Fixed for the life of a deployment: a row is found by it.</summary>
    public const int Buckets = 64;

    /// <summary>Rows per transaction: Azure Table's limit.</summary>
    public const int MaxTransactionRows = 100;

    /// <summary>State bytes per transaction; a request may carry 4 MiB, and binary travels as base64 (4/3).</summary>
    public const int MaxTransactionStateBytes = 2 * 1024 * 1024;

    /// <summary>Transactions in flight at once, over all partitions.</summary>
    public const int MaxTransactionsInFlight = 4;

    /// <summary>Longest a write waits while fuller partitions go first.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(200);

    private const int ChunkBytes = 64 * 1024;
    private const string ChunkPrefix = "D";

    /// <summary>Chunks of a zstd-compressed state are Z0, Z1, ...; the state's length before compression is in ZL.</summary>
    private const string CompressedChunkPrefix = "Z";
    private const string CompressedLength = "ZL";

    /// <summary>Smaller states are stored as they are: a zstd frame's own bytes would eat what it saves.</summary>
    public const int CompressFromBytes = 256;

    private const string LegacyETagPrefix = "legacy|";

    private volatile bool _tableCreated;
    private Task? _creating;
    private Task<bool>? _legacyProbe;
    private readonly object _gate = new();
    private readonly Dictionary<string, Queue<PendingWrite>> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _sending = new(StringComparer.Ordinal);
    private int _inFlight;
    private long _transactions;
    private long _rowsWritten;

    /// <summary>Transactions sent so far (each a single request).</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Rows written so far.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    public static string PartitionKeyOf(string serviceId, GrainId grainId) =>
        $"{Escape(serviceId)}~{ProfileBuckets.Of(grainId.ToString(), Buckets, BucketSpace.StateRows):D3}";

    public static string RowKeyOf(string stateName, GrainId grainId)
    {
        var escaped = Escape($"{stateName}|{grainId}");
        return escaped.Length <= BoundedKeyGrainStorage.TableKeyLimit ? escaped : ProfileKey.HashedStorageKey(escaped);
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(
            PartitionKeyOf(serviceId, grainId), RowKeyOf(stateName, grainId), cancellationToken: cancellationToken);
        if (row.HasValue && row.Value is { } entity)
        {
            grainState.State = serializer.Deserialize<T>(new BinaryData(StateOf(entity)));
            grainState.ETag = entity.ETag.ToString();
            grainState.RecordExists = true;
            return;
        }

        if (legacy is not null && await LegacyRowsExistAsync())
        {
            await legacy.ReadStateAsync(stateName, grainId, grainState, cancellationToken);
            if (grainState.RecordExists)
            {
                // Written here on its first write (an insert), after which the old row is deleted with this ETag.
                grainState.ETag = LegacyETagPrefix + grainState.ETag;
                return;
            }
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var data = serializer.Serialize(grainState.State).ToMemory();
        var entity = new TableEntity(PartitionKeyOf(serviceId, grainId), RowKeyOf(stateName, grainId));
        var storedBytes = SplitCompressed(entity, data.Span) ?? Split(entity, data.Span, ChunkPrefix);

        var legacyETag = grainState.ETag is { } tag && tag.StartsWith(LegacyETagPrefix, StringComparison.Ordinal) ? tag[LegacyETagPrefix.Length..] : null;
        TableTransactionAction action;
        if (grainState.ETag is null || legacyETag is not null)
        {
            action = new TableTransactionAction(TableTransactionActionType.Add, entity);
        }
        else
        {
            entity.ETag = new ETag(grainState.ETag);
            action = new TableTransactionAction(TableTransactionActionType.UpdateReplace, entity, entity.ETag);
        }

        var write = new PendingWrite(action, storedBytes, grainId, stateName);
        Enqueue(write);
        grainState.ETag = await write.Done.Task;
        grainState.RecordExists = true;

        if (legacyETag is not null && legacy is not null)
        {
            await DeleteLegacyRowAsync(stateName, grainId, grainState, legacyETag, cancellationToken);
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        if (grainState.ETag is { } tag && tag.StartsWith(LegacyETagPrefix, StringComparison.Ordinal))
        {
            await DeleteLegacyRowAsync(stateName, grainId, grainState, tag[LegacyETagPrefix.Length..], cancellationToken);
        }
        else if (grainState.ETag is not null)
        {
            try
            {
                await table.DeleteEntityAsync(PartitionKeyOf(serviceId, grainId), RowKeyOf(stateName, grainId), new ETag(grainState.ETag), cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status is 404 or 412)
            {
                throw new InconsistentStateException($"Clearing {stateName} of {grainId}: {ex.ErrorCode}", grainState.ETag, "unknown", ex);
            }
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (_tableCreated)
        {
            return Task.CompletedTask;
        }

        // One creation shared by the writes that wait for it; not a Lazy<Task>, so that a failure while storage is down
        // does not stick.
        lock (_gate)
        {
            if (_creating is null || _creating.IsFaulted || _creating.IsCanceled)
            {
                _creating = CreateTableAsync();
            }

            return _creating.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Whether the old layout holds any row of this service, asked once (again after a failure): a deployment that never
    /// wrote one makes no second read for every new profile.
    /// </summary>
    private Task<bool> LegacyRowsExistAsync()
    {
        if (legacyRowsExist is null)
        {
            return Task.FromResult(true);
        }

        lock (_gate)
        {
            if (_legacyProbe is null || _legacyProbe.IsFaulted || _legacyProbe.IsCanceled)
            {
                _legacyProbe = legacyRowsExist();
            }

            return _legacyProbe;
        }
    }

    private async Task CreateTableAsync()
    {
        await table.CreateIfNotExistsAsync();
        _tableCreated = true;
    }

    private async Task DeleteLegacyRowAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, string legacyETag, CancellationToken cancellationToken)
    {
        // The row has moved (or is being cleared): the old one goes, conditional on the version that was read.
        var old = new GrainState<T>(grainState.State) { ETag = legacyETag, RecordExists = true };
        try
        {
            await legacy!.ClearStateAsync(stateName, grainId, old, cancellationToken);
        }
        catch (Exception ex)
        {
            // Harmless when the new row exists: reads find it first. Logged so that an operator can tidy up.
            LogLegacyDeleteFailed(grainId.ToString(), ex);
        }
    }

    private void Enqueue(PendingWrite write)
    {
        var partition = write.Action.Entity.PartitionKey;
        lock (_gate)
        {
            if (!_waiting.TryGetValue(partition, out var queue))
            {
                _waiting[partition] = queue = new Queue<PendingWrite>();
            }

            queue.Enqueue(write);
        }

        Pump();
    }

    /// <summary>Starts transactions for ready partitions while fewer than <see cref="MaxTransactionsInFlight"/> are in flight.</summary>
    private void Pump()
    {
        while (true)
        {
            List<PendingWrite> batch;
            lock (_gate)
            {
                if (_inFlight >= MaxTransactionsInFlight || NextPartition() is not { } partition)
                {
                    return;
                }

                batch = TakeBatch(_waiting[partition]);
                if (_waiting[partition].Count == 0)
                {
                    _waiting.Remove(partition);
                }

                _sending.Add(partition);
                _inFlight++;
            }

            _ = Task.Run(() => SendAsync(batch));
        }
    }

    /// <summary>
    /// The partition to send next (under the lock): the one with the most writes waiting, so that a backlog goes in full
    /// transactions, unless a write has waited longer than <see cref="MaxWait"/>, whose partition then goes first.
    /// </summary>
    private string? NextPartition()
    {
        string? fullest = null;
        string? oldest = null;
        var (most, oldestAt) = (0, long.MaxValue);
        foreach (var (partition, queue) in _waiting)
        {
            if (_sending.Contains(partition))
            {
                continue;
            }

            if (queue.Count > most)
            {
                (fullest, most) = (partition, queue.Count);
            }

            if (queue.Peek().EnqueuedAt < oldestAt)
            {
                (oldest, oldestAt) = (partition, queue.Peek().EnqueuedAt);
            }
        }

        return oldest is not null && Stopwatch.GetElapsedTime(oldestAt) > MaxWait ? oldest : fullest;
    }

    private static List<PendingWrite> TakeBatch(Queue<PendingWrite> queue)
    {
        var batch = new List<PendingWrite>();
        var rows = new HashSet<string>(StringComparer.Ordinal);
        var bytes = 0L;
        while (queue.TryPeek(out var next)
            && batch.Count < MaxTransactionRows
            && (batch.Count == 0 || bytes + next.StateBytes <= MaxTransactionStateBytes)
            && rows.Add(next.Action.Entity.RowKey))
        {
            batch.Add(queue.Dequeue());
            bytes += next.StateBytes;
        }

        return batch;
    }

    private async Task SendAsync(List<PendingWrite> batch)
    {
        var partition = batch[0].Action.Entity.PartitionKey;
        try
        {
            while (batch.Count > 0)
            {
                try
                {
                    Interlocked.Increment(ref _transactions);
                    var responses = await table.SubmitTransactionAsync(batch.Select(w => w.Action));
                    for (var i = 0; i < batch.Count; i++)
                    {
                        batch[i].Done.TrySetResult(responses.Value[i].Headers.ETag?.ToString() ?? throw new InvalidOperationException("The table answered a write without an ETag."));
                    }

                    Interlocked.Add(ref _rowsWritten, batch.Count);
                    batch.Clear();
                }
                catch (TableTransactionFailedException ex) when (ex.FailedTransactionActionIndex is { } index && index >= 0 && index < batch.Count)
                {
                    // One row was refused: its write fails alone, the others go again.
                    batch[index].Fail(ex);
                    batch.RemoveAt(index);
                }
            }
        }
        catch (Exception ex)
        {
            foreach (var write in batch)
            {
                write.Fail(ex);
            }
        }
        finally
        {
            lock (_gate)
            {
                _inFlight--;
                _sending.Remove(partition);
            }

            Pump();
        }
    }

    /// <summary>
    /// Puts the state's zstd frame into the entity (Z chunks, ZL) and returns the frame's length; null, the entity
    /// untouched, when the state is small or does not shrink by a sixteenth (random ids, for one).
    /// </summary>
    private static int? SplitCompressed(TableEntity entity, ReadOnlySpan<byte> state)
    {
        if (state.Length < CompressFromBytes)
        {
            return null;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(ZstdFrames.Bound(state.Length));
        try
        {
            var written = ZstdFrames.Compress(state, buffer);
            if (written >= state.Length - state.Length / 16)
            {
                return null;
            }

            entity[CompressedLength] = state.Length;
            return Split(entity, buffer.AsSpan(0, written), CompressedChunkPrefix);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Puts <paramref name="data"/> into the entity as properties prefix0, prefix1, ... of at most 64 KiB; returns its length.</summary>
    private static int Split(TableEntity entity, ReadOnlySpan<byte> data, string prefix)
    {
        var chunks = Math.Max(1, (data.Length + ChunkBytes - 1) / ChunkBytes);
        for (var i = 0; i < chunks; i++)
        {
            var start = i * ChunkBytes;
            entity[prefix + i] = data.Slice(start, Math.Min(ChunkBytes, data.Length - start)).ToArray();
        }

        return data.Length;
    }

    /// <summary>The state a row holds: its D chunks as they are, or its Z chunks decompressed (rows of either kind are read).</summary>
    private static byte[] StateOf(TableEntity entity)
    {
        if (entity.GetInt32(CompressedLength) is not { } length)
        {
            return Join(entity, ChunkPrefix);
        }

        var state = new byte[length];
        if (ZstdFrames.Decompress(Join(entity, CompressedChunkPrefix), state) != length)
        {
            throw new InvalidDataException($"The state in row '{entity.RowKey}' does not decompress to its {length} bytes.");
        }

        return state;
    }

    private static byte[] Join(TableEntity entity, string prefix)
    {
        var parts = new List<byte[]>();
        for (var i = 0; entity.GetBinary(prefix + i) is { } part; i++)
        {
            parts.Add(part);
        }

        if (parts.Count == 1)
        {
            return parts[0];
        }

        var joined = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(joined, offset);
            offset += part.Length;
        }

        return joined;
    }

    /// <summary>Percent-escapes what a table key may not hold, and '%' itself, so that the escaping is one-to-one.</summary>
    public static string Escape(string key)
    {
        StringBuilder? builder = null;
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (c is '%' or '/' or '\\' or '#' or '?' || char.IsControl(c))
            {
                builder ??= new StringBuilder(key.Length + 16).Append(key, 0, i);
                builder.Append('%').Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                builder?.Append(c);
            }
        }

        return builder?.ToString() ?? key;
    }

    private sealed class PendingWrite(TableTransactionAction action, int stateBytes, GrainId grainId, string stateName)
    {
        public TableTransactionAction Action { get; } = action;

        public int StateBytes { get; } = stateBytes;

        public long EnqueuedAt { get; } = Stopwatch.GetTimestamp();

        public TaskCompletionSource<string> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception ex)
        {
            var refused = ex is RequestFailedException { Status: 404 or 409 or 412 } failed
                ? new InconsistentStateException(
                    $"Writing {stateName} of {grainId}: the row's version is not the one this activation read ({failed.ErrorCode}).",
                    Action.ETag.ToString(), "unknown", ex)
                : ex;
            Done.TrySetException(refused);
        }
    }

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Grain {GrainId}: its state moved to the batched table, but deleting the old row failed")]
    private partial void LogLegacyDeleteFailed(string grainId, Exception exception);
}
