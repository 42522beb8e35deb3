using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Stats;

/// <summary>
/// What one silo collected for one tenant during one flush interval: counters as increments, distributions as signed
/// bucket deltas (a profile that moved from completeness bucket 3 to 5 is -1 at 3 and +1 at 5), so the tenant's stats
/// grain keeps exact totals without ever asking a profile. Null collections mean "nothing of that kind".
/// </summary>
[GenerateSerializer, Alias("pg.stats-delta")]
public sealed class StatsDelta
{
    /// <summary>When the silo cut this delta (its clock): the grain's "collected until".</summary>
    [Id(0)] public DateTimeOffset CollectedAt { get; set; }

    /// <summary>Events acknowledged by the gateway.</summary>
    [Id(1)] public long Accepted { get; set; }

    /// <summary>Events refused by the gateway, by reason code (see docs/stats.md).</summary>
    [Id(2)] public Dictionary<string, long>? Rejected { get; set; }

    /// <summary>Events applied to profiles (not duplicates).</summary>
    [Id(3)] public long Applied { get; set; }

    /// <summary>Events a profile ignored because it had already applied them (replays, client retries).</summary>
    [Id(4)] public long Duplicates { get; set; }

    /// <summary>Profiles that applied their first event.</summary>
    [Id(5)] public long NewProfiles { get; set; }

    /// <summary>
    /// Profiles that left the tenant's figures (merged into another person, erased): they lower the profile count, not the
    /// profiles added in the interval (probe72 F2: an erasure showed as one profile fewer added in its minute).
    /// </summary>
    [Id(21)] public long ProfilesLeft { get; set; }

    /// <summary>Apply calls that changed a profile (one per profile per log record or stream batch).</summary>
    [Id(6)] public long ProfilesUpdated { get; set; }

    /// <summary>Applied events by <c>EventKind</c> value (index = the enum's number).</summary>
    [Id(7)] public long[]? ByKind { get; set; }

    /// <summary>Applied events by <c>Channel</c> value (index = the enum's number).</summary>
    [Id(8)] public long[]? BySource { get; set; }

    /// <summary>Signed changes of the completeness distribution (10 buckets of 0.1).</summary>
    [Id(9)] public long[]? Completeness { get; set; }

    /// <summary>Signed changes of the events-per-profile distribution (log2 buckets: 1, 2-3, 4-7, ...).</summary>
    [Id(10)] public long[]? EventsPerProfile { get; set; }

    /// <summary>Signed changes of the count of profiles per hour of their last event (key: hours since the Unix epoch).</summary>
    [Id(11)] public Dictionary<long, long>? LastEventHours { get; set; }

    /// <summary>Acknowledged-to-applied lag, as counts per <c>LatencyHistogram</c> bucket.</summary>
    [Id(12)] public long[]? Lag { get; set; }

    /// <summary>Recommend calls served.</summary>
    [Id(13)] public long Recommendations { get; set; }

    /// <summary>Recommend latency, as counts per <c>LatencyHistogram</c> bucket.</summary>
    [Id(14)] public long[]? RecommendLatency { get; set; }

    /// <summary>Items served, by the source the serving path labelled them with (cf, ease, popular, segment-popular, rule).</summary>
    [Id(15)] public Dictionary<string, long>? RecommendSources { get; set; }

    /// <summary>Distinct items served during the interval (bounded by the collector).</summary>
    [Id(16)] public string[]? RecommendedItems { get; set; }

    /// <summary>Live segment moves (a profile assigned to another segment of the same model).</summary>
    [Id(17)] public long SegmentMoves { get; set; }

    /// <summary>The latest segment sizes of each feature shard that changed, by shard key.</summary>
    [Id(18)] public Dictionary<string, ShardSizes>? Shards { get; set; }

    /// <summary>The latest last-event instant seen (for the tenant list).</summary>
    [Id(19)] public DateTimeOffset? LastEventAt { get; set; }

    /// <summary>
    /// Signed changes of the count of profiles per hour of their first event (the earliest <c>occurredAt</c> they hold),
    /// for recent hours only (key: hours since the Unix epoch).
    /// </summary>
    [Id(20)] public Dictionary<long, long>? FirstEventHours { get; set; }
}

/// <summary>A feature shard's segment sizes under the model it assigns with.</summary>
[GenerateSerializer, Immutable, Alias("pg.stats-shard-sizes")]
public sealed record ShardSizes([property: Id(0)] long ModelVersion, [property: Id(1)] Dictionary<int, int> Sizes);

/// <summary>One line of the tenant list.</summary>
[GenerateSerializer, Immutable, Alias("pg.stats-tenant-summary")]
public sealed record TenantSummary(
    [property: Id(0)] string Tenant,
    [property: Id(1)] long Profiles,
    [property: Id(2)] DateTimeOffset? LastEventAt);

/// <summary>p50, p95 and p99 in milliseconds, and how many samples they come from (0: the percentiles are 0 and mean "no data").</summary>
[GenerateSerializer, Immutable, Alias("pg.stats-percentiles")]
public sealed record Percentiles(
    [property: Id(0)] double P50,
    [property: Id(1)] double P95,
    [property: Id(2)] double P99,
    [property: Id(3)] long Samples);

[GenerateSerializer, Immutable, Alias("pg.stats-range-count")]
public sealed record RangeCount([property: Id(0)] double From, [property: Id(1)] double To, [property: Id(2)] long Count);

[GenerateSerializer, Immutable, Alias("pg.stats-label-count")]
public sealed record LabelCount([property: Id(0)] string Label, [property: Id(1)] long Count);

[GenerateSerializer, Immutable, Alias("pg.stats-profiles")]
public sealed record ProfileStatsView(
    [property: Id(0)] long Count,
    [property: Id(1)] long NewToday,
    [property: Id(11)] long AddedToday,
    [property: Id(2)] double DormantShare,
    [property: Id(3)] double DormantAfterDays,
    [property: Id(4)] RangeCount[] Completeness,
    [property: Id(5)] LabelCount[] Staleness,
    [property: Id(6)] LabelCount[] EventsPerProfile,
    [property: Id(7)] Dictionary<string, long> EventsBySource,
    [property: Id(8)] Dictionary<string, long> EventsByType,
    [property: Id(9)] double UpdatesPerProfilePerDay,
    [property: Id(10)] long EventsApplied);

[GenerateSerializer, Immutable, Alias("pg.stats-partition-backlog")]
public sealed record PartitionBacklog(
    [property: Id(0)] int Partition,
    [property: Id(1)] long Unwritten,
    [property: Id(2)] long AwaitingDispatch);

[GenerateSerializer, Immutable, Alias("pg.stats-ingest")]
public sealed record IngestStatsView(
    [property: Id(0)] long Accepted,
    [property: Id(1)] Dictionary<string, long> Rejected,
    [property: Id(2)] long Duplicates,
    [property: Id(3)] PartitionBacklog[] Backlog,
    [property: Id(4)] Percentiles LagMs,
    [property: Id(5)] int LagWindowMinutes);

[GenerateSerializer, Immutable, Alias("pg.stats-segments")]
public sealed record SegmentStatsView(
    [property: Id(0)] long ModelVersion,
    [property: Id(1)] Dictionary<string, long> Sizes,
    [property: Id(2)] long MovesLastHour);

[GenerateSerializer, Immutable, Alias("pg.stats-recommendations")]
public sealed record RecommendationStatsView(
    [property: Id(0)] long Requests,
    [property: Id(1)] Percentiles LatencyMs,
    [property: Id(2)] Dictionary<string, long> Sources,
    [property: Id(3)] double Coverage,
    [property: Id(4)] long ItemsRecommended24h,
    [property: Id(5)] long CatalogSize,
    [property: Id(6)] long RequestsLastHour,
    [property: Id(7)] int LatencyWindowMinutes,
    [property: Id(8)] bool ItemsCapped);

/// <summary>A tenant's statistics as the stats grain holds them; the gateway adds what lives elsewhere (backlog, catalog size).</summary>
[GenerateSerializer, Immutable, Alias("pg.stats-tenant")]
public sealed record TenantStatsView(
    [property: Id(0)] string Tenant,
    [property: Id(1)] DateTimeOffset AsOf,
    [property: Id(2)] DateTimeOffset? CollectedUntil,
    [property: Id(3)] ProfileStatsView Profiles,
    [property: Id(4)] IngestStatsView Ingest,
    [property: Id(5)] SegmentStatsView Segments,
    [property: Id(6)] RecommendationStatsView Recommendations);

/// <summary>
/// One point of a series: what happened during its minute (or hour) starting at <see cref="T"/>. A percentile without a
/// sample in the point (no recommendation served, no event applied) is null, not 0 ms.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.stats-series-point")]
public sealed record SeriesPointView(
    [property: Id(0)] DateTimeOffset T,
    [property: Id(1)] long Events,
    [property: Id(2)] long Rejected,
    [property: Id(3)] long Duplicates,
    [property: Id(4)] long NewProfiles,
    [property: Id(5)] long ProfilesUpdated,
    [property: Id(6)] long Recommendations,
    [property: Id(7)] double? RecommendLatencyP95Ms,
    [property: Id(8)] long SegmentMoves,
    [property: Id(9)] double? LagP95Ms,
    [property: Id(10)] Dictionary<string, long>? SegmentSizes,
    [property: Id(11)] long Accepted);

[GenerateSerializer, Immutable, Alias("pg.stats-series")]
public sealed record StatsSeriesView(
    [property: Id(0)] string Resolution,
    [property: Id(1)] SeriesPointView[] Points);
