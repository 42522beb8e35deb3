namespace ProfileGrid.Grains.Ingest;

/// <summary>The log ingest path (configuration section "ProfileGrid:Ingest").</summary>
public sealed class IngestOptions
{
    public const string Section = "ProfileGrid:Ingest";

    /// <summary>
    /// Log partitions; a user belongs to partition FNV-1a(profile key) mod this. Fixed for the life of a deployment:
    /// changing it moves users between partitions while their state still refers to the old ones.
    /// </summary>
    public int Partitions { get; set; } = 16;

    /// <summary>How long a profile keeps changes in memory before writing them (they are safe in the log meanwhile).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a partition persists its checkpoint.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A profile that has not reported its write for this long is presumed lost (its silo died); the partition then
    /// replays from its checkpoint, and profiles skip what they already hold.
    /// </summary>
    public TimeSpan StuckAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Upper bound of one log record; a group commit holds at most this many serialized bytes.</summary>
    public int MaxRecordBytes { get; set; } = 2 * 1024 * 1024;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Partitions is < 1 or > 1024) problems.Add("Partitions must be between 1 and 1024.");
        if (FlushInterval < TimeSpan.FromMilliseconds(10)) problems.Add("FlushInterval must be at least 10 ms.");
        if (CheckpointInterval < TimeSpan.FromMilliseconds(10)) problems.Add("CheckpointInterval must be at least 10 ms.");
        if (StuckAfter <= FlushInterval) problems.Add("StuckAfter must be longer than FlushInterval.");
        if (MaxRecordBytes is < 64 * 1024 or > 3 * 1024 * 1024) problems.Add("MaxRecordBytes must be between 64 KiB and 3 MiB (one append block holds 4 MiB).");
        return problems;
    }

    /// <summary>The log partition of a profile key: stable across processes and machines (FNV-1a, not string.GetHashCode).</summary>
    public static int PartitionOf(string profileKey, int partitions)
    {
        var hash = 2166136261u;
        foreach (var c in profileKey)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return (int)(hash % (uint)partitions);
    }
}
