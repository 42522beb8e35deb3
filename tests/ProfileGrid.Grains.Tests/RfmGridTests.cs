using Orleans.Streams;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// Classic RFM live in the grid: a model's quintile edges reach the shards, every customer gets scores and a cell
/// where their vector lives, non-buyers get none, and new purchases move a customer's cell without a retrain.
/// </summary>
[Collection(ClusterCollection.Name)]
public class RfmGridTests(ClusterFixture fixture)
{
    private const int Customers = 20;
    private const int Browsers = 5;
    private const int Shards = 4;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    private readonly string _tenant = "rfm-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// Customer i (0..19) last bought 15 i + 1 days ago and has 20 - i orders of 10 (20 - i) each, so recency, orders
    /// and revenue all rank the customers the same way. With 20 buyers the quintile edges sit at virtual indexes
    /// 19 q = 3.8, 7.6, 11.4, 15.2: between the 4th and 5th customer, the 8th and 9th, and so on. So customers 0-3
    /// score R5 F5 (champions), 4-7 R4 F4 (loyal), 8-11 R3 F3 (need attention), 12-15 R2 F2 (hibernating) and 16-19
    /// R1 F1 (lost); orders 1..20 give frequency edges 4.8, 8.6, 12.4, 16.2. Browsers never buy: no score.
    /// </summary>
    [Fact]
    public async Task Customers_get_their_rfm_cell_live_and_new_purchases_move_it_without_a_retrain()
    {
        await FeedAsync();
        var model = (await Segmentation.RunAsync(new SegmentationRequest { K = 2, StabilityRuns = 0 })).Model!;

        var rfm = Assert.IsType<RfmModelView>(model.Rfm);
        Assert.Equal(Customers, rfm.FittedOn);
        Assert.Equal(new[] { 4.8, 8.6, 12.4, 16.2 }, rfm.FrequencyEdges.Select(e => Math.Round(e, 9)));
        string[] cells = [RfmCells.Champions, RfmCells.Loyal, RfmCells.NeedAttention, RfmCells.Hibernating, RfmCells.Lost];
        for (var i = 0; i < Customers; i++)
        {
            var segment = await SegmentOfAsync(Customer(i));
            var score = Assert.IsType<UserRfm>(segment.Rfm);
            var expected = 5 - i / 4;
            Assert.Equal((expected, expected, expected), (score.Recency, score.Frequency, score.Monetary));
            Assert.Equal($"{expected}{expected}{expected}", score.Code);
            Assert.Equal(cells[i / 4], score.Cell);
            Assert.Equal(model.Version, segment.ModelVersion);
        }

        for (var b = 0; b < Browsers; b++)
        {
            Assert.Null((await SegmentOfAsync(Browser(b))).Rfm);
        }

        var overview = await Segmentation.GetOverviewAsync();
        Assert.Equal(RfmCells.All.Order(), overview.RfmSizes!.Keys.Order());
        Assert.All(cells, cell => Assert.Equal(4, overview.RfmSizes[cell]));
        Assert.Equal(Customers, overview.RfmSizes.Values.Sum());
        Assert.Equal(Enumerable.Range(16, 4).Select(Customer).Order(StringComparer.Ordinal), await MembersAsync(RfmCells.Lost));

        // The most lapsed customer comes back and buys a lot; a browser buys for the first time. No retrain.
        var comeback = Customer(19);
        await PublishAsync(comeback, Enumerable.Range(0, 25).Select(n => Purchase(comeback, $"back-{n}", Now.AddHours(-n), 500m)).ToArray());
        var convert = Browser(0);
        await PublishAsync(convert, [Purchase(convert, "first", Now.AddMinutes(-30), 15m)]);

        var back = await WaitForRfmAsync(comeback, r => r.Cell == RfmCells.Champions);
        Assert.Equal("555", back.Rfm!.Code);
        Assert.Equal(model.Version, back.ModelVersion);
        var converted = await WaitForRfmAsync(convert, r => r.Cell == RfmCells.New);
        Assert.Equal((5, 1), (converted.Rfm!.Recency, converted.Rfm.Frequency));

        Assert.Equal(model.Version, (await Segmentation.GetModelAsync())!.Version);
        Assert.Contains(comeback, await MembersAsync(RfmCells.Champions));
        Assert.DoesNotContain(comeback, await MembersAsync(RfmCells.Lost));
        Assert.Equal(new[] { convert }, await MembersAsync(RfmCells.New));
        await WaitUntilAsync(async () =>
        {
            var sizes = (await Segmentation.GetOverviewAsync()).RfmSizes!;
            return sizes[RfmCells.Champions] == 5 && sizes[RfmCells.Lost] == 3 && sizes[RfmCells.New] == 1;
        }, "the cell sizes follow: champions 5, lost 3, new 1");
    }

    [Fact]
    public async Task A_new_model_rescores_customers_against_its_own_edges()
    {
        await FeedAsync();
        var first = (await Segmentation.RunAsync(new SegmentationRequest { K = 2, StabilityRuns = 0 })).Model!;

        // Five new heavy customers push everyone else down the frequency ranking at the next model.
        for (var n = 0; n < 5; n++)
        {
            var heavy = Key($"heavy-{n}");
            await PublishAsync(heavy, Enumerable.Range(0, 60).Select(k => Purchase(heavy, $"h-{k}", Now.AddDays(-k), 300m)).ToArray());
        }

        await WaitUntilAsync(async () => (await Segmentation.GetOverviewAsync()).UsersWithFeatures == Customers + Browsers + 5, "the heavy customers push their features");
        Assert.Equal(RfmCells.Champions, (await SegmentOfAsync(Customer(0))).Rfm!.Cell);

        var second = (await Segmentation.RunAsync(new SegmentationRequest { K = 2, StabilityRuns = 0 })).Model!;

        Assert.Equal(Customers + 5, second.Rfm!.FittedOn);
        Assert.NotEqual(first.Rfm!.FrequencyEdges, second.Rfm.FrequencyEdges);
        var top = await SegmentOfAsync(Customer(0));
        Assert.Equal(second.Version, top.ModelVersion);
        Assert.Equal(4, top.Rfm!.Frequency); // 20 orders: below the heavy customers' 60, in the 4th quintile of 25 buyers
        var overview = await Segmentation.GetOverviewAsync();
        Assert.Equal(Customers + 5, overview.RfmSizes!.Values.Sum());
    }

    /// <summary>
    /// A change under the material change a profile pushes on (1%) reaches the segmentation when the profile goes idle:
    /// an outside probe found a wholesale customer's last order and a £0.55 refund missing from their features for good.
    /// </summary>
    [Fact]
    public async Task A_last_small_change_reaches_the_features_when_the_profile_goes_idle()
    {
        var key = Key("wholesale");
        await PublishAsync(key, [.. Enumerable.Range(0, 150).Select(n => Purchase(key, $"w-{n}", Now.AddDays(-1 - n), 10m))]);
        var frequency = ProfileGrid.Domain.ProfileFeatures.All.ToList().IndexOf("frequency");
        await WaitUntilAsync(async () => await FrequencyAsync() == 150, "the first 150 orders are in the features");

        // One more order, five minutes after one of 140 days ago (the same session): 0.7% more orders, 0.07% more revenue,
        // recency, sessions and tenure unchanged, engagement up by a small fraction.
        await PublishAsync(key, [Purchase(key, "w-late", Now.AddDays(-140).AddMinutes(5), 1m)]);

        await WaitUntilAsync(async () => await FrequencyAsync() == 151, "the 151st order reaches the features once the profile is idle");

        async Task<double> FrequencyAsync() =>
            (await ShardOf(key).SampleAsync(10, 1, null)).Select(row => row[frequency]).DefaultIfEmpty(-1).Single();
    }

    private ISegmentationGrain Segmentation => fixture.Client.GetGrain<ISegmentationGrain>(_tenant);

    private string Key(string user) => new ProfileKey(_tenant, user).ToString();

    private string Customer(int i) => Key($"customer-{i:00}");

    private string Browser(int b) => Key($"browser-{b}");

    private IFeatureShardGrain ShardOf(string profileKey) =>
        fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, SegmentKeys.ShardOf(profileKey, Shards)));

    private async Task FeedAsync()
    {
        var feeds = new List<Task>();
        for (var i = 0; i < Customers; i++)
        {
            var key = Customer(i);
            var orders = Customers - i;
            var last = Now.AddDays(-(15 * i + 1));
            feeds.Add(PublishAsync(key, Enumerable.Range(0, orders).Select(n => Purchase(key, $"p-{n}", last.AddDays(-n), 10m * orders)).ToArray()));
        }

        for (var b = 0; b < Browsers; b++)
        {
            var key = Browser(b);
            feeds.Add(PublishAsync(key, Enumerable.Range(0, 10).Select(n => View(key, $"v-{n}", Now.AddHours(-5 * n - b))).ToArray()));
        }

        await Task.WhenAll(feeds);
        await WaitUntilAsync(async () =>
        {
            var counts = await Task.WhenAll(Enumerable.Range(0, Shards).Select(s =>
                fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, s)).CountAsync()));
            return counts.Sum() == Customers + Browsers;
        }, "every profile pushes its features");
    }

    private async Task<UserSegment> SegmentOfAsync(string profileKey) =>
        Assert.IsType<UserSegment>(await ShardOf(profileKey).GetSegmentAsync(profileKey));

    /// <summary>Every member of an RFM cell across the shards, paged two at a time.</summary>
    private async Task<List<string>> MembersAsync(string cell)
    {
        var members = new List<string>();
        for (var shard = 0; shard < Shards; shard++)
        {
            var grain = fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, shard));
            string? after = null;
            while (true)
            {
                var page = await grain.GetRfmMembersAsync(cell, after, 2);
                members.AddRange(page);
                if (page.Length < 2)
                {
                    break;
                }

                after = page[^1];
            }
        }

        members.Sort(StringComparer.Ordinal);
        return members;
    }

    private async Task<UserSegment> WaitForRfmAsync(string profileKey, Func<UserRfm, bool> condition)
    {
        UserSegment? last = null;
        await WaitUntilAsync(async () =>
        {
            last = await ShardOf(profileKey).GetSegmentAsync(profileKey);
            return last?.Rfm is { } rfm && condition(rfm);
        }, $"{profileKey} reaches the expected RFM cell (last: {last})");
        return last!;
    }

    private UserEvent View(string user, string id, DateTimeOffset at) => new()
    {
        EventId = id,
        Kind = EventKind.PageView,
        Tenant = _tenant,
        UserId = ProfileKey.Parse(user).UserId,
        OccurredAt = at,
        Source = Channel.Web,
        Context = new EventContext { Device = DeviceType.Desktop, Country = "DE" },
        Page = new PageInfo { Url = "/home" },
    };

    private UserEvent Purchase(string user, string id, DateTimeOffset at, decimal price) => new()
    {
        EventId = id,
        Kind = EventKind.Purchase,
        Tenant = _tenant,
        UserId = ProfileKey.Parse(user).UserId,
        OccurredAt = at,
        Source = Channel.App,
        Purchase = new PurchaseInfo
        {
            OrderId = "o-" + id,
            Currency = "USD",
            Lines = [new PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 1, UnitPrice = price }],
        },
    };

    private Task PublishAsync(string profileKey, UserEvent[] events) =>
        fixture.Client.GetStreamProvider(StreamNames.EventsProvider)
            .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, profileKey))
            .OnNextAsync(new EventBatch(events));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("Timed out waiting until " + what);
    }
}
