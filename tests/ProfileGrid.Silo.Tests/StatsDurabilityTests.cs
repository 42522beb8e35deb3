using System.Diagnostics;
using System.Text.Json;
using Azure.Storage.Blobs;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>A tenant's stats on Azure Storage survive a silo killed with SIGKILL: the write behind reaches the blob.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class StatsDurabilityTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Stats_written_behind_are_there_after_a_kill_and_a_restart()
    {
        var serviceId = "st" + Guid.NewGuid().ToString("N")[..10];
        string[] settings =
        [
            "--ProfileGrid:IngestPath=Log", "--ProfileGrid:Stats:FlushInterval=00:00:00.200", "--ProfileGrid:Stats:WriteBehind=00:00:00.500",
            "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.200",
        ];
        var stream = new SyntheticStream(new SimulationOptions { Users = 8, Seed = 17, Tenant = "durable-figures" });
        var expected = stream.ComputeExpectedTotals();
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{serviceId}-segments");

        var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        try
        {
            foreach (var request in stream.IngestRequests())
            {
                Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
            }

            await WaitForAsync(silo, s => Int(s, "profiles", "eventsApplied") == expected.Events && Int(s, "profiles", "count") == expected.Users.Count);
            var reached = DateTimeOffset.UtcNow;

            // The write behind that carried the figures may have run just before the test saw them (a busy machine reads
            // late), and nothing would make another: a repeat of the first request (acknowledged again and counted by the
            // ingest figures, duplicates to the profiles) makes the stats change, so a write behind follows within its interval.
            Assert.Empty((await silo.Client.IngestEventsAsync(stream.IngestRequests().First())).Rejected);

            // Every profile written (so nothing is replayed into the stats after the restart), and the stats' own blob
            // written after the figures were reached.
            await WaitUntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await silo.Http.GetStringAsync("/healthz/detail"), "(?<![0-9])0 profiles with unwritten state"), "profiles unwritten", silo);

            // The profile count after the restart is what the feature shards stored: a profile counts as written only once
            // its shard has written its push (ci63 saw a count of 0 after a kill, before profiles waited for that).
            var names = new List<string>();
            await WaitUntilAsync(async () =>
            {
                names.Clear();
                var written = false;
                await foreach (var blob in container.GetBlobsAsync())
                {
                    names.Add(blob.Name);
                    // The tenant stats grain's state ("stats") is stored as "stats-<grain type>/<tenant>...".
                    written |= blob.Name.StartsWith("stats-", StringComparison.Ordinal) && blob.Properties.LastModified > reached.AddSeconds(-1);
                }

                return written;
            }, "the stats' blob", silo, () => string.Join(", ", names));

            await silo.KillAsync();
            silo = await silo.StartAgainAsync(TimeSpan.FromSeconds(60));
            var stats = await WaitForAsync(silo, s => Int(s, "profiles", "count") > 0);
            Assert.Equal(expected.Users.Count, Int(stats, "profiles", "count"));
            Assert.Equal(expected.Events, Int(stats, "profiles", "eventsApplied"));
        }
        finally
        {
            await silo.DisposeAsync();
        }
    }

    private static long Int(JsonElement stats, string section, string field) => stats.GetProperty(section).GetProperty(field).GetInt64();

    private static async Task<JsonElement> WaitForAsync(SiloProcess silo, Func<JsonElement, bool> condition)
    {
        JsonElement found = default;
        var last = "";
        await WaitUntilAsync(async () =>
        {
            using var response = await silo.Http.GetAsync("/v1/tenants/durable-figures/stats");
            last = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                return false;
            }

            found = JsonDocument.Parse(last).RootElement.Clone();
            return condition(found);
        }, "the stats' figures", silo, () => last);
        return found;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, SiloProcess silo, Func<string>? detail = null)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"Waited a minute for {what}: {detail?.Invoke()}\n{silo.Output}");
            await Task.Delay(100);
        }
    }
}
