using Microsoft.Playwright;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Tests;
using ProfileGrid.Simulator;

namespace ProfileGrid.Dashboard.Tests;

/// <summary>
/// One running grid for the browser tests: the real host with memory storage, fed by the simulator through the public
/// gRPC API (a shop of a few hundred users with a year of history, and a small second tenant whose name needs
/// encoding), segmented, with a trained recommender and an A/B test the simulated users responded to, so that every
/// page has data. Also one headless Chromium (Debian's, at /usr/bin/chromium; test.sh installs it).
/// </summary>
public sealed class DashboardGridFixture : IAsyncLifetime
{
    public const string Shop = "shop";

    /// <summary>A second tenant with a name that must be encoded in a path: a slash, a space, non-Latin letters.</summary>
    public const string Outlet = "märkte/β 2";

    /// <summary>A tenant nothing was ever sent to.</summary>
    public const string Nobody = "nobody-yet";

    public const string ExperimentId = "home-hybrid-vs-popular";

    public const int ShopUsers = 150;

    public const int OutletUsers = 30;

    /// <summary>Short write-behind and refresh intervals, so that figures follow events within a second or two.</summary>
    public static readonly string[] Settings =
    [
        "--ProfileGrid:Ingest:FlushInterval=00:00:00.200",
        "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.200",
        "--ProfileGrid:Segmentation:ShardFlushInterval=00:00:00.200",
        "--ProfileGrid:Segmentation:SizesCacheDuration=00:00:00.200",
        "--ProfileGrid:Segmentation:Shards=4",
        "--ProfileGrid:Recommendations:ShardFlushInterval=00:00:00.200",
        "--ProfileGrid:Recommendations:ServingRefreshInterval=00:00:00.200",
        "--ProfileGrid:Stats:FlushInterval=00:00:00.200",
    ];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    public SiloProcess Silo { get; private set; } = null!;

    public IPlaywright Playwright { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    public SyntheticStream ShopStream { get; private set; } = null!;

    public string BaseAddress => $"http://127.0.0.1:{Silo.HttpPort}";

    public async Task InitializeAsync()
    {
        var silo = SiloProcess.StartEphemeralAsync(Settings);
        var browser = LaunchBrowserAsync();
        Silo = await silo;
        await browser;

        ShopStream = new SyntheticStream(new SimulationOptions { Users = ShopUsers, Seed = 11, Tenant = Shop });
        var outlet = new SyntheticStream(new SimulationOptions { Users = OutletUsers, Seed = 12, Tenant = Outlet });
        var replayer = new GatewayReplayer(Silo.Client);
        var shopReplay = await replayer.ReplayAsync(ShopStream.IngestRequests(500), null, CancellationToken.None);
        var outletReplay = await replayer.ReplayAsync(outlet.IngestRequests(500), null, CancellationToken.None);
        if (shopReplay.Rejected + outletReplay.Rejected > 0)
        {
            throw new InvalidOperationException($"The simulator's events were rejected: {shopReplay.Rejected} + {outletReplay.Rejected}.");
        }

        // One event the gateway refuses (no type, no time), so that the ingest page has a reason to show.
        var refused = await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = Shop, Events = { new Event { EventId = "refused-1", UserId = "u-000001" } } });
        if (refused.Rejected.Count != 1)
        {
            throw new InvalidOperationException("The gateway accepted an event without a type.");
        }

        var segments = new SegmentService.SegmentServiceClient(Silo.Calls);
        await Poll.UntilAsync(
            async () => (await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = Shop })).UsersWithFeatures >= ShopUsers,
            Timeout, "every shop user's features in the shards");
        await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = Shop });

        var recommendations = new RecommendationService.RecommendationServiceClient(Silo.Calls);
        var withItems = ShopStream.Interactions().Count;
        await Poll.UntilAsync(
            async () => (await recommendations.GetRecommenderStatusAsync(new GetRecommenderStatusRequest { Tenant = Shop })).UsersWithInteractions >= withItems,
            Timeout, "every shop user's item history in the interaction shards");
        await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = Shop });

        var experiments = new ExperimentService.ExperimentServiceClient(Silo.Calls);
        await experiments.CreateExperimentAsync(new PutExperimentRequest
        {
            Tenant = Shop,
            Experiment = new ExperimentDefinition
            {
                Id = ExperimentId,
                Name = "Hybrid against popularity",
                Slot = "home",
                Variants =
                {
                    new ExperimentVariant { Key = "popular", Control = true, Algorithm = "popular", Rules = false },
                    new ExperimentVariant { Key = "hybrid", Algorithm = "model" },
                },
            },
        });
        await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = Shop, ExperimentId = ExperimentId });
        var loop = new ExperimentLoop(Silo.Client, recommendations, new ResponseSimulator(ShopStream), Shop);
        var expected = await loop.RunAsync(ShopStream.Users.Select(u => u.UserId).ToList(), new ExperimentLoopOptions { Rounds = 1, DrawSalt = "dashboard" });
        var lists = expected.Where(e => e.Key.Length > 0).Sum(e => e.Value.Lists);
        await Poll.UntilAsync(
            async () => (await experiments.GetExperimentResultsAsync(new ExperimentRequest { Tenant = Shop, ExperimentId = ExperimentId })).Variants.Sum(v => v.Impressions) >= lists,
            Timeout, "every list shown in the experiment's results");
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        Playwright?.Dispose();
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }

    private async Task LaunchBrowserAsync()
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium))
        {
            throw new InvalidOperationException($"{chromium} is missing: install Debian's chromium (apt-get install chromium; test.sh does).");
        }

        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        // Root (CI, containers) needs --no-sandbox; Playwright's own browser download is not used.
        Browser = await Playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = chromium, Args = ["--no-sandbox"], Headless = true });
    }
}

[CollectionDefinition(Name)]
public sealed class DashboardGridCollection : ICollectionFixture<DashboardGridFixture>
{
    public const string Name = "dashboard-grid";
}

/// <summary>Polling with a deadline: the grid and the page settle asynchronously, and sleeps would guess.</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds:0} s for {what}.");
            }

            await Task.Delay(200);
        }
    }

    /// <summary>Runs <paramref name="assertion"/> until it passes; after the deadline its last failure is the test's.</summary>
    public static async Task EventuallyAsync(Func<Task> assertion, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(250);
            }
        }
    }
}
