using System.Diagnostics;
using System.Globalization;
using ProfileGrid.Benchmarks;
using ProfileGrid.Simulator;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

// The segmentation benchmark (and its worker processes) has its own options; everything else is the ingest benchmark.
if (args.Length > 0 && args[0] == "segmentation")
{
    return await SegmentationBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "memory")
{
    return await MemoryBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "storage-costs")
{
    return await StorageCostBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "lake")
{
    return await LakeBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "growth")
{
    return await GrowthBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "recommender-train")
{
    return await RecommenderTrainBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "feedback")
{
    return await FeedbackBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "experiment-results")
{
    return await ExperimentResultsBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "key-cost")
{
    return await KeyCostBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "import")
{
    return await ProfileGrid.Benchmarks.ImportBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "recommend")
{
    return await RecommendBench.RunAsync(args[1..]);
}

if (args.Length > 0 && args[0] == "recommender-train-worker")
{
    return RecommenderTrainBench.RunWorker(args[1..]);
}

if (args.Length > 0 && args[0] == "segmentation-worker")
{
    return SegmentationBench.RunWorker(args[1..]);
}

BenchOptions? options;
try
{
    options = BenchOptions.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(BenchOptions.Usage);
    return 2;
}

if (options is null)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}

var total = Stopwatch.StartNew();
var machine = MachineInfo.Capture();
void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");

Console.WriteLine("# ProfileGrid benchmark");
Console.WriteLine();
foreach (var line in machine.Lines())
{
    Console.WriteLine(line);
}

Console.WriteLine($"command:         bench.sh {string.Join(' ', args)}".TrimEnd());
Console.WriteLine();

var stream = new SyntheticStream(new SimulationOptions { Users = options.Users, Seed = options.Seed });
var requests = stream.IngestRequests(options.Batch).ToList();
var whole = options.MaxEvents is { } maxEvents
    ? Workload.Prefix(requests, stream.Options.Tenant, maxEvents)
    : Workload.Whole(requests, stream.Options.Tenant);
var streamPrefix = Workload.Prefix(requests, stream.Options.Tenant, options.StreamMaxEvents);
Log($"stream: seed {options.Seed}, {whole.UserIds.Count:N0} users, {whole.Events:N0} events, {requests.Count:N0} requests of at most {options.Batch} events " +
    $"({whole.EventsPerUserPerRequest:F2} events per user per request on average)");
if (options.Configs.Any(c => c.StreamPath))
{
    Log($"stream path capped at --stream-max-events {options.StreamMaxEvents:N0}: the first {streamPrefix.Requests.Count:N0} requests, " +
        $"{streamPrefix.Events:N0} events of {streamPrefix.UserIds.Count:N0} users");
}

var results = new List<IngestResult>();
var failures = new List<string>();
foreach (var config in options.Configs)
{
    Console.WriteLine();
    Log($"== {config.Name}: {config.Description}");
    try
    {
        results.Add(await ProfileGridRun.RunAsync(config, config.StreamPath ? streamPrefix : whole, options, Log));
    }
    catch (Exception ex)
    {
        Log($"{config.Name} FAILED: {ex.Message}");
        failures.Add(config.Name);
    }
}

RedisBenchResult? redis = null;
if (!options.SkipRedis)
{
    Console.WriteLine();
    Log("== redis: one Lua script (EVALSHA) per event, AOF fsync every second");
    try
    {
        redis = await RedisRun.RunAsync(whole, options, Log);
    }
    catch (Exception ex)
    {
        Log($"redis FAILED: {ex.Message}");
        failures.Add("redis");
    }
}

Console.WriteLine();
Report.Print(options, whole, streamPrefix, results, redis, total.Elapsed);
if (failures.Count > 0)
{
    Console.WriteLine($"FAILED: {string.Join(", ", failures)}");
}

return failures.Count == 0 && results.All(r => r.Verified) && (redis?.Verified ?? true) ? 0 : 1;
