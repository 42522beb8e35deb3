using System.Text.Json;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>Two silo processes in one cluster (membership in Azure Table on Azurite): any gateway serves any user.</summary>
[Collection(AzuriteCollection.Name)]
public class MultiSiloTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task Events_sent_to_one_silo_are_read_back_from_the_other()
    {
        // The README's scale-out as written, without an advertised address (an outside probe: both silos advertised the
        // machine's address while listening on 127.0.0.1, and the first declared the second dead).
        var serviceId = "m" + Guid.NewGuid().ToString("N")[..10];
        string[] cluster = ["--ProfileGrid:Clustering=AzureTable", "--ProfileGrid:ClusterId=" + serviceId];
        await using var first = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, cluster);
        await using var second = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, cluster);
        using (var membership = JsonDocument.Parse(await second.Http.GetStringAsync("/v1/admin/cluster")))
        {
            Assert.Equal(2, membership.RootElement.GetProperty("activeSilos").GetInt32());
        }

        var stream = new SyntheticStream(new SimulationOptions { Users = 60, Seed = 5 });
        var expected = stream.ComputeExpectedTotals();
        var requests = stream.IngestRequests(maxEventsPerRequest: 200).ToList();
        for (var i = 0; i < requests.Count; i++)
        {
            var response = await (i % 2 == 0 ? first : second).Client.IngestEventsAsync(requests[i]);
            Assert.Empty(response.Rejected);
        }

        await ProfileAssertions.WaitUntilAsync(second.Client, expected, stream.Options.Tenant, TimeSpan.FromSeconds(60), exact: true);
        await ProfileAssertions.WaitUntilAsync(first.Client, expected, stream.Options.Tenant, TimeSpan.FromSeconds(60), exact: true);
    }

    [Fact]
    public async Task When_one_of_two_silos_dies_mid_ingest_the_other_ends_with_every_event_exactly_once()
    {
        var serviceId = "k" + Guid.NewGuid().ToString("N")[..10];
        string[] settings =
        [
            "--ProfileGrid:Clustering=AzureTable", "--ProfileGrid:ClusterId=" + serviceId, "--ProfileGrid:Endpoints:AdvertisedAddress=127.0.0.1",
            "--ProfileGrid:Ingest:StuckAfter=00:00:10",
        ];
        await using var survivor = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        var victim = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);

        var stream = new SyntheticStream(new SimulationOptions { Users = 120, Seed = 31 });
        var expected = stream.ComputeExpectedTotals();
        var requests = stream.IngestRequests(maxEventsPerRequest: 200).ToList();
        var half = requests.Count / 2;
        try
        {
            // Both silos take traffic, so profiles and log partitions with unwritten state live on both.
            for (var i = 0; i < half; i++)
            {
                await (i % 2 == 0 ? survivor : victim).Client.IngestEventsAsync(requests[i]);
            }
        }
        finally
        {
            await victim.KillAsync();
            await victim.DisposeAsync();
        }

        // The client sends the rest to the surviving silo, retrying while the cluster notices the death.
        var replayer = new GatewayReplayer(survivor.Client, new ReplayOptions { MaxConcurrency = 2, MaxAttempts = 20, RequestTimeout = TimeSpan.FromSeconds(20) });
        var report = await replayer.ReplayAsync(requests.Skip(half));
        Assert.Equal(0, report.Rejected);

        try
        {
            await ProfileAssertions.WaitUntilAsync(survivor.Client, expected, stream.Options.Tenant, TimeSpan.FromSeconds(150), exact: true);
        }
        finally
        {
            output.WriteLine(survivor.Output);
        }
    }
}
