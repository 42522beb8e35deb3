namespace ProfileGrid.Grains.Lake;

/// <summary>The data lake (configuration section "ProfileGrid:Lake"); see docs/lake.md.</summary>
public sealed class LakeOptions
{
    public const string Section = "ProfileGrid:Lake";

    /// <summary>
    /// Archive the event log to Parquet. On Azure Storage the lake is the container <see cref="Container"/>; in memory runs
    /// the lake needs <see cref="Folder"/> (without it, memory runs have no lake).
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Blob container of the lake on Azure Storage; empty means "{ServiceId}-lake".</summary>
    public string? Container { get; set; }

    /// <summary>A local folder to hold the lake instead of blob storage (tests, memory runs, a laptop).</summary>
    public string? Folder { get; set; }

    /// <summary>How often each log partition archives what its log holds past its archive watermark.</summary>
    public TimeSpan ArchiveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Log records archived per archive step at most (a step writes one Parquet part per tenant and day it touches).</summary>
    public int MaxRecordsPerArchive { get; set; } = 2000;

    /// <summary>Parts of one partition in one tenant/day folder that make the archiver merge them into one file.</summary>
    public int CompactionThreshold { get; set; } = 4;

    /// <summary>Delete log segments once every record in them is both checkpointed and archived.</summary>
    public bool TrimLog { get; set; } = true;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (ArchiveInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add("ArchiveInterval must be at least 10 ms.");
        }

        if (MaxRecordsPerArchive is < 1 or > 1_000_000)
        {
            problems.Add("MaxRecordsPerArchive must be between 1 and 1,000,000.");
        }

        if (CompactionThreshold is < 2 or > 10_000)
        {
            problems.Add("CompactionThreshold must be between 2 and 10,000.");
        }

        if (!string.IsNullOrEmpty(Container) && !System.Text.RegularExpressions.Regex.IsMatch(Container, "^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$"))
        {
            problems.Add($"Container '{Container}' is not a valid blob container name (3-63 lower-case letters, digits and single hyphens).");
        }

        return problems;
    }
}
