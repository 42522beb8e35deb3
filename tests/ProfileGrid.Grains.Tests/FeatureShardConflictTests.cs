using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using Orleans.Core.Internal;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// A feature shard whose write is refused on its ETag (its own write that landed after its answer was lost, or a second
/// activation's) reconciles with the stored row instead of failing every retry, so what it takes is stored.
/// </summary>
[Collection(ClusterCollection.Name)]
public class FeatureShardConflictTests(ClusterFixture fixture)
{
    private readonly string _tenant = "conflict-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_write_refused_on_its_etag_is_reconciled_and_later_pushes_are_stored()
    {
        // probe64: a stray shard activation failed its writes on the ETag for good while profiles went on pushing to it;
        // after the next kill 93 users were gone from ListProfiles and the segments.
        var shard = fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(_tenant, 0));
        var grainId = shard.GetGrainId().ToString();
        CountingSegmentStorage.LandUnanswered[grainId] = true; // stored under an ETag the shard never learns

        var first = await shard.UpdateAsync(Update("a", 1));
        Assert.Equal(ShardWriteState.Written, await UntilWrittenAsync(shard, first));
        var second = await shard.UpdateAsync(Update("b", 2));
        Assert.Equal(ShardWriteState.Written, await UntilWrittenAsync(shard, second));

        // Read back from storage: a fresh activation holds both vectors.
        await shard.Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Task.Delay(200);
        Assert.Equal(2, await shard.CountAsync());
    }

    private FeatureUpdate Update(string user, double value) =>
        new(new ProfileKey(_tenant, user).ToString(), Enumerable.Repeat(value, ProfileFeatures.All.Count).ToArray(), DateTimeOffset.UtcNow);

    private static async Task<ShardWriteState> UntilWrittenAsync(IFeatureShardGrain shard, ShardWriteTicket ticket)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var state = await shard.WaitWrittenAsync(ticket);
            if (state != ShardWriteState.Pending || DateTime.UtcNow > deadline)
            {
                return state;
            }
        }
    }
}
