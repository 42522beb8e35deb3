using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using MathNet.Numerics;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Algorithms;

namespace ProfileGrid.Benchmarks;

/// <summary>Options of <c>bench.sh recommender-train</c>, parsed by hand like <see cref="SegmentationOptions"/>.</summary>
public sealed class RecommenderTrainOptions
{
    public int Users { get; private set; } = 100_000;
    public int Items { get; private set; } = 20_000;
    public int MinPerUser { get; private set; } = 20;
    public int MaxPerUser { get; private set; } = 50;

    /// <summary>Item popularity ∝ 1 / rank^s.</summary>
    public double Zipf { get; private set; } = 0.8;

    public int Seed { get; private set; } = 42;
    public int Neighbours { get; private set; } = 50;
    public double Shrink { get; private set; } = 10;
    public int EaseMaxItems { get; private set; } = new EaseOptions().MaxItems;

    /// <summary>One fixed λ on both sides (the same computation); --ease-validate also times .NET's λ search.</summary>
    public double EaseLambda { get; private set; } = 500;

    public bool EaseValidate { get; private set; }

    /// <summary>Threads on both sides: .NET's CF pass and MathNet, numpy's BLAS (OMP_NUM_THREADS).</summary>
    public int Threads { get; private set; } = 1;

    public string? Phase { get; private set; }
    public string? Input { get; private set; }
    public string? Output { get; private set; }

    public const string Usage =
        """
        ProfileGrid recommender training benchmark: item-item CF and EASE training time and peak memory in .NET
        (ProfileGrid.Recommendations) and in numpy/scipy on the same synthetic long-tailed implicit data, each phase in
        its own process.

        bench.sh recommender-train [options] (defaults in brackets):
          --users N             users [100000]
          --items N             items [20000]
          --per-user MIN,MAX    distinct items per user, uniform [20,50]
          --zipf S              item popularity ∝ 1/rank^S [0.8]
          --neighbours K        CF neighbours per item [50]
          --shrink S            CF shrinkage [10]
          --ease-max-items N    EASE catalog cap (the most popular items) [3000]
          --ease-lambda L       EASE's L2 penalty, the same on both sides [500]
          --ease-validate       also time .NET's EASE training with λ chosen by validation (the trainer's default)
          --threads N           threads on both sides [1]
          --seed N              data seed [42]
          --help                this text
        """;

    public static RecommenderTrainOptions? Parse(IEnumerable<string> args)
    {
        var options = new RecommenderTrainOptions();
        var reader = new OptionReader(args.ToList());
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--help" or "-h": return null;
                case "--users": options.Users = reader.PositiveInt(); break;
                case "--items": options.Items = reader.PositiveInt(); break;
                case "--per-user":
                    var range = reader.List(reader.PositiveInt);
                    (options.MinPerUser, options.MaxPerUser) = range.Count == 2 ? (range[0], range[1]) : throw new ArgumentException("--per-user needs MIN,MAX.");
                    break;
                case "--zipf": options.Zipf = reader.PositiveNumber(); break;
                case "--neighbours": options.Neighbours = reader.PositiveInt(); break;
                case "--shrink": options.Shrink = reader.PositiveNumber(); break;
                case "--ease-max-items": options.EaseMaxItems = reader.PositiveInt(); break;
                case "--ease-lambda": options.EaseLambda = reader.PositiveNumber(); break;
                case "--ease-validate": options.EaseValidate = true; break;
                case "--threads": options.Threads = reader.PositiveInt(); break;
                case "--seed": options.Seed = reader.PositiveInt(); break;
                case "--phase": options.Phase = reader.Value(); break;
                case "--input": options.Input = reader.Value(); break;
                case "--output": options.Output = reader.Value(); break;
                default: throw new ArgumentException($"Unknown option '{reader.Raw}'. Try bench.sh recommender-train --help.");
            }
        }

        if (options.MinPerUser > options.MaxPerUser || options.MaxPerUser > options.Items)
        {
            throw new ArgumentException("--per-user: need MIN <= MAX <= --items.");
        }

        return options;
    }

    public IEnumerable<string> WorkerArguments(string phase, string input, string output) =>
    [
        "--phase", phase, "--input", input, "--output", output, "--neighbours", Invariant(Neighbours), "--shrink", Invariant(Shrink),
        "--ease-max-items", Invariant(EaseMaxItems), "--ease-lambda", Invariant(EaseLambda), "--threads", Invariant(Threads),
    ];

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One phase's measurements on either side; the checksums show both sides computed the same thing.</summary>
public sealed record TrainPhaseResult(
    string Phase, double Seconds, double CpuSeconds, long PeakBytes,
    int? Neighbours = null, double? SimilaritySum = null, int[]? FirstNeighbours = null, long? CooccurrenceNonZeros = null,
    int? Items = null, double? AbsoluteSum = null, double? B01 = null, double? Lambda = null, string? Note = null,
    string? Numpy = null, string? Scipy = null, string? Python = null, string? Threads = null, long? PeakRssBytes = null);

/// <summary>
/// bench.sh recommender-train: seeded long-tailed implicit data (each user MIN..MAX distinct items drawn with
/// popularity ∝ 1/rank^s, weights as InteractionWeights gives a view, a cart add or a purchase), written once; then
/// each phase in its own process so that peak memory is per phase and per side: ItemCfTrainer and EaseTrainer (fixed
/// λ; with --ease-validate also λ by validation), and bench/numpy_recommender.py's cf and ease on the same file.
/// </summary>
public static class RecommenderTrainBench
{
    private const string Python = "/usr/bin/python3";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public static async Task<int> RunAsync(string[] args)
    {
        RecommenderTrainOptions? options;
        try
        {
            options = RecommenderTrainOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(RecommenderTrainOptions.Usage);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine(RecommenderTrainOptions.Usage);
            return 0;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");
        Console.WriteLine("# ProfileGrid recommender training benchmark");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines().Where(l => !l.StartsWith("redis", StringComparison.Ordinal) && !l.StartsWith("azurite", StringComparison.Ordinal)))
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh recommender-train {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine();

        var folder = Directory.CreateTempSubdirectory("profilegrid-recommender-bench-");
        try
        {
            var path = Path.Combine(folder.FullName, "matrix.bin");
            var (nonZeros, itemsUsed) = Generate(options, path);
            Log($"data: {options.Users:N0} users x {options.Items:N0} items ({itemsUsed:N0} with interactions), {nonZeros:N0} interactions " +
                $"({(double)nonZeros / options.Users:F1} per user), popularity 1/rank^{options.Zipf}, seed {options.Seed}");

            var rows = new List<(string Name, TrainPhaseResult Ours, TrainPhaseResult? Theirs)>();
            Log($"item-item CF in .NET (k {options.Neighbours}, shrink {options.Shrink}, {options.Threads} thread(s))...");
            var cf = await RunWorkerAsync(options, "cf", path, folder.FullName);
            Log($"  {cf.Seconds:F2} s, peak {Mib(cf.PeakBytes)}");
            Log("item-item CF in numpy/scipy...");
            var cfPy = await RunPythonAsync(options, "cf", path);
            Log($"  {cfPy.Seconds:F2} s, peak {Mib(cfPy.PeakRssBytes ?? 0)}");
            rows.Add(($"item-item CF (k {options.Neighbours}, shrink {options.Shrink})", cf, cfPy));

            Log($"EASE in .NET (MathNet managed, at most {options.EaseMaxItems:N0} items, λ {options.EaseLambda})...");
            var ease = await RunWorkerAsync(options, "ease", path, folder.FullName);
            Log($"  {ease.Seconds:F2} s, peak {Mib(ease.PeakBytes)}");
            Log("EASE in numpy...");
            var easePy = await RunPythonAsync(options, "ease", path);
            Log($"  {easePy.Seconds:F2} s, peak {Mib(easePy.PeakRssBytes ?? 0)}");
            rows.Add(($"EASE ({ease.Items:N0} items, λ {options.EaseLambda})", ease, easePy));

            if (options.EaseValidate)
            {
                Log("EASE in .NET with λ chosen by validation (the trainer's default)...");
                var validated = await RunWorkerAsync(options, "ease-validate", path, folder.FullName);
                Log($"  {validated.Seconds:F2} s, peak {Mib(validated.PeakBytes)}, {validated.Note}");
                rows.Add(($"EASE, λ by validation ({validated.Items:N0} items)", validated, null));
            }

            Console.WriteLine();
            Console.WriteLine("## Recommender training results");
            Console.WriteLine();
            Console.WriteLine($"numpy {cfPy.Numpy}, scipy {cfPy.Scipy}, Python {cfPy.Python}; BLAS: {(string.IsNullOrEmpty(cfPy.Threads) ? "?" : cfPy.Threads)}; " +
                              $".NET and OMP threads: {options.Threads}. Peak memory is each phase's process peak (.NET working set, Python max RSS), data loading included.");
            Console.WriteLine();
            Console.WriteLine("| training | .NET time (CPU) | numpy/scipy time (CPU) | time ratio | .NET peak memory | numpy/scipy peak memory | memory ratio | same result? |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|");
            foreach (var (name, ours, theirs) in rows)
            {
                var same = theirs is null ? "" : ours.Phase == "cf"
                    ? $"neighbours {ours.Neighbours:N0} / {theirs.Neighbours:N0}, Σ sim rel. diff {RelativeDifference(ours.SimilaritySum, theirs.SimilaritySum):E1}, item 0's first: " +
                      $"{string.Join(' ', ours.FirstNeighbours ?? [])} / {string.Join(' ', theirs.FirstNeighbours ?? [])}"
                    : $"Σ|B| rel. diff {RelativeDifference(ours.AbsoluteSum, theirs.AbsoluteSum):E1}, B[0,1] {ours.B01:G6} / {theirs.B01:G6}";
                Console.WriteLine($"| {name} | {ours.Seconds:F2} s ({ours.CpuSeconds:F2}) | " +
                                  (theirs is null ? "| | " : $"{theirs.Seconds:F2} s ({theirs.CpuSeconds:F2}) | {ours.Seconds / theirs.Seconds:F2} | ") +
                                  $"{Mib(ours.PeakBytes)} | " +
                                  (theirs is null ? "| | " : $"{Mib(theirs.PeakRssBytes ?? 0)} | {(double)ours.PeakBytes / (theirs.PeakRssBytes ?? 1):F2} | ") +
                                  $"{same}{(ours.Note is null ? "" : $" {ours.Note}")} |");
            }

            Console.WriteLine();
            Console.WriteLine($"scipy's co-occurrence matrix X'X: {cfPy.CooccurrenceNonZeros:N0} non-zeros (ProfileGrid accumulates one item's row at a time instead).");
            Console.WriteLine($"Whole run: {total.Elapsed:mm\\:ss}; load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>A worker process (<c>recommender-train-worker --phase ...</c>): trains one model and writes its JSON result.</summary>
    public static int RunWorker(string[] args)
    {
        var options = RecommenderTrainOptions.Parse(args) ?? throw new ArgumentException("--help is not a worker option.");
        var data = Read(options.Input ?? throw new ArgumentException("--input is required."));
        Control.MaxDegreeOfParallelism = options.Threads;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        TrainPhaseResult result;
        switch (options.Phase)
        {
            case "cf":
            {
                var model = new ItemCfTrainer(new ItemCfOptions { Neighbours = options.Neighbours, Shrink = options.Shrink, TrainingThreads = options.Threads }).Train(data);
                var seconds = clock.Elapsed.TotalSeconds;
                var bytes = ModelFormat.ToBytes(model).Length;
                var similar = model.SimilarItems(data.Items[0], options.Neighbours) ?? [];
                var sum = 0.0;
                var count = 0;
                foreach (var item in data.Items)
                {
                    foreach (var neighbour in model.SimilarItems(item, int.MaxValue) ?? [])
                    {
                        sum += (float)neighbour.Score;
                        count++;
                    }
                }

                result = new TrainPhaseResult("cf", seconds, CpuSince(cpu), PeakWorkingSet(), Neighbours: count, SimilaritySum: sum,
                    FirstNeighbours: [.. similar.Take(5).Select(s => data.IndexOf(s.ItemId))], Note: $"(model {bytes / 1024.0 / 1024.0:F1} MiB serialized)");
                break;
            }

            case "ease" or "ease-validate":
            {
                var validate = options.Phase == "ease-validate";
                var model = new EaseTrainer(new EaseOptions { MaxItems = options.EaseMaxItems, Lambda = validate ? null : options.EaseLambda }).Train(data);
                var seconds = clock.Elapsed.TotalSeconds;
                var sum = 0.0;
                foreach (var from in model.Items)
                {
                    foreach (var to in model.Items)
                    {
                        sum += Math.Abs(model.Weight(from, to)!.Value);
                    }
                }

                var note = validate
                    ? $"λ {model.Lambda:G4} of {string.Join(", ", model.LambdaGrid.Zip(model.LambdaScores, (l, s) => $"{l:G4} (nDCG@10 {s:F4})"))}"
                    : null;
                result = new TrainPhaseResult(options.Phase, seconds, CpuSince(cpu), PeakWorkingSet(), Items: model.Items.Count, AbsoluteSum: sum,
                    B01: model.Items.Count > 1 ? model.Weight(model.Items[0], model.Items[1]) : null, Lambda: model.Lambda, Note: note);
                break;
            }

            default:
                throw new ArgumentException($"Unknown phase '{options.Phase}'.");
        }

        File.WriteAllText(options.Output ?? throw new ArgumentException("--output is required."), JsonSerializer.Serialize(result, Json));
        return 0;
    }

    /// <summary>Writes the data: int32 users, items, nnz; int32 row starts; int32 item indices; float32 weights (little-endian).</summary>
    private static (long NonZeros, int ItemsUsed) Generate(RecommenderTrainOptions options, string path)
    {
        var random = new Random(options.Seed);
        var cumulative = new double[options.Items];
        var total = 0.0;
        for (var r = 0; r < options.Items; r++)
        {
            total += 1 / Math.Pow(r + 1, options.Zipf);
            cumulative[r] = total;
        }

        // A view, a view and a cart add, or all three with a purchase (log1p-damped, as InteractionWeights weighs them).
        float[] weights = [(float)Math.Log(2), (float)(Math.Log(2) + 3 * Math.Log(2)), (float)(9 * Math.Log(2))];
        var rowStart = new int[options.Users + 1];
        var indices = new List<int>(options.Users * (options.MinPerUser + options.MaxPerUser) / 2);
        var values = new List<float>(indices.Capacity);
        var row = new SortedSet<int>();
        var used = new bool[options.Items];
        for (var u = 0; u < options.Users; u++)
        {
            rowStart[u] = indices.Count;
            row.Clear();
            var count = random.Next(options.MinPerUser, options.MaxPerUser + 1);
            while (row.Count < count)
            {
                var at = Array.BinarySearch(cumulative, random.NextDouble() * total);
                row.Add(at < 0 ? Math.Min(~at, options.Items - 1) : at);
            }

            foreach (var i in row)
            {
                indices.Add(i);
                var kind = random.NextDouble();
                values.Add(kind < 0.8 ? weights[0] : kind < 0.95 ? weights[1] : weights[2]);
                used[i] = true;
            }
        }

        rowStart[^1] = indices.Count;
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(options.Users);
        writer.Write(options.Items);
        writer.Write(indices.Count);
        foreach (var s in rowStart)
        {
            writer.Write(s);
        }

        foreach (var i in indices)
        {
            writer.Write(i);
        }

        foreach (var v in values)
        {
            writer.Write(v);
        }

        return (indices.Count, used.Count(x => x));
    }

    private static InteractionMatrix Read(string path)
    {
        using var reader = new BinaryReader(File.OpenRead(path));
        var users = reader.ReadInt32();
        var items = reader.ReadInt32();
        var nonZeros = reader.ReadInt32();
        var rowStart = new int[users + 1];
        for (var u = 0; u <= users; u++)
        {
            rowStart[u] = reader.ReadInt32();
        }

        var indices = new int[nonZeros];
        for (var p = 0; p < nonZeros; p++)
        {
            indices[p] = reader.ReadInt32();
        }

        var weights = new float[nonZeros];
        for (var p = 0; p < nonZeros; p++)
        {
            weights[p] = reader.ReadSingle();
        }

        // Item ids in index order (zero-padded, so ordinal order is index order, as InteractionMatrix.Build makes it).
        return new InteractionMatrix(
            [.. Enumerable.Range(0, users).Select(u => $"u{u:D7}")], new string?[users], [.. Enumerable.Range(0, items).Select(i => $"i{i:D6}")],
            rowStart, indices, weights, new float[nonZeros]);
    }

    private static async Task<TrainPhaseResult> RunWorkerAsync(RecommenderTrainOptions options, string phase, string input, string folder)
    {
        var output = Path.Combine(folder, $"{phase}.json");
        var self = typeof(RecommenderTrainBench).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(self);
        }

        start.ArgumentList.Add("recommender-train-worker");
        foreach (var argument in options.WorkerArguments(phase, input, output))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {host}.");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"The {phase} worker exited with {process.ExitCode}.");
        }

        return JsonSerializer.Deserialize<TrainPhaseResult>(await File.ReadAllTextAsync(output), Json)!;
    }

    private static async Task<TrainPhaseResult> RunPythonAsync(RecommenderTrainOptions options, string phase, string input)
    {
        var script = FindScript();
        var start = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var argument in new[]
                 {
                     script, input, "--phase", phase, "--shrink", options.Shrink.ToString(CultureInfo.InvariantCulture),
                     "--neighbours", options.Neighbours.ToString(CultureInfo.InvariantCulture),
                     "--max-items", options.EaseMaxItems.ToString(CultureInfo.InvariantCulture),
                     "--lambda", options.EaseLambda.ToString(CultureInfo.InvariantCulture),
                 })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var variable in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
        {
            start.Environment[variable] = options.Threads.ToString(CultureInfo.InvariantCulture);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{Python} is missing; bench.sh installs Debian's python3-scipy.", ex);
        }

        using (process)
        {
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{script} --phase {phase} exited with {process.ExitCode}.");
            }

            var result = JsonSerializer.Deserialize<TrainPhaseResult>(output, Json)!;
            return result with { PeakBytes = result.PeakRssBytes ?? 0 };
        }
    }

    private static string FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "numpy_recommender.py");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("bench/numpy_recommender.py not found above the working directory or the benchmark's folder.");
    }

    private static double CpuSince(TimeSpan start) => (Process.GetCurrentProcess().TotalProcessorTime - start).TotalSeconds;

    private static long PeakWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.PeakWorkingSet64;
    }

    private static double RelativeDifference(double? ours, double? theirs) =>
        ours is { } a && theirs is { } b && b != 0 ? Math.Abs(a - b) / Math.Abs(b) : double.NaN;

    private static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:N0} MiB";
}
