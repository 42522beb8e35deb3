using Orleans.Concurrency;
using ProfileGrid.Abstractions.Recommendations;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One shard of a tenant's item interactions (key: <see cref="SegmentKeys.Shard"/>; shard i holds the users of feature
/// shard i). Profile grains push their whole item history here when it changes, as they push feature vectors; the
/// recommender trains on what the shards hold, so training never wakes a profile, and a restart reloads the shards.
/// </summary>
public interface IInteractionShardGrain : IGrainWithStringKey, IWriteBehindShard
{
    /// <summary>
    /// Replaces the user's item history (an older push than the one held is ignored) and records the item facts; answers
    /// which write will carry them.
    /// </summary>
    Task<ShardWriteTicket> UpdateAsync(InteractionUpdate update);

    /// <summary>Erasure: drops these profiles' item histories, and writes the shard before it returns; answers how many it held.</summary>
    Task<int> ForgetAsync(string[] profileKeys);

    /// <summary>Every user's item history and the item facts: training input.</summary>
    Task<InteractionShardData> GetTrainingDataAsync();

    /// <summary>How many users the shard holds.</summary>
    [AlwaysInterleave]
    Task<int> CountAsync();
}

/// <summary>
/// One shard of a tenant's catalog (key: <see cref="RecommendationKeys.CatalogShard"/>; items by
/// <see cref="RecommendationKeys.CatalogShardOf"/>). Every write bumps the shard's version, so that each silo's serving
/// cache fetches a shard again only when it changed.
/// </summary>
public interface ICatalogShardGrain : IGrainWithStringKey
{
    /// <summary>Inserts or replaces items (already validated); returns the shard's new version.</summary>
    Task<long> UpsertAsync(CatalogItemView[] items);

    /// <summary>Deletes items; returns how many existed.</summary>
    Task<int> DeleteAsync(string[] itemIds);

    /// <summary>The items asked for that exist.</summary>
    [AlwaysInterleave]
    Task<CatalogItemView[]> GetAsync(string[] itemIds);

    /// <summary>Items after <paramref name="afterItemId"/> (exclusive; null from the start) in id order.</summary>
    [AlwaysInterleave]
    Task<CatalogItemView[]> ListAsync(string? afterItemId, int pageSize);

    /// <summary>Every item when the shard's version differs from <paramref name="knownVersion"/>; otherwise the version only.</summary>
    [AlwaysInterleave]
    Task<CatalogShardSnapshot> GetSnapshotAsync(long knownVersion);
}

/// <summary>
/// A tenant's recommender (key: tenant). On a reminder and on demand it gathers the interaction shards, the catalog and
/// the users' segments, trains off its turn, and stores a versioned model that every silo loads into memory and serves.
/// </summary>
public interface IRecommenderGrain : IGrainWithStringKey
{
    /// <summary>Trains with <paramref name="request"/> (null: the last settings, or the configured default) and stores the model.</summary>
    Task<RecommenderTrainResult> TrainAsync(RecommenderTrainRequest? request);

    /// <summary>The model's bytes when its version differs from <paramref name="knownVersion"/>; otherwise the version only.</summary>
    [AlwaysInterleave]
    Task<RecommenderModelBytes> GetModelAsync(long knownVersion);

    /// <summary>
    /// Evaluates the algorithms offline on the tenant's own interactions (held out per <paramref name="request"/>), with
    /// the tenant's training settings, side by side and per slice. Runs off the grain's turn; one at a time.
    /// </summary>
    Task<RecommenderEvaluationResult> EvaluateAsync(RecommenderEvaluationRequest request);

    /// <summary>The current model's summary, or null before the first.</summary>
    [AlwaysInterleave]
    Task<RecommenderStatus?> GetStatusAsync();

    /// <summary>Makes sure the periodic retraining reminder is registered (called by interaction shards as data arrives).</summary>
    [OneWay]
    Task EnsureScheduledAsync();
}
