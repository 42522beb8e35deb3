using System.Text;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>The durable event log on a real Azurite: positions, segments, reading back, and a second writer refused.</summary>
[Collection(AzuriteCollection.Name)]
public class AzureBlobEventLogTests(AzuriteFixture azurite)
{
    // Small segments, so a few records start new ones.
    private const long SegmentBytes = 1024;

    private AzureBlobEventLog NewLog(string serviceId) => new(new BlobServiceClient(azurite.ConnectionString), serviceId, SegmentBytes);

    private static string NewServiceId() => "l" + Guid.NewGuid().ToString("N")[..10];

    private static byte[] Record(int n) => Encoding.UTF8.GetBytes($"record-{n}|" + new string('x', 200));

    private static async Task<List<(long Position, string Name)>> ReadAllAsync(AzureBlobEventLog log, int partition, long from)
    {
        var records = new List<(long, string)>();
        await foreach (var (position, record) in log.ReadAsync(partition, from))
        {
            records.Add((position, Encoding.UTF8.GetString(record).Split('|')[0]));
        }

        return records;
    }

    private static async Task<List<LogAppend>> AppendAsync(AzureBlobEventLog log, int partition, int count)
    {
        var appends = new List<LogAppend>();
        var next = await log.GetEndAsync(partition);
        for (var i = 0; i < count; i++)
        {
            var appended = await log.AppendAsync(partition, next, Record(i));
            appends.Add(appended);
            next = appended.Next;
        }

        return appends;
    }

    [Fact]
    public async Task Records_come_back_in_order_across_segments_from_any_position()
    {
        var serviceId = NewServiceId();
        var log = NewLog(serviceId);

        var appends = await AppendAsync(log, 3, 12);

        var positions = appends.Select(a => a.Position).ToList();
        Assert.Equal(positions.Order(), positions);
        Assert.True(positions[^1] >> 40 >= 2, "1 KiB segments should have rolled over at least twice");
        var all = await ReadAllAsync(log, 3, 0);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"record-{i}"), all.Select(r => r.Name));
        Assert.Equal(positions, all.Select(r => r.Position));
        Assert.Equal(Enumerable.Range(7, 5).Select(i => $"record-{i}"), (await ReadAllAsync(log, 3, positions[7])).Select(r => r.Name));

        // A new writer (a partition reactivated on another silo) resumes exactly where the log ends.
        Assert.Equal(appends[^1].Next, await NewLog(serviceId).GetEndAsync(3));
    }

    [Fact]
    public async Task A_writer_that_missed_a_roll_over_cannot_append_to_the_sealed_segment()
    {
        var serviceId = NewServiceId();
        var current = NewLog(serviceId);
        var appends = await AppendAsync(current, 0, 8);
        var firstOfSegment1 = appends.FindIndex(a => a.Position >> 40 == 1);
        Assert.True(firstOfSegment1 > 0);
        var endOfSegment0 = appends[firstOfSegment1 - 1].Next;

        // A stale writer still believes segment 0 ends where the current writer left it before rolling over.
        var stale = NewLog(serviceId);
        await Assert.ThrowsAnyAsync<Exception>(() => stale.AppendAsync(0, endOfSegment0, Record(98)));
        await Assert.ThrowsAnyAsync<Exception>(() => stale.AppendAsync(0, appends[0].Position, Record(99)));

        Assert.Equal(Enumerable.Range(0, 8).Select(i => $"record-{i}"), (await ReadAllAsync(current, 0, 0)).Select(r => r.Name));
    }

    [Fact]
    public async Task Trim_deletes_whole_segments_before_a_position_and_reads_start_at_what_is_kept()
    {
        var log = NewLog(NewServiceId());
        var appends = await AppendAsync(log, 2, 12);
        var keepFrom = appends[7].Position;
        var segments = await log.SegmentsAsync(2);

        var trimmed = await log.TrimAsync(2, keepFrom);

        Assert.Equal(segments.Count(s => s < (int)(keepFrom >> 40)), trimmed);
        Assert.Equal(segments.Where(s => s >= (int)(keepFrom >> 40)), await log.SegmentsAsync(2));
        var kept = await ReadAllAsync(log, 2, 0);
        Assert.Contains(kept, r => r.Name == "record-7");
        Assert.DoesNotContain(kept, r => r.Name == "record-0");
        Assert.Equal(appends.Where(a => a.Position >> 40 >= keepFrom >> 40).Select(a => a.Position), kept.Select(r => r.Position));

        // The writer's end is where it was, and appends go on; trimming everything keeps the last segment.
        Assert.Equal(appends[^1].Next, await log.GetEndAsync(2));
        await log.TrimAsync(2, long.MaxValue);
        Assert.Single(await log.SegmentsAsync(2));
        var next = await log.AppendAsync(2, appends[^1].Next, Record(12));
        Assert.Equal("record-12", (await ReadAllAsync(log, 2, next.Position)).Single().Name);
    }

    [Fact]
    public async Task A_segment_sealed_by_a_writer_killed_before_it_made_the_next_one_can_still_be_trimmed()
    {
        var serviceId = NewServiceId();
        var blobs = new BlobServiceClient(azurite.ConnectionString);
        var writer = NewLog(serviceId);
        var appends = await AppendAsync(writer, 4, 3);
        Assert.All(appends, a => Assert.Equal(0, a.Position >> 40));

        // What a seal leaves when its process dies between sealing segment 0 and creating segment 1 (an erasure's seal,
        // or a roll-over): segment 0 sealed and last.
        var segment0 = blobs.GetBlobContainerClient($"{serviceId}-eventlog").GetAppendBlobClient("p0004/000000.log");
        await segment0.SealAsync();
        Assert.Equal([0], await writer.SegmentsAsync(4));

        // The next writer (the partition's new activation) resumes after it, and the seal an erasure asks for then, which
        // has nothing to seal, leaves segment 0 behind another, so the trim deletes it with the records it holds.
        var resumed = NewLog(serviceId);
        var end = await resumed.GetEndAsync(4);
        Assert.Equal(1L << 40, end);
        Assert.Equal(end, await resumed.SealAsync(4, end));
        Assert.Equal(1, await resumed.TrimAsync(4, end));
        Assert.Empty(await ReadAllAsync(resumed, 4, 0));
        Assert.Equal([1], await resumed.SegmentsAsync(4));

        var next = await resumed.AppendAsync(4, end, Record(3));
        Assert.Equal("record-3", (await ReadAllAsync(resumed, 4, 0)).Single().Name);
        Assert.Equal(end, next.Position);
    }
}
