using Microsoft.Extensions.DependencyInjection;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>
/// A merge's history read holds its partitions' logs (<see cref="IEventLogPartitionGrain.HoldTrimAsync"/>): archive steps
/// meanwhile archive but do not trim, so what they archive after the read listed the lake is still in the log when the
/// read gets there, and the read need not start over. Archiving only when asked (no timer), on a memory log.
/// </summary>
public sealed class LogTrimHoldTests : LakeSiloTestBase
{
    protected override TimeSpan ArchiveInterval => TimeSpan.FromHours(1);

    protected override int MaxRecordsPerArchive => 2;

    [Fact]
    public async Task A_held_log_is_archived_but_not_trimmed_until_released_and_the_reader_learns_it_stayed_whole()
    {
        var log = (MemoryEventLog)Silo.GetRequiredService<IEventLog>();
        foreach (var group in LakeTestData.MessyHistory("trim-hold", 40, seed: 5).GroupBy(b => ProfileBuckets.LogPartition(b.ProfileKey, Partitions)))
        {
            foreach (var record in group.Chunk(3))
            {
                await Cluster.Client.GetGrain<IEventLogPartitionGrain>(group.Key).AppendAsync(record);
            }
        }

        var p = Enumerable.Range(0, Partitions).MaxBy(log.CountKept);
        var partition = Cluster.Client.GetGrain<IEventLogPartitionGrain>(p);
        var records = log.CountKept(p);
        Assert.True(records >= 4, $"partition {p} has {records} records");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while ((await partition.GetStatusAsync()) is var status && status.Checkpoint != status.NextPosition)
        {
            Assert.True(DateTime.UtcNow < deadline, "The records did not reach written profile state.");
            await Task.Delay(50);
        }

        // Held: every record archived, in steps of two, and none trimmed.
        var reader = Guid.NewGuid();
        await partition.HoldTrimAsync(reader);
        var last = (await partition.GetStatusAsync()).NextPosition - 1;
        while (await partition.ArchiveNowAsync() < last)
        {
        }

        Assert.Equal(records, log.CountKept(p));
        Assert.True(await partition.ReleaseTrimAsync(reader), "nothing trimmed the log while it was held");

        // Released: the next step trims what the held ones archived.
        await partition.ArchiveNowAsync();
        Assert.True(log.CountKept(p) <= 1, $"partition {p} kept {log.CountKept(p)} records");

        // A hold the partition does not know (never taken, or taken before it was activated again) promises nothing.
        Assert.False(await partition.ReleaseTrimAsync(Guid.NewGuid()));
    }
}
