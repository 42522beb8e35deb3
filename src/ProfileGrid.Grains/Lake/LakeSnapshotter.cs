using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Parquet.Serialization.Attributes;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Daily profile snapshots: one Parquet file per tenant and UTC day with one row per profile its feature shards hold,
/// built from what profiles already report to their shards (their feature vector on every material change, with
/// segment and RFM score), so no profile grain is called. Tenants are those the archiver has seen events of.
/// </summary>
public sealed partial class LakeSnapshotter(
    ILakeStore store, IGrainFactory grains, IOptions<SegmentationOptions> segmentation, TimeProvider clock, ILogger<LakeSnapshotter> logger)
{
    private static readonly int[] FeatureIndex = [.. new[]
    {
        "recency_days", "frequency", "monetary", "average_order_value", "engagement_velocity", "sessions", "tenure_days", "category_diversity",
        "days_since_last_seen", "frequency_365d", "monetary_365d", "days_since_first_purchase",
    }.Select(name => ProfileFeatures.All.ToList().IndexOf(name))];

    private DateOnly? _doneFor;

    /// <summary>Writes the tenant's snapshot of <paramref name="day"/> (replacing one taken earlier that day); returns its rows.</summary>
    public async Task<int> SnapshotAsync(string tenant, DateOnly day, CancellationToken cancellationToken = default)
    {
        var takenAt = clock.GetUtcNow().UtcDateTime;
        var shards = await Task.WhenAll(Enumerable.Range(0, segmentation.Value.Shards)
            .Select(i => grains.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(tenant, i)).GetSnapshotAsync()));
        var rows = shards.SelectMany(s => s).Select(entry => Row(entry, day, takenAt)).OrderBy(r => r.UserId, StringComparer.Ordinal).ToList();
        await store.WriteAsync(LakePaths.Snapshot(tenant, day), await LakeParquet.WriteAsync(rows, cancellationToken), cancellationToken);
        LogSnapshot(tenant, day, rows.Count);
        return rows.Count;
    }

    /// <summary>
    /// Takes today's snapshot of every tenant the lake has events of that has none yet for today (UTC); called by log
    /// partition 0's archive steps, so a day's snapshot is taken in its first archive interval.
    /// </summary>
    public async Task<int> SnapshotDueAsync(CancellationToken cancellationToken = default)
    {
        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        if (_doneFor == today)
        {
            return 0;
        }

        var taken = 0;
        var tenants = new List<string>();
        await foreach (var file in store.ListAsync(LakePaths.State + "tenants/", cancellationToken))
        {
            if (await store.ReadAsync(file.Name, cancellationToken) is { } bytes)
            {
                tenants.Add(JsonSerializer.Deserialize<string>(bytes)!);
            }
        }

        foreach (var tenant in tenants)
        {
            if (await store.ReadAsync(LakePaths.Snapshot(tenant, today), cancellationToken) is null)
            {
                await SnapshotAsync(tenant, today, cancellationToken);
                taken++;
            }
        }

        // Tenants first seen later today get their first snapshot tomorrow (or on demand).
        _doneFor = today;
        return taken;
    }

    private static LakeProfileSnapshotRow Row(ShardSnapshotEntry entry, DateOnly day, DateTime takenAt)
    {
        var key = ProfileKey.Parse(entry.ProfileKey);
        double? Feature(int i) => FeatureIndex[i] >= 0 && FeatureIndex[i] < entry.Values.Length ? entry.Values[FeatureIndex[i]] : null;
        var rfm = RfmScore.FromPacked(entry.Rfm);

        // The vector holds stand-ins for a profile that never bought (recency and first purchase count from first seen,
        // the average order value is 0): the snapshot says "not known", as the profile API does (probe72 F3).
        var neverBought = Feature(1) is 0;
        return new LakeProfileSnapshotRow
        {
            Tenant = key.Tenant,
            UserId = key.UserId,
            SnapshotDate = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
            TakenAt = takenAt,
            FeaturesAsOf = entry.AsOf.UtcDateTime,
            RecencyDays = neverBought ? null : Feature(0),
            Frequency = Feature(1),
            Monetary = Feature(2),
            AverageOrderValue = neverBought ? null : Feature(3),
            EngagementVelocity = Feature(4),
            Sessions = Feature(5),
            TenureDays = Feature(6),
            CategoryDiversity = Feature(7),
            DaysSinceLastSeen = Feature(8),
            Frequency365d = Feature(9),
            Monetary365d = Feature(10),
            DaysSinceFirstPurchase = neverBought ? null : Feature(11),
            Segment = entry.Segment >= 0 ? entry.Segment : null,
            SegmentSince = entry.Segment >= 0 ? entry.Since.UtcDateTime : null,
            RfmCode = rfm?.Code,
            RfmCell = rfm?.Cell,
        };
    }

    [LoggerMessage(EventId = 3320, Level = LogLevel.Information, Message = "Lake: snapshot of tenant {Tenant} for {Day}: {Profiles} profiles")]
    private partial void LogSnapshot(string tenant, DateOnly day, int profiles);
}

/// <summary>One profile in a daily snapshot (docs/lake.md): its headline features as its feature shard holds them.</summary>
public sealed class LakeProfileSnapshotRow
{
    [JsonPropertyName("tenant"), ParquetRequired] public string Tenant { get; set; } = "";
    [JsonPropertyName("user_id"), ParquetRequired] public string UserId { get; set; } = "";

    [JsonPropertyName("snapshot_date"), ParquetTimestamp(ParquetTimestampResolution.Milliseconds, useLogicalTimestamp: true, isAdjustedToUTC: true)]
    public DateTime SnapshotDate { get; set; }

    [JsonPropertyName("taken_at"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, useLogicalTimestamp: true, isAdjustedToUTC: true)]
    public DateTime TakenAt { get; set; }

    /// <summary>When the profile computed these features (its last material change, or a window refresh).</summary>
    [JsonPropertyName("features_as_of"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, useLogicalTimestamp: true, isAdjustedToUTC: true)]
    public DateTime FeaturesAsOf { get; set; }

    [JsonPropertyName("recency_days")] public double? RecencyDays { get; set; }
    [JsonPropertyName("frequency")] public double? Frequency { get; set; }
    [JsonPropertyName("monetary")] public double? Monetary { get; set; }
    [JsonPropertyName("average_order_value")] public double? AverageOrderValue { get; set; }
    [JsonPropertyName("engagement_velocity")] public double? EngagementVelocity { get; set; }
    [JsonPropertyName("sessions")] public double? Sessions { get; set; }
    [JsonPropertyName("tenure_days")] public double? TenureDays { get; set; }
    [JsonPropertyName("category_diversity")] public double? CategoryDiversity { get; set; }
    [JsonPropertyName("days_since_last_seen")] public double? DaysSinceLastSeen { get; set; }
    [JsonPropertyName("frequency_365d")] public double? Frequency365d { get; set; }
    [JsonPropertyName("monetary_365d")] public double? Monetary365d { get; set; }
    [JsonPropertyName("days_since_first_purchase")] public double? DaysSinceFirstPurchase { get; set; }
    [JsonPropertyName("segment")] public int? Segment { get; set; }

    [JsonPropertyName("segment_since"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, useLogicalTimestamp: true, isAdjustedToUTC: true)]
    public DateTime? SegmentSince { get; set; }

    [JsonPropertyName("rfm_code")] public string? RfmCode { get; set; }
    [JsonPropertyName("rfm_cell")] public string? RfmCell { get; set; }
}
