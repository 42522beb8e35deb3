namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// A partitioned, append-only, replayable log of opaque records: the point of durability of the log ingest path.
/// Positions are opaque, increase along a partition, and address the start of a record.
/// Each partition has one writer at a time (its <see cref="EventLogPartitionGrain"/>).
/// </summary>
public interface IEventLog
{
    /// <summary>Whether records survive the process; false for the in-memory log used by tests.</summary>
    bool IsDurable { get; }

    /// <summary>Position the next record of the partition will get (where the writer resumes).</summary>
    Task<long> GetEndAsync(int partition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends one record where the partition ended at <paramref name="expectedPosition"/>; fails if another writer
    /// appended there first. Returns the record's position and the next free position, once the record is durable
    /// (for a durable log). The record may land after <paramref name="expectedPosition"/> when the log starts a new segment.
    /// <paramref name="record"/> is only valid during the call (the caller reuses the buffer): a log keeps a copy.
    /// </summary>
    Task<LogAppend> AppendAsync(int partition, long expectedPosition, ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default);

    /// <summary>Every record from <paramref name="fromPosition"/> on, with its position, in order.</summary>
    IAsyncEnumerable<(long Position, byte[] Record)> ReadAsync(int partition, long fromPosition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes what the log holds wholly before <paramref name="beforePosition"/>, in whole segments (a segment with
    /// any record at or after it stays, and so does the segment being written); returns the segments deleted. Callers
    /// pass a position every record before which is both checkpointed and archived (see docs/lake.md): a read from a
    /// trimmed position starts at the first record kept.
    /// </summary>
    Task<int> TrimAsync(int partition, long beforePosition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Closes the segment being written at <paramref name="expectedEnd"/> (the partition's end, as its writer knows it)
    /// and starts the next, so that a later trim can delete everything written so far; returns the new end. A segment
    /// with nothing in it is left as it is. Erasure uses it (docs/privacy.md). A log without segments answers the end unchanged.
    /// </summary>
    Task<long> SealAsync(int partition, long expectedEnd, CancellationToken cancellationToken = default) => Task.FromResult(expectedEnd);

    /// <summary>
    /// Whether the log still holds a record before <paramref name="position"/> that a trim to it could have deleted (for a
    /// log in segments: any segment wholly before it). Erasure asks it after its trim, so that it never counts as done
    /// while a sealed segment with the user's events is still there. A log that deletes nothing answers false.
    /// </summary>
    Task<bool> HoldsSegmentsBeforeAsync(int partition, long position, CancellationToken cancellationToken = default) => Task.FromResult(false);
}

/// <summary>Where an appended record landed, and where the next one goes.</summary>
public readonly record struct LogAppend(long Position, long Next);

/// <summary>The log in process memory: tests and throwaway runs only; every record is lost with the process.</summary>
public sealed class MemoryEventLog : IEventLog
{
    private const int ReadChunk = 256;

    // A trimmed record's slot stays (as null) so that positions keep their meaning.
    private readonly Dictionary<int, List<byte[]?>> _partitions = [];

    public bool IsDurable => false;

    public Task<long> GetEndAsync(int partition, CancellationToken cancellationToken = default)
    {
        lock (_partitions)
        {
            return Task.FromResult((long)Records(partition).Count);
        }
    }

    public Task<LogAppend> AppendAsync(int partition, long expectedPosition, ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default)
    {
        lock (_partitions)
        {
            var records = Records(partition);
            if (records.Count != expectedPosition)
            {
                throw new InvalidOperationException($"Log partition {partition} is at {records.Count}, not {expectedPosition}: another writer appended.");
            }

            records.Add(record.ToArray());
            return Task.FromResult(new LogAppend(expectedPosition, expectedPosition + 1));
        }
    }

    public async IAsyncEnumerable<(long Position, byte[] Record)> ReadAsync(
        int partition, long fromPosition, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Up to the end as of the call, a chunk at a time: a copy of the whole partition per read made large-object garbage
        // in proportion to the log's length (every replay and archive step of a long log), which at a million users kept
        // the host in full collections.
        int end;
        lock (_partitions)
        {
            end = Records(partition).Count;
        }

        var chunk = new (long Position, byte[] Record)[ReadChunk];
        for (var position = (int)Math.Max(0, fromPosition); position < end;)
        {
            var taken = 0;
            lock (_partitions)
            {
                var records = Records(partition);
                for (; position < end && taken < ReadChunk; position++)
                {
                    if (records[position] is { } record)
                    {
                        chunk[taken++] = (position, record);
                    }
                }
            }

            for (var i = 0; i < taken; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return chunk[i];
            }
        }

        await Task.CompletedTask;
    }

    /// <summary>Each record is a segment of its own here; the last record always stays (it holds the log's end).</summary>
    public Task<int> TrimAsync(int partition, long beforePosition, CancellationToken cancellationToken = default)
    {
        lock (_partitions)
        {
            var records = Records(partition);
            var trimmed = 0;
            for (var position = 0; position < Math.Min(beforePosition, records.Count - 1); position++)
            {
                if (records[position] is not null)
                {
                    records[position] = null;
                    trimmed++;
                }
            }

            return Task.FromResult(trimmed);
        }
    }

    /// <summary>Records the partition still holds (not trimmed).</summary>
    public int CountKept(int partition)
    {
        lock (_partitions)
        {
            return Records(partition).Count(r => r is not null);
        }
    }

    private List<byte[]?> Records(int partition)
    {
        if (!_partitions.TryGetValue(partition, out var records))
        {
            _partitions[partition] = records = [];
        }

        return records;
    }
}
