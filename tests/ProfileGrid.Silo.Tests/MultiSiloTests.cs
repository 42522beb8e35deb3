using System.Text.Json;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>Two silo processes in one cluster (membership in Azure Table on Azurite): any gateway serves any user.</summary>
[Collection(AzuriteCollection.Name)]
public class MultiSiloTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Events_sent_to_one_silo_are_read_back_from_the_other()
    {
        var serviceId = "m" + Guid.NewGuid().ToString("N")[..10];
        string[] cluster = ["--ProfileGrid:Clustering=AzureTable", "--ProfileGrid:ClusterId=" + serviceId, "--ProfileGrid:Endpoints:AdvertisedAddress=127.0.0.1"];
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
}
