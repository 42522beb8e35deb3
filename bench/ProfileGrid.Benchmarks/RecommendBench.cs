using System.Diagnostics;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>What loading and training measured before the serving phases.</summary>
public sealed record RecommendSetup(
    long Events,
    double IngestAckSeconds,
    CpuUsage IngestCpu,
    double InteractionsSeconds,
    long Rejected,
    RecommenderStatusResponse Trained,
    double TrainCallSeconds,
    CpuUsage TrainCpu,
    long? WorkingSetAfterLoad,
    long? WorkingSetAfterTraining,
    Stopwatch SinceLoaded);

/// <summary>
/// <c>bench.sh recommend</c>: issue 9's serving benchmark (Recommend at a fixed rate: p50, p99 and the host's CPU per
/// request; and the most the host serves). See <see cref="RecommendOptions.Usage"/> for what it does.
/// </summary>
public static class RecommendBench
{
    /// <summary>Issue 9's goal for p99 at 1,000 requests/s on two cores.</summary>
    private const double GoalP99Ms = 5;

    public static async Task<int> RunAsync(string[] args)
    {
        RecommendOptions? options;
        try
        {
            options = RecommendOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(RecommendOptions.Usage);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine(RecommendOptions.Usage);
            return 0;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");

        Console.WriteLine("# ProfileGrid Recommend serving benchmark (issue 9)");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh recommend {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine($"host:            {options.Config.Description}" +
                          (options.Config.Azurite ? string.Empty : " - honest for serving: Recommend reads nothing from storage (model, catalog and rules are cached in the silo, profiles are resident)"));
        Console.WriteLine();

        await using var host = await BenchHost.StartAsync(options.Config, options.Batch, Log);
        try
        {
            using var channel = host.OpenChannel();
            var recommendations = new RecommendationService.RecommendationServiceClient(channel);
            var setup = await SetUpAsync(host, recommendations, options, Log);

            // Serving from a second connection, as a front end would call it.
            using var serveChannel = host.OpenChannel();
            var driver = new RecommendDriver(new RecommendationService.RecommendationServiceClient(serveChannel), options, host.StartCpuMeter);
            var settle = options.SettleSeconds - setup.SinceLoaded.Elapsed.TotalSeconds;
            if (settle > 0)
            {
                Log($"settling {settle:F0} s more, so that idle profiles have packed (30-60 s after their last write; --settle-seconds {options.SettleSeconds} from the end of loading)");
                await Task.Delay(TimeSpan.FromSeconds(settle));
            }

            Log($"open-loop warm-up: {options.Rate:N0} calls/s for {options.WarmupSeconds} s (not recorded)");
            var warmup = await driver.OpenLoopAsync("warmup", options.Rate, options.WarmupSeconds, options.Seed + 1);
            Log($"  warm-up: {Line(warmup)}");

            Log($"open loop: {options.Rate:N0} calls/s for {options.Seconds} s, n={options.N}, {options.UnknownShare:P0} unknown users");
            var open = await driver.OpenLoopAsync("open", options.Rate, options.Seconds, options.Seed + 2);
            Log($"  {Line(open)}");
            Log($"  {open.Answers.Describe(options.N)}");

            Log($"closed loop: {options.ClosedConcurrency} in flight for {options.ClosedSeconds} s");
            var closed = await driver.ClosedLoopAsync("closed", options.ClosedConcurrency, options.ClosedSeconds, options.Seed + 3);
            Log($"  {Line(closed)}");
            Log($"  {closed.Answers.Describe(options.N)}");

            var floor = await driver.FloorAsync(new Grpc.Health.V1.Health.HealthClient(serveChannel), options.ClosedConcurrency, 5);
            Log($"  transport floor: {Line(floor)}");
            var openFloor = await driver.OpenFloorAsync(new Grpc.Health.V1.Health.HealthClient(serveChannel), options.Rate, 15);
            Log($"  open-loop floor (health check at {options.Rate:N0}/s): {Line(openFloor)}");
            Log($"host warnings: {host.Warnings()}");

            Console.WriteLine();
            Print(options, setup, open, closed, floor, openFloor, total.Elapsed);
            return open.Errors + closed.Errors == 0 ? 0 : 1;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log($"FAILED: {ex.Message}\n--- last host output ---\n{host.Process.Tail}");
            return 1;
        }
    }

    internal static async Task<RecommendSetup> SetUpAsync(
        BenchHost host, RecommendationService.RecommendationServiceClient client, RecommendOptions options, Action<string> log)
    {
        var workload = new RecommendWorkload(options, DateTimeOffset.UtcNow);

        // The catalog first, so that the items' categories and prices are the catalog's when rules look at them.
        var upserted = 0;
        foreach (var request in workload.CatalogRequests())
        {
            var answer = await client.UpsertItemsAsync(request);
            if (answer.Rejected.Count > 0)
            {
                throw new InvalidOperationException($"UpsertItems refused {answer.Rejected.Count} items, e.g. {answer.Rejected[0]}");
            }

            upserted += answer.Accepted;
        }

        log($"catalog: {upserted:N0} items upserted ({options.Categories} categories, prices in {RecommendWorkload.Currency})");

        var workingSetBefore = host.WorkingSetBytes();
        log($"loading the history of {options.Users:N0} users (~{options.PerUser} interactions each, popularity 1/rank^{options.Zipf}, seed {options.Seed}), " +
            $"{options.Batch} events per request, {options.Concurrency} in flight");
        var replayer = new GatewayReplayer(host.Client, new ReplayOptions { MaxConcurrency = options.Concurrency, RequestTimeout = TimeSpan.FromSeconds(60) });
        var meter = host.StartCpuMeter();
        var clock = Stopwatch.StartNew();
        var report = await replayer.ReplayAsync(workload.IngestRequests(), new Progress(log, clock));
        var ackSeconds = clock.Elapsed.TotalSeconds;
        var ingestCpu = meter.Stop();
        log($"acknowledged in {ackSeconds:F1} s: {report.EventsSent:N0} events, {report.EventsSent / ackSeconds:N0} events/s " +
            $"(rejected {report.Rejected}{(report.RejectionSamples.Count > 0 ? $": {report.RejectionSamples[0]}" : string.Empty)}, retries {report.Retries}); " +
            $"host {ingestCpu.Server:F2} cores, {ingestCpu.Server * ingestCpu.Seconds * 1e6 / report.EventsSent:F0} us per event");
        if (report.Rejected > 0)
        {
            throw new InvalidOperationException($"the gateway refused {report.Rejected} events; the history is not what the benchmark describes.");
        }

        // The profiles push their item histories to the interaction shards after their writes; training reads the shards.
        var status = await WaitForInteractionsAsync(client, options.Users, clock, log);
        var interactionsSeconds = clock.Elapsed.TotalSeconds;
        log($"interaction shards hold {status.UsersWithInteractions:N0} users after {interactionsSeconds:F1} s; host working set {Mib(host.WorkingSetBytes())} (before loading: {Mib(workingSetBefore)})");
        var afterLoad = host.WorkingSetBytes();
        var sinceLoaded = Stopwatch.StartNew();

        log($"TrainRecommender ({options.Algorithm})");
        var trainMeter = host.StartCpuMeter();
        var trainClock = Stopwatch.StartNew();
        var trained = await client.TrainRecommenderAsync(
            new TrainRecommenderRequest { Tenant = RecommendWorkload.Tenant, CandidateAlgorithm = options.Algorithm },
            deadline: DateTime.UtcNow.AddMinutes(30));
        var trainCall = trainClock.Elapsed.TotalSeconds;
        var trainCpu = trainMeter.Stop();
        var afterTraining = host.WorkingSetBytes();
        log($"trained model {trained.Version}: {trained.TrainingSeconds:F2} s by its answer ({trainCall:F2} s for the call; host {trainCpu.Server:F2} cores meanwhile), " +
            $"{trained.Users:N0} users, {trained.Items:N0} items, {trained.Interactions:N0} interactions, {trained.ModelBytes / 1048576.0:F1} MiB model, " +
            $"algorithm {trained.CandidateAlgorithm}; host working set {Mib(afterTraining)}" +
            (trained.Warnings.Count > 0 ? $"; warnings: {string.Join(" | ", trained.Warnings)}" : string.Empty));
        return new RecommendSetup(report.EventsSent, ackSeconds, ingestCpu, interactionsSeconds, report.Rejected, trained, trainCall, trainCpu, afterLoad, afterTraining, sinceLoaded);
    }

    private static async Task<RecommenderStatusResponse> WaitForInteractionsAsync(
        RecommendationService.RecommendationServiceClient client, int users, Stopwatch clock, Action<string> log)
    {
        var deadline = clock.Elapsed + TimeSpan.FromMinutes(15);
        var lastReport = clock.Elapsed;
        while (true)
        {
            var status = await client.GetRecommenderStatusAsync(new GetRecommenderStatusRequest { Tenant = RecommendWorkload.Tenant });
            if (status.UsersWithInteractions >= users)
            {
                return status;
            }

            if (clock.Elapsed > deadline)
            {
                throw new TimeoutException($"the interaction shards hold {status.UsersWithInteractions:N0} of {users:N0} users after {clock.Elapsed.TotalSeconds:F0} s.");
            }

            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                log($"  interaction shards hold {status.UsersWithInteractions:N0} of {users:N0} users");
                lastReport = clock.Elapsed;
            }

            await Task.Delay(250);
        }
    }

    internal static string Line(LoadStats s) =>
        $"{s.Requests:N0} calls in {s.Seconds:F1} s ({s.RequestsPerSecond:N0}/s): p50 {s.P50:F3} ms, p90 {s.P90:F3}, p99 {s.P99:F3}, p99.9 {s.P999:F3}, max {s.Max:F3}" +
        (s.ServiceP99 is { } service ? $" (from sending: p50 {s.ServiceP50:F3}, p99 {service:F3}; sender late by up to {s.SendLagP99:F3} ms at p99)" : string.Empty) +
        $"; errors {s.Errors}{(s.FirstError is null ? string.Empty : $" ({s.FirstError})")}; host {s.Cpu.Server:F2} cores, {s.HostMicrosPerRequest:F0} us per call; " +
        $"client {s.Cpu.Client:F2} cores; machine {s.Cpu.Machine:F2} cores; load average now {LoadAverage()}";

    /// <summary>The 1, 5 and 15 minute load averages now: the machine is shared, and what else ran shows in the tail latencies.</summary>
    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }

    private static void Print(RecommendOptions options, RecommendSetup setup, LoadStats open, LoadStats closed, LoadStats floor, LoadStats openFloor, TimeSpan elapsed)
    {
        Console.WriteLine("## Results");
        Console.WriteLine();
        var t = setup.Trained;
        Console.WriteLine($"History: {options.Users:N0} users, {setup.Events:N0} events (product_view 70%, add_to_cart 15%, purchase 8%, rating 7%), " +
                          $"{options.Items:N0} items upserted; loaded in {setup.IngestAckSeconds:F1} s ({setup.Events / setup.IngestAckSeconds:N0} events/s acknowledged), " +
                          $"all users in the interaction shards after {setup.InteractionsSeconds:F1} s.");
        Console.WriteLine($"Model: {t.CandidateAlgorithm}, trained in {t.TrainingSeconds:F2} s (TrainRecommender's answer; {setup.TrainCallSeconds:F2} s for the call), " +
                          $"{t.Users:N0} users x {t.Items:N0} items, {t.Interactions:N0} interactions, {t.ModelBytes / 1048576.0:F1} MiB; " +
                          $"host working set {Mib(setup.WorkingSetAfterLoad)} after loading, {Mib(setup.WorkingSetAfterTraining)} after training.");
        Console.WriteLine();
        Console.WriteLine($"| phase | calls | calls/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | host cores (of {Environment.ProcessorCount}) | host CPU per call | client cores | others | machine cores |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var s in new[] { open, openFloor, closed, floor })
        {
            var name = s == open ? $"Recommend open loop, {options.Rate:N0}/s scheduled"
                : s == openFloor ? $"gRPC health check, {options.Rate:N0}/s scheduled (the open loop's floor)"
                : s == closed ? $"Recommend closed loop, {options.ClosedConcurrency} in flight" : $"{s.Phase}, {options.ClosedConcurrency} in flight";
            Console.WriteLine($"| {name} | {s.Requests:N0} | {s.RequestsPerSecond:N0} | {s.P50:F3} | {s.P90:F3} | {s.P99:F3} | {s.P999:F3} | {s.Max:F3} | {s.Errors} | " +
                              $"{s.Cpu.Server:F2} | {s.HostMicrosPerRequest:F0} us | {s.Cpu.Client:F2} | {s.Cpu.Others:F2} | {s.Cpu.Machine:F2} |");
        }

        Console.WriteLine();
        Console.WriteLine($"Open loop latencies count from each call's scheduled send time; from the actual send: p50 {open.ServiceP50:F3} ms, p99 {open.ServiceP99:F3} ms " +
                          $"(the sender was late by {open.SendLagP99:F3} ms or less for 99% of the calls).");
        Console.WriteLine($"Open loop answers: {open.Answers.Describe(options.N)}.");
        Console.WriteLine($"Closed loop answers: {closed.Answers.Describe(options.N)}.");
        Console.WriteLine($"Issue 9's goal, p99 <= {GoalP99Ms} ms at {options.Rate:N0}/s on two cores: p99 {open.P99:F3} ms, " +
                          $"{(open.P99 <= GoalP99Ms && open.Errors == 0 && open.RequestsPerSecond >= 0.98 * options.Rate ? "met" : "**not met**")}" +
                          (options.Users != 100_000 || options.Items != 20_000 || options.Rate != 1000 ? $" (at {options.Users:N0} users and {options.Items:N0} items, not the issue's 100,000 x 20,000 at 1,000/s)" : string.Empty) + ".");
        Console.WriteLine();
        Console.WriteLine($"Total run time {elapsed.TotalSeconds:F0} s; load average at the end {LoadAverage()}.");
    }

    private static string Mib(long? bytes) => bytes is { } b ? $"{b / 1048576.0:N0} MiB" : "-";

    /// <summary>A line every 10 s while the history loads.</summary>
    private sealed class Progress(Action<string> log, Stopwatch clock) : IProgress<ReplayProgress>
    {
        private TimeSpan _last;

        public void Report(ReplayProgress value)
        {
            if (clock.Elapsed - _last < TimeSpan.FromSeconds(10))
            {
                return;
            }

            _last = clock.Elapsed;
            log($"  {value.EventsSent:N0} events acknowledged after {value.Elapsed.TotalSeconds:F0} s ({value.EventsSent / value.Elapsed.TotalSeconds:N0}/s)");
        }
    }
}
