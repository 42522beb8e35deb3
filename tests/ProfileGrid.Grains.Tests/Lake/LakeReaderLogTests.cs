using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>The log read of a user's history from a partition's checkpoint, as merges make it (no wait for the checkpoint).</summary>
public class LakeReaderLogTests
{
    private const int Partitions = 1;

    private static async Task<(MemoryEventLog Log, LakeReader Reader, int Rows)> LogOfAsync()
    {
        var log = new MemoryEventLog();
        var history = LakeTestData.MessyHistory("t", users: 12, seed: 3);
        await LakeTestData.AppendAsync(log, history, Partitions);
        return (log, new LakeReader(null, log, LakeTestData.Serializer), history.Sum(b => b.Batch.Events.Count));
    }

    [Fact]
    public async Task A_checkpoint_before_the_watermark_reads_the_log_from_the_checkpoint_and_past_it_only_after_the_watermark()
    {
        var (_, reader, _) = await LogOfAsync();
        var (everything, end) = await reader.ReadLogAsync(0, -1);

        // Watermark at record 2, checkpoint at record 1: records 1 and on (the lake holds 0-2, the profiles' state 0 only).
        var (fromCheckpoint, fromEnd, trimmed) = await reader.ReadLogFromAsync(0, after: 2, unwrittenFrom: 1);
        Assert.False(trimmed);
        Assert.Equal(end, fromEnd);
        Assert.Equal(everything.Where(r => r.LogPosition >= 1).Select(r => (r.LogPosition, r.EventIndex)), fromCheckpoint.Select(r => (r.LogPosition, r.EventIndex)));

        // Checkpoint past the watermark: as the plain read after the watermark.
        var (pastWatermark, _, _) = await reader.ReadLogFromAsync(0, after: 2, unwrittenFrom: 3);
        Assert.Equal(everything.Where(r => r.LogPosition > 2).Select(r => (r.LogPosition, r.EventIndex)), pastWatermark.Select(r => (r.LogPosition, r.EventIndex)));
    }

    [Fact]
    public async Task A_read_for_some_users_keeps_their_rows_with_the_same_positions_and_indexes_and_the_same_end()
    {
        var (_, reader, _) = await LogOfAsync();
        var (everything, end, _) = await reader.ReadLogFromAsync(0, after: 2, unwrittenFrom: 1, tenant: "t");
        HashSet<string> users = [.. everything.Select(r => r.UserId).Distinct().Order(StringComparer.Ordinal).Take(3)];

        foreach (var unwrittenFrom in new long[] { 1, 3 })
        {
            var (all, _, _) = await reader.ReadLogFromAsync(0, after: 2, unwrittenFrom, tenant: "t");
            var (theirs, theirEnd, trimmed) = await reader.ReadLogFromAsync(0, after: 2, unwrittenFrom, tenant: "t", userIds: users);
            Assert.False(trimmed);
            Assert.Equal(end, theirEnd);
            Assert.NotEmpty(theirs);
            Assert.Equal(
                all.Where(r => users.Contains(r.UserId)).Select(r => (r.UserId, r.LogPosition, r.EventIndex, r.EventId)),
                theirs.Select(r => (r.UserId, r.LogPosition, r.EventIndex, r.EventId)));
        }
    }

    [Fact]
    public async Task A_read_from_a_checkpoint_the_log_trimmed_meanwhile_says_so_so_that_it_is_made_again()
    {
        var (log, reader, _) = await LogOfAsync();
        await log.TrimAsync(0, beforePosition: 3);

        var (_, _, trimmed) = await reader.ReadLogFromAsync(0, after: 4, unwrittenFrom: 1);

        Assert.True(trimmed);
    }
}
