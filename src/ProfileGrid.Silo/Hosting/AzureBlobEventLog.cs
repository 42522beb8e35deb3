using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Silo.Hosting;

/// <summary>
/// The event log in Azure append blobs: container "{serviceId}-eventlog", one folder per partition, segments
/// "p0003/000012.log" holding length-prefixed records. A position is segment &lt;&lt; 40 | byte offset, so positions
/// grow along a partition across segments. Appends are conditional on the expected offset: a second writer fails
/// instead of interleaving, and a full segment is sealed before the next one starts, so nobody can append to it
/// afterwards. One append block per record, so an append is one storage operation for many events.
/// </summary>
/// <param name="maxSegmentBytes">Segment size that starts a new segment; append blobs also stop at 50,000 blocks.</param>
public sealed class AzureBlobEventLog(BlobServiceClient blobs, string serviceId, long maxSegmentBytes = AzureBlobEventLog.DefaultMaxSegmentBytes) : IEventLog
{
    public const long DefaultMaxSegmentBytes = 256L * 1024 * 1024;

    private const int OffsetBits = 40;
    private const long OffsetMask = (1L << OffsetBits) - 1;
    private const int MaxBlocksPerSegment = 45_000;

    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient($"{serviceId}-eventlog");
    private readonly Dictionary<int, int> _blocksInCurrentSegment = [];
    private bool _containerExists;

    public bool IsDurable => true;

    public async Task<long> GetEndAsync(int partition, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var last = await LastSegmentAsync(partition, cancellationToken);
        if (last is null)
        {
            SetBlocks(partition, 0);
            return 0;
        }

        var properties = (await Segment(partition, last.Value).GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
        if (properties.IsSealed)
        {
            // A writer sealed it and stopped (or was killed) before it created the next one. Create it now: the last
            // segment is never trimmed, and a sealed one left last would keep its records (an erasure's too) for good.
            await Segment(partition, last.Value + 1).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            SetBlocks(partition, 0);
            return Position(last.Value + 1, 0);
        }

        SetBlocks(partition, properties.BlobCommittedBlockCount);
        return Position(last.Value, properties.ContentLength);
    }

    private long _appends;
    private long _appendedBytes;

    /// <summary>Append requests this process made (each a storage request), and the bytes they carried.</summary>
    public (long Appends, long Bytes) AppendCounts => (Interlocked.Read(ref _appends), Interlocked.Read(ref _appendedBytes));

    public async Task<LogAppend> AppendAsync(int partition, long expectedPosition, ReadOnlyMemory<byte> record, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var segment = (int)(expectedPosition >> OffsetBits);
        var offset = expectedPosition & OffsetMask;
        var framed = GC.AllocateUninitializedArray<byte>(4 + record.Length);
        BinaryPrimitives.WriteInt32LittleEndian(framed, record.Length);
        record.CopyTo(framed.AsMemory(4));

        if (offset > 0 && (offset + framed.Length > maxSegmentBytes || GetBlocks(partition) >= MaxBlocksPerSegment))
        {
            // Sealed at the length this writer knows: fails if anyone else appended, and stops anyone appending later.
            await Segment(partition, segment).SealAsync(new AppendBlobRequestConditions { IfAppendPositionEqual = offset }, cancellationToken);
            (segment, offset) = (segment + 1, 0);
            SetBlocks(partition, 0);
        }

        var blob = Segment(partition, segment);
        if (offset == 0)
        {
            await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        using var content = new MemoryStream(framed, writable: false);
        var response = await blob.AppendBlockAsync(
            content,
            new AppendBlobAppendBlockOptions { Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = offset } },
            cancellationToken);
        SetBlocks(partition, response.Value.BlobCommittedBlockCount);
        Interlocked.Increment(ref _appends);
        Interlocked.Add(ref _appendedBytes, framed.Length);
        return new LogAppend(Position(segment, offset), Position(segment, offset + framed.Length));
    }

    public async IAsyncEnumerable<(long Position, byte[] Record)> ReadAsync(
        int partition, long fromPosition, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var fromSegment = (int)(fromPosition >> OffsetBits);
        var segments = new List<int>();
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix(partition) }, cancellationToken))
        {
            if (ParseSegment(item.Name) is { } segment && segment >= fromSegment)
            {
                segments.Add(segment);
            }
        }

        segments.Sort();
        foreach (var segment in segments)
        {
            var offset = segment == fromSegment ? fromPosition & OffsetMask : 0;
            BlobDownloadStreamingResult download;
            try
            {
                download = (await Segment(partition, segment).DownloadStreamingAsync(
                    new BlobDownloadOptions { Range = new HttpRange(offset) }, cancellationToken)).Value;
            }
            catch (RequestFailedException ex) when (ex.Status == 416)
            {
                continue; // nothing after this offset
            }

            await using var stream = new BufferedStream(download.Content, 1 << 16);
            var header = new byte[4];
            while (await ReadExactlyOrEndAsync(stream, header, cancellationToken))
            {
                var record = new byte[BinaryPrimitives.ReadInt32LittleEndian(header)];
                await stream.ReadExactlyAsync(record, cancellationToken);
                yield return (Position(segment, offset), record);
                offset += 4 + record.Length;
            }
        }
    }

    /// <summary>Deletes the segments before the one <paramref name="beforePosition"/> falls in: every record in them lies before it.</summary>
    public async Task<int> TrimAsync(int partition, long beforePosition, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var keepFrom = (int)(Math.Max(0, beforePosition) >> OffsetBits);
        var last = await LastSegmentAsync(partition, cancellationToken);
        var trimmed = 0;
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix(partition) }, cancellationToken))
        {
            // The last segment is where the writer resumes (GetEndAsync reads it): it always stays.
            if (ParseSegment(item.Name) is { } segment && segment < keepFrom && segment != last)
            {
                if ((await Segment(partition, segment).DeleteIfExistsAsync(cancellationToken: cancellationToken)).Value)
                {
                    trimmed++;
                }
            }
        }

        return trimmed;
    }

    /// <summary>Seals the segment being written and creates the next (empty), so that the sealed one is no longer the last and can be trimmed.</summary>
    public async Task<long> SealAsync(int partition, long expectedEnd, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var segment = (int)(expectedEnd >> OffsetBits);
        var offset = expectedEnd & OffsetMask;
        if (offset == 0)
        {
            // Nothing written since the last seal. Make sure the empty segment exists, so that the sealed one before it
            // is not the last and can be trimmed.
            if (segment > 0)
            {
                await Segment(partition, segment).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            }

            return expectedEnd;
        }

        await Segment(partition, segment).SealAsync(new AppendBlobRequestConditions { IfAppendPositionEqual = offset }, cancellationToken);
        await Segment(partition, segment + 1).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        SetBlocks(partition, 0);
        return Position(segment + 1, 0);
    }

    public async Task<bool> HoldsSegmentsBeforeAsync(int partition, long position, CancellationToken cancellationToken = default)
    {
        var before = (int)(Math.Max(0, position) >> OffsetBits);
        return (await SegmentsAsync(partition, cancellationToken)).Any(segment => segment < before);
    }

    /// <summary>The segment numbers the partition holds, in order.</summary>
    public async Task<List<int>> SegmentsAsync(int partition, CancellationToken cancellationToken = default)
    {
        await EnsureContainerAsync(cancellationToken);
        var segments = new List<int>();
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix(partition) }, cancellationToken))
        {
            if (ParseSegment(item.Name) is { } segment)
            {
                segments.Add(segment);
            }
        }

        segments.Sort();
        return segments;
    }

    private static long Position(int segment, long offset) => ((long)segment << OffsetBits) | offset;

    private static string Prefix(int partition) => $"p{partition:D4}/";

    private static int? ParseSegment(string name) =>
        name.EndsWith(".log", StringComparison.Ordinal) && int.TryParse(name[(name.IndexOf('/') + 1)..^4], out var segment) ? segment : null;

    private AppendBlobClient Segment(int partition, int segment) => _container.GetAppendBlobClient($"{Prefix(partition)}{segment:D6}.log");

    private async Task<int?> LastSegmentAsync(int partition, CancellationToken cancellationToken)
    {
        int? last = null;
        await foreach (var item in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = Prefix(partition) }, cancellationToken))
        {
            if (ParseSegment(item.Name) is { } segment && (last is null || segment > last))
            {
                last = segment;
            }
        }

        return last;
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!_containerExists)
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _containerExists = true;
        }
    }

    private int GetBlocks(int partition)
    {
        lock (_blocksInCurrentSegment)
        {
            return _blocksInCurrentSegment.GetValueOrDefault(partition);
        }
    }

    private void SetBlocks(int partition, int blocks)
    {
        lock (_blocksInCurrentSegment)
        {
            _blocksInCurrentSegment[partition] = blocks;
        }
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        if (read == 0)
        {
            return false;
        }

        if (read < buffer.Length)
        {
            throw new InvalidDataException("The event log ends inside a record header.");
        }

        return true;
    }
}
