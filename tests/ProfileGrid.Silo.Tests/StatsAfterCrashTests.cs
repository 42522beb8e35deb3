using System.Diagnostics;
using System.Text.Json;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The tenant statistics after a silo is killed (SIGKILL) before the stats grain wrote its state, on Azurite: the
/// profile count is the feature shards' and so survives; the collected deltas of the lost seconds would not.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class StatsAfterCrashTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task The_profile_count_survives_a_kill_before_the_stats_were_written()
    {
        // An outside probe (probe44): a silo killed 8 s into a tenant's first load left profiles.count at 82 where 1,362
        // profiles existed, for good. The stats grain writes its state behind (here: never within the test).
        var serviceId = "sc" + Guid.NewGuid().ToString("N")[..10];
        string[] settings = ["--ProfileGrid:Stats:WriteBehind=00:10:00", "--ProfileGrid:Stats:FlushInterval=00:00:00.200", "--ProfileGrid:Segmentation:ShardFlushInterval=00:00:00.200"];
        const string tenant = "crash-stats";
        var first = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        try
        {
            Assert.Empty((await first.Client.IngestEventsAsync(Views(tenant, "before", 40))).Rejected);
            await WaitForCountAsync(first, tenant, 40);

            // The shards write within a fraction of a second of a change; give them a few intervals before the kill.
            await Task.Delay(TimeSpan.FromSeconds(2));
        }
        finally
        {
            await first.KillAsync();
        }

        await using var second = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        Assert.Empty((await second.Client.IngestEventsAsync(Views(tenant, "after", 10))).Rejected);
        await WaitForCountAsync(second, tenant, 50);
    }

    private static IngestEventsRequest Views(string tenant, string prefix, int users)
    {
        var request = new IngestEventsRequest { Tenant = tenant };
        for (var u = 0; u < users; u++)
        {
            request.Events.Add(new Event
            {
                EventId = $"{prefix}-{u}", Type = "page_view", UserId = $"{prefix}-user-{u}", Source = "web",
                OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), Page = new PageView { Url = "/" },
            });
        }

        return request;
    }

    private static async Task WaitForCountAsync(SiloProcess silo, string tenant, long expected)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var response = await silo.Http.GetAsync($"/v1/tenants/{tenant}/stats");
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode
                && JsonDocument.Parse(last).RootElement.GetProperty("profiles").GetProperty("count").GetInt64() == expected)
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"profiles.count never reached {expected}; last answer: {last}");
    }
}
