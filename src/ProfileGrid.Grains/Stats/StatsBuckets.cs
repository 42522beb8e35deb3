using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Stats;

/// <summary>The fixed buckets of the statistics: completeness tenths, log2 event counts, latency, and staleness labels.</summary>
public static class StatsBuckets
{
    public const int CompletenessBuckets = 10;
    public const int EventCountBuckets = 48;

    /// <summary>Latency buckets: bucket i holds values up to 0.01 ms x 2^(i/2); the last one everything above (about 100 s).</summary>
    public const int LatencyBuckets = 48;
    private const double LatencyBase = 0.01;

    public static int Completeness(double completeness) =>
        Math.Clamp((int)Math.Floor(completeness * CompletenessBuckets + 1e-9), 0, CompletenessBuckets - 1);

    /// <summary>0 for 1 event, 1 for 2-3, 2 for 4-7, ...; -1 for none.</summary>
    public static int EventCount(long events) => events <= 0 ? -1 : Math.Min(EventCountBuckets - 1, 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)events));

    public static string EventCountLabel(int bucket) => bucket == 0 ? "1" : $"{1L << bucket}-{(1L << (bucket + 1)) - 1}";

    public static int Latency(double milliseconds)
    {
        if (!(milliseconds > LatencyBase))
        {
            return 0;
        }

        return Math.Min(LatencyBuckets - 1, (int)Math.Ceiling(2 * Math.Log2(milliseconds / LatencyBase) - 1e-9));
    }

    public static double LatencyUpper(int bucket) => LatencyBase * Math.Pow(2, bucket / 2.0);

    /// <summary>
    /// The q-quantile of a latency histogram, reported as the geometric middle of the bucket it falls in (within about
    /// 19% of the true value); 0 with no samples.
    /// </summary>
    public static double Quantile(long[]? counts, double q)
    {
        if (counts is null)
        {
            return 0;
        }

        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }

        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                var upper = LatencyUpper(i);
                var lower = i == 0 ? LatencyBase / Math.Sqrt(2) : LatencyUpper(i - 1);
                return Math.Round(Math.Sqrt(lower * upper), 3);
            }
        }

        return LatencyUpper(counts.Length - 1);
    }

    public static readonly (string Label, TimeSpan Below)[] Staleness =
    [
        ("< 1 h", TimeSpan.FromHours(1)),
        ("1-24 h", TimeSpan.FromHours(24)),
        ("1-7 d", TimeSpan.FromDays(7)),
        ("7-30 d", TimeSpan.FromDays(30)),
        ("30-90 d", TimeSpan.FromDays(90)),
        ("90-365 d", TimeSpan.FromDays(365)),
        ("> 1 y", TimeSpan.MaxValue),
    ];

    public static int StalenessBucket(TimeSpan age)
    {
        for (var i = 0; i < Staleness.Length - 1; i++)
        {
            if (age < Staleness[i].Below)
            {
                return i;
            }
        }

        return Staleness.Length - 1;
    }

    /// <summary>Hours since the Unix epoch (floor, also before 1970).</summary>
    public static long HourOf(DateTimeOffset at)
    {
        var ticks = at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var hour = ticks / TimeSpan.TicksPerHour;
        return ticks < 0 && ticks % TimeSpan.TicksPerHour != 0 ? hour - 1 : hour;
    }

    public static DateTimeOffset HourStart(long hour) => DateTimeOffset.UnixEpoch.AddTicks(hour * TimeSpan.TicksPerHour);

    public static long DayStartHour(long hour) => hour >= 0 ? hour - hour % 24 : hour - ((hour % 24) + 24) % 24;
}

/// <summary>What statistics need of a profile, read before and after a change so the profile can report the difference.</summary>
public readonly record struct ProfileStatsMark(bool Counted, int Completeness, int EventCount, DateTimeOffset? LastSeen, DateTimeOffset? FirstSeen)
{
    public static ProfileStatsMark Of(UserProfile profile) =>
        profile.EventsApplied <= 0
            ? default
            : new(
                true,
                StatsBuckets.Completeness(ProfileMetrics.Completeness(profile)),
                StatsBuckets.EventCount(profile.EventsApplied),
                profile.Behavior.LastSeen,
                profile.Behavior.FirstSeen);
}
