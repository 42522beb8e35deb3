using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Experiments.Results;
using ProfileGrid.Grains.Experiments;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// <c>bench.sh experiment-results</c>: issue 10's result computation at 1M exposed users. The users' figures are held as
/// the feedback shards hold them (one <see cref="FeedbackUpdate"/> per user, with its own item ids, split over the
/// shards by key), and a result is what <c>GetExperimentResults</c> does once the shards answer: every shard's pass
/// (<see cref="ExperimentTallies.Of"/>, the grain's own code; shards in parallel as the silo runs them), the sum, and
/// <see cref="ExperimentAnalysis.Analyze"/>. The peer is pandas/numpy/scipy computing the same result from the same
/// per-user rows (bench/pandas_experiment.py), whose p-values must agree.
/// </summary>
public static class ExperimentResultsBench
{
    private const string Usage = """
        bench.sh experiment-results [--users N] [--shards N] [--repeats N] [--items-per-user N] [--seed N]
          --users           exposed users (default 1000000)
          --shards          feedback shards they are spread over (default 16, the silo's default)
          --repeats         result computations timed; the median is reported (default 7)
          --items-per-user  items in each user's exposure list (default 20)
          --seed            random seed (default 7)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        int users = 1_000_000, shards = 16, repeats = 7, itemsPerUser = 20, seed = 7;
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
                ? value
                : throw new ArgumentException($"{args[i - 1]} needs a positive whole number");
            switch (args[i])
            {
                case "--users": users = Next(); break;
                case "--shards": shards = Next(); break;
                case "--repeats": repeats = Next(); break;
                case "--items-per-user": itemsPerUser = Next(); break;
                case "--seed": seed = Next(); break;
                case "--help": Console.WriteLine(Usage); return 0;
                default: Console.Error.WriteLine($"unknown option {args[i]}\n{Usage}"); return 2;
            }
        }

        Console.WriteLine("# ProfileGrid experiment result benchmark (issue 10)");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh experiment-results {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine();

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var (byShard, rows) = Generate(users, shards, itemsPerUser, seed);
        var held = GC.GetTotalMemory(forceFullCollection: true) - before - rows.Length;
        Console.WriteLine($"{users:N0} exposed users over {shards} shards: {held / (double)users:N0} bytes per user as a shard holds them " +
                          $"({itemsPerUser} item ids each), {held / 1e9:0.00} GB in all");

        Variant[] variants = [new("control", true), new("treatment", false)];
        var scanTimes = new List<double>();
        var totalTimes = new List<double>();
        ExperimentResult? result = null;
        for (var r = 0; r < repeats; r++)
        {
            var started = Stopwatch.GetTimestamp();
            var shardSeconds = new double[shards];
            var perShard = new VariantTally[shards][];
            Parallel.For(0, shards, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, s =>
            {
                var shardStarted = Stopwatch.GetTimestamp();
                perShard[s] = ExperimentTallies.Of(byShard[s], 1);
                shardSeconds[s] = Stopwatch.GetElapsedTime(shardStarted).TotalSeconds;
            });
            var merged = perShard.SelectMany(t => t).GroupBy(t => t.Variant).ToDictionary(g => g.Key, g => g.Aggregate(VariantTally.Add));
            var figures = variants.Select((v, index) => ExperimentTallies.Figures(v.Key, v.Control, 1, merged.GetValueOrDefault(index))).ToList();
            result = ExperimentAnalysis.Analyze("bench", figures, result?.Sequential);
            totalTimes.Add(Stopwatch.GetElapsedTime(started).TotalSeconds);
            scanTimes.Add(shardSeconds.Max());
        }

        var python = await RunPeerAsync(rows);
        var comparison = result!.Comparisons[0];
        Console.WriteLine();
        Console.WriteLine("| step | ProfileGrid | pandas + scipy (same rows) |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| result from the users' figures (median of {repeats}) | {Median(totalTimes) * 1000:N1} ms | {python.ComputeSeconds * 1000:N1} ms (groupby and tests) |");
        Console.WriteLine($"| of which the slowest shard's pass ({users / shards:N0} users) | {Median(scanTimes) * 1000:N1} ms | |");
        Console.WriteLine($"| reading the rows | (held in the shards) | {python.LoadSeconds:N2} s (CSV) |");
        Console.WriteLine();
        Console.WriteLine("p-values (ProfileGrid / scipy):");
        Console.WriteLine($"  conversion (z-test)   {comparison.Conversion.PValue:G10} / {python.PConversion:G10}");
        Console.WriteLine($"  revenue/user (Welch)  {comparison.RevenuePerUser.PValue:G10} / {python.PRevenue:G10}");
        Console.WriteLine($"  CTR (delta method)    {comparison.Ctr.PValue:G10} / {python.PCtr:G10}");
        Console.WriteLine($"  sample ratio          {result.SampleRatio!.PValue:G10} / {python.PSrm:G10}");
        var agree = Agrees(comparison.Conversion.PValue, python.PConversion) && Agrees(comparison.RevenuePerUser.PValue, python.PRevenue)
            && Agrees(comparison.Ctr.PValue, python.PCtr) && Agrees(result.SampleRatio.PValue, python.PSrm);
        Console.WriteLine(agree ? "  agree within 1e-6 relative" : "  DISAGREE");
        return agree ? 0 : 1;
    }

    private sealed record Variant(string Key, bool Control);

    private sealed record PeerResult(double LoadSeconds, double ComputeSeconds, double PConversion, double PRevenue, double PCtr, double PSrm);

    private static bool Agrees(double a, double b) => Math.Abs(a - b) <= 1e-6 * Math.Max(Math.Abs(a), Math.Abs(b)) || Math.Abs(a - b) < 1e-300;

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    /// <summary>Users as shards hold them, and the same users as CSV rows for the peer.</summary>
    private static (List<FeedbackUpdate>[] ByShard, byte[] Rows) Generate(int users, int shards, int itemsPerUser, int seed)
    {
        var random = new Random(seed);
        var byShard = Enumerable.Range(0, shards).Select(_ => new List<FeedbackUpdate>(users / shards + 1)).ToArray();
        var csv = new StringBuilder("variant,impressions,clicks,purchases,revenue,covariate\n", users * 32);
        var now = DateTimeOffset.UtcNow;
        for (var u = 0; u < users; u++)
        {
            var variant = random.Next(2);
            var impressions = 1 + random.Next(6);
            var clicks = 0;
            for (var i = 0; i < impressions; i++)
            {
                clicks += random.NextDouble() < (variant == 1 ? 0.101 : 0.100) ? 1 : 0;
            }

            var covariate = random.NextDouble() < 0.3 ? Math.Round(random.NextDouble() * 200, 2) : 0;
            var purchases = clicks > 0 && random.NextDouble() < 0.3 ? 1 : 0;
            var revenue = purchases * Math.Round(20 + (random.NextDouble() * 80) + (0.3 * covariate), 2);
            var key = $"bench/u-{u:D8}";
            var items = new string[itemsPerUser];
            var counts = new int[itemsPerUser];
            for (var i = 0; i < itemsPerUser; i++)
            {
                items[i] = $"p-{random.Next(20_000):D6}";
                counts[i] = 1 + random.Next(3);
            }

            var update = new FeedbackUpdate(key, now, new FeedbackTotals(impressions, impressions * 10, clicks, purchases, purchases, revenue),
                new UserGroups(null, null, "DE", true),
                [new ExperimentOutcomeReport(1, variant, now, impressions, clicks, purchases, purchases, revenue, 0, covariate)],
                items, counts);
            byShard[(int)((uint)key.GetHashCode() % (uint)shards)].Add(update);
            csv.Append(CultureInfo.InvariantCulture, $"{variant},{impressions},{clicks},{purchases},{revenue},{covariate}\n");
        }

        return (byShard, Encoding.ASCII.GetBytes(csv.ToString()));
    }

    private static async Task<PeerResult> RunPeerAsync(byte[] rows)
    {
        var file = Path.Combine(Path.GetTempPath(), $"profilegrid-experiment-{Environment.ProcessId}.csv");
        await File.WriteAllBytesAsync(file, rows);
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false, RedirectStandardOutput = true };
            start.ArgumentList.Add(FindScript());
            start.ArgumentList.Add(file);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("/usr/bin/python3 did not start; bench.sh installs python3-scipy and python3-pandas.");
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"bench/pandas_experiment.py exited with {process.ExitCode}.");
            }

            using var json = JsonDocument.Parse(output);
            var root = json.RootElement;
            return new PeerResult(root.GetProperty("load_seconds").GetDouble(), root.GetProperty("compute_seconds").GetDouble(),
                root.GetProperty("p_conversion").GetDouble(), root.GetProperty("p_revenue").GetDouble(), root.GetProperty("p_ctr").GetDouble(),
                root.GetProperty("p_srm").GetDouble());
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "pandas_experiment.py");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("bench/pandas_experiment.py not found above the working directory or the benchmark's folder.");
    }
}
