using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Streams;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Tests;

/// <summary>Segmentation retrains on its reminder, with nobody asking: a one-silo cluster whose reminders may tick every 2 s.</summary>
public sealed class RetrainReminderTests : OneSiloClusterTests
{
    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task A_tenant_whose_users_have_features_gets_a_model_and_then_newer_ones_on_the_reminder()
    {
        const string tenant = "reminded";
        await PublishUsersAsync(Cluster, tenant);

        var segmentation = Cluster.Client.GetGrain<ISegmentationGrain>(tenant);
        var deadline = DateTime.UtcNow.AddSeconds(45);
        long version = 0;
        while (DateTime.UtcNow < deadline && version < 2)
        {
            version = (await segmentation.GetModelAsync())?.Version ?? 0;
            await Task.Delay(200);
        }

        var overview = await segmentation.GetOverviewAsync();
        Assert.True(version >= 2, $"the reminder published {version} models in 45 s; expected at least 2 (every 2 s); {overview.UsersWithFeatures} users with features");
        Assert.Equal(24, overview.UsersWithFeatures);
        Assert.Equal(24, overview.Sizes.Values.Sum());
    }

    /// <summary>24 users of <paramref name="tenant"/>, half buyers and half browsers: enough for a model of a few segments.</summary>
    internal static async Task PublishUsersAsync(TestCluster cluster, string tenant)
    {
        var now = DateTimeOffset.UtcNow;
        var publishes = Enumerable.Range(0, 24).Select(i =>
        {
            var user = $"user-{i}";
            var buyer = i % 2 == 0;
            var events = Enumerable.Range(0, buyer ? 10 : 2).Select(n => new UserEvent
            {
                EventId = $"{user}-{n}",
                Kind = buyer ? EventKind.Purchase : EventKind.PageView,
                Tenant = tenant,
                UserId = user,
                OccurredAt = buyer ? now.AddDays(-n - i) : now.AddDays(-200 - n - i),
                Source = Channel.Web,
                Page = buyer ? null : new PageInfo { Url = "/" },
                Purchase = buyer
                    ? new PurchaseInfo { OrderId = $"o-{user}-{n}", Currency = "USD", Lines = [new PurchaseLine { ProductId = "p", Category = "shoes", Quantity = 1, UnitPrice = 300m + 10 * i }] }
                    : null,
            }).ToArray();
            return cluster.Client.GetStreamProvider(StreamNames.EventsProvider)
                .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, new ProfileKey(tenant, user).ToString()))
                .OnNextAsync(new EventBatch(events));
        });
        await Task.WhenAll(publishes);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            ClusterFixture.AddGrainsInMemory(silo);
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            silo.Services.Configure<SegmentationOptions>(o =>
            {
                o.Shards = 2;
                o.RetrainInterval = TimeSpan.FromSeconds(2);
                o.ShardFlushInterval = TimeSpan.FromMilliseconds(100);
                o.SizesCacheDuration = TimeSpan.Zero;
                o.StabilityRuns = 0;
                o.MaxK = 4;
            });
        }
    }
}
