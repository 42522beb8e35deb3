using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Domain;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Tests;

/// <summary>Segmentation of awkward tenants, fed straight into the shards: young ones, and vectors from another release.</summary>
[Collection(ClusterCollection.Name)]
public class SegmentationEdgeTests(ClusterFixture fixture)
{
    private const int Shards = 4;

    private readonly string _tenant = "edge-" + Guid.NewGuid().ToString("N")[..8];

    private ISegmentationGrain Segmentation => fixture.Client.GetGrain<ISegmentationGrain>(_tenant);

    [Fact]
    public async Task A_young_tenant_of_mostly_identical_users_gets_a_model_of_the_segments_it_has()
    {
        // 3,000 brand-new users with the same vector and three who did something different: the stability check's
        // bootstrap samples hold fewer different vectors than k.
        await Task.WhenAll(Enumerable.Range(0, 3000).Select(i => PushAsync($"u{i}", Vector(0))));
        await PushAsync("a", Vector(5));
        await PushAsync("b", Vector(10));
        await PushAsync("c", Vector(20));

        var run = await Segmentation.RunAsync(new SegmentationRequest { K = 3 });

        Assert.Equal(SegmentationRunOutcome.Published, run.Outcome);
        Assert.Equal(3, run.Model!.K);
        Assert.Equal(3003, (await Segmentation.GetOverviewAsync()).Sizes.Values.Sum());
    }

    [Fact]
    public async Task A_vector_of_another_feature_set_is_ignored_and_the_tenant_keeps_segmenting()
    {
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => PushAsync($"u{i}", Vector(i % 4 * 10 + i % 3))));
        Assert.NotNull((await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0 })).Model);

        // A silo of the previous release (one feature fewer) during a rolling upgrade.
        await PushAsync("old", Vector(1)[..^1]);
        var rerun = await Segmentation.RunAsync(new SegmentationRequest { K = 3, StabilityRuns = 0 });

        Assert.Equal(SegmentationRunOutcome.Published, rerun.Outcome);
        Assert.Equal(40, (await Segmentation.GetOverviewAsync()).UsersWithFeatures);
    }

    private Task PushAsync(string user, double[] values)
    {
        var key = new ProfileKey(_tenant, user).ToString();
        var shard = fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, SegmentKeys.ShardOf(key, Shards)));
        return shard.UpdateAsync(new FeatureUpdate(key, values, DateTimeOffset.UtcNow));
    }

    private static double[] Vector(double value) => Enumerable.Repeat(value, ProfileFeatures.All.Count).ToArray();
}
