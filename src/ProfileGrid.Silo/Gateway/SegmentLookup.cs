using System.Globalization;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Grains;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Silo.Gateway;

/// <summary>Finds a user's segment where the user's vector lives: the feature shard that owns the profile key.</summary>
public sealed partial class SegmentLookup(IClusterClient cluster, IOptions<SegmentationOptions> options, ILogger<SegmentLookup> logger)
{
    /// <summary>
    /// The segment for a profile read: extra information, so a shard that cannot answer (still loading, a silo going
    /// down) leaves the segment out rather than failing the read.
    /// </summary>
    public async Task<UserSegment?> SegmentForProfileAsync(string tenant, string profileKey)
    {
        try
        {
            return await SegmentOfAsync(tenant, profileKey);
        }
        catch (Exception ex)
        {
            LogLookupFailed(profileKey, ex);
            return null;
        }
    }

    [LoggerMessage(EventId = 1030, Level = LogLevel.Warning, Message = "Segment of {ProfileKey} unavailable; the profile is returned without it")]
    private partial void LogLookupFailed(string profileKey, Exception exception);

    public IFeatureShardGrain ShardOf(string tenant, string profileKey) =>
        cluster.Reference<IFeatureShardGrain>(SegmentKeys.Shard(tenant, SegmentKeys.ShardOf(profileKey, options.Value.Shards)));

    public IFeatureShardGrain Shard(string tenant, int shard) => cluster.Reference<IFeatureShardGrain>(SegmentKeys.Shard(tenant, shard));

    public int Shards => options.Value.Shards;

    public Task<UserSegment?> SegmentOfAsync(string tenant, string profileKey) => ShardOf(tenant, profileKey).GetSegmentAsync(profileKey);

    public Task<SegmentExplanationResult> ExplainAsync(string tenant, string profileKey) => ShardOf(tenant, profileKey).ExplainAsync(profileKey);

    public static UserSegmentExplanation ToProto(string tenant, string userId, SegmentExplanationView explanation)
    {
        var proto = new UserSegmentExplanation
        {
            Tenant = tenant,
            UserId = userId,
            ModelVersion = explanation.ModelVersion,
            AsOf = WireTime.Of(explanation.AsOf),
            Segment = ToProto(explanation.Segment),
            NearestOther = explanation.NearestOther is { } other ? ToProto(other) : null,
            Margin = explanation.Margin,
            Summary = explanation.Summary,
            Listed = explanation.Listed is { } listed ? ToProto(listed, userId) : null,
        };
        proto.Features.AddRange(explanation.Features.Select(f => new FeatureExplanation
        {
            Feature = f.Feature,
            Value = f.Value,
            Centroid = f.Centroid,
            NearestOtherCentroid = f.NearestOtherCentroid,
            Normalised = f.Normalised,
            CentroidNormalised = f.CentroidNormalised,
            NearestOtherCentroidNormalised = f.NearestOtherCentroidNormalised,
            Contribution = f.Contribution,
            NearestOtherContribution = f.NearestOtherContribution,
        }));
        proto.FavouringFeatures.AddRange(explanation.Favouring);
        return proto;
    }

    private static SegmentDistance ToProto(SegmentDistanceView distance) => new()
    {
        SegmentId = distance.SegmentId,
        Label = distance.Label,
        Distance = distance.Distance,
    };

    public static SegmentMembership ToProto(UserSegment segment, string userId) => new()
    {
        UserId = userId,
        SegmentId = segment.SegmentId,
        Label = segment.Label,
        ModelVersion = segment.ModelVersion,
        Since = WireTime.Of(segment.Since),
        Rfm = segment.Rfm is { } rfm
            ? new RfmScore { Recency = rfm.Recency, Frequency = rfm.Frequency, Monetary = rfm.Monetary, Code = rfm.Code, Cell = rfm.Cell }
            : null,
    };
}
