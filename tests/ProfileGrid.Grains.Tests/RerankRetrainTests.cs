using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The re-ranker retrains by itself as feedback arrives: a one-silo cluster whose retraining check ticks every 2 s
/// and whose threshold is 4 logged lists.
/// </summary>
public sealed class RerankRetrainTests : OneSiloClusterTests
{
    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task Enough_newly_logged_lists_start_a_training_without_anyone_asking()
    {
        const string tenant = "rr-auto";
        var shard = SegmentKeys.Shard(tenant, 0);
        var log = Cluster.Client.GetGrain<IRerankLogShardGrain>(shard);
        var feedback = new List<ListClicksReport>();
        for (var i = 1; i <= 4; i++)
        {
            await log.LogAsync(RerankLogTestLists.List($"rec-{i}", "a", "b", "c"));
            feedback.Add(new ListClicksReport($"rec-{i}", true, i % 2 == 0 ? ["b"] : []));
        }

        await Cluster.Client.GetGrain<IFeedbackShardGrain>(shard).UpdateAsync(RerankLogTestLists.Update("u1", [.. feedback]));

        var reranker = Cluster.Client.GetGrain<IRerankerGrain>(tenant);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        RerankerStatus? status;
        while ((status = await reranker.GetStatusAsync()) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.NotNull(status);
        Assert.Equal((4, 4, 2), (status.LoggedLists, status.ShownLists, status.ListsWithClick));
        Assert.Equal(4, status.LoggedAtTraining);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            ClusterFixture.AddGrainsInMemory(silo);
            silo.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            silo.Services.Configure<SegmentationOptions>(o => o.Shards = 2);
            silo.Services.Configure<RerankingOptions>(o =>
            {
                o.RetrainCheckInterval = TimeSpan.FromSeconds(2);
                o.RetrainAfterLists = 4;
            });
        }
    }
}
