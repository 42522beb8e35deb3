using System.Diagnostics;
using System.Text.Json;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// What the feature and interaction shards hold (the tenant's profile count and listing, segment input, the recommender's
/// training data) survives a kill the moment the grid says everything is written: the shards write behind, and a profile
/// is reported written to its log partition only once its pushes are in their shard's written state.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ShardWriteBehindKillTests(AzuriteFixture azurite)
{
    private const string Tenant = "shard-kill";

    // Shards that write every 4 s: a kill within that time after the profiles' writes found them unwritten. The
    // quiet-spell flush is off, or the shards would write 50 ms after the profiles once the ingest stops.
    private static readonly string[] Settings =
    [
        "--ProfileGrid:IngestPath=Log", "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.200", "--ProfileGrid:Ingest:FlushInterval=00:00:00.500",
        "--ProfileGrid:Ingest:QuietFlushAfter=00:00:00",
        "--ProfileGrid:Segmentation:ShardFlushInterval=00:00:04", "--ProfileGrid:Recommendations:ShardFlushInterval=00:00:04",
    ];

    [Fact]
    public async Task A_kill_right_after_all_written_loses_no_profile_from_the_shards()
    {
        var stream = new SyntheticStream(new SimulationOptions { Users = 40, Seed = 23, Tenant = Tenant });
        await WithSiloAsync(async silo =>
        {
            await IngestStreamAsync(silo, stream);
            await UntilAllWrittenAsync(silo);
            silo = await KillAndRestartAsync(silo);

            // What the shards stored is all there is after the restart: the checkpoint passed every record, so no replay
            // wakes a profile to push again.
            await AssertShardsHoldEveryoneAsync(silo, stream);
            return silo;
        });
    }

    [Fact]
    public async Task A_second_kill_right_after_the_replay_of_the_first_loses_no_profile_from_the_shards()
    {
        var stream = new SyntheticStream(new SimulationOptions { Users = 40, Seed = 29, Tenant = Tenant });
        await WithSiloAsync(async silo =>
        {
            // Killed once the profiles have written (every 0.5 s) and before the shards have (4 s): the log replays
            // records the profiles hold, which wakes them, and they push again on activation. Then killed again the
            // moment all is written: what the replay counted as written must have reached the shards' storage.
            await IngestStreamAsync(silo, stream);
            await Task.Delay(TimeSpan.FromSeconds(2));
            silo = await KillAndRestartAsync(silo);
            await UntilAllWrittenAsync(silo);
            silo = await KillAndRestartAsync(silo);

            await AssertShardsHoldEveryoneAsync(silo, stream);
            return silo;
        });
    }

    /// <summary>
    /// A visitor's record after their login is forwarded to the person's profile, which writes it and pushes: no report of
    /// the person's own covers that push, so the visitor's report waits for it.
    /// </summary>
    [Fact]
    public async Task A_kill_right_after_a_forwarded_record_is_written_keeps_it_in_the_persons_training_data()
    {
        var tenant = NewId("skf-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var at = DateTimeOffset.UtcNow.AddMinutes(-30);
        WireEvent View(string product, int minute)
        {
            var view = Event(NewId("e-"), "product_view", null, anonymous, at.AddMinutes(minute));
            view.Product.ProductId = product;
            return view;
        }

        await WithSiloAsync(async silo =>
        {
            await IngestAsync(silo, tenant, [View("before-login", 0)]);
            await IngestAsync(silo, tenant, [Event(NewId("e-"), "identify", user, anonymous, at.AddMinutes(1))]);
            await WaitForAsync(silo, tenant, user, 2, TimeSpan.FromSeconds(60));
            await UntilAllWrittenAsync(silo);

            await IngestAsync(silo, tenant, [View("after-login", 2)]);
            await WaitForAsync(silo, tenant, user, 3, TimeSpan.FromSeconds(60));
            await UntilAllWrittenAsync(silo);
            silo = await KillAndRestartAsync(silo);

            // The interaction shards hold the person (with both items) and not the visitor, who is merged.
            var recommendations = new RecommendationService.RecommendationServiceClient(silo.Calls);
            var trained = await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });
            Assert.Equal((1, 2L), (trained.Users, trained.Interactions));
            return silo;
        });
    }

    /// <summary>
    /// A login merges the visitor into the person: the person's profile, now with the visitor's history, pushes to its
    /// shards, and the visitor's profile leaves its shards. The merge counts as pending at its log partition until those
    /// pushes are written, so a kill the moment all is written keeps the person's items and leaves no visitor listed.
    /// (The shards' timing mostly covers this even without that wait; Grains.Tests' MergePushesTests holds a shard's
    /// write to show the wait itself.)
    /// </summary>
    [Fact]
    public async Task A_kill_right_after_logins_are_merged_keeps_the_persons_items_and_no_visitor_in_the_shards()
    {
        const int People = 20;
        var tenant = NewId("skm-");
        var at = DateTimeOffset.UtcNow.AddHours(-2);
        var pairs = Enumerable.Range(0, People).Select(_ => (User: NewId("u-"), Anonymous: NewId("v-"))).ToArray();
        WireEvent View(string? user, string? anonymous, string product, int minute)
        {
            var view = Event(NewId("e-"), "product_view", user, anonymous, at.AddMinutes(minute));
            view.Product.ProductId = product;
            return view;
        }

        await WithSiloAsync(async silo =>
        {
            // Both sides have history of their own, written and in the shards, before the logins.
            await IngestAsync(silo, tenant, pairs.SelectMany((pair, i) => new[] { View(pair.User, null, $"own-{i}", 0), View(null, pair.Anonymous, $"visited-{i}", 1) }));
            await UntilAllWrittenAsync(silo);

            await IngestAsync(silo, tenant, pairs.Select(pair => Event(NewId("e-"), "identify", pair.User, pair.Anonymous, at.AddMinutes(2))));
            foreach (var pair in pairs)
            {
                await WaitForAsync(silo, tenant, pair.User, 3, TimeSpan.FromSeconds(60));
            }

            await UntilAllWrittenAsync(silo);
            silo = await KillAndRestartAsync(silo);

            var segments = new SegmentService.SegmentServiceClient(silo.Calls);
            var recommendations = new RecommendationService.RecommendationServiceClient(silo.Calls);
            var listed = await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant });
            var trained = await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });
            Assert.Equal(
                (People, People, 2L * People),
                (listed.UsersWithFeatures, trained.Users, trained.Interactions));
            return silo;
        });
    }

    /// <summary>Runs <paramref name="scenario"/> on a durable silo (it answers the silo it ended with, after restarts) and disposes that.</summary>
    private async Task WithSiloAsync(Func<SiloProcess, Task<SiloProcess>> scenario)
    {
        _current = await SiloProcess.StartDurableAsync(azurite.ConnectionString, "sk" + Guid.NewGuid().ToString("N")[..10], Settings);
        try
        {
            await scenario(_current);
        }
        finally
        {
            // The silo the scenario got to, also when it failed after a restart (the first one is dead by then).
            await _current.DisposeAsync();
        }
    }

    private SiloProcess _current = null!;

    private async Task<SiloProcess> KillAndRestartAsync(SiloProcess silo)
    {
        await silo.KillAsync();
        return _current = await silo.StartAgainAsync(TimeSpan.FromSeconds(60));
    }

    private static async Task IngestStreamAsync(SiloProcess silo, SyntheticStream stream)
    {
        foreach (var request in stream.IngestRequests(200))
        {
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
        }
    }

    private static async Task UntilAllWrittenAsync(SiloProcess silo)
    {
        var clock = Stopwatch.StartNew();
        while (!await AllWrittenAsync(silo))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"Waited a minute for allWritten.\n{silo.OutputTail(40)}");
            await Task.Delay(50);
        }
    }

    /// <summary>The feature shards (segment input, the profile listing) and interaction shards (training data) hold every user.</summary>
    private static async Task AssertShardsHoldEveryoneAsync(SiloProcess silo, SyntheticStream stream)
    {
        var expected = stream.ComputeExpectedTotals();
        var segments = new SegmentService.SegmentServiceClient(silo.Calls);
        var recommendations = new RecommendationService.RecommendationServiceClient(silo.Calls);
        var listed = await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = Tenant });
        var status = await recommendations.GetRecommenderStatusAsync(new GetRecommenderStatusRequest { Tenant = Tenant });
        Assert.Equal(expected.Users.Count, listed.UsersWithFeatures);
        Assert.Equal(stream.Interactions().Count, status.UsersWithInteractions);

        var profiles = new List<string>();
        var token = "";
        do
        {
            var page = await silo.Client.ListProfilesAsync(new ListProfilesRequest { Tenant = Tenant, PageSize = 500, PageToken = token });
            profiles.AddRange(page.Profiles.Select(p => p.UserId));
            token = page.NextPageToken;
        }
        while (token.Length > 0);

        Assert.Equal(expected.Users.Keys.Order(StringComparer.Ordinal), profiles.Order(StringComparer.Ordinal));
    }

    private static async Task<bool> AllWrittenAsync(SiloProcess silo)
    {
        using var document = JsonDocument.Parse(await silo.Http.GetStringAsync("/v1/admin/ingest"));
        return document.RootElement.GetProperty("allWritten").GetBoolean();
    }
}
