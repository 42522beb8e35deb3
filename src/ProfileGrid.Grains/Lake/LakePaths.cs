using System.Globalization;
using ProfileGrid.Abstractions;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// The lake's file names. Events: "events/tenant={tenant}/date={yyyy-MM-dd}/part-p{partition:D4}-{from:x16}-{until:x16}.parquet"
/// for the log range [from, until) one archive step wrote (a month folder, "date={yyyy-MM}", or a year folder, "date={yyyy}",
/// for a step's events much older than its tenant's newest: see <see cref="FolderSegment"/>), and "compact-p{partition:D4}-{until:x16}.parquet" for the
/// merge of a partition's parts up to until. Snapshots: "snapshots/tenant={tenant}/date={day}/profiles.parquet".
/// The tenant is <see cref="ProfileKey.Encode"/>d ([A-Za-z0-9.-@] kept, every other UTF-8 byte as ~XX), and one
/// longer than <see cref="MaxTenantSegment"/> characters becomes a readable prefix and a SHA-256 digest: every
/// validated tenant makes a valid blob name and path segment; the real tenant is in each row's tenant column.
/// </summary>
public static class LakePaths
{
    public const string Events = "events/";
    public const string Snapshots = "snapshots/";
    public const string State = "_state/";
    public const int MaxTenantSegment = 120;

    /// <summary>
    /// The tenant's folder name. A trailing dot is escaped like any other character ("~2E", which the encoding never makes
    /// of a kept '.'): Azure's naming rules forbid a path segment ending with one (its front end would trim it, putting
    /// tenant "acme." in the folder of tenant "acme").
    /// </summary>
    public static string TenantSegment(string tenant)
    {
        var encoded = ProfileKey.BoundStorageKey(ProfileKey.Encode(tenant), MaxTenantSegment);
        return "tenant=" + (encoded.EndsWith('.') ? encoded[..^1] + "~2E" : encoded);
    }

    public static string DaySegment(DateOnly day) => "date=" + day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Events of an archive step this many days or more older than its tenant's newest event go to their month's folder.</summary>
    public const int MonthFolderAfterDays = 35;

    /// <summary>Events of an archive step this many days or more older than its tenant's newest event go to their year's folder.</summary>
    public const int YearFolderAfterDays = 400;

    /// <summary>
    /// The folder of an event of <paramref name="day"/> in an archive step whose newest event of the same tenant is of
    /// <paramref name="newest"/>: its day ("date=yyyy-MM-dd"); its month ("date=yyyy-MM") when it is
    /// <see cref="MonthFolderAfterDays"/> or more days older; its year ("date=yyyy") when <see cref="YearFolderAfterDays"/>
    /// or more. Live traffic fills day folders. An import of years of history fills a folder per year and log partition
    /// instead of one per day: ratings of 1996-2018 made 48,605 files of about 10 events each by day, and still 5,676 for
    /// one tenant's 45,068 events by month, so that one user's export read hundreds of small files. A step's range is
    /// redone whole after a crash, with the same events and so the same folders.
    /// </summary>
    public static string FolderSegment(DateOnly day, DateOnly newest) =>
        (newest.DayNumber - day.DayNumber) switch
        {
            >= YearFolderAfterDays => YearSegment(day),
            >= MonthFolderAfterDays => MonthSegment(day),
            _ => DaySegment(day),
        };

    public static string MonthSegment(DateOnly day) => "date=" + day.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public static string YearSegment(DateOnly day) => "date=" + day.ToString("yyyy", CultureInfo.InvariantCulture);

    public static string TenantEvents(string tenant) => $"{Events}{TenantSegment(tenant)}/";

    public static string DayFolder(string tenant, DateOnly day) => $"{TenantEvents(tenant)}{DaySegment(day)}/";

    public static string Part(string tenant, DateOnly day, int partition, long from, long until) =>
        Part(tenant, DaySegment(day), partition, from, until);

    public static string Part(string tenant, string folderSegment, int partition, long from, long until) =>
        $"{TenantEvents(tenant)}{folderSegment}/part-p{partition:D4}-{from:x16}-{until:x16}.parquet";

    public static string Compacted(string folder, int partition, long until) => $"{folder}compact-p{partition:D4}-{until:x16}.parquet";

    public static string Watermark(int partition) => $"{State}archive-p{partition:D4}.json";

    public static string Snapshot(string tenant, DateOnly day) => $"{Snapshots}{TenantSegment(tenant)}/{DaySegment(day)}/profiles.parquet";

    /// <summary>The partition and the end of the range of a part or compacted file (null for any other name).</summary>
    public static (int Partition, long Until, bool Compacted)? ParseFile(string name)
    {
        var file = name[(name.LastIndexOf('/') + 1)..];
        if (!file.EndsWith(".parquet", StringComparison.Ordinal))
        {
            return null;
        }

        var parts = file[..^".parquet".Length].Split('-');
        if (parts is ["part", var p, _, var until] && TryPartition(p, out var partition) && long.TryParse(until, NumberStyles.HexNumber, null, out var end))
        {
            return (partition, end, false);
        }

        if (parts is ["compact", var cp, var cuntil] && TryPartition(cp, out var cpartition) && long.TryParse(cuntil, NumberStyles.HexNumber, null, out var cend))
        {
            return (cpartition, cend, true);
        }

        return null;
    }

    /// <summary>The day of a name inside a day folder (a file, or the folder itself ending with '/'); null for any other name.</summary>
    public static DateOnly? ParseDay(string name) => ParseDays(name) is { } days && days.First == days.Last ? days.First : null;

    /// <summary>
    /// The days a folder holds, for a name inside a day folder (one day), a month folder (the month's days) or a year
    /// folder (the year's); null for any other name.
    /// </summary>
    public static (DateOnly First, DateOnly Last)? ParseDays(string name)
    {
        var at = name.LastIndexOf("/date=", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var end = name.IndexOf('/', at + 6);
        var text = end < 0 ? name.AsSpan(at + 6) : name.AsSpan(at + 6, end - at - 6);
        if (text.Length == 10 && DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            return (day, day);
        }

        if (text.Length == 7 && DateOnly.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var month))
        {
            return (month, month.AddMonths(1).AddDays(-1));
        }

        if (text.Length == 4 && DateOnly.TryParseExact(text, "yyyy", CultureInfo.InvariantCulture, DateTimeStyles.None, out var year))
        {
            return (year, year.AddYears(1).AddDays(-1));
        }

        return null;
    }

    private static bool TryPartition(string text, out int partition)
    {
        partition = -1;
        return text.StartsWith('p') && int.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out partition);
    }
}
