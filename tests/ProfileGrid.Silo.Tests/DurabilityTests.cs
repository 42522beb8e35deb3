using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Both durable ingest paths end to end on a real Azurite: the event log (append blobs, state written behind) and the
/// Azure Queue stream (state written through), with the gRPC gateway and Azure Table profile state.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class DurabilityTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static string NewServiceId() => "t" + Guid.NewGuid().ToString("N")[..10];

    private Task<SiloProcess> StartAsync(string serviceId, string ingest) =>
        SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, $"--ProfileGrid:IngestPath={ingest}", "--ProfileGrid:QueueVisibilityTimeout=00:00:05");

    [Theory]
    [InlineData("Log")]
    [InlineData("Stream")]
    public async Task Profiles_survive_a_silo_restart(string ingest)
    {
        var serviceId = NewServiceId();
        var stream = new SyntheticStream(new SimulationOptions { Users = 20, Seed = 11 });
        var expected = stream.ComputeExpectedTotals();

        await using (var silo = await StartAsync(serviceId, ingest))
        {
            foreach (var request in stream.IngestRequests())
            {
                var response = await silo.Client.IngestEventsAsync(request);
                Assert.Empty(response.Rejected);
            }

            await ProfileAssertions.WaitUntilAsync(silo.Client, expected, stream.Options.Tenant, TimeSpan.FromSeconds(60), exact: true);
            await silo.StopAsync();
        }

        await using var restarted = await StartAsync(serviceId, ingest);
        var profiles = await ProfileAssertions.GetAllAsync(restarted.Client, stream.Options.Tenant, expected.Users.Keys);
        Assert.Equal(expected.Users.Count, profiles.Count);
        ProfileAssertions.AssertMatches(expected, profiles, exact: true);
    }

    [Theory]
    [InlineData("Log")]
    [InlineData("Stream")]
    public async Task A_silo_killed_mid_ingest_applies_every_acknowledged_event_exactly_once(string ingest)
    {
        var serviceId = NewServiceId();
        var stream = new SyntheticStream(new SimulationOptions { Users = 150, Seed = 23 });
        var requests = stream.IngestRequests(maxEventsPerRequest: 200).ToList();
        var expected = stream.ComputeExpectedTotals();
        var acknowledged = new List<IngestEventsRequest>();

        var silo = await StartAsync(serviceId, ingest);
        try
        {
            var killAfter = requests.Count / 3;
            using var kill = new CancellationTokenSource();
            await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (request, _) =>
            {
                if (kill.IsCancellationRequested)
                {
                    return;
                }

                try
                {
                    var response = await silo.Client.IngestEventsAsync(request, cancellationToken: kill.Token);
                    Assert.Empty(response.Rejected);
                    int count;
                    lock (acknowledged)
                    {
                        acknowledged.Add(request);
                        count = acknowledged.Count;
                    }

                    if (count == killAfter)
                    {
                        kill.Cancel();
                        await silo.KillAsync();
                    }
                }
                catch (RpcException) when (kill.IsCancellationRequested)
                {
                    // In flight when the silo died: not acknowledged, so the client will send it again.
                }
            });
        }
        finally
        {
            await silo.DisposeAsync();
        }

        Assert.InRange(acknowledged.Count, requests.Count / 3, requests.Count - 1);
        var acknowledgedTotals = ExpectedTotals.From(acknowledged.SelectMany(r => r.Events));

        output.WriteLine($"{ingest}: {requests.Count} requests, {expected.Events} events; {acknowledged.Count} requests ({acknowledgedTotals.Events} events) acknowledged before SIGKILL");
        await using var restarted = await StartAsync(serviceId, ingest);

        // Every acknowledged event arrives (recovered from the queue, not re-sent), and nothing is counted twice.
        await ProfileAssertions.WaitUntilAsync(restarted.Client, acknowledgedTotals, stream.Options.Tenant, TimeSpan.FromSeconds(90), exact: false, upperBound: expected);
        if (ingest == "Log")
        {
            // Profile state is written behind, so part of what was acknowledged can only have come back from the log.
            Assert.Contains("replayed", restarted.Output);
        }

        // The client re-sends everything it has no acknowledgement for, and, to be sure, everything else too.
        foreach (var request in requests)
        {
            var response = await restarted.Client.IngestEventsAsync(request);
            Assert.Empty(response.Rejected);
        }

        await ProfileAssertions.WaitUntilAsync(restarted.Client, expected, stream.Options.Tenant, TimeSpan.FromSeconds(90), exact: true);
    }
}
