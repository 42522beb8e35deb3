using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Stats;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Stats;

/// <summary>
/// A tenant's statistics: totals and distributions kept exact by the collectors' deltas, and the two rings of points.
/// Pure (time comes in as arguments), so the series logic is tested without a cluster.
/// </summary>
[GenerateSerializer, Alias("pg.stats-state")]
public sealed class TenantStatsState
{
    /// <summary>The key of the one bucket holding profiles whose last event is older than <see cref="AncientBeforeHour"/>.</summary>
    public const long Ancient = long.MinValue;

    /// <summary>Last events this many hours back or less are counted per hour; older ones per UTC day.</summary>
    public const int HourlyFor = 48;

    /// <summary>Last events older than this many days are counted in one bucket (all far beyond "> 1 y").</summary>
    public const int AncientAfterDays = 800;

    /// <summary>First events this many hours back or less are counted per hour (for "new today"); older ones are not kept.</summary>
    public const int FirstEventHoursKept = 48;

    [Id(0)] public long Accepted { get; set; }
    [Id(1)] public Dictionary<string, long> Rejected { get; set; } = new(StringComparer.Ordinal);
    [Id(2)] public long Applied { get; set; }
    [Id(3)] public long Duplicates { get; set; }
    [Id(4)] public long Profiles { get; set; }
    [Id(5)] public long[] ByKind { get; set; } = [];
    [Id(6)] public long[] BySource { get; set; } = [];
    [Id(7)] public long[] Completeness { get; set; } = new long[StatsBuckets.CompletenessBuckets];
    [Id(8)] public long[] EventsPerProfile { get; set; } = new long[StatsBuckets.EventCountBuckets];

    /// <summary>Profiles per hour (recent), per UTC day (key: the day's first hour) or in <see cref="Ancient"/> of their last event.</summary>
    [Id(9)] public Dictionary<long, long> LastEvent { get; set; } = [];
    [Id(10)] public long CompactedBeforeHour { get; set; } = long.MinValue + 1;
    [Id(11)] public long AncientBeforeHour { get; set; } = long.MinValue + 1;
    [Id(12)] public long Recommendations { get; set; }
    [Id(13)] public Dictionary<string, long> Sources { get; set; } = new(StringComparer.Ordinal);
    [Id(14)] public Dictionary<string, ShardSizes> Shards { get; set; } = new(StringComparer.Ordinal);
    [Id(15)] public StatsRing Minutes { get; set; } = new(TimeSpan.FromMinutes(1), StatsRing.Minutes);
    [Id(16)] public StatsRing Hours { get; set; } = new(TimeSpan.FromHours(1), StatsRing.Hours);
    [Id(17)] public DateTimeOffset? CollectedUntil { get; set; }
    [Id(18)] public DateTimeOffset? LastEventAt { get; set; }
    [Id(19)] public long SegmentMoves { get; set; }
    [Id(20)] public long Deltas { get; set; }

    /// <summary>Profiles per hour of their first event, for the last <see cref="FirstEventHoursKept"/> hours only.</summary>
    [Id(21)] public Dictionary<long, long> FirstEvent { get; set; } = [];

    /// <summary>Nothing was ever collected for the tenant.</summary>
    public bool IsEmpty => Deltas == 0;

    public void Apply(StatsDelta delta, DateTimeOffset now)
    {
        Deltas++;
        Compact(now);
        Accepted += delta.Accepted;
        Applied += delta.Applied;
        Duplicates += delta.Duplicates;
        Profiles += delta.NewProfiles - delta.ProfilesLeft;
        Recommendations += delta.Recommendations;
        SegmentMoves += delta.SegmentMoves;
        long rejected = 0;
        foreach (var (reason, n) in delta.Rejected ?? [])
        {
            Rejected[reason] = Rejected.GetValueOrDefault(reason) + n;
            rejected += n;
        }

        foreach (var (source, n) in delta.RecommendSources ?? [])
        {
            Sources[source] = Sources.GetValueOrDefault(source) + n;
        }

        ByKind = AddKept(ByKind, delta.ByKind);
        BySource = AddKept(BySource, delta.BySource);
        Completeness = AddKept(Completeness, delta.Completeness);
        EventsPerProfile = AddKept(EventsPerProfile, delta.EventsPerProfile);
        foreach (var (hour, n) in delta.LastEventHours ?? [])
        {
            var key = KeyOf(hour);
            var count = LastEvent.GetValueOrDefault(key) + n;
            if (count == 0)
            {
                LastEvent.Remove(key);
            }
            else
            {
                LastEvent[key] = count;
            }
        }

        var firstKeptHour = FirstEventKeptFrom(now);
        foreach (var (hour, n) in delta.FirstEventHours ?? [])
        {
            // A first event moved earlier than the kept hours leaves a -1 for an hour whose +1 is already gone: ignored.
            if (hour < firstKeptHour)
            {
                continue;
            }

            var count = FirstEvent.GetValueOrDefault(hour) + n;
            if (count == 0)
            {
                FirstEvent.Remove(hour);
            }
            else
            {
                FirstEvent[hour] = count;
            }
        }

        foreach (var (shard, reported) in delta.Shards ?? [])
        {
            Shards[shard] = reported;
        }

        if (delta.LastEventAt is { } last && (LastEventAt is null || last > LastEventAt))
        {
            LastEventAt = last;
        }

        CollectedUntil = CollectedUntil is { } until && until > delta.CollectedAt ? until : delta.CollectedAt;
        var sizes = delta.Shards is null ? null : SegmentSizes().Sizes;
        foreach (var point in new[] { Minutes.At(now), Hours.At(now) })
        {
            point.Accepted += delta.Accepted;
            point.Events += delta.Applied;
            point.Rejected += rejected;
            point.Duplicates += delta.Duplicates;
            point.NewProfiles += delta.NewProfiles;
            point.ProfilesUpdated += delta.ProfilesUpdated;
            point.Recommendations += delta.Recommendations;
            point.SegmentMoves += delta.SegmentMoves;
            point.RecommendLatency = Add(point.RecommendLatency, delta.RecommendLatency);
            point.Lag = Add(point.Lag, delta.Lag);
            if (sizes is not null)
            {
                point.SegmentSizes = sizes;
            }
        }
    }

    /// <summary>The summed sizes of the shards on the newest model, and that model's version.</summary>
    public (long Version, Dictionary<int, long> Sizes) SegmentSizes()
    {
        var version = Shards.Count == 0 ? 0 : Shards.Values.Max(s => s.ModelVersion);
        var sizes = new Dictionary<int, long>();
        foreach (var shard in Shards.Values.Where(s => s.ModelVersion == version))
        {
            foreach (var (segment, n) in shard.Sizes)
            {
                sizes[segment] = sizes.GetValueOrDefault(segment) + n;
            }
        }

        return (version, sizes);
    }

    /// <summary>Where a last event in <paramref name="hour"/> is counted now.</summary>
    public long KeyOf(long hour) =>
        hour < AncientBeforeHour ? Ancient : hour < CompactedBeforeHour ? StatsBuckets.DayStartHour(hour) : hour;

    /// <summary>Folds hours older than <see cref="HourlyFor"/> into their day and days older than <see cref="AncientAfterDays"/> into one bucket, so the map stays bounded (about 850 keys).</summary>
    public void Compact(DateTimeOffset now)
    {
        var firstKeptHour = FirstEventKeptFrom(now);
        foreach (var hour in FirstEvent.Keys.Where(h => h < firstKeptHour).ToArray())
        {
            FirstEvent.Remove(hour);
        }

        var nowHour = StatsBuckets.HourOf(now);
        var compactBefore = StatsBuckets.DayStartHour(nowHour - HourlyFor);
        var ancientBefore = StatsBuckets.DayStartHour(nowHour - AncientAfterDays * 24L);
        if (compactBefore <= CompactedBeforeHour && ancientBefore <= AncientBeforeHour)
        {
            return;
        }

        CompactedBeforeHour = Math.Max(CompactedBeforeHour, compactBefore);
        AncientBeforeHour = Math.Max(AncientBeforeHour, ancientBefore);
        foreach (var (key, n) in LastEvent.ToArray())
        {
            if (key == Ancient)
            {
                continue;
            }

            var moved = KeyOf(key);
            if (moved != key)
            {
                LastEvent.Remove(key);
                LastEvent[moved] = LastEvent.GetValueOrDefault(moved) + n;
            }
        }
    }

    private static long FirstEventKeptFrom(DateTimeOffset now) => StatsBuckets.HourOf(now) - FirstEventHoursKept;

    /// <summary>When a bucket's last events are taken to have happened: the middle of its hour or day.</summary>
    private DateTimeOffset MiddleOf(long key, DateTimeOffset now) =>
        key == Ancient ? now.AddDays(-AncientAfterDays)
        : key < CompactedBeforeHour ? StatsBuckets.HourStart(key).AddHours(12)
        : StatsBuckets.HourStart(key).AddMinutes(30);

    /// <param name="storedProfiles">
    /// The profiles the feature shards hold (null when they could not be asked): shown as the count, since the deltas
    /// behind <see cref="Profiles"/> are lost with a crash and never counted again. The shares keep the delta count their
    /// numerators come from.
    /// </param>
    public TenantStatsView View(string tenant, DateTimeOffset now, StatsOptions options, long itemsRecommended24h, bool itemsCapped, long? storedProfiles = null)
    {
        Compact(now);
        var staleness = new long[StatsBuckets.Staleness.Length];
        long dormant = 0;
        foreach (var (key, n) in LastEvent)
        {
            var age = now - MiddleOf(key, now);
            if (age < TimeSpan.Zero)
            {
                age = TimeSpan.Zero;
            }

            staleness[StatsBuckets.StalenessBucket(age)] += n;
            if (age > options.DormantAfter)
            {
                dormant += n;
            }
        }

        var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var todayHour = StatsBuckets.HourOf(today);
        var newToday = FirstEvent.Where(p => p.Key >= todayHour).Sum(p => Math.Max(0, p.Value));
        var addedToday = Math.Max(0, Hours.Window(now, 24).Where(p => Hours.StartOf(p.Slot) >= today).Sum(p => p.NewProfiles));
        var updated24h = Minutes.Window(now, StatsRing.Minutes).Sum(p => p.ProfilesUpdated);
        var lastHour = Minutes.Window(now, 60).ToArray();
        var lag = Merge(lastHour.Select(p => p.Lag));
        var latency = Merge(lastHour.Select(p => p.RecommendLatency));
        var lastEventsBucket = Array.FindLastIndex(EventsPerProfile, n => n != 0);
        var (version, sizes) = SegmentSizes();

        var profiles = new ProfileStatsView(
            storedProfiles ?? Math.Max(0, Profiles),
            newToday,
            addedToday,
            Profiles <= 0 ? 0 : Math.Round(Math.Clamp((double)dormant / Profiles, 0, 1), 6),
            options.DormantAfter.TotalDays,
            // A profile stored before collection began moves out of a bucket it was never added to: shown as 0, not negative.
            Enumerable.Range(0, StatsBuckets.CompletenessBuckets).Select(i => new RangeCount(i / 10.0, (i + 1) / 10.0, Math.Max(0, Completeness[i]))).ToArray(),
            StatsBuckets.Staleness.Select((s, i) => new LabelCount(s.Label, Math.Max(0, staleness[i]))).ToArray(),
            Enumerable.Range(0, Math.Max(1, lastEventsBucket + 1)).Select(i => new LabelCount(StatsBuckets.EventCountLabel(i), Math.Max(0, EventsPerProfile[i]))).ToArray(),
            Named<Channel>(BySource),
            Named<EventKind>(ByKind),
            Profiles == 0 ? 0 : Math.Round((double)updated24h / Profiles, 6),
            Applied);

        var ingest = new IngestStatsView(Accepted, new Dictionary<string, long>(Rejected, StringComparer.Ordinal), Duplicates, [], Percentiles(lag), 60);
        var segments = new SegmentStatsView(version, sizes.OrderBy(p => p.Key).ToDictionary(p => p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), p => p.Value), lastHour.Sum(p => p.SegmentMoves));
        var recommendations = new RecommendationStatsView(
            Recommendations, Percentiles(latency), new Dictionary<string, long>(Sources, StringComparer.Ordinal), 0, itemsRecommended24h, 0,
            lastHour.Sum(p => p.Recommendations), 60, itemsCapped);
        return new TenantStatsView(tenant, now, CollectedUntil, profiles, ingest, segments, recommendations);
    }

    public StatsSeriesView Series(bool hourly, DateTimeOffset now)
    {
        var ring = hourly ? Hours : Minutes;
        var points = ring.Window(now, ring.Capacity).Select(p => new SeriesPointView(
            // After a crash a bucket can hold merges and erasures of profiles whose creation it lost: shown as 0 (probe60: -12).
            ring.StartOf(p.Slot), p.Events, p.Rejected, p.Duplicates, Math.Max(0, p.NewProfiles), p.ProfilesUpdated, p.Recommendations,
            P95OrNull(p.RecommendLatency), p.SegmentMoves, P95OrNull(p.Lag),
            p.SegmentSizes?.OrderBy(s => s.Key).ToDictionary(s => s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), s => s.Value),
            p.Accepted)).ToArray();
        return new StatsSeriesView(hourly ? "hour" : "minute", points);
    }

    private static double? P95OrNull(long[]? histogram) =>
        histogram is null || Array.TrueForAll(histogram, c => c == 0) ? null : StatsBuckets.Quantile(histogram, 0.95);

    private static Percentiles Percentiles(long[]? histogram) =>
        new(StatsBuckets.Quantile(histogram, 0.50), StatsBuckets.Quantile(histogram, 0.95), StatsBuckets.Quantile(histogram, 0.99), histogram?.Sum() ?? 0);

    private static long[]? Merge(IEnumerable<long[]?> histograms)
    {
        long[]? merged = null;
        foreach (var h in histograms)
        {
            merged = Add(merged, h);
        }

        return merged;
    }

    private static Dictionary<string, long> Named<TEnum>(long[] counts) where TEnum : struct, Enum
    {
        var named = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var value in Enum.GetValues<TEnum>())
        {
            var i = Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture);
            if (i < counts.Length && counts[i] != 0)
            {
                named[WireNames.Of(value)] = counts[i];
            }
        }

        return named;
    }

    private static long[] AddKept(long[] into, long[]? from) => Add(into, from) ?? into;

    private static long[]? Add(long[]? into, long[]? from)
    {
        if (from is null)
        {
            return into;
        }

        if (into is null || into.Length < from.Length)
        {
            var grown = new long[from.Length];
            into?.CopyTo(grown, 0);
            into = grown;
        }

        for (var i = 0; i < from.Length; i++)
        {
            into[i] += from[i];
        }

        return into;
    }
}
