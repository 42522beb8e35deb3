using Orleans.Concurrency;
using ProfileGrid.Abstractions.Segments;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One shard of a tenant's segmentation features (key: <see cref="SegmentKeys.Shard"/>). Profile grains push their
/// feature vector here on a material change; the shard keeps every vector it owns, assigns each to the nearest segment
/// of the current model when a model is published and on every update, keeps segment sizes and member lists, and
/// publishes membership changes on the <see cref="StreamNames.SegmentChangesNamespace"/> stream.
/// </summary>
public interface IFeatureShardGrain : IGrainWithStringKey, IWriteBehindShard
{
    /// <summary>Stores (or replaces) a user's feature vector and assigns it to a segment at once; answers which write will carry it.</summary>
    Task<ShardWriteTicket> UpdateAsync(FeatureUpdate update);

    /// <summary>Forgets a profile (merged into another, which counts for both): it leaves its segment, RFM cell and samples; answers which write will carry that.</summary>
    Task<ShardWriteTicket> RemoveAsync(string profileKey);

    /// <summary>Erasure: drops these profiles' vectors, segments and RFM scores, and writes the shard before it returns; answers how many it held.</summary>
    Task<int> ForgetAsync(string[] profileKeys);

    /// <summary>How many vectors the shard holds.</summary>
    [AlwaysInterleave]
    Task<int> CountAsync();

    /// <summary>
    /// Up to <paramref name="maxRows"/> vectors (a seeded uniform sample when the shard holds more), moved to
    /// <paramref name="asOf"/> (null: now) so that time-based features (recency, tenure, velocity) are measured to it.
    /// </summary>
    Task<double[][]> SampleAsync(int maxRows, int seed, DateTimeOffset? asOf);

    /// <summary>Reassigns every vector to <paramref name="model"/> and keeps using it for updates.</summary>
    Task ApplyModelAsync(SegmentModelView model);

    /// <summary>Segment sizes under the model the shard assigns with.</summary>
    [AlwaysInterleave]
    Task<ShardSegmentStats> GetStatsAsync();

    /// <summary>The user's segment, or null when the shard holds no vector for the user or has no model.</summary>
    [AlwaysInterleave]
    Task<UserSegment?> GetSegmentAsync(string profileKey);

    /// <summary>
    /// Why the user is in their segment: their features aged to now against the model's centroids, the nearest other
    /// segment and both distances. <see cref="SegmentExplanationOutcome.NoModel"/> or
    /// <see cref="SegmentExplanationOutcome.NoFeatures"/> when there is nothing to explain.
    /// </summary>
    [AlwaysInterleave]
    Task<SegmentExplanationResult> ExplainAsync(string profileKey);

    /// <summary>Every assigned user's segment label by profile key, and the model's labels by segment id (the fairness audit's segment groups).</summary>
    [AlwaysInterleave]
    Task<SegmentLabels> GetSegmentLabelsAsync();

    /// <summary>Members of a segment after <paramref name="afterProfileKey"/> (exclusive; null from the start), in key order.</summary>
    [AlwaysInterleave]
    Task<string[]> GetMembersAsync(int segmentId, string? afterProfileKey, int pageSize);

    /// <summary>
    /// Members of an RFM cell (an id of <c>RfmCells.All</c>, e.g. <c>champions</c>) after <paramref name="afterProfileKey"/>
    /// (exclusive; null from the start), in key order; empty for a cell nobody is in.
    /// </summary>
    [AlwaysInterleave]
    Task<string[]> GetRfmMembersAsync(string cell, string? afterProfileKey, int pageSize);

    /// <summary>Every vector the shard holds with its segment and RFM score, as the profiles last reported them (the lake's daily profile snapshot).</summary>
    Task<ShardSnapshotEntry[]> GetSnapshotAsync();

    /// <summary>
    /// Every user the shard holds a vector for, after <paramref name="afterProfileKey"/> (exclusive; null from the
    /// start), in key order: how an export enumerates a tenant's profiles without scanning storage.
    /// </summary>
    [AlwaysInterleave]
    Task<string[]> GetUsersAsync(string? afterProfileKey, int pageSize);

    /// <summary>Every assigned user's segment id under the shard's model (for the recommender's per-segment popularity).</summary>
    [AlwaysInterleave]
    Task<Dictionary<string, int>> GetAssignmentsAsync();
}

/// <summary>
/// A tenant's segmentation (key: tenant). On a reminder and on demand it samples vectors from the tenant's feature
/// shards, trains off its turn, publishes a versioned model to every shard, and answers for the tenant's segments.
/// </summary>
public interface ISegmentationGrain : IGrainWithStringKey
{
    /// <summary>Trains with <paramref name="settings"/> (null: the last settings, or the configured default) and publishes the model.</summary>
    Task<SegmentationRunResult> RunAsync(SegmentationRequest? settings);

    /// <summary>The published model, or null before the first.</summary>
    Task<SegmentModelView?> GetModelAsync();

    /// <summary>The model with live segment sizes summed over the shards (cached for a moment).</summary>
    Task<SegmentOverview> GetOverviewAsync();

    /// <summary>Makes sure the periodic retraining reminder is registered (called by shards as vectors arrive).</summary>
    [OneWay]
    Task EnsureScheduledAsync();
}

/// <summary>
/// A profile's feature vector as of <see cref="AsOf"/>, and <see cref="NextWindowChange"/>: when a windowed feature
/// (the 365-day counts) next changes with no new event, so the shard asks the profile again then; null when none will
/// (a profile on an older release sends none). <see cref="EngagementAtLastSeen"/>: the engagement velocity at the
/// profile's last event, from which a vector whose velocity decayed to 0 (a history about twenty years old) is moved
/// back to an instant of that history (null: none, or an older release).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.feature-update")]
public sealed record FeatureUpdate(
    [property: Id(0)] string ProfileKey,
    [property: Id(1)] double[] Values,
    [property: Id(2)] DateTimeOffset AsOf,
    [property: Id(3)] DateTimeOffset? NextWindowChange = null,
    [property: Id(4)] double? EngagementAtLastSeen = null);

/// <summary>
/// One profile as its feature shard holds it: the feature vector (in ProfileFeatures.All order) as of <see cref="AsOf"/>
/// (the profile's last material change), its segment (-1: none) since when, and its packed RFM score (0: none).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.shard-snapshot-entry")]
public sealed record ShardSnapshotEntry(
    [property: Id(0)] string ProfileKey,
    [property: Id(1)] double[] Values,
    [property: Id(2)] DateTimeOffset AsOf,
    [property: Id(3)] int Segment,
    [property: Id(4)] DateTimeOffset Since,
    [property: Id(5)] int Rfm);

/// <summary>A user's segment under a model, and their RFM scores under the same model (null: not a customer yet).</summary>
[GenerateSerializer, Immutable, Alias("pg.user-segment")]
public sealed record UserSegment(
    [property: Id(0)] int SegmentId,
    [property: Id(1)] string Label,
    [property: Id(2)] long ModelVersion,
    [property: Id(3)] DateTimeOffset Since,
    [property: Id(4)] UserRfm? Rfm = null);

/// <summary>A feature shard's segment labels: its assigned users' by profile key, and its model's by segment id.</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-labels")]
public sealed record SegmentLabels(
    [property: Id(0)] Dictionary<string, string> ByProfile,
    [property: Id(1)] Dictionary<int, string> ById);

/// <summary>
/// A customer's RFM scores (1-5 each; recency 5 = most recent), the code marketers write ("545") and the named cell
/// of the R×F grid (kebab-case, e.g. <c>cant-lose-them</c>).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.user-rfm")]
public sealed record UserRfm(
    [property: Id(0)] int Recency,
    [property: Id(1)] int Frequency,
    [property: Id(2)] int Monetary,
    [property: Id(3)] string Code,
    [property: Id(4)] string Cell);

/// <summary>A shard's segment sizes and RFM cell sizes (users per cell id) under the model it assigns with.</summary>
[GenerateSerializer, Immutable, Alias("pg.shard-segment-stats")]
public sealed record ShardSegmentStats(
    [property: Id(0)] long ModelVersion,
    [property: Id(1)] int Vectors,
    [property: Id(2)] Dictionary<int, int> Sizes,
    [property: Id(3)] Dictionary<string, int>? RfmSizes = null);

/// <summary>
/// The model with live sizes summed over the shards: per segment, and per RFM cell (customers only; users without an
/// RFM score are in neither <see cref="RfmSizes"/> nor its total).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.segment-overview")]
public sealed record SegmentOverview(
    [property: Id(0)] SegmentModelView? Model,
    [property: Id(1)] Dictionary<int, int> Sizes,
    [property: Id(2)] long UsersWithFeatures,
    [property: Id(3)] long Unassigned,
    [property: Id(4)] bool Running,
    [property: Id(5)] Dictionary<string, int>? RfmSizes = null);

/// <summary>How a run ended.</summary>
[GenerateSerializer]
public enum SegmentationRunOutcome
{
    /// <summary>A model was published (possibly with <see cref="SegmentationRunResult.Problems"/> as warnings).</summary>
    Published,

    /// <summary>The settings are wrong; each problem names its field.</summary>
    InvalidSettings,

    /// <summary>The tenant's users cannot support the requested segmentation (too few, too alike).</summary>
    InsufficientData,

    /// <summary>Another run of the tenant was in progress.</summary>
    AlreadyRunning,

    /// <summary>Training failed unexpectedly; the message says how.</summary>
    Failed,
}

[GenerateSerializer, Immutable, Alias("pg.segmentation-run-result")]
public sealed record SegmentationRunResult(
    [property: Id(0)] SegmentModelView? Model,
    [property: Id(1)] string[] Problems,
    [property: Id(2)] SegmentationRunOutcome Outcome);

/// <summary>One batch of segment membership changes of a tenant, published by a shard.</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-membership-changes")]
public sealed record SegmentMembershipChanges(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long ModelVersion,
    [property: Id(2)] SegmentMembershipChange[] Changes);

/// <summary>A user entered <see cref="To"/> from <see cref="From"/> (null: the user had no segment before).</summary>
[GenerateSerializer, Immutable, Alias("pg.segment-membership-change")]
public sealed record SegmentMembershipChange(
    [property: Id(0)] string ProfileKey,
    [property: Id(1)] int? From,
    [property: Id(2)] int To,
    [property: Id(3)] DateTimeOffset At);

/// <summary>Keys of the segmentation grains.</summary>
public static class SegmentKeys
{
    /// <summary>The shard grain key of <paramref name="shard"/> for <paramref name="tenant"/>: a <see cref="ProfileKey"/> with the shard number as user.</summary>
    public static string Shard(string tenant, int shard) => new ProfileKey(tenant, shard.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToString();

    /// <summary>The shard that owns <paramref name="profileKey"/> among <paramref name="shards"/> (<see cref="ProfileBuckets"/>).</summary>
    public static int ShardOf(string profileKey, int shards) => ProfileBuckets.Of(profileKey, shards, BucketSpace.FeatureShard);
}
