using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Benchmarks;

public sealed record SweepPoint(int K, double Inertia, double Silhouette, double FitSeconds);

/// <summary>What a sweep worker measured: k-means for every k on the normalised matrix, as <see cref="KSelection"/> runs it.</summary>
public sealed record SweepResult(
    string Algorithm, int Rows, List<SweepPoint> Curve, double FitSeconds, double SweepSeconds, double CpuSeconds,
    int ElbowK, int SilhouetteK, int ChosenK, string Reason, long PeakWorkingSetBytes);

/// <summary>What a train worker measured: the whole pipeline on raw vectors, then <see cref="SegmentModel.Assign"/>.</summary>
public sealed record TrainResult(
    int Rows, double TrainSeconds, double CpuSeconds, int K, double Silhouette, double StabilityAri, int UnstableSegments,
    int SingleCalls, double SingleCallsPerSecond, double BytesAllocatedPerCall, double BatchSeconds, double BatchRowsPerSecond,
    long PeakWorkingSetBytes);

public sealed record SklearnPoint(int K, double Inertia, double Silhouette, int Iterations, double FitSeconds, double SilhouetteSeconds);

public sealed record SklearnThreadPool(string? Api, string? Library, int? Threads);

public sealed record SklearnResult(
    string Sklearn, string Numpy, string Python, List<SklearnThreadPool> Threads, int Rows, List<SklearnPoint> Curve, int BestSilhouetteK,
    double SweepCpuSeconds, int PredictK, double PredictBatchRowsPerSecond, double PredictSingleCallsPerSecond, int PredictSingleCalls,
    long PeakRssBytes);

/// <summary>One size: ProfileGrid's k-means sweep, ML.NET's (with --mlnet), scikit-learn's and the training pipeline.</summary>
public sealed record SegmentationRun(int Users, SweepResult Ours, SweepResult? MlNet, SklearnResult Sklearn, TrainResult Train);

/// <summary>
/// bench.sh segmentation: for each size, seeded RFM-like vectors are normalised once (the library's
/// <see cref="Normalizer"/>: log1p on the heavy-tailed columns, z-score) and written to a file; then, each in its own
/// process so that peak memory is per size and per side, (1) ProfileGrid's k sweep on that matrix (<see cref="KMeansClusterer"/>,
/// and with --mlnet also ML.NET's, <see cref="MlNetKMeansClusterer"/>), (2) scikit-learn's on the same file,
/// (3) <see cref="SegmentationTrainer.Train"/> on the raw vectors and assignment throughput.
/// </summary>
public static class SegmentationBench
{
    // Debian's interpreter, where apt puts python3-sklearn; a pyenv python3 first on PATH would not see it.
    private const string Python = "/usr/bin/python3";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<int> RunAsync(string[] args)
    {
        SegmentationOptions? options;
        try
        {
            options = SegmentationOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(SegmentationOptions.Usage);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine(SegmentationOptions.Usage);
            return 0;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");
        var script = FindScript();

        Console.WriteLine("# ProfileGrid segmentation benchmark");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines().Where(l => !l.StartsWith("redis", StringComparison.Ordinal) && !l.StartsWith("azurite", StringComparison.Ordinal)))
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh segmentation {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine($"settings:        k {options.MinK}..{options.MaxK}, n_init {options.Initializations}, silhouette sample {options.SilhouetteSample}, " +
                          $"seed {options.Seed}; ProfileGrid k-means 1 thread{(options.MlNet ? ", ML.NET k-means 1 thread" : "")}, " +
                          $"scikit-learn OMP_NUM_THREADS={options.SklearnThreads}");
        Console.WriteLine();

        var runs = new List<SegmentationRun>();
        foreach (var users in options.Users)
        {
            var folder = Directory.CreateTempSubdirectory("profilegrid-segmentation-bench-");
            try
            {
                var rawPath = Path.Combine(folder.FullName, "raw.f64");
                var pointsPath = Path.Combine(folder.FullName, "points.f64");
                WriteData(users, options.Seed, rawPath, pointsPath);
                Log($"== {users:N0} users x {SegmentationData.Features.Length} features, written to {folder.FullName}");

                Log("ProfileGrid k sweep (KMeansClusterer + KSelection.Choose)...");
                var ours = await RunWorkerAsync<SweepResult>(options, "sweep", pointsPath, folder.FullName);
                Log($"ProfileGrid: fits {ours.FitSeconds:F1} s, sweep {ours.SweepSeconds:F1} s, chose k = {ours.ChosenK}");

                SweepResult? mlNet = null;
                if (options.MlNet)
                {
                    Log("ML.NET k sweep (MlNetKMeansClusterer + KSelection.Choose)...");
                    mlNet = await RunWorkerAsync<SweepResult>(options, "sweep", pointsPath, folder.FullName, "kmeans-mlnet");
                    Log($"ML.NET: fits {mlNet.FitSeconds:F1} s, sweep {mlNet.SweepSeconds:F1} s, chose k = {mlNet.ChosenK}");
                }

                Log($"scikit-learn k sweep ({Python}, OMP_NUM_THREADS={options.SklearnThreads})...");
                var sklearn = await RunSklearnAsync(options, script, pointsPath, ours.ChosenK);
                Log($"scikit-learn: fits {sklearn.Curve.Sum(p => p.FitSeconds):F1} s, best silhouette k = {sklearn.BestSilhouetteK}");

                Log("ProfileGrid SegmentationTrainer.Train and SegmentModel.Assign...");
                var train = await RunWorkerAsync<TrainResult>(options, "train", rawPath, folder.FullName);
                Log($"Train {train.TrainSeconds:F1} s, Assign {train.SingleCallsPerSecond:N0} calls/s");
                runs.Add(new SegmentationRun(users, ours, mlNet, sklearn, train));
            }
            finally
            {
                folder.Delete(recursive: true);
            }
        }

        Console.WriteLine();
        PrintReport(options, runs, total.Elapsed);
        return 0;
    }

    /// <summary>A worker process (<c>segmentation-worker --phase ...</c>): measures one phase and writes its JSON result.</summary>
    public static int RunWorker(string[] args)
    {
        var options = SegmentationOptions.Parse(args) ?? throw new ArgumentException("--help is not a worker option.");
        var input = options.Input ?? throw new ArgumentException("--input is required.");
        var output = options.Output ?? throw new ArgumentException("--output is required.");
        object result = options.Phase switch
        {
            "sweep" => Sweep(options, SegmentationData.Read(input, SegmentationData.Features.Length)),
            "train" => Train(options, SegmentationData.Read(input, SegmentationData.Features.Length)),
            _ => throw new ArgumentException($"Unknown phase '{options.Phase}'."),
        };
        File.WriteAllText(output, JsonSerializer.Serialize(result, result.GetType(), Json));
        return 0;
    }

    private static void WriteData(int users, int seed, string rawPath, string pointsPath)
    {
        var raw = SegmentationData.Generate(users, seed);
        SegmentationData.Write(rawPath, raw);
        var normalizer = Normalizer.Fit(raw, NormalizationKind.ZScore, SegmentationData.HeavyTailed);
        SegmentationData.Write(pointsPath, normalizer.Transform(raw));
    }

    private static SweepResult Sweep(SegmentationOptions options, double[][] points)
    {
        var clusterer = new TimedClusterer(new SegmentationSettings { Algorithm = options.Algorithm, KMeansInitializations = options.Initializations }.CreateClusterer());
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var choice = KSelection.Choose(clusterer, points, options.MinK, options.MaxK, options.Seed, options.SilhouetteSample);
        var sweepSeconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var curve = choice.Curve.Select(p => new SweepPoint(p.K, p.Inertia, p.Silhouette, clusterer.FitSeconds[p.K])).ToList();
        return new SweepResult(clusterer.Name, points.Length, curve, curve.Sum(p => p.FitSeconds), sweepSeconds, cpuSeconds,
            choice.ElbowK, choice.SilhouetteK, choice.K, choice.Reason, PeakWorkingSet());
    }

    private static TrainResult Train(SegmentationOptions options, double[][] raw)
    {
        var settings = new SegmentationSettings
        {
            MinK = options.MinK,
            MaxK = options.MaxK,
            KMeansInitializations = options.Initializations,
            SilhouetteSampleSize = options.SilhouetteSample,
            Seed = options.Seed,
        };
        var data = new TrainingSet(SegmentationData.Features, SegmentationData.HeavyTailed, raw, raw.Length);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var model = SegmentationTrainer.Train(data, settings, previous: null, version: 1, DateTimeOffset.UtcNow);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;

        // One Assign per call on the first rows, as the grid does on each profile update; the checksum keeps the
        // calls from being optimised away. A second of warm-up lets tiered compilation install the optimised code,
        // and the best of three rounds is kept (here and for all rows), as a neighbour's burst can hit one round.
        var calls = Math.Min(options.SingleCalls, raw.Length);
        long checksum = 0;
        clock.Restart();
        while (clock.Elapsed < TimeSpan.FromSeconds(1))
        {
            for (var i = 0; i < calls; i++)
            {
                checksum += model.Assign(raw[i]);
            }
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var singleSeconds = double.PositiveInfinity;
        for (var round = 0; round < 3; round++)
        {
            clock.Restart();
            for (var i = 0; i < calls; i++)
            {
                checksum += model.Assign(raw[i]);
            }

            singleSeconds = Math.Min(singleSeconds, clock.Elapsed.TotalSeconds);
        }

        var bytesPerCall = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (3.0 * calls);

        var ids = new int[raw.Length];
        var batchSeconds = double.PositiveInfinity;
        for (var round = 0; round < 3; round++)
        {
            clock.Restart();
            for (var i = 0; i < raw.Length; i++)
            {
                ids[i] = model.Assign(raw[i]);
            }

            batchSeconds = Math.Min(batchSeconds, clock.Elapsed.TotalSeconds);
        }

        checksum += ids.Sum(id => (long)id);
        if (checksum < 0)
        {
            throw new InvalidOperationException("Segment ids are never negative.");
        }

        return new TrainResult(raw.Length, trainSeconds, cpuSeconds, model.K, model.Silhouette, model.StabilityAdjustedRandIndex,
            model.Segments.Count(s => s.Unstable), calls, calls / singleSeconds, bytesPerCall, batchSeconds, raw.Length / batchSeconds,
            PeakWorkingSet());
    }

    private static long PeakWorkingSet()
    {
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return self.PeakWorkingSet64;
    }

    private static async Task<T> RunWorkerAsync<T>(SegmentationOptions options, string phase, string input, string folder, string algorithm = "kmeans")
    {
        var output = Path.Combine(folder, $"{phase}-{algorithm}.json");
        var self = typeof(SegmentationBench).Assembly.Location;
        var host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(self);
        }

        start.ArgumentList.Add("segmentation-worker");
        foreach (var argument in options.WorkerArguments(phase, input, output, algorithm))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {host}.");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"The {phase} worker exited with {process.ExitCode}.");
        }

        return JsonSerializer.Deserialize<T>(await File.ReadAllTextAsync(output), Json)!;
    }

    private static async Task<SklearnResult> RunSklearnAsync(SegmentationOptions options, string script, string pointsPath, int predictK)
    {
        var start = new ProcessStartInfo(Python) { UseShellExecute = false, RedirectStandardOutput = true };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(pointsPath);
        foreach (var (name, value) in new[]
                 {
                     ("--dimensions", SegmentationData.Features.Length), ("--min-k", options.MinK), ("--max-k", options.MaxK),
                     ("--n-init", options.Initializations), ("--silhouette-sample", options.SilhouetteSample), ("--seed", options.Seed),
                     ("--predict-k", predictK), ("--single-calls", options.SingleCalls),
                 })
        {
            start.ArgumentList.Add(name);
            start.ArgumentList.Add(value.ToString(CultureInfo.InvariantCulture));
        }

        var threads = options.SklearnThreads.ToString(CultureInfo.InvariantCulture);
        foreach (var variable in new[] { "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS" })
        {
            start.Environment[variable] = threads;
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"{Python} is missing; bench.sh installs Debian's python3-sklearn.", ex);
        }

        using (process)
        {
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{script} exited with {process.ExitCode}.");
            }

            return JsonSerializer.Deserialize<SklearnResult>(output, Json)!;
        }
    }

    private static string FindScript()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bench", "sklearn_kmeans.py");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException("bench/sklearn_kmeans.py not found above the working directory or the benchmark's folder.");
    }

    private static void PrintReport(SegmentationOptions options, List<SegmentationRun> runs, TimeSpan elapsed)
    {
        static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:N0} MiB";
        var threads = runs.Count > 0
            ? string.Join(", ", runs[0].Sklearn.Threads.Select(t => $"{t.Library} {t.Threads}"))
            : "?";
        Console.WriteLine("## Segmentation results");
        Console.WriteLine();
        Console.WriteLine($"scikit-learn {runs.FirstOrDefault()?.Sklearn.Sklearn} (numpy {runs.FirstOrDefault()?.Sklearn.Numpy}, Python {runs.FirstOrDefault()?.Sklearn.Python}), " +
                          $"thread pools: {threads}. k {options.MinK}..{options.MaxK}, n_init {options.Initializations}, silhouette sample {options.SilhouetteSample}, seed {options.Seed}.");
        Console.WriteLine();

        Console.WriteLine("Targets: fit time <= 1.0x scikit-learn's, inertia <= 1.01x (the sum over k, and the worst single k), peak memory <= 1.5x.");
        Console.WriteLine();
        Console.WriteLine("| users | ProfileGrid k-means fits, k 2..10 | scikit-learn fits | fit time ratio | inertia ratio, sum over k (worst k) | peak memory: ProfileGrid sweep | scikit-learn | memory ratio |" +
                          (options.MlNet ? " ML.NET fits (ratio to scikit-learn) | ML.NET inertia ratio, sum (worst k) | ML.NET sweep peak memory (ratio) |" : ""));
        Console.WriteLine("|---:|---:|---:|---:|---|---:|---:|---:|" + (options.MlNet ? "---:|---|---:|" : ""));
        foreach (var run in runs)
        {
            var sklearnFit = run.Sklearn.Curve.Sum(p => p.FitSeconds);
            string InertiaRatio(SweepResult sweep)
            {
                var sum = sweep.Curve.Sum(p => p.Inertia) / run.Sklearn.Curve.Sum(p => p.Inertia);
                var worst = sweep.Curve.Max(p => p.Inertia / run.Sklearn.Curve.Single(q => q.K == p.K).Inertia);
                return $"{sum:F4} ({worst:F4})";
            }

            var line = $"| {run.Users:N0} | {run.Ours.FitSeconds:F2} s | {sklearnFit:F2} s | {run.Ours.FitSeconds / sklearnFit:F2} | {InertiaRatio(run.Ours)} | " +
                       $"{Mib(run.Ours.PeakWorkingSetBytes)} | {Mib(run.Sklearn.PeakRssBytes)} | {(double)run.Ours.PeakWorkingSetBytes / run.Sklearn.PeakRssBytes:F2} |";
            if (run.MlNet is { } mlNet)
            {
                line += $" {mlNet.FitSeconds:F1} s ({mlNet.FitSeconds / sklearnFit:F2}) | {InertiaRatio(mlNet)} | " +
                        $"{Mib(mlNet.PeakWorkingSetBytes)} ({(double)mlNet.PeakWorkingSetBytes / run.Sklearn.PeakRssBytes:F2}) |";
            }

            Console.WriteLine(line);
        }

        Console.WriteLine();
        Console.WriteLine("| users | ProfileGrid k-means fits | scikit-learn fits | ratio | ProfileGrid sweep incl. silhouette (CPU/wall) | scikit-learn CPU/wall | k chosen (elbow, best silhouette) | scikit-learn best-silhouette k | Train pipeline |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---|---:|---:|");
        foreach (var run in runs)
        {
            var sklearnFit = run.Sklearn.Curve.Sum(p => p.FitSeconds);
            var sklearnWall = run.Sklearn.Curve.Sum(p => p.FitSeconds + p.SilhouetteSeconds);
            Console.WriteLine($"| {run.Users:N0} | {run.Ours.FitSeconds:F1} s | {sklearnFit:F1} s | {run.Ours.FitSeconds / sklearnFit:F2} | " +
                              $"{run.Ours.SweepSeconds:F1} s ({run.Ours.CpuSeconds / run.Ours.SweepSeconds:F2}) | {run.Sklearn.SweepCpuSeconds / sklearnWall:F2} | " +
                              $"{run.Ours.ChosenK} ({run.Ours.ElbowK}, {run.Ours.SilhouetteK}) | {run.Sklearn.BestSilhouetteK} | {run.Train.TrainSeconds:F1} s |");
        }

        Console.WriteLine();
        Console.WriteLine($"| users | Assign, one call per row, first {options.SingleCalls:N0} rows (calls/s) | Assign, every row once (rows/s) | bytes allocated per Assign | scikit-learn predict, one row per call (calls/s) | predict, every row in one call (rows/s) | peak memory: ProfileGrid sweep | ProfileGrid Train + Assign | scikit-learn |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var run in runs)
        {
            Console.WriteLine($"| {run.Users:N0} | {run.Train.SingleCallsPerSecond:N0} | {run.Train.BatchRowsPerSecond:N0} | {run.Train.BytesAllocatedPerCall:N0} | " +
                              $"{run.Sklearn.PredictSingleCallsPerSecond:N0} | {run.Sklearn.PredictBatchRowsPerSecond:N0} | " +
                              $"{Mib(run.Ours.PeakWorkingSetBytes)} | {Mib(run.Train.PeakWorkingSetBytes)} | {Mib(run.Sklearn.PeakRssBytes)} |");
        }

        foreach (var run in runs)
        {
            Console.WriteLine();
            Console.WriteLine($"### {run.Users:N0} users, per k");
            Console.WriteLine();
            Console.WriteLine("| k | ProfileGrid inertia | scikit-learn inertia | ratio | ProfileGrid silhouette | scikit-learn silhouette | ProfileGrid fit | scikit-learn fit | fit ratio | scikit-learn iterations |" +
                              (run.MlNet is null ? "" : " ML.NET inertia ratio | ML.NET fit |"));
            Console.WriteLine("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + (run.MlNet is null ? "" : "---:|---:|"));
            foreach (var ours in run.Ours.Curve)
            {
                var theirs = run.Sklearn.Curve.Single(p => p.K == ours.K);
                var mlNet = run.MlNet?.Curve.Single(p => p.K == ours.K);
                Console.WriteLine($"| {ours.K} | {ours.Inertia:F1} | {theirs.Inertia:F1} | {ours.Inertia / theirs.Inertia:F4} | {ours.Silhouette:F4} | {theirs.Silhouette:F4} | " +
                                  $"{ours.FitSeconds:F2} s | {theirs.FitSeconds:F2} s | {ours.FitSeconds / theirs.FitSeconds:F2} | {theirs.Iterations} |" +
                                  (mlNet is null ? "" : $" {mlNet.Inertia / theirs.Inertia:F4} | {mlNet.FitSeconds:F2} s |"));
            }

            Console.WriteLine();
            Console.WriteLine($"ProfileGrid's choice: {run.Ours.Reason}");
            Console.WriteLine($"Train: k = {run.Train.K}, silhouette {run.Train.Silhouette:F4}, bootstrap ARI {run.Train.StabilityAri:F3}, " +
                              $"{run.Train.UnstableSegments} unstable segment(s), {run.Train.TrainSeconds:F1} s wall, {run.Train.CpuSeconds:F1} s CPU.");
        }

        Console.WriteLine();
        Console.WriteLine($"Whole run: {elapsed:mm\\:ss}; load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>Times each k's fit, since <see cref="KSelection.Choose"/> reports only inertia and silhouette.</summary>
    private sealed class TimedClusterer(IClusterer inner) : IClusterer
    {
        public Dictionary<int, double> FitSeconds { get; } = [];

        public string Name => inner.Name;

        public ClusteringResult Fit(double[][] points, int k, int seed)
        {
            var clock = Stopwatch.StartNew();
            var result = inner.Fit(points, k, seed);
            FitSeconds[k] = FitSeconds.GetValueOrDefault(k) + clock.Elapsed.TotalSeconds;
            Console.WriteLine($"  {inner.Name} k={k}: {clock.Elapsed.TotalSeconds:F2} s fit, inertia {result.Inertia:F1}");
            return result;
        }
    }
}
