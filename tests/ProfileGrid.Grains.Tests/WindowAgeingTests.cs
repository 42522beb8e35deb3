using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.Streams;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The 365-day counts a feature shard holds fall as days pass with no event: a one-silo cluster whose clock a test can
/// move days ahead (<see cref="ShiftedClock"/>), with shards that look for passed instants every 200 ms.
/// </summary>
public sealed class WindowAgeingTests : OneSiloClusterTests
{
    private const string Tenant = "ageing";
    private static readonly ShiftedClock Clock = new();
    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task A_buyer_whose_only_orders_leave_the_365_day_window_drops_to_zero_in_the_shard_and_changes_segment_with_no_event()
    {
        var now = Clock.GetUtcNow();
        var lapsing = new ProfileKey(Tenant, "lapsing").ToString();
        var regular = new ProfileKey(Tenant, "regular-0").ToString();
        var browser = new ProfileKey(Tenant, "browser-0").ToString();
        var users = new List<(string User, UserEvent[] Events)> { ("lapsing", [Order("lapsing", 0, now.AddDays(-300))]) };
        for (var i = 0; i < 8; i++)
        {
            users.Add(($"regular-{i}", [Order($"regular-{i}", 0, now.AddDays(-10)), Order($"regular-{i}", 1, now.AddDays(-5))]));
            users.Add(($"browser-{i}", [PageView($"browser-{i}", now.AddDays(-3))]));
        }

        await Task.WhenAll(users.Select(u => Cluster.Client.GetStreamProvider(StreamNames.EventsProvider)
            .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, new ProfileKey(Tenant, u.User).ToString()))
            .OnNextAsync(new EventBatch(u.Events))));
        await UntilAsync(async () => (await Task.WhenAll(Shards().Select(s => s.CountAsync()))).Sum() == users.Count, "every vector in the shards");

        // One feature, two segments: buyers this year (1 or 2 orders) against users without an order in the window.
        var run = await Cluster.Client.GetGrain<ISegmentationGrain>(Tenant).RunAsync(
            new SegmentationRequest { K = 2, Features = ["frequency_365d"], StabilityRuns = 0 });
        Assert.Equal(SegmentationRunOutcome.Published, run.Outcome);
        var buyers = (await SegmentOf(regular))!.SegmentId;
        var nonBuyers = (await SegmentOf(browser))!.SegmentId;
        Assert.NotEqual(buyers, nonBuyers);
        Assert.Equal(buyers, (await SegmentOf(lapsing))!.SegmentId);

        // The order of 300 days ago counts until midnight UTC 65 days on, and the shard holds that instant.
        var leaves = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero).AddDays(65);
        var stored = await UntilStoredAsync(lapsing, entry => entry.NextWindowChange is not null);
        Assert.Equal(1, stored.Values[Index("frequency_365d")]);
        Assert.Equal(leaves, stored.NextWindowChange);

        // 70 days on, no event: the shard's tick asks the profile, which pushes its vector as of then.
        Clock.Advance(TimeSpan.FromDays(70));
        var aged = await UntilStoredAsync(lapsing, entry => entry.Values[Index("frequency_365d")] == 0);
        Assert.Equal(0, aged.Values[Index("monetary_365d")]);
        Assert.Equal(1, aged.Values[Index("frequency")]); // lifetime: never ages
        Assert.Null(aged.NextWindowChange);
        Assert.True(aged.AsOf >= leaves, $"the vector is as of {aged.AsOf:O}, before the order left the window");
        await UntilAsync(async () => (await SegmentOf(lapsing))?.SegmentId == nonBuyers, "the lapsed buyer's move to the non-buyers");
        Assert.Equal(buyers, (await SegmentOf(regular))!.SegmentId); // orders 80 days old still count
    }

    private static int Index(string feature) => ProfileFeatures.All.ToList().IndexOf(feature);

    private IFeatureShardGrain[] Shards() =>
        Enumerable.Range(0, 2).Select(i => Cluster.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(Tenant, i))).ToArray();

    private IFeatureShardGrain ShardOf(string profileKey) =>
        Cluster.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(Tenant, SegmentKeys.ShardOf(profileKey, 2)));

    private Task<UserSegment?> SegmentOf(string profileKey) => ShardOf(profileKey).GetSegmentAsync(profileKey);

    /// <summary>The user's entry as the shard last wrote it, once it satisfies <paramref name="condition"/>.</summary>
    private async Task<ShardEntry> UntilStoredAsync(string profileKey, Func<ShardEntry, bool> condition)
    {
        var storage = ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(ProfileStores.Segments);
        ShardEntry? found = null;
        await UntilAsync(async () =>
        {
            var state = new GrainState<FeatureShardState>(new FeatureShardState());
            await storage.ReadStateAsync("shard", ShardOf(profileKey).GetGrainId(), state);
            found = state.State?.Entries.GetValueOrDefault(profileKey);
            return found is not null && condition(found);
        }, $"the stored entry of {profileKey}");
        return found!;
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited 30 s for {what}");
            }

            await Task.Delay(100);
        }
    }

    private static UserEvent Order(string user, int n, DateTimeOffset at) => new()
    {
        EventId = $"{user}-order-{n}",
        Kind = EventKind.Purchase,
        Tenant = Tenant,
        UserId = user,
        OccurredAt = at,
        Source = Channel.Web,
        Purchase = new PurchaseInfo { OrderId = $"o-{user}-{n}", Currency = "USD", Lines = [new PurchaseLine { ProductId = "p", Category = "shoes", Quantity = 1, UnitPrice = 40m }] },
    };

    private static UserEvent PageView(string user, DateTimeOffset at) => new()
    {
        EventId = $"{user}-view",
        Kind = EventKind.PageView,
        Tenant = Tenant,
        UserId = user,
        OccurredAt = at,
        Source = Channel.Web,
        Page = new PageInfo { Url = "/" },
    };

    /// <summary>
    /// The silo's clock, moved by hand. Not FakeTimeProvider: Orleans takes the same TimeProvider from the container for
    /// its own timers, which must keep running in real time; only the wall-clock reading moves.
    /// </summary>
    public sealed class ShiftedClock : TimeProvider
    {
        private long _offsetTicks;

        public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

        public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            ClusterFixture.AddGrainsInMemory(silo);
            silo.Services.AddSingleton<TimeProvider>(Clock);
            silo.Services.Configure<SegmentationOptions>(o =>
            {
                o.Shards = 2;
                o.RetrainInterval = TimeSpan.Zero;
                o.WindowRefreshInterval = TimeSpan.FromMilliseconds(200);
                o.ShardFlushInterval = TimeSpan.FromMilliseconds(100);
                o.SizesCacheDuration = TimeSpan.Zero;
                o.StabilityRuns = 0;
            });
        }
    }
}
