using Azure.Storage.Blobs;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Hosting;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Tenants and users whose ids differ only by what storage tends to rewrite (a trailing dot, a doubled slash, a backslash,
/// '#', '?', a percent escape, a trailing space, case) stay apart on real Azurite: each profile, each tenant's feature
/// shards (blobs) and each tenant's lake folder holds its own and nobody else's, before and after a restart; and every blob
/// name obeys Azure's naming rules (no path segment ends with a dot: Azure's front end trims it, which would merge
/// "acme." into "acme").
/// </summary>
[Collection(AzuriteCollection.Name)]
public class NearMissIdStorageTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly string[] Suffixes = ["", ".", "..", "/x", "//x", "\\x", "#x", "?x", "%2Fx", " ", "~2E"];
    private static readonly string[] Users = ["u", "u.", "u..", "u/", "u//", "u\\", "u#", "u?", "u%2F", "U", "u ", "u~2E"];

    [Fact]
    public async Task Ids_that_differ_only_by_dots_slashes_escapes_or_case_are_stored_apart_and_read_back_after_a_restart()
    {
        var serviceId = "t" + Guid.NewGuid().ToString("N")[..10];
        var stem = "nm" + Guid.NewGuid().ToString("N")[..6];
        var tenants = Suffixes.Select(s => stem + s).Append(stem.ToUpperInvariant()).ToArray();
        var now = DateTimeOffset.UtcNow;
        var expected = new Dictionary<(string Tenant, string User), (int Events, string Mark)>();
        string[] settings = ["--ProfileGrid:Lake:ArchiveInterval=00:00:00.500"];
        await using (var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings))
        {
            for (var t = 0; t < tenants.Length; t++)
            {
                var request = new IngestEventsRequest { Tenant = tenants[t] };
                for (var u = 0; u < Users.Length; u++)
                {
                    // A count and a preference of its own: two profiles sharing storage would add up, or overwrite.
                    var count = 1 + (t + 2 * u) % 4;
                    var mark = $"{t}:{u}";
                    for (var i = 0; i < count; i++)
                    {
                        request.Events.Add(SegmentScenario.View(Users[u], $"{mark}-view-{i}", now.AddHours(-1 - i)));
                    }

                    request.Events.Add(new WireEvent
                    {
                        EventId = $"{mark}-pref", UserId = Users[u], Type = "preference_set", Source = "crm",
                        OccurredAt = now.AddMinutes(-5).ToString("O"), Preference = new PreferenceSet { Key = "mark", Value = mark },
                    });
                    expected[(tenants[t], Users[u])] = (count + 1, mark);
                }

                var response = await silo.Client.IngestEventsAsync(request);
                Assert.Empty(response.Rejected);
            }

            foreach (var ((tenant, user), (events, _)) in expected)
            {
                await SegmentScenario.PollAsync(() => EventsAppliedAsync(silo, tenant, user), n => n >= events, $"{events} events applied for '{user}' of '{tenant}'");
            }

            await AssertEachAsOwnAsync(silo, expected);
            var segments = new SegmentService.SegmentServiceClient(silo.Calls);
            foreach (var tenant in tenants)
            {
                await SegmentScenario.PollAsync(
                    () => segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }).ResponseAsync,
                    o => o.UsersWithFeatures >= Users.Length,
                    $"{Users.Length} users with features in '{tenant}'");
            }

            // The lake: every tenant archived into a folder of its own.
            var lake = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{serviceId}-lake");
            await SegmentScenario.PollAsync(async () => (await TenantFoldersAsync(lake)).Count, n => n == tenants.Length, $"{tenants.Length} tenant folders in the lake");
            await silo.StopAsync();
            output.WriteLine(silo.Output.Length > 4000 ? silo.Output[^4000..] : silo.Output);
        }

        var blobs = new BlobServiceClient(azurite.ConnectionString);
        foreach (var container in new[] { $"{serviceId}-{SiloProviders.SegmentsContainer}", $"{serviceId}-lake" })
        {
            await foreach (var blob in blobs.GetBlobContainerClient(container).GetBlobsAsync())
            {
                Assert.False(blob.Name.Split('/').Any(segment => segment.EndsWith('.')), $"blob '{blob.Name}' of {container} has a path segment ending with a dot");
            }
        }

        await using var restarted = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        await AssertEachAsOwnAsync(restarted, expected);
        var afterRestart = new SegmentService.SegmentServiceClient(restarted.Calls);
        foreach (var tenant in tenants)
        {
            // Reloaded from the tenant's own shard blobs: a shared blob would hold both tenants' users.
            var overview = await afterRestart.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant });
            Assert.Equal(Users.Length, overview.UsersWithFeatures);
        }
    }

    private static async Task AssertEachAsOwnAsync(SiloProcess silo, Dictionary<(string Tenant, string User), (int Events, string Mark)> expected)
    {
        foreach (var ((tenant, user), (events, mark)) in expected)
        {
            var profile = await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user });
            Assert.Equal((tenant, user), (profile.Tenant, profile.UserId));
            Assert.Equal(events, profile.EventsApplied);
            Assert.Equal(mark, profile.Preferences.Values["mark"]);
        }

        foreach (var tenant in expected.Keys.Select(k => k.Tenant).Distinct())
        {
            // The tenant's profile list is kept behind the writes: wait for it to hold as many, then compare.
            var listed = await SegmentScenario.PollAsync(
                async () => (await silo.Client.ListProfilesAsync(new ListProfilesRequest { Tenant = tenant, PageSize = 100 })).Profiles.Select(p => p.UserId).ToList(),
                l => l.Count >= Users.Length,
                $"{Users.Length} profiles listed in '{tenant}'");
            Assert.Equal(Users.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
        }
    }

    private static async Task<HashSet<string>> TenantFoldersAsync(BlobContainerClient lake)
    {
        var folders = new HashSet<string>(StringComparer.Ordinal);
        if (!await lake.ExistsAsync())
        {
            return folders;
        }

        await foreach (var blob in lake.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "events/" }))
        {
            folders.Add(blob.Name.Split('/')[1]);
        }

        return folders;
    }

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
}
