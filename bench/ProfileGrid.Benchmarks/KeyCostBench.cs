using System.Diagnostics;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// <c>bench.sh key-cost</c>: what checking API keys costs Recommend and GetProfile. Two hosts with the same history and
/// model, one checking keys (every call carries an operator key: header parse, SHA-256, the per-silo cache, the tenant
/// interceptor and the per-key token bucket) and one not; closed-loop latency of each call, the hosts alternating
/// (off, on, on, off, ...) so that drift on a shared machine weighs on both alike.
/// </summary>
public static class KeyCostBench
{
    public const string Usage = """
        bench.sh key-cost: Recommend and GetProfile latency with API key checks on and off, in one run.
          Takes bench.sh recommend's workload options (--users, --items, --per-user, --algorithm, --seed, --batch,
          --concurrency; see bench.sh recommend --help), with smaller defaults (--users 20000 --items 5000), and:
          --requests N     measured calls per phase (each call, each host, each round) [20000]
          --in-flight N    calls in flight in each phase [16]
          --rounds N       rounds; each measures both hosts, in alternating order [2]
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var (requests, inFlight, rounds) = (20_000, 16, 2);
        var rest = new List<string> { "--users", "20000", "--items", "5000" };
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--requests": requests = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--in-flight": inFlight = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--rounds": rounds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                    case "--help" or "-h": Console.WriteLine(Usage); return 0;
                    default: rest.Add(args[i]); break;
                }
            }

            if (requests < 1 || inFlight < 1 || rounds < 1)
            {
                throw new ArgumentException("--requests, --in-flight and --rounds must be positive.");
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IndexOutOfRangeException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        RecommendOptions options;
        try
        {
            options = RecommendOptions.Parse(rest) ?? throw new ArgumentException("--help");
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");
        Console.WriteLine("# ProfileGrid API key cost on Recommend and GetProfile (issue 12)");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh key-cost {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine($"workload:        {options.Users:N0} users, {options.Items:N0} items; {requests:N0} calls per phase, {inFlight} in flight, {rounds} rounds");
        Console.WriteLine();

        await using var off = await BenchHost.StartAsync(options.Config with { Keys = false }, options.Batch, m => Log("keys off: " + m));
        await using var on = await BenchHost.StartAsync(options.Config with { Keys = true }, options.Batch, m => Log("keys on: " + m));
        var users = Enumerable.Range(0, options.Users).Select(RecommendWorkload.UserId).ToList();
        var hosts = new List<(string Name, BenchHost Host, Func<string, Task> Recommend, Func<string, Task> GetProfile)>();
        foreach (var (name, host) in new[] { ("off", off), ("on", on) })
        {
            var channel = host.OpenChannel();
            var recommendations = new RecommendationService.RecommendationServiceClient(channel);
            var profiles = new ProfileGateway.ProfileGatewayClient(channel);
            await RecommendBench.SetUpAsync(host, recommendations, options, m => Log($"keys {name}: {m}"));
            Func<string, Task> recommend = user => recommendations.RecommendAsync(new RecommendRequest { Tenant = RecommendWorkload.Tenant, UserId = user, N = options.N }).ResponseAsync;
            Func<string, Task> getProfile = user => profiles.GetProfileAsync(new GetProfileRequest { Tenant = RecommendWorkload.Tenant, UserId = user }).ResponseAsync;
            Log($"keys {name}: warming up");
            await LatencyRunner.WarmUpAsync(users, 2_000, TimeSpan.FromSeconds(10), inFlight, options.Seed, recommend);
            await LatencyRunner.WarmUpAsync(users, 2_000, TimeSpan.FromSeconds(10), inFlight, options.Seed, getProfile);
            hosts.Add((name, host, recommend, getProfile));
        }

        var results = new List<(string Call, string Keys, LatencyStats Stats)>();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, _, recommend, getProfile) in round % 2 == 0 ? hosts : Enumerable.Reverse(hosts))
            {
                foreach (var (call, read) in new[] { ("Recommend", recommend), ("GetProfile", getProfile) })
                {
                    var stats = await LatencyRunner.MeasureAsync(users, requests, inFlight, options.Seed + 10 + round, read);
                    Log($"round {round + 1}, keys {name}, {call}: {stats.RequestsPerSecond:N0}/s, p50 {stats.P50:F3} ms, p99 {stats.P99:F3} ms, errors {stats.Errors}");
                    results.Add((call, name, stats));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| call | keys | calls/s | p50 ms | p90 ms | p99 ms | errors |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|");
        foreach (var group in results.GroupBy(r => (r.Call, r.Keys)))
        {
            // The median round of each (call, keys): one disturbed round does not move the figure.
            var median = group.OrderBy(r => r.Stats.P50).ElementAt(group.Count() / 2).Stats;
            Console.WriteLine($"| {group.Key.Call} | {group.Key.Keys} | {median.RequestsPerSecond:N0} | {median.P50:F3} | {median.P90:F3} | {median.P99:F3} | {group.Sum(r => r.Stats.Errors)} |");
        }

        Console.WriteLine($"total time: {total.Elapsed:mm\\:ss}");
        return results.Sum(r => r.Stats.Errors) == 0 ? 0 : 1;
    }
}
