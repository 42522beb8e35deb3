namespace ProfileGrid.Domain;

/// <summary>UTC day numbers (days since 1970-01-01), the keys of the daily buckets.</summary>
internal static class UtcDay
{
    private static readonly int EpochDayNumber = new DateOnly(1970, 1, 1).DayNumber;

    public static int Of(DateTimeOffset time) => DateOnly.FromDateTime(time.UtcDateTime).DayNumber - EpochDayNumber;

    /// <summary>00:00 UTC of <paramref name="day"/>.</summary>
    public static DateTimeOffset Start(int day) => DateTimeOffset.UnixEpoch.AddDays(day);
}
