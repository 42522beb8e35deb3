using System.Diagnostics;
using HdrHistogram;

namespace ProfileGrid.Benchmarks;

/// <summary>Latency percentiles of one read phase, in milliseconds.</summary>
public sealed record LatencyStats(long Requests, double Seconds, double P50, double P90, double P99, double Max, long Errors)
{
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;
}

/// <summary>
/// Closed-loop reads: <c>concurrency</c> workers, each with one request in flight, over random users. A warm-up of the
/// same shape (<see cref="WarmUpAsync"/>) runs first and is not recorded.
/// </summary>
public static class LatencyRunner
{
    // Microseconds up to one minute, three significant digits.
    private const long HighestMicros = 60_000_000;

    /// <summary>
    /// Reads, unrecorded, until at least <paramref name="minimumRequests"/> are done and <paramref name="minimumTime"/>
    /// has passed: a .NET host keeps compiling hot methods at higher tiers for its first seconds of a new load (about a
    /// tenth of its CPU in the first seconds of reads, under 1% after 25 s, by perf), which is not what it costs when
    /// it has been serving for a while.
    /// </summary>
    public static async Task<long> WarmUpAsync(
        IReadOnlyList<string> userIds, int minimumRequests, TimeSpan minimumTime, int concurrency, int seed, Func<string, Task> read)
    {
        var clock = Stopwatch.StartNew();
        long done = 0;
        var round = 0;
        do
        {
            await PhaseAsync(userIds, minimumRequests, concurrency, seed + 1 + round++, read, record: false);
            done += minimumRequests;
        }
        while (clock.Elapsed < minimumTime);

        return done;
    }

    public static Task<LatencyStats> MeasureAsync(IReadOnlyList<string> userIds, int requests, int concurrency, int seed, Func<string, Task> read) =>
        PhaseAsync(userIds, requests, concurrency, seed, read, record: true);

    private static async Task<LatencyStats> PhaseAsync(
        IReadOnlyList<string> userIds, int requests, int concurrency, int seed, Func<string, Task> read, bool record)
    {
        var issued = 0;
        long errors = 0;
        var histograms = new LongHistogram[concurrency];
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var histogram = histograms[worker] = new LongHistogram(HighestMicros, 3);
            var random = new Random(seed * 1000 + worker);
            while (Interlocked.Increment(ref issued) <= requests)
            {
                var user = userIds[random.Next(userIds.Count)];
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await read(user);
                }
                catch (Exception) when (record)
                {
                    // Counted and shown next to the percentiles; a failed read still took its time.
                    Interlocked.Increment(ref errors);
                }

                if (record)
                {
                    var micros = (long)Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                    histogram.RecordValue(Math.Clamp(micros, 1, HighestMicros));
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        if (!record)
        {
            return new LatencyStats(0, seconds, 0, 0, 0, 0, 0);
        }

        var all = new LongHistogram(HighestMicros, 3);
        foreach (var histogram in histograms)
        {
            all.Add(histogram);
        }

        static double Ms(long micros) => micros / 1000.0;
        return new LatencyStats(
            all.TotalCount, seconds,
            Ms(all.GetValueAtPercentile(50)), Ms(all.GetValueAtPercentile(90)), Ms(all.GetValueAtPercentile(99)), Ms(all.GetMaxValue()),
            errors);
    }
}
