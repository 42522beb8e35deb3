using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Stats;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Stats;

/// <summary>
/// The silo-local statistics collector (one DI singleton per silo, as GPSTracker's per-silo pre-aggregation): profile
/// grains, log partitions, feature shards, the gateway and the recommendation path record into it with plain in-memory
/// calls, and <see cref="StatsFlusher"/> sends what it holds to each tenant's stats grain once per flush interval. A
/// singleton rather than a [StatelessWorker] grain: recording must cost a lock and a few additions, not a grain message
/// per event (a stateless worker is still called through the message pump and copies its arguments).
/// </summary>
public sealed class StatsCollector(IOptions<StatsOptions> options)
{
    private readonly ConcurrentDictionary<string, TenantStatsBuffer> _tenants = new(StringComparer.Ordinal);

    public bool Enabled { get; } = options.Value.Enabled;

    /// <summary>The tenant's buffer; null when collection is off (callers then skip all their statistics work).</summary>
    public TenantStatsBuffer? For(string tenant) =>
        !Enabled || string.IsNullOrEmpty(tenant) ? null : _tenants.TryGetValue(tenant, out var known) ? known : _tenants.GetOrAdd(tenant, static t => new TenantStatsBuffer(t));

    /// <summary>Every tenant this silo has recorded for.</summary>
    public ICollection<TenantStatsBuffer> Buffers => _tenants.Values;
}

/// <summary>
/// One tenant's statistics collected in this silo since the last flush. Every method takes a short lock: grains of the
/// tenant record from many threads; a flush swaps what was collected out under the same lock.
/// </summary>
public sealed class TenantStatsBuffer(string tenant)
{
    /// <summary>Distinct recommended items kept per flush interval; more are not tracked for coverage in that interval.</summary>
    public const int MaxItemsPerFlush = 20_000;

    private static readonly int KindCount = Enum.GetValues<EventKind>().Max(k => (int)k) + 1;
    private static readonly int SourceCount = Enum.GetValues<Channel>().Max(c => (int)c) + 1;

    private readonly Lock _gate = new();
    private Pending _pending = new();

    public string Tenant { get; } = tenant;

    /// <summary>Set by the flusher once the tenant directory knows this tenant.</summary>
    public bool Registered { get; set; }

    public void Accepted(int events)
    {
        lock (_gate)
        {
            _pending.Any = true;
            _pending.Accepted += events;
        }
    }

    public void Rejected(string reason, int events = 1)
    {
        lock (_gate)
        {
            _pending.Any = true;
            var rejected = _pending.Rejected ??= new(StringComparer.Ordinal);
            rejected[reason] = rejected.GetValueOrDefault(reason) + events;
        }
    }

    /// <summary>
    /// An event id repeated within one request for the same user: the gateway took the first and answered the rest as
    /// duplicates, so they are counted with the duplicates a profile ignores, not as refused.
    /// </summary>
    public void RepeatedInRequest(int events = 1)
    {
        lock (_gate)
        {
            _pending.Any = true;
            _pending.Duplicates += events;
        }
    }

    /// <summary>
    /// A profile applied a batch: its marks before and after, what the batch did, and the events it applied by type and
    /// source (<paramref name="tally"/>, filled by <see cref="ProfileUpdater.Apply"/>).
    /// </summary>
    public void ProfileApplied(in ProfileStatsMark before, in ProfileStatsMark after, ApplyResult result, EventTally tally)
    {
        lock (_gate)
        {
            var p = _pending;
            p.Any = true;
            p.Applied += result.Applied;
            p.Duplicates += result.Duplicates;
            if (result.Applied > 0)
            {
                p.ProfilesUpdated++;
                var kinds = p.ByKind ??= new long[KindCount];
                var sources = p.BySource ??= new long[SourceCount];
                tally.AddTo(kinds, sources);
            }

            Moved(p, before, after);
        }
    }

    /// <summary>
    /// A merge brought a visitor's history into a person who already had some of it (the same order reported by the web
    /// and the CRM): the visitor counted those events when it applied them (<paramref name="counted"/>), the person
    /// applied only <paramref name="applied"/>, so the rest would be counted twice for one person's profile.
    /// </summary>
    public void MergeDeduplicated(EventTally counted, EventTally applied)
    {
        if (counted.Count == applied.Count)
        {
            return;
        }

        lock (_gate)
        {
            var p = _pending;
            p.Any = true;
            p.Applied -= counted.Count - applied.Count;
            p.Duplicates += counted.Count - applied.Count;
            var kinds = p.ByKind ??= new long[KindCount];
            var sources = p.BySource ??= new long[SourceCount];
            counted.SubtractFrom(kinds, sources);
            applied.AddTo(kinds, sources);
        }
    }

    /// <summary>A profile changed without events (attributes, preferences): only its distributions may move.</summary>
    public void ProfileChanged(in ProfileStatsMark before, in ProfileStatsMark after)
    {
        if (before == after)
        {
            return;
        }

        lock (_gate)
        {
            _pending.Any = true;
            Moved(_pending, before, after);
        }
    }

    /// <summary>
    /// A profile merged away comes back (an unmerge): in the tenant's figures again, as a profile that had left, not as one
    /// added (its first event was applied long before).
    /// </summary>
    public void ProfileReturned(in ProfileStatsMark after)
    {
        if (!after.Counted)
        {
            return;
        }

        lock (_gate)
        {
            _pending.Any = true;
            Moved(_pending, default, after);
            _pending.NewProfiles--;
            _pending.ProfilesLeft--;
        }
    }

    private static void Moved(Pending p, in ProfileStatsMark before, in ProfileStatsMark after)
    {
        if (!after.Counted && before.Counted)
        {
            Left(p, before);
            return;
        }

        if (!after.Counted || before == after)
        {
            return;
        }

        if (!before.Counted)
        {
            p.NewProfiles++;
        }

        if (before.Completeness != after.Completeness || !before.Counted)
        {
            var completeness = p.Completeness ??= new long[StatsBuckets.CompletenessBuckets];
            if (before.Counted)
            {
                completeness[before.Completeness]--;
            }

            completeness[after.Completeness]++;
        }

        if (before.EventCount != after.EventCount || !before.Counted)
        {
            var counts = p.EventsPerProfile ??= new long[StatsBuckets.EventCountBuckets];
            if (before.Counted && before.EventCount >= 0)
            {
                counts[before.EventCount]--;
            }

            if (after.EventCount >= 0)
            {
                counts[after.EventCount]++;
            }
        }

        if (before.FirstSeen != after.FirstSeen || !before.Counted)
        {
            MoveHour(ref p.FirstEventHours, before.Counted ? before.FirstSeen : null, after.FirstSeen);
        }

        if (before.LastSeen != after.LastSeen || !before.Counted)
        {
            MoveHour(ref p.LastEventHours, before.Counted ? before.LastSeen : null, after.LastSeen);
            if (after.LastSeen is { } last && (p.LastEventAt is null || last > p.LastEventAt))
            {
                p.LastEventAt = last;
            }
        }
    }

    /// <summary>-1 at the hour of <paramref name="was"/> and +1 at the hour of <paramref name="now"/>, either one absent.</summary>
    private static void MoveHour(ref Dictionary<long, long>? hours, DateTimeOffset? was, DateTimeOffset? now)
    {
        if (was is null && now is null)
        {
            return;
        }

        var map = hours ??= [];
        if (was is { } from)
        {
            var h = StatsBuckets.HourOf(from);
            map[h] = map.GetValueOrDefault(h) - 1;
        }

        if (now is { } to)
        {
            var h = StatsBuckets.HourOf(to);
            map[h] = map.GetValueOrDefault(h) + 1;
        }
    }

    /// <summary>A profile leaves the tenant's figures (merged into another, which counts for both; erased).</summary>
    private static void Left(Pending p, in ProfileStatsMark before)
    {
        p.ProfilesLeft++;
        (p.Completeness ??= new long[StatsBuckets.CompletenessBuckets])[before.Completeness]--;
        if (before.EventCount >= 0)
        {
            (p.EventsPerProfile ??= new long[StatsBuckets.EventCountBuckets])[before.EventCount]--;
        }

        MoveHour(ref p.LastEventHours, before.LastSeen, null);
        MoveHour(ref p.FirstEventHours, before.FirstSeen, null);
    }

    /// <summary>A log record reached a profile this long after the gateway's acknowledgement.</summary>
    public void Lag(double milliseconds)
    {
        lock (_gate)
        {
            _pending.Any = true;
            (_pending.Lag ??= new long[StatsBuckets.LatencyBuckets])[StatsBuckets.Latency(milliseconds)]++;
        }
    }

    /// <summary>A Recommend call served <paramref name="items"/> in <paramref name="milliseconds"/>.</summary>
    public void Recommended<T>(double milliseconds, IReadOnlyList<T> items, Func<T, string> itemId, Func<T, string> source)
    {
        lock (_gate)
        {
            var p = _pending;
            p.Any = true;
            p.Recommendations++;
            (p.RecommendLatency ??= new long[StatsBuckets.LatencyBuckets])[StatsBuckets.Latency(milliseconds)]++;
            var sources = p.Sources ??= new(StringComparer.Ordinal);
            var ids = p.Items ??= new(StringComparer.Ordinal);
            for (var i = 0; i < items.Count; i++)
            {
                var label = source(items[i]);
                sources[label] = sources.GetValueOrDefault(label) + 1;
                if (ids.Count < MaxItemsPerFlush)
                {
                    ids.Add(itemId(items[i]));
                }
            }
        }
    }

    /// <summary>A feature shard's assignments changed: <paramref name="moves"/> live moves, and its sizes now.</summary>
    public void Segments(string shard, int moves, ShardSizes? sizes)
    {
        lock (_gate)
        {
            var p = _pending;
            p.Any = true;
            p.SegmentMoves += moves;
            if (sizes is not null)
            {
                (p.Shards ??= new(StringComparer.Ordinal))[shard] = sizes;
            }
        }
    }

    /// <summary>What was collected since the last call, or null when nothing was; the buffer starts afresh.</summary>
    public StatsDelta? Take(DateTimeOffset now)
    {
        Pending p;
        lock (_gate)
        {
            if (!_pending.Any)
            {
                return null;
            }

            p = _pending;
            _pending = new Pending();
        }

        return new StatsDelta
        {
            CollectedAt = now,
            Accepted = p.Accepted,
            Rejected = p.Rejected,
            Applied = p.Applied,
            Duplicates = p.Duplicates,
            NewProfiles = p.NewProfiles,
            ProfilesLeft = p.ProfilesLeft,
            ProfilesUpdated = p.ProfilesUpdated,
            ByKind = p.ByKind,
            BySource = p.BySource,
            Completeness = p.Completeness,
            EventsPerProfile = p.EventsPerProfile,
            LastEventHours = p.LastEventHours?.Where(pair => pair.Value != 0).ToDictionary(),
            FirstEventHours = RecentFirstEvents(p.FirstEventHours, now),
            Lag = p.Lag,
            Recommendations = p.Recommendations,
            RecommendLatency = p.RecommendLatency,
            RecommendSources = p.Sources,
            RecommendedItems = p.Items?.ToArray(),
            SegmentMoves = p.SegmentMoves,
            Shards = p.Shards,
            LastEventAt = p.LastEventAt,
        };
    }

    /// <summary>Puts back a delta whose flush failed, so the next flush carries it.</summary>
    public void Return(StatsDelta delta)
    {
        lock (_gate)
        {
            var p = _pending;
            p.Any = true;
            p.Accepted += delta.Accepted;
            p.Applied += delta.Applied;
            p.Duplicates += delta.Duplicates;
            p.NewProfiles += delta.NewProfiles;
            p.ProfilesLeft += delta.ProfilesLeft;
            p.ProfilesUpdated += delta.ProfilesUpdated;
            p.Recommendations += delta.Recommendations;
            p.SegmentMoves += delta.SegmentMoves;
            AddAll(ref p.Rejected, delta.Rejected);
            AddAll(ref p.Sources, delta.RecommendSources);
            AddArray(ref p.ByKind, delta.ByKind);
            AddArray(ref p.BySource, delta.BySource);
            AddArray(ref p.Completeness, delta.Completeness);
            AddArray(ref p.EventsPerProfile, delta.EventsPerProfile);
            AddArray(ref p.Lag, delta.Lag);
            AddArray(ref p.RecommendLatency, delta.RecommendLatency);
            AddHours(ref p.LastEventHours, delta.LastEventHours);
            AddHours(ref p.FirstEventHours, delta.FirstEventHours);

            if (delta.RecommendedItems is { } items)
            {
                var ids = p.Items ??= new(StringComparer.Ordinal);
                foreach (var id in items)
                {
                    if (ids.Count < MaxItemsPerFlush)
                    {
                        ids.Add(id);
                    }
                }
            }

            if (delta.Shards is { } shards)
            {
                var mine = p.Shards ??= new(StringComparer.Ordinal);
                foreach (var (key, sizes) in shards)
                {
                    mine.TryAdd(key, sizes); // a newer report taken since wins
                }
            }

            if (delta.LastEventAt is { } last && (p.LastEventAt is null || last > p.LastEventAt))
            {
                p.LastEventAt = last;
            }
        }
    }

    /// <summary>
    /// The first-event changes the stats grain keeps: it counts first events of the last
    /// <see cref="TenantStatsState.FirstEventHoursKept"/> hours only (for "new today"), so older ones, a history import's, are not sent.
    /// </summary>
    private static Dictionary<long, long>? RecentFirstEvents(Dictionary<long, long>? hours, DateTimeOffset now)
    {
        if (hours is null)
        {
            return null;
        }

        var from = StatsBuckets.HourOf(now) - TenantStatsState.FirstEventHoursKept;
        var recent = hours.Where(pair => pair.Value != 0 && pair.Key >= from).ToDictionary();
        return recent.Count == 0 ? null : recent;
    }

    private static void AddHours(ref Dictionary<long, long>? into, Dictionary<long, long>? from)
    {
        if (from is null)
        {
            return;
        }

        into ??= [];
        foreach (var (hour, n) in from)
        {
            into[hour] = into.GetValueOrDefault(hour) + n;
        }
    }

    private static void AddAll(ref Dictionary<string, long>? into, Dictionary<string, long>? from)
    {
        if (from is null)
        {
            return;
        }

        into ??= new(StringComparer.Ordinal);
        foreach (var (key, n) in from)
        {
            into[key] = into.GetValueOrDefault(key) + n;
        }
    }

    private static void AddArray(ref long[]? into, long[]? from)
    {
        if (from is null)
        {
            return;
        }

        into ??= new long[from.Length];
        for (var i = 0; i < Math.Min(into.Length, from.Length); i++)
        {
            into[i] += from[i];
        }
    }

    private sealed class Pending
    {
        public bool Any;
        public long Accepted, Applied, Duplicates, NewProfiles, ProfilesLeft, ProfilesUpdated, Recommendations, SegmentMoves;
        public Dictionary<string, long>? Rejected, Sources;
        public long[]? ByKind, BySource, Completeness, EventsPerProfile, Lag, RecommendLatency;
        public Dictionary<long, long>? LastEventHours, FirstEventHours;
        public HashSet<string>? Items;
        public Dictionary<string, ShardSizes>? Shards;
        public DateTimeOffset? LastEventAt;
    }
}

/// <summary>
/// Counts the events one apply call applied, by type and source. One per thread, reset before each apply: the apply is
/// synchronous, so a thread's tally is never shared, and no profile carries counters of its own.
/// </summary>
public sealed class EventTally : IEventTally
{
    [ThreadStatic] private static EventTally? _current;

    private readonly int[] _kinds = new int[32];
    private readonly int[] _sources = new int[8];
    private int _count;

    /// <summary>This thread's tally, emptied.</summary>
    public static EventTally Begin()
    {
        var tally = _current ??= new EventTally();
        if (tally._count > 0)
        {
            Array.Clear(tally._kinds);
            Array.Clear(tally._sources);
            tally._count = 0;
        }

        return tally;
    }

    public void Applied(UserEvent applied)
    {
        _kinds[Math.Clamp((int)applied.Kind, 0, _kinds.Length - 1)]++;
        _sources[Math.Clamp((int)applied.Source, 0, _sources.Length - 1)]++;
        _count++;
    }

    /// <summary>Events tallied.</summary>
    public int Count => _count;

    internal void SubtractFrom(long[] kinds, long[] sources)
    {
        for (var i = 0; i < Math.Min(kinds.Length, _kinds.Length); i++)
        {
            kinds[i] -= _kinds[i];
        }

        for (var i = 0; i < Math.Min(sources.Length, _sources.Length); i++)
        {
            sources[i] -= _sources[i];
        }
    }

    internal void AddTo(long[] kinds, long[] sources)
    {
        for (var i = 0; i < Math.Min(kinds.Length, _kinds.Length); i++)
        {
            kinds[i] += _kinds[i];
        }

        for (var i = 0; i < Math.Min(sources.Length, _sources.Length); i++)
        {
            sources[i] += _sources[i];
        }
    }
}
