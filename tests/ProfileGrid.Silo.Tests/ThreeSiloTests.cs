using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Three silo processes in one cluster (membership in Azure Table on Azurite) under ingest from several clients spread
/// over them: one silo is killed with SIGKILL, one is stopped gracefully with SIGTERM, ingest goes on throughout, and
/// the killed silo is started again on its old ports and rejoins.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class ThreeSiloTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task A_killed_and_a_stopped_silo_lose_nothing_acknowledged_and_the_killed_one_rejoins()
    {
        var clock = Stopwatch.StartNew();
        var serviceId = "t" + Guid.NewGuid().ToString("N")[..10];
        string[] settings =
        [
            "--ProfileGrid:Clustering=AzureTable", "--ProfileGrid:ClusterId=" + serviceId, "--ProfileGrid:Endpoints:AdvertisedAddress=127.0.0.1",
            "--ProfileGrid:Ingest:StuckAfter=00:00:10",
        ];
        var started = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings)));
        SiloProcess steady = started[0], killed = started[1], stopped = started[2];
        SiloProcess? rejoined = null, restarted = null;
        try
        {
            var before = await WaitForMembershipAsync(steady, s => s.ActiveSilos == 3, "three active silos");
            var killedIncarnation = before.Silos.Single(a => a.StartsWith(killed.SiloAddressPrefix, StringComparison.Ordinal));
            Log(clock, "three silos up: " + string.Join(", ", before.Silos));

            var stream = new SyntheticStream(new SimulationOptions { Users = 150, Seed = 12 });
            var requests = stream.IngestRequests(maxEventsPerRequest: 100).ToList();
            await using var clients = new SpreadIngestClients(started.Select(s => s.GrpcPort).ToList(), clients: 4, callDeadline: TimeSpan.FromSeconds(30));

            // Step 1: all three take traffic; one dies mid-stream without a word.
            clients.Release(requests.Take(requests.Count * 3 / 10));
            await clients.WaitForAcknowledgedAsync(requests.Count / 6, Step);
            await killed.KillAsync();
            Log(clock, $"killed silo {killed.Ports.Silo} with {clients.AcknowledgedCount} requests acknowledged");

            // Step 2: more traffic, and meanwhile a second silo is asked to leave and waited for.
            clients.Release(requests.Skip(clients.Released).Take(requests.Count * 3 / 10));
            await clients.WaitForAcknowledgedAsync(requests.Count * 4 / 10, Step);
            await stopped.StopAsync();
            Assert.Equal(0, stopped.ExitCode); // a graceful stop ends cleanly, it does not crash
            Log(clock, $"stopped silo {stopped.Ports.Silo} with {clients.AcknowledgedCount} requests acknowledged");

            // Step 3: the killed silo starts again on its old ports; it takes its place as a new incarnation, and the clients
            // that knew its address are served by it again.
            rejoined = await killed.StartAgainAsync(Step);
            var membership = await WaitForMembershipAsync(
                steady,
                s => s.ActiveSilos == 2 && !s.Silos.Contains(killedIncarnation) && s.Silos.Any(a => a.StartsWith(rejoined.SiloAddressPrefix, StringComparison.Ordinal)),
                "the killed silo active again as a new incarnation, its old one gone");
            var rejoinedIncarnation = membership.Silos.Single(a => a.StartsWith(rejoined.SiloAddressPrefix, StringComparison.Ordinal));
            Log(clock, $"silo {rejoined.Ports.Silo} rejoined: {string.Join(", ", membership.Silos)}");
            // Active in the membership table is not yet serving: for some seconds (longer on a busy machine) the new
            // incarnation's grain calls still meet its dead predecessor and it answers Unavailable, so the clients pass it
            // by. Wait until it takes an ingest of another tenant through the clients' own channel to it (which must have
            // connected again), then give it the rest of the stream.
            await WaitUntilServingAsync(rejoined, clients.ClientFor(rejoined.GrpcPort), clock);
            var acknowledgedByRejoinedBefore = clients.AcknowledgedByPort.GetValueOrDefault(rejoined.GrpcPort);
            clients.Release(requests.Skip(clients.Released));
            await clients.WaitForAcknowledgedAsync(requests.Count, Step);
            await clients.CompleteAsync(TimeSpan.FromSeconds(10));
            Log(clock, $"all {requests.Count} requests acknowledged; by gRPC port: {SpreadIngestClients.Describe(clients.AcknowledgedByPort)}; failed calls: {SpreadIngestClients.Describe(clients.FailedCalls)}");

            Assert.Empty(clients.Rejections);
            // The clients on the dead silos noticed and went elsewhere; the calls that failed are the ones in flight or
            // sent to a silo that was gone, answered Unavailable (or cut by the client's deadline), never another error.
            Assert.True(clients.FailedCalls.Values.Sum() > 0, "no call failed, so no client ever had to move to another silo");
            Assert.All(clients.FailedCalls.Keys, code => Assert.Contains(code, new[] { StatusCode.Unavailable, StatusCode.DeadlineExceeded }));
            Assert.True(clients.AcknowledgedByPort.GetValueOrDefault(rejoined.GrpcPort) > acknowledgedByRejoinedBefore, "the rejoined silo served no ingest request");

            // The truth: every acknowledged event once. An upper bound of what was ever sent catches a double count at once.
            var acknowledged = ExpectedTotals.From(clients.Acknowledged.SelectMany(r => r.Events));
            var sent = stream.ComputeExpectedTotals();
            Assert.Equal(sent.Events, acknowledged.Events);
            await ProfileAssertions.WaitUntilAsync(steady.Client, acknowledged, stream.Options.Tenant, Step, exact: true, upperBound: sent);
            await ProfileAssertions.WaitUntilAsync(rejoined.Client, acknowledged, stream.Options.Tenant, Step, exact: true, upperBound: sent);
            Log(clock, "every acknowledged event counted once, read through both live silos");

            // The rejoined silo hosts grains again, not only answers at the edge.
            var view = await ClusterView.ReadAsync(rejoined);
            Assert.True(view.ActivationsPerSilo.GetValueOrDefault(rejoinedIncarnation) > 0, $"no activations on the rejoined silo {rejoinedIncarnation}: {view.Json}");

            // The stopped silo comes back too, and all three read every profile the same, evaluated at one instant.
            restarted = await stopped.StartAgainAsync(Step);
            await WaitForMembershipAsync(steady, s => s.ActiveSilos == 3, "three active silos again");
            var asOf = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
            var reads = await Task.WhenAll(new[] { steady, rejoined, restarted }.Select(s => ReadAllAsync(s, stream.Options.Tenant, acknowledged.Users.Keys, asOf)));
            Assert.Equal(acknowledged.Users.Count, reads[0].Count);
            Assert.Equal(reads[0], reads[1]);
            Assert.Equal(reads[0], reads[2]);
            Log(clock, "three silos agree on every profile");

            // The feature shards list every user through every silo (ListProfiles, exports, stats and segments read
            // them): a shard activated twice while the killed silo was being declared dead lost the pushes of the
            // profiles that went on writing to the stray activation (probe64: 93 users gone after the next kill).
            var everyUser = string.Join(",", acknowledged.Users.Keys.Order(StringComparer.Ordinal));
            foreach (var silo in new[] { steady, rejoined, restarted })
            {
                await SegmentScenario.PollAsync(
                    async () => string.Join(",", (await ListUsersAsync(silo, stream.Options.Tenant)).Order(StringComparer.Ordinal)),
                    listed => listed == everyUser,
                    $"every acknowledged user listed by silo {silo.Ports.Silo}",
                    Step);
            }

            // A shard's write refused on its ETag is the mark of a second activation (one whose write timed out and
            // landed would be another cause, and is not met at this load).
            var conflicts = new[] { steady, killed, stopped, rejoined, restarted }.Sum(s => s.Output.Split('\n').Count(line => line.Contains("InconsistentStateException", StringComparison.Ordinal) && line.Contains("shard", StringComparison.Ordinal)));
            Log(clock, $"every user listed by every silo; shard state conflicts in the silos' logs: {conflicts}; {PushesNotWritten(steady, killed, stopped, rejoined, restarted)}");
            Assert.Equal(0, conflicts);
        }
        catch
        {
            output.WriteLine(PushesNotWritten(steady, killed, stopped, rejoined, restarted));
            output.WriteLine($"--- surviving silo {steady.Ports.Silo}:\n{steady.OutputTail(15)}");
            output.WriteLine($"--- rejoined silo:\n{rejoined?.OutputTail(15)}");
            throw;
        }
        finally
        {
            foreach (var silo in new[] { steady, killed, stopped, rejoined, restarted })
            {
                if (silo is not null)
                {
                    await silo.DisposeAsync();
                }
            }
        }
    }

    /// <summary>The profiles' pushes that a shard had not written when their reports went, and how many were written later.</summary>
    private static string PushesNotWritten(params SiloProcess?[] silos)
    {
        string[] roles = ["steady", "killed", "stopped", "rejoined", "restarted"];
        var bySilo = silos.Select((s, i) => (Role: roles[i], Process: s)).Where(s => s.Process is not null).Select(s =>
        {
            var lines = s.Process!.Output.Split('\n');
            var notWritten = lines.Where(line => line.Contains("has not written what the profile pushed", StringComparison.Ordinal)).ToArray();
            return (Silo: s.Role, NotWritten: notWritten, Late: lines.Count(line => line.Contains("has written the push it had not", StringComparison.Ordinal)));
        }).ToArray();
        return $"pushes not written when reported / written later, by silo: {string.Join(", ", bySilo.Select(s => $"{s.Silo}: {s.NotWritten.Length}/{s.Late}"))}"
            + string.Concat(bySilo.SelectMany(s => s.NotWritten).Take(5).Select(line => "\n  " + line.Trim()));
    }

    /// <summary>Every user ListProfiles pages through on <paramref name="silo"/>.</summary>
    private static async Task<List<string>> ListUsersAsync(SiloProcess silo, string tenant)
    {
        var users = new List<string>();
        string? token = null;
        do
        {
            var path = $"/v1/tenants/{Uri.EscapeDataString(tenant)}/profiles?pageSize=500" + (token is null ? "" : "&pageToken=" + Uri.EscapeDataString(token));
            using var page = JsonDocument.Parse(await silo.Http.GetStringAsync(path));
            users.AddRange(page.RootElement.GetProperty("profiles").EnumerateArray().Select(p => p.GetProperty("userId").GetString()!));
            token = page.RootElement.TryGetProperty("nextPageToken", out var next) && next.GetString() is { Length: > 0 } t ? t : null;
        }
        while (token is not null);
        return users;
    }

    private void Log(Stopwatch clock, string line) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1}s {line}");

    private async Task WaitUntilServingAsync(SiloProcess silo, ProfileGateway.ProfileGatewayClient client, Stopwatch clock)
    {
        var deadline = DateTime.UtcNow + Step;
        for (var attempt = 1; ; attempt++)
        {
            var probe = new IngestEventsRequest
            {
                Tenant = "rejoin-probe",
                Events =
                {
                    new Event
                    {
                        EventId = $"probe-{attempt}", Type = "page_view", UserId = "probe", Source = "web",
                        OccurredAt = DateTimeOffset.UtcNow.ToString("O"), Page = new PageView { Url = "/" },
                    },
                },
            };
            try
            {
                await client.IngestEventsAsync(probe, deadline: DateTime.UtcNow.AddSeconds(30));
                Log(clock, $"silo {silo.Ports.Silo} serves ingest after {attempt} probe(s)");
                return;
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded && DateTime.UtcNow < deadline)
            {
                await Task.Delay(500);
            }
        }
    }

    private static async Task<ClusterView> WaitForMembershipAsync(SiloProcess silo, Func<ClusterView, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Step;
        ClusterView? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                last = await ClusterView.ReadAsync(silo);
                if (condition(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // The management grain's silo may be the one that just left; the next read finds another.
            }

            await Task.Delay(500);
        }

        throw new TimeoutException($"Waited {Step} for {what}; the cluster said: {last?.Json}");
    }

    /// <summary>Every profile as JSON, evaluated at <paramref name="asOf"/>, so that reads through different silos compare equal.</summary>
    private static async Task<SortedDictionary<string, string>> ReadAllAsync(SiloProcess silo, string tenant, IEnumerable<string> userIds, string asOf)
    {
        var profiles = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var page in userIds.Chunk(100))
        {
            var response = await silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { page }, AsOf = asOf });
            Assert.Empty(response.Missing);
            foreach (var profile in response.Profiles)
            {
                profiles[profile.UserId] = Google.Protobuf.JsonFormatter.Default.Format(profile);
            }
        }

        return profiles;
    }

    /// <summary>What GET /v1/admin/cluster says: the active silos and the activations each hosts.</summary>
    private sealed record ClusterView(int ActiveSilos, IReadOnlyList<string> Silos, IReadOnlyDictionary<string, int> ActivationsPerSilo, string Json)
    {
        public static async Task<ClusterView> ReadAsync(SiloProcess silo)
        {
            var json = await silo.Http.GetStringAsync("/v1/admin/cluster");
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            return new ClusterView(
                root.GetProperty("activeSilos").GetInt32(),
                root.GetProperty("silos").EnumerateArray().Select(s => s.GetString()!).ToList(),
                root.GetProperty("activationsPerSilo").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()),
                json);
        }
    }
}
