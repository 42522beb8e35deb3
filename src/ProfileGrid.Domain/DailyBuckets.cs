using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>The per-day activity list, kept ordered by day so windows are sums over a suffix.</summary>
internal static class DailyBuckets
{
    /// <summary>The bucket of <paramref name="day"/>, created if needed; null for days older than <paramref name="oldestKeptDay"/>.</summary>
    public static DailyBucket? GetOrAdd(List<DailyBucket> buckets, int day, int oldestKeptDay)
    {
        if (day < oldestKeptDay)
        {
            return null;
        }

        var index = IndexOf(buckets, day);
        if (index >= 0)
        {
            return buckets[index];
        }

        var bucket = new DailyBucket { Day = day };
        buckets.Insert(~index, bucket);
        return bucket;
    }

    public static DailyBucket? Find(List<DailyBucket> buckets, int day)
    {
        var index = IndexOf(buckets, day);
        return index >= 0 ? buckets[index] : null;
    }

    /// <summary>Drops the buckets older than <paramref name="oldestKeptDay"/>.</summary>
    public static void Prune(List<DailyBucket> buckets, int oldestKeptDay)
    {
        var stale = 0;
        while (stale < buckets.Count && buckets[stale].Day < oldestKeptDay)
        {
            stale++;
        }

        buckets.RemoveRange(0, stale);
    }

    /// <summary>
    /// The oldest day of daily activity a profile keeps: the longest window back from the day of its newest activity, or
    /// from the day it was applied (<paramref name="appliedAt"/>) when that activity is dated later. Pruning keeps these
    /// days, and a window reaching before them is partial.
    /// </summary>
    public static int OldestKeptDay(DateTimeOffset newestActivity, DateTimeOffset appliedAt, int longestWindowDays) =>
        FirstDayOfWindow(Math.Min(UtcDay.Of(appliedAt), UtcDay.Of(newestActivity)), longestWindowDays);

    /// <summary>The first UTC day of a window of <paramref name="days"/> days ending with <paramref name="today"/>.</summary>
    public static int FirstDayOfWindow(int today, int days) => today - days + 1;

    /// <summary>Binary search by day: the index, or the bitwise complement of where it would be inserted.</summary>
    private static int IndexOf(List<DailyBucket> buckets, int day)
    {
        int low = 0, high = buckets.Count - 1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            var middleDay = buckets[middle].Day;
            if (middleDay == day)
            {
                return middle;
            }

            if (middleDay < day)
            {
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return ~low;
    }
}
