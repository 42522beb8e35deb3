using System.Diagnostics;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>What one population size measured in one configuration.</summary>
public sealed record GrowthResult(
    int Users,
    long PopulateEvents,
    double PopulateAckSeconds,
    double? PopulateDurableSeconds,
    CpuUsage PopulateCpu,
    long? WorkingSetBefore,
    long? WorkingSetAfterPopulate,
    Workload Measured,
    IngestMeasurement Ingest,
    ReadMeasurement Reads,
    bool Verified,
    string Verification,
    string Warnings)
{
    public double AckPerSecond => Measured.Events / Ingest.AckSeconds;

    public double? EndToEndPerSecond => Ingest.EndToEndSeconds is { } s ? Measured.Events / s : null;

    /// <summary>Host CPU per measured event until applied and durable, in microseconds.</summary>
    public double HostMicrosPerEvent => MicrosPerEvent(Ingest.Cpu[^1].Usage.Server, Ingest.Cpu[^1].Usage, Measured.Events);

    public double StorageMicrosPerEvent => MicrosPerEvent(Ingest.Cpu[^1].Usage.Storage, Ingest.Cpu[^1].Usage, Measured.Events);

    /// <summary>Host CPU per populate event (new users' first events) until applied and durable, in microseconds.</summary>
    public double PopulateHostMicrosPerEvent => MicrosPerEvent(PopulateCpu.Server, PopulateCpu, PopulateEvents);

    private static double MicrosPerEvent(double cores, CpuUsage usage, long events) => cores * usage.Seconds * 1e6 / events;
}

/// <summary>
/// <c>bench.sh growth</c>: issue 7's growth target (ingest rate and read latency at 100k and 1M distinct users within
/// 20% of 3k users). See <see cref="GrowthOptions.Usage"/> for what it does.
/// </summary>
public static class GrowthBench
{
    private const double Target = 0.2;

    public static async Task<int> RunAsync(string[] args)
    {
        GrowthOptions? options;
        try
        {
            options = GrowthOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(GrowthOptions.Usage);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine(GrowthOptions.Usage);
            return 0;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");

        Console.WriteLine("# ProfileGrid growth benchmark");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh growth {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine();

        var results = new Dictionary<HostConfiguration, List<GrowthResult>>();
        var failures = new List<string>();
        foreach (var config in options.Configs)
        {
            results[config] = [];
            foreach (var users in options.UsersList)
            {
                Console.WriteLine();
                Log($"== {config.Name}, {users:N0} users: {config.Description}");
                try
                {
                    results[config].Add(await RunAsync(config, users, options, Log));
                }
                catch (Exception ex)
                {
                    Log($"{config.Name} at {users:N0} users FAILED: {ex.Message}");
                    failures.Add($"{config.Name} {users:N0}");
                }
            }
        }

        Console.WriteLine();
        Print(options, results);
        if (failures.Count > 0)
        {
            Console.WriteLine($"FAILED: {string.Join(", ", failures)}");
        }

        Console.WriteLine();
        Console.WriteLine($"Total run time {total.Elapsed.TotalSeconds:F0} s.");
        return failures.Count == 0 && results.Values.SelectMany(r => r).All(r => r.Verified) ? 0 : 1;
    }

    /// <summary>
    /// Waits until the host is at rest after the populate: a bulk load leaves work behind it for a minute or more (idle
    /// profiles pack 30-60 s after their last event, shards write their state, the lake archives the load), and at 1M
    /// users that tail is a million packs. The measured phases are meant for the population at rest, the same at every
    /// N: so they start once nearly every profile is packed (the host's gauge profilegrid.profiles.unpacked at most 1% of
    /// the users, plus 50) and the host used under a fifth of a core for 5 s running, and at most after 5 minutes.
    /// CPU alone was not enough: packing comes in bursts as the profiles' residency checks come due, so a quiet 5 s
    /// could fall before most of the packs, which then ran during the measured ingest (at 300k users, 5% of the host's
    /// samples and the timer queue's lock contended by the checks of a quarter of a million profiles; docs/benchmarks.md,
    /// twelfth session). The reads wait likewise for the measured ingest's tail: at 1M its 50,000 users' changes make
    /// the feature and interaction shards of 62,500 users each write their whole state, which took a quarter of the
    /// host's CPU during the reads (ninth session), and those users pack 30-60 s after it.
    /// </summary>
    private static async Task SettleAsync(BenchHost host, int users, Action<string> log, string after)
    {
        var clock = Stopwatch.StartNew();
        var mostUnpacked = 50 + (users / 100);
        while (clock.Elapsed < TimeSpan.FromMinutes(5))
        {
            var meter = host.StartCpuMeter();
            await Task.Delay(TimeSpan.FromSeconds(5));
            var used = meter.Stop();
            var unpacked = await host.UnpackedProfilesAsync();
            if (used.Server < 0.2 && (unpacked is null || unpacked <= mostUnpacked))
            {
                log($"host at rest after {after} in {clock.Elapsed.TotalSeconds:F0} s (last 5 s: {used.Server:F2} cores; profiles unpacked: {unpacked?.ToString("N0") ?? "not reported"})");
                return;
            }
        }

        log($"host still busy 5 min after {after}; measuring anyway");
    }

    private static async Task<GrowthResult> RunAsync(HostConfiguration config, int users, GrowthOptions options, Action<string> log)
    {
        var population = new GrowthPopulation(users, options.Seed, DateTimeOffset.UtcNow);
        log(population.DescribeTemplates());
        var measured = Workload.Whole(
            IngestBatcher.Pack(population.MeasuredSessions(options.Events), GrowthPopulation.Tenant, options.Batch).ToList(), GrowthPopulation.Tenant);
        var sample = population.SampleUsers(options.VerifyUsers);

        await using var host = await BenchHost.StartAsync(config, options.Batch, log);
        try
        {
            // Populate: not what is measured, but its own rate and the host's memory with N profiles are worth seeing.
            var workingSetBefore = host.WorkingSetBytes();
            log($"populating {users:N0} users (one session each), {options.Concurrency} requests in flight");
            var replayer = new GatewayReplayer(host.Client, new ReplayOptions { MaxConcurrency = options.Concurrency, RequestTimeout = TimeSpan.FromSeconds(60) });
            var meter = host.StartCpuMeter();
            var clock = Stopwatch.StartNew();
            using var tooBig = new CancellationTokenSource();
            var progress = new Progress(log, clock, host, options.MaxHostGiB, tooBig);
            ReplayReport populate;
            try
            {
                populate = await replayer.ReplayAsync(population.PopulateRequests(options.Batch), progress, tooBig.Token);
            }
            catch (OperationCanceledException) when (tooBig.IsCancellationRequested)
            {
                throw new InvalidOperationException(
                    $"populating stopped after {progress.Sent:N0} events (about {progress.Sent * users / population.PopulateEvents:N0} users): the host's working set " +
                    $"passed --max-host-gib {options.MaxHostGiB}.");
            }

            var populateAck = clock.Elapsed.TotalSeconds;
            log($"populate acknowledged in {populateAck:F1} s: {populate.EventsSent:N0} events, {populate.EventsSent / populateAck:N0} events/s " +
                $"(rejected {populate.Rejected}{(populate.RejectionSamples.Count > 0 ? $": {populate.RejectionSamples[0]}" : string.Empty)}, retries {populate.Retries})");
            var populateDurable = await host.WaitAppliedAndWrittenAsync(
                GrowthPopulation.Tenant, population.UserIds, populate.EventsSent, clock, clock.Elapsed + ProfileGridRun.EndToEndTimeout, log);
            var populateCpu = meter.Stop();
            var workingSet = host.WorkingSetBytes();
            log(populateDurable is { } durable
                ? $"populate applied and durable after {durable:F1} s: {populate.EventsSent / durable:N0} events/s; host working set {Mib(workingSet)} (before: {Mib(workingSetBefore)})"
                : $"populate not all applied within {ProfileGridRun.EndToEndTimeout.TotalMinutes} min of its acknowledgement");
            if (populate.Rejected > 0 || populateDurable is null)
            {
                throw new InvalidOperationException($"the population is incomplete; nothing measured on it would mean anything. Host warnings: {host.Warnings()}.");
            }

            await SettleAsync(host, users, log, "the populate");
            var ingest = await ProfileGridRun.IngestAsync(host, measured, options.Concurrency, log);

            // The sampled users' populate sessions and whatever the measured ingest sent them.
            var sampled = sample.Select(GrowthPopulation.UserId).ToHashSet(StringComparer.Ordinal);
            var expected = ExpectedTotals.From(sample.SelectMany(i => population.PopulateSession(i).Events)
                .Concat(measured.Requests.SelectMany(r => r.Events).Where(e => sampled.Contains(e.UserId))));
            var (verified, verification) = await ProfileGridRun.VerifyAsync(host.Client, GrowthPopulation.Tenant, expected);
            log($"exactly-once check: {verification}");
            await SettleAsync(host, users, log, "the measured ingest");

            var reads = await ProfileGridRun.ReadAsync(
                host, GrowthPopulation.Tenant, population.UserIds, options.LatencyRequests, options.LatencyConcurrency, options.ReadWarmup, options.Seed, log);
            return new GrowthResult(
                users, populate.EventsSent, populateAck, populateDurable, populateCpu, workingSetBefore, workingSet, measured, ingest, reads, verified, verification, host.Warnings());
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{ex.Message}\n--- last host output ---\n{host.Process.Tail}", ex);
        }
    }

    private static void Print(GrowthOptions options, Dictionary<HostConfiguration, List<GrowthResult>> results)
    {
        Console.WriteLine("## Results");
        Console.WriteLine();
        Console.WriteLine($"Measured ingest: {options.Events:N0} events (whole re-keyed demo sessions) of users drawn uniformly from the N, " +
                          $"requests of at most {options.Batch} events, {options.Concurrency} in flight. Reads: {options.LatencyRequests:N0} GetProfile calls " +
                          $"of users drawn uniformly from the N, {options.LatencyConcurrency} in flight, after at least " +
                          $"{ProfileGridRun.WarmupReads(options.LatencyRequests):N0} calls and {options.ReadWarmup.TotalSeconds:F0} s of warm-up. " +
                          $"Ratios are to the first N; issue 7's target: within {Target:P0} (throughput at least {1 - Target:F2}x, latency at most {1 + Target:F2}x).");
        foreach (var (config, rows) in results.Where(r => r.Value.Count > 0))
        {
            var first = rows[0];
            Console.WriteLine();
            Console.WriteLine($"### {config.Name}: {config.Description}");
            Console.WriteLine();
            Console.WriteLine("| users | ack events/s | end-to-end events/s | GetProfile req/s | p50 ms | p99 ms | gRPC floor req/s (p50 ms) | exactly-once |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---|---|");
            foreach (var r in rows)
            {
                var reads = r.Reads.Reads;
                var firstReads = first.Reads.Reads;
                var baseline = r != first;
                Console.WriteLine($"| {r.Users:N0} | {Throughput(r.AckPerSecond, first.AckPerSecond, baseline)} | {Throughput(r.EndToEndPerSecond, first.EndToEndPerSecond, baseline)} | " +
                                  $"{Throughput(reads.RequestsPerSecond, firstReads.RequestsPerSecond, baseline)} | {Latency(reads.P50, firstReads.P50, baseline)} | " +
                                  $"{Latency(reads.P99, firstReads.P99, baseline)} | {r.Reads.Floor.RequestsPerSecond:N0} ({r.Reads.Floor.P50:F3}) | {(r.Verified ? "OK" : "MISMATCH")} |");
            }

            Console.WriteLine();
            Console.WriteLine("| users | populate events | populate acknowledged | populate applied + durable | host us/populate event | host working set after populate (per user over the warmed-up host) | host us/event (measured ingest) | storage us/event | host warnings |");
            Console.WriteLine("|---:|---:|---:|---:|---:|---|---:|---:|---|");
            foreach (var r in rows)
            {
                var perUser = r.WorkingSetAfterPopulate is { } after && r.WorkingSetBefore is { } before ? $"{(after - before) / (double)r.Users:N0} B" : "-";
                var durable = r.PopulateDurableSeconds is { } d ? $"{d:F1} s ({r.PopulateEvents / d:N0}/s)" : "timeout";
                Console.WriteLine($"| {r.Users:N0} | {r.PopulateEvents:N0} | {r.PopulateAckSeconds:F1} s ({r.PopulateEvents / r.PopulateAckSeconds:N0}/s) | {durable} | {r.PopulateHostMicrosPerEvent:F1} | " +
                                  $"{Mib(r.WorkingSetAfterPopulate)} ({perUser}) | {r.HostMicrosPerEvent:F1} | {(config.Azurite ? r.StorageMicrosPerEvent.ToString("F1") : "-")} | {r.Warnings} |");
            }

            Console.WriteLine();
            Console.WriteLine("| users | phase | seconds | server | storage | client | others | machine | per core-second |");
            Console.WriteLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                foreach (var (phase, u, work) in r.Ingest.Cpu.Concat(r.Reads.Cpu))
                {
                    Console.WriteLine(Report.CpuRow($"{r.Users:N0}", phase, u, work, storage: config.Azurite));
                }
            }

            Console.WriteLine();
            foreach (var r in rows)
            {
                var missed = Missed(r, first);
                Console.WriteLine($"- {r.Users:N0} users: {r.Verification}; {r.Measured.UserIds.Count:N0} distinct users in the measured ingest, " +
                                  $"{r.Measured.EventsPerUserPerRequest:F2} events per user per request" +
                                  (r == first ? "." : missed.Count == 0 ? $"; growth target met against {first.Users:N0}." : $"; growth target NOT met on {string.Join(", ", missed)}."));
            }
        }
    }

    private static List<string> Missed(GrowthResult r, GrowthResult first)
    {
        var missed = new List<string>();
        if (r.AckPerSecond < (1 - Target) * first.AckPerSecond)
        {
            missed.Add("ack events/s");
        }

        if (r.EndToEndPerSecond is not { } e2e || first.EndToEndPerSecond is not { } firstE2e || e2e < (1 - Target) * firstE2e)
        {
            missed.Add("end-to-end events/s");
        }

        if (r.Reads.Reads.RequestsPerSecond < (1 - Target) * first.Reads.Reads.RequestsPerSecond)
        {
            missed.Add("GetProfile req/s");
        }

        if (r.Reads.Reads.P50 > (1 + Target) * first.Reads.Reads.P50)
        {
            missed.Add("p50");
        }

        if (r.Reads.Reads.P99 > (1 + Target) * first.Reads.Reads.P99)
        {
            missed.Add("p99");
        }

        return missed;
    }

    /// <summary>The figure, and when <paramref name="compare"/> its ratio to the first N with the target marked.</summary>
    private static string Throughput(double? value, double? first, bool compare) =>
        value is not { } v ? "timeout"
        : !compare || first is not { } f || f <= 0 ? $"{v:N0}"
        : $"{v:N0} ({v / f:F2}x, {(v >= (1 - Target) * f ? "met" : "**not met**")})";

    private static string Latency(double value, double first, bool compare) =>
        !compare || first <= 0 ? $"{value:F3}" : $"{value:F3} ({value / first:F2}x, {(value <= (1 + Target) * first ? "met" : "**not met**")})";

    private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:N0} MiB" : "-";

    /// <summary>A line every 10 s while a long populate runs; cancels it when the host's working set passes the limit.</summary>
    private sealed class Progress(Action<string> log, Stopwatch clock, BenchHost host, double maxHostGiB, CancellationTokenSource tooBig) : IProgress<ReplayProgress>
    {
        private TimeSpan _last;

        public long Sent { get; private set; }

        public void Report(ReplayProgress value)
        {
            Sent = value.EventsSent;
            if (clock.Elapsed - _last < TimeSpan.FromSeconds(10))
            {
                return;
            }

            _last = clock.Elapsed;
            var workingSet = host.WorkingSetBytes();
            log($"  populate: {value.EventsSent:N0} events acknowledged after {value.Elapsed.TotalSeconds:F0} s ({value.EventsSent / value.Elapsed.TotalSeconds:N0}/s), " +
                $"host working set {Mib(workingSet)}");
            if (workingSet > maxHostGiB * 1024 * 1024 * 1024)
            {
                tooBig.Cancel();
            }
        }
    }
}
