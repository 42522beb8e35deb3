namespace ProfileGrid.Grains.Stats;

/// <summary>Cluster statistics (ProfileGrid:Stats): the silo-local collectors and the per-tenant stats grains. See docs/stats.md.</summary>
public sealed class StatsOptions
{
    public const string Section = "ProfileGrid:Stats";

    /// <summary>Collects statistics at all. Off, nothing records, nothing flushes, and the stats API answers 503 saying so.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often each silo sends what it collected to the tenants' stats grains: every figure is at most this much behind.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A profile whose last event is older than this counts as dormant in the dormant share.</summary>
    public TimeSpan DormantAfter { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often a stats grain writes its state behind (at most): a restart keeps the series, losing at most this much.</summary>
    public TimeSpan WriteBehind { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Distinct recommended items a stats grain tracks for coverage (the last 24 h); beyond it coverage is a lower bound and says so.</summary>
    public int MaxTrackedItems { get; set; } = 100_000;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (FlushInterval < TimeSpan.FromMilliseconds(50) || FlushInterval > TimeSpan.FromMinutes(1))
        {
            problems.Add($"{Section}:FlushInterval must be between 00:00:00.050 and 00:01:00 ({FlushInterval}): the series have minute resolution.");
        }

        if (DormantAfter <= TimeSpan.Zero)
        {
            problems.Add($"{Section}:DormantAfter must be positive ({DormantAfter}).");
        }

        if (WriteBehind < TimeSpan.Zero || WriteBehind > TimeSpan.FromMinutes(10))
        {
            problems.Add($"{Section}:WriteBehind must be between 00:00:00 and 00:10:00 ({WriteBehind}).");
        }

        if (MaxTrackedItems is < 1 or > 10_000_000)
        {
            problems.Add($"{Section}:MaxTrackedItems must be between 1 and 10000000 ({MaxTrackedItems}).");
        }

        return problems;
    }
}
