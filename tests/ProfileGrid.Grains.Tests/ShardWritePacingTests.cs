using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests;

/// <summary>Shard write spacing, and the in-memory log's reads over a long log.</summary>
public class ShardWritePacingTests
{
    [Fact]
    public void A_small_shard_writes_at_the_configured_interval_and_a_large_one_in_proportion_to_its_entries()
    {
        var configured = TimeSpan.FromSeconds(2);
        Assert.Equal(configured, ShardWritePacing.Interval(configured, 0));
        Assert.Equal(configured, ShardWritePacing.Interval(configured, ShardWritePacing.EntriesPerInterval));

        // A million users over sixteen shards: 62,500 entries each write every 25 s, so a shard's entries are serialized
        // at the same rate per second as a shard of 5,000 at 2 s.
        Assert.Equal(TimeSpan.FromSeconds(25), ShardWritePacing.Interval(configured, 62_500));
        Assert.Equal(ShardWritePacing.Interval(configured, 10_000) * 2, ShardWritePacing.Interval(configured, 20_000));
    }

    [Fact]
    public async Task The_memory_log_reads_a_long_partition_from_any_position_skipping_trimmed_records_and_not_past_its_end_at_the_call()
    {
        var log = new MemoryEventLog();
        for (var position = 0; position < 1_000; position++)
        {
            await log.AppendAsync(3, position, new[] { (byte)(position % 251) });
        }

        await log.TrimAsync(3, 300);

        var read = new List<long>();
        await foreach (var (position, record) in log.ReadAsync(3, 250))
        {
            Assert.Equal((byte)(position % 251), record[0]);
            read.Add(position);
            if (position == 700)
            {
                // Appended during the read: after the end the read started from.
                await log.AppendAsync(3, 1_000, new byte[] { 1 });
            }
        }

        Assert.Equal(Enumerable.Range(300, 700).Select(p => (long)p), read);
        Assert.Equal(1_001, await log.GetEndAsync(3));
    }
}
