using System.Diagnostics;
using System.Text.Json;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Write-behind and quiet spells through the real host: profiles coalesce their writes for the flush interval while
/// events stream in, but once the log goes quiet the last events are durable in profile state soon after, not a whole
/// interval later.
/// </summary>
public class QuietFlushTests
{
    private static async Task<bool> AllWrittenAsync(SiloProcess silo) =>
        JsonDocument.Parse(await silo.Http.GetStringAsync("/v1/admin/ingest")).RootElement.GetProperty("allWritten").GetBoolean();

    private static async Task IngestAsync(SiloProcess silo, int seed)
    {
        var stream = new SyntheticStream(new SimulationOptions { Users = 8, Seed = seed });
        foreach (var request in stream.IngestRequests())
        {
            var response = await silo.Client.IngestEventsAsync(request);
            Assert.Empty(response.Rejected);
        }
    }

    [Fact]
    public async Task When_the_log_goes_quiet_profiles_write_long_before_their_flush_interval()
    {
        // A flush interval of two minutes: without the quiet-spell flush nothing would be written for two minutes.
        await using var silo = await SiloProcess.StartEphemeralAsync(
            "--ProfileGrid:Ingest:FlushInterval=00:02:00", "--ProfileGrid:Ingest:StuckAfter=00:05:00", "--ProfileGrid:Ingest:QuietFlushAfter=00:00:00.300");
        await IngestAsync(silo, seed: 5);
        var clock = Stopwatch.StartNew();
        while (!await AllWrittenAsync(silo))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "profiles should be written soon after the log went quiet");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// A profile reports its records written only once the shards it pushed to (features, interactions) have stored the
    /// push; at the shards' own interval that wait was most of the time from the last acknowledgement to durable (2 of
    /// about 3 s in bench.sh's in-memory run). Once the ingest is quiet, a shard waited on writes within 50 ms: here with
    /// shard intervals of a minute, the profiles are written and reported long before it.
    /// </summary>
    [Fact]
    public async Task When_the_log_goes_quiet_shards_waited_on_write_long_before_their_interval()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync(
            "--ProfileGrid:Ingest:FlushInterval=00:02:00", "--ProfileGrid:Ingest:StuckAfter=00:05:00", "--ProfileGrid:Ingest:QuietFlushAfter=00:00:00.300",
            "--ProfileGrid:Segmentation:ShardFlushInterval=00:01:00", "--ProfileGrid:Recommendations:ShardFlushInterval=00:01:00");
        await IngestAsync(silo, seed: 7);
        var clock = Stopwatch.StartNew();
        while (!await AllWrittenAsync(silo))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), "profiles should be reported written soon after the log went quiet, not at the shards' interval");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task With_the_quiet_spell_flush_off_profiles_wait_for_their_flush_interval()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync(
            "--ProfileGrid:Ingest:FlushInterval=00:02:00", "--ProfileGrid:Ingest:StuckAfter=00:05:00", "--ProfileGrid:Ingest:QuietFlushAfter=00:00:00");
        await IngestAsync(silo, seed: 6);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(await AllWrittenAsync(silo));
    }

    [Fact]
    public async Task A_quiet_spell_shorter_than_allowed_is_refused_at_start_up()
    {
        var start = SiloProcess.StartEphemeralAsync("--ProfileGrid:Ingest:QuietFlushAfter=00:00:00.001");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => start);
        Assert.Contains("QuietFlushAfter", error.Message, StringComparison.Ordinal);
    }
}
