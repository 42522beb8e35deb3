using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// References made from the once-resolved grain and interface types (what profiles use for their partition and shard)
/// reach the same grains as GetGrain's, for string and integer keys, after the first one resolved them.
/// </summary>
[Collection(ClusterCollection.Name)]
public class GrainReferencesTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Shard_references_after_the_first_address_the_grain_GetGrain_gives()
    {
        var tenant = "refs-" + Guid.NewGuid().ToString("N")[..8];
        var grains = fixture.Client;
        for (var shard = 0; shard < 3; shard++)
        {
            var key = SegmentKeys.Shard(tenant, shard);
            var made = GrainReferences<IFeatureShardGrain>.Get(grains, IdSpan.Create(key), () => grains.GetGrain<IFeatureShardGrain>(key));
            var expected = grains.GetGrain<IFeatureShardGrain>(key);

            Assert.Equal(expected.GetGrainId(), made.GetGrainId());
            Assert.Equal(((GrainReference)(object)expected).InterfaceType, ((GrainReference)(object)made).InterfaceType);
            Assert.Equal(0, await made.CountAsync());
        }
    }

    [Fact]
    public async Task Partition_references_after_the_first_address_the_grain_GetGrain_gives()
    {
        var grains = fixture.Client;
        for (var partition = 0; partition < 3; partition++)
        {
            var p = partition;
            var made = GrainReferences<IEventLogPartitionGrain>.Get(grains, GrainIdKeyExtensions.CreateIntegerKey(p), () => grains.GetGrain<IEventLogPartitionGrain>(p));

            Assert.Equal(grains.GetGrain<IEventLogPartitionGrain>(p).GetGrainId(), made.GetGrainId());
            Assert.Equal(p, made.GetPrimaryKeyLong());
            Assert.Equal(p, (await made.GetStatusAsync()).Partition);
        }
    }
}
