namespace ProfileGrid.Abstractions.Tests;

/// <summary>The one key-to-bucket function, for log partitions and feature shards.</summary>
public class ProfileBucketsTests
{
    [Theory]
    [InlineData("demo/u-000001", 16, 10, 15)]
    [InlineData("shop/alice", 16, 2, 12)]
    [InlineData("shop/alice", 4, 2, 0)]
    [InlineData("t~2Fx/u~20y", 64, 6, 63)]
    public void Buckets_are_the_values_deployments_were_written_with(string key, int buckets, int partition, int shard)
    {
        // Computed independently (FNV-1a; the shard space adds a finaliser): a restarted silo must find a user's unwritten
        // events and feature vector where the previous process put them, whatever the per-process hash seed.
        Assert.Equal(partition, ProfileBuckets.LogPartition(key, buckets));
        Assert.Equal(partition, ProfileBuckets.Of(key, buckets, BucketSpace.LogPartition));
        Assert.Equal(shard, ProfileBuckets.Of(key, buckets, BucketSpace.FeatureShard));
        Assert.Equal(shard, Grains.SegmentKeys.ShardOf(key, buckets));
    }

    [Fact]
    public void A_shard_spreads_its_users_over_every_partition()
    {
        var keys = Enumerable.Range(0, 4000).Select(i => new ProfileKey("shop", $"u-{i}").ToString()).ToList();
        var partitionsOfShard0 = keys.Where(k => ProfileBuckets.Of(k, 16, BucketSpace.FeatureShard) == 0)
            .Select(k => ProfileBuckets.LogPartition(k, 16)).Distinct().Count();
        Assert.Equal(16, partitionsOfShard0);
    }
}
