using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The longest tenant and user ids the gateway accepts, through the real host on real Azurite: their events are applied,
/// their profiles, feature shards and segment models are written and read back after a restart, and everything is stored
/// under keys Azure accepts (before bounded keys, these events were acknowledged and never applied).
/// </summary>
[Collection(AzuriteCollection.Name)]
public class LongIdStorageTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int MaxStringLength = 256;

    /// <summary>Ids of <see cref="MaxStringLength"/> UTF-16 characters, the gateway's default limit.</summary>
    private static readonly (string Name, string Id)[] LongIds =
    [
        ("cjk", new string('中', MaxStringLength)),                                            // 768 UTF-8 bytes, 2,304 encoded characters
        ("emoji", string.Concat(Enumerable.Repeat("\U0001F600", MaxStringLength / 2))),         // 4-byte UTF-8
        ("percent", new string('%', MaxStringLength)),
        ("slash", new string('/', MaxStringLength)),
    ];

    /// <summary>Another id as long, differing only at its end.</summary>
    private static string Sibling(string id) => id[..^2] + "xy";

    [Theory]
    [InlineData("Log")]
    [InlineData("Stream")]
    public async Task The_longest_accepted_ids_are_applied_stored_and_read_back_after_a_restart(string ingest)
    {
        var serviceId = "t" + Guid.NewGuid().ToString("N")[..10];
        var now = DateTimeOffset.UtcNow;
        var expected = new Dictionary<(string Tenant, string User), long>();
        string[] settings = [$"--ProfileGrid:IngestPath={ingest}", "--ProfileGrid:QueueVisibilityTimeout=00:00:05"];
        await using (var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings))
        {
            foreach (var (name, tenant) in LongIds)
            {
                var users = new[] { tenant, Sibling(tenant), "u-1", "u-2", "u-3", "u-4", "u-5", "u-6" };
                var request = new IngestEventsRequest { Tenant = tenant };
                for (var u = 0; u < users.Length; u++)
                {
                    // Half buy a lot, half only look: two clear segments.
                    var events = u % 2 == 0
                        ? Enumerable.Range(0, 6).Select(i => SegmentScenario.Buy(users[u], $"{name}-{u}-buy-{i}", now.AddDays(-1 - i), 300m + u, "shoes"))
                        : Enumerable.Range(0, 3).Select(i => SegmentScenario.View(users[u], $"{name}-{u}-view-{i}", now.AddHours(-1 - i)));
                    foreach (var e in events)
                    {
                        // The longest event id too: it is hashed in the dedupe window.
                        e.EventId = Truncate(e.EventId + tenant);
                        request.Events.Add(e);
                        expected[(tenant, users[u])] = expected.GetValueOrDefault((tenant, users[u])) + 1;
                    }
                }

                var response = await silo.Client.IngestEventsAsync(request);
                Assert.Empty(response.Rejected);
                Assert.Equal(request.Events.Count, response.Accepted);
            }

            foreach (var ((tenant, user), events) in expected)
            {
                await SegmentScenario.PollAsync(() => EventsAppliedAsync(silo, tenant, user), n => n == events, $"{events} events applied for a user of {tenant.Length}-character tenant");
            }

            // A direct write, durably written before it answers.
            var (_, longTenant) = LongIds[0];
            await silo.Client.SetPreferencesAsync(new SetPreferencesRequest
            {
                Tenant = longTenant,
                UserId = longTenant,
                Preference = new PreferenceSet { Key = new string('鍵', MaxStringLength), Value = new string('值', MaxStringLength) },
            });

            var segments = new SegmentService.SegmentServiceClient(silo.Calls);
            foreach (var (_, tenant) in LongIds)
            {
                await SegmentScenario.PollAsync(
                    () => segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }).ResponseAsync,
                    o => o.UsersWithFeatures == 8,
                    $"8 users with features in the {tenant.Length}-character tenant");
                var run = await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, MinK = 2, MaxK = 3 });
                Assert.Equal(1, run.ModelVersion);
            }

            if (ingest == "Log")
            {
                // A visitor with the longest anonymous id outside ASCII logs in (identity needs the log path): its
                // identifier's grain key (tenant and id percent-encoded) is too long for the reminder table, whose
                // refusal stopped the merge (probe51); a relay holds that reminder now.
                var loginTenant = LongIds[0].Id[..^6] + "login1";
                var visitor = new string('é', MaxStringLength);
                var at = now.AddMinutes(-10);
                await Identity.IdentityWorld.IngestAsync(silo, loginTenant, [Identity.IdentityWorld.Event("login-view", "page_view", null, visitor, at)]);
                await SegmentScenario.PollAsync(() => EventsAppliedAsync(silo, loginTenant, "anon:" + visitor), n => n == 1, "the visitor's page view applied");
                await Identity.IdentityWorld.IngestAsync(silo, loginTenant, [Identity.IdentityWorld.Event("login", "identify", "u-login", visitor, at.AddMinutes(1))]);
                await SegmentScenario.PollAsync(() => EventsAppliedAsync(silo, loginTenant, "u-login"), n => n == 2, "the visitor merged into the person");
                expected[(loginTenant, "u-login")] = 2;
            }

            await silo.StopAsync();
            output.WriteLine(silo.Output.Length > 4000 ? silo.Output[^4000..] : silo.Output);
            Assert.DoesNotContain("too long to be an Azure table key", silo.Output, StringComparison.Ordinal);
        }

        await AssertStoredUnderValidKeysAsync(serviceId, loginProfiles: ingest == "Log" ? 2 : 0);

        await using var restarted = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        foreach (var ((tenant, user), events) in expected)
        {
            Assert.Equal(events, await EventsAppliedAsync(restarted, tenant, user));
        }

        var reread = await restarted.Client.GetProfileAsync(new GetProfileRequest { Tenant = LongIds[0].Id, UserId = LongIds[0].Id });
        Assert.Equal(LongIds[0].Id, reread.Tenant);
        Assert.Equal(LongIds[0].Id, reread.UserId);
        Assert.Equal(new string('值', MaxStringLength), reread.Preferences.Values[new string('鍵', MaxStringLength)]);

        // Models and memberships come back from their blobs without waking a profile grain.
        var afterRestart = new SegmentService.SegmentServiceClient(restarted.Calls);
        foreach (var (_, tenant) in LongIds)
        {
            var overview = await afterRestart.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant });
            Assert.Equal(1, overview.ModelVersion);
            Assert.Equal(8, overview.UsersWithFeatures);
        }
    }

    /// <summary>The first <see cref="MaxStringLength"/> characters, without splitting a surrogate pair.</summary>
    private static string Truncate(string value) =>
        value.Length <= MaxStringLength ? value : value[..(char.IsHighSurrogate(value[MaxStringLength - 1]) ? MaxStringLength - 1 : MaxStringLength)];

    private static async Task<long> EventsAppliedAsync(SiloProcess silo, string tenant, string user)
    {
        try
        {
            return (await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user })).EventsApplied;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return 0;
        }
    }

    private async Task AssertStoredUnderValidKeysAsync(string serviceId, int loginProfiles)
    {
        var profiles = new TableServiceClient(azurite.ConnectionString).GetTableClient(SiloProviders.ProfileStateTable);
        var rows = 0;
        var hashed = 0;
        await foreach (var row in profiles.QueryAsync<TableEntity>(e => e.PartitionKey.CompareTo(serviceId + "~") > 0 && e.PartitionKey.CompareTo(serviceId + "\u007f") < 0))
        {
            rows++;
            hashed += row.RowKey.Contains("~~", StringComparison.Ordinal) ? 1 : 0;
            Assert.InRange(row.RowKey.Length, 1, BoundedKeyGrainStorage.TableKeyLimit);
        }

        // 4 tenants x 8 users and the login tenant's visitor and person (plus the log partitions' checkpoints on the log
        // path). Every tenant here encodes to 768 characters or more, so all profiles are stored under hashed keys; the
        // checkpoints keep theirs.
        Assert.True(rows >= LongIds.Length * 8 + loginProfiles, $"{rows} profile rows");
        Assert.Equal(LongIds.Length * 8 + loginProfiles, hashed);

        // The stream path's pub-sub rows are keyed by stream id, which holds the profile key.
        var pubSub = new TableServiceClient(azurite.ConnectionString).GetTableClient(SiloProviders.PubSubTable);
        if ((await new TableServiceClient(azurite.ConnectionString).QueryAsync(t => t.Name == SiloProviders.PubSubTable).ToListAsync()).Count > 0)
        {
            await foreach (var row in pubSub.QueryAsync<TableEntity>(e => e.PartitionKey.CompareTo(serviceId + "_") > 0 && e.PartitionKey.CompareTo(serviceId + "`") < 0))
            {
                Assert.InRange(row.PartitionKey.Length, 1, BoundedKeyGrainStorage.TableKeyLimit);
            }
        }

        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{serviceId}-{SiloProviders.SegmentsContainer}");
        var blobs = new List<string>();
        await foreach (var blob in container.GetBlobsAsync())
        {
            blobs.Add(blob.Name);
        }

        output.WriteLine(string.Join(Environment.NewLine, blobs));
        Assert.All(blobs, name => Assert.InRange(name.Length, 1, BoundedKeyGrainStorage.BlobNameLimit));
        Assert.Equal(LongIds.Length, blobs.Count(name => name.StartsWith("segmentation-", StringComparison.Ordinal)));
        Assert.True(blobs.Count(name => name.StartsWith("shard-", StringComparison.Ordinal)) >= LongIds.Length, "every tenant has a stored shard");
    }
}
