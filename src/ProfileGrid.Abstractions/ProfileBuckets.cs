namespace ProfileGrid.Abstractions;

/// <summary>What a profile key is bucketed for; each space spreads keys independently of the others.</summary>
public enum BucketSpace
{
    /// <summary>Event log partitions (plain FNV-1a: the values deployed logs were written with).</summary>
    LogPartition,

    /// <summary>Feature shards (FNV-1a, then a finaliser, so that a shard's users are spread over all partitions).</summary>
    FeatureShard,

    /// <summary>Table partitions of stored grain state (as <see cref="FeatureShard"/>; keyed by the grain id, not the profile key).</summary>
    StateRows,

    /// <summary>Catalog shards, keyed by item id (as <see cref="FeatureShard"/>).</summary>
    CatalogShard,
}

/// <summary>
/// The one function that maps a profile key to a bucket, for log partitions and feature shards alike. Stable across
/// processes and machines (FNV-1a, never string.GetHashCode, whose seed changes per process): a restarted silo must
/// find a user's unwritten events and segment in the same bucket. Fixed for the life of a deployment.
/// </summary>
public static class ProfileBuckets
{
    public static int Of(string profileKey, int buckets, BucketSpace space)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        var hash = 2166136261u;
        foreach (var c in profileKey)
        {
            hash = (hash ^ c) * 16777619u;
        }

        if (space is BucketSpace.FeatureShard or BucketSpace.StateRows or BucketSpace.CatalogShard)
        {
            hash ^= hash >> 15;
            hash *= 0x2c1b3c6du;
            hash ^= hash >> 12;
        }

        return (int)(hash % (uint)buckets);
    }

    /// <summary>The log partition of a profile key.</summary>
    public static int LogPartition(string profileKey, int partitions) => Of(profileKey, partitions, BucketSpace.LogPartition);
}
