namespace ProfileGrid.Grains.Stats;

/// <summary>What happened during one minute or hour of a tenant's series.</summary>
[GenerateSerializer, Alias("pg.stats-point")]
public sealed class StatsPoint
{
    /// <summary>The point's number: minutes (or hours) since the Unix epoch.</summary>
    [Id(0)] public long Slot { get; set; }
    [Id(1)] public long Accepted { get; set; }
    [Id(2)] public long Events { get; set; }
    [Id(3)] public long Rejected { get; set; }
    [Id(4)] public long Duplicates { get; set; }
    [Id(5)] public long NewProfiles { get; set; }
    [Id(6)] public long ProfilesUpdated { get; set; }
    [Id(7)] public long Recommendations { get; set; }
    [Id(8)] public long SegmentMoves { get; set; }

    /// <summary>Recommend latency histogram (see <see cref="StatsBuckets.Latency"/>); null without requests.</summary>
    [Id(9)] public long[]? RecommendLatency { get; set; }

    /// <summary>Acknowledged-to-applied lag histogram; null without samples.</summary>
    [Id(10)] public long[]? Lag { get; set; }

    /// <summary>Segment sizes as last reported during the point; null when no model assigned any.</summary>
    [Id(11)] public Dictionary<int, long>? SegmentSizes { get; set; }
}

/// <summary>
/// A fixed ring of points, one per slot (a minute or an hour): slot s lives at index s mod capacity, so a new slot
/// overwrites the point one capacity older and memory never grows, however long the grid runs.
/// </summary>
[GenerateSerializer, Alias("pg.stats-ring")]
public sealed class StatsRing
{
    public const int Minutes = 1440;
    public const int Hours = 720;

    public StatsRing()
    {
    }

    public StatsRing(TimeSpan resolution, int capacity)
    {
        SlotTicks = resolution.Ticks;
        Points = new StatsPoint?[capacity];
    }

    [Id(0)] public long SlotTicks { get; set; }
    [Id(1)] public StatsPoint?[] Points { get; set; } = [];

    public int Capacity => Points.Length;

    public long SlotOf(DateTimeOffset at) => (long)Math.Floor((double)(at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / SlotTicks);

    public DateTimeOffset StartOf(long slot) => DateTimeOffset.UnixEpoch.AddTicks(slot * SlotTicks);

    /// <summary>The point for the slot of <paramref name="at"/>, replacing whatever older point held its place.</summary>
    public StatsPoint At(DateTimeOffset at)
    {
        var slot = SlotOf(at);
        var index = (int)(((slot % Capacity) + Capacity) % Capacity);
        if (Points[index] is { } point && point.Slot == slot)
        {
            return point;
        }

        return Points[index] = new StatsPoint { Slot = slot };
    }

    /// <summary>The points of the last <paramref name="slots"/> slots up to <paramref name="now"/> (at most the capacity), oldest first.</summary>
    public IEnumerable<StatsPoint> Window(DateTimeOffset now, int slots)
    {
        var last = SlotOf(now);
        var first = last - Math.Min(slots, Capacity) + 1;
        return Points.Where(p => p is not null && p.Slot >= first && p.Slot <= last).OrderBy(p => p!.Slot)!;
    }
}
