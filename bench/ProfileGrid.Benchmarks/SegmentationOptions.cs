using System.Globalization;

namespace ProfileGrid.Benchmarks;

/// <summary>Options of <c>bench.sh segmentation</c>, parsed by hand like <see cref="BenchOptions"/>.</summary>
public sealed class SegmentationOptions
{
    public IReadOnlyList<int> Users { get; private set; } = [100_000, 1_000_000];

    public int MinK { get; private set; } = 2;

    public int MaxK { get; private set; } = 10;

    /// <summary>k-means initialisations per k on both sides (scikit-learn's n_init).</summary>
    public int Initializations { get; private set; } = 3;

    public int SilhouetteSample { get; private set; } = 2000;

    /// <summary>OMP_NUM_THREADS (and the BLAS thread counts) for scikit-learn; ProfileGrid's k-means (and ML.NET's) is single-threaded.</summary>
    public int SklearnThreads { get; private set; } = 1;

    public int Seed { get; private set; } = 42;

    /// <summary>Single-row assignment calls timed on each side (the first rows of the data).</summary>
    public int SingleCalls { get; private set; } = 20_000;

    /// <summary>Also sweep with ML.NET's k-means (<c>kmeans-mlnet</c>), the implementation the default replaced.</summary>
    public bool MlNet { get; private set; }

    /// <summary>Worker mode only: the clusterer of a sweep, by its algorithm name.</summary>
    public string Algorithm { get; private set; } = "kmeans";

    /// <summary>Worker mode only: sweep (k 2..10 on the normalised matrix) or train (the whole pipeline and assignment).</summary>
    public string? Phase { get; private set; }

    public string? Input { get; private set; }

    public string? Output { get; private set; }

    public const string Usage =
        """
        ProfileGrid segmentation benchmark: k-means k sweep against scikit-learn on the same points, the whole training
        pipeline, assignment throughput and peak memory.

        bench.sh segmentation [options] (defaults in brackets):
          --users N,N,...           users per run, one run per size [100000,1000000]
          --min-k N / --max-k N     candidate k range [2 / 10]
          --n-init N                k-means initialisations per k, both sides [3]
          --silhouette-sample N     rows in the sampled silhouette, both sides [2000]
          --sklearn-threads N       OMP_NUM_THREADS for scikit-learn [1, as ProfileGrid's k-means]
          --mlnet                   also sweep with ML.NET's k-means (kmeans-mlnet), the former default
          --single-calls N          one-row assignment calls timed per side [20000]
          --seed N                  seed of the data and of both k-means [42]
          --help                    this text
        """;

    /// <summary>Null when --help was asked for.</summary>
    public static SegmentationOptions? Parse(IEnumerable<string> args)
    {
        var options = new SegmentationOptions();
        var reader = new OptionReader(args.ToList());
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--help" or "-h": return null;
                case "--users": options.Users = reader.List(reader.PositiveInt); break;
                case "--min-k": options.MinK = reader.PositiveInt(); break;
                case "--max-k": options.MaxK = reader.PositiveInt(); break;
                case "--n-init": options.Initializations = reader.PositiveInt(); break;
                case "--silhouette-sample": options.SilhouetteSample = reader.PositiveInt(); break;
                case "--sklearn-threads": options.SklearnThreads = reader.PositiveInt(); break;
                case "--single-calls": options.SingleCalls = reader.PositiveInt(); break;
                case "--seed": options.Seed = reader.PositiveInt(); break;
                case "--mlnet": options.MlNet = true; break;
                case "--algorithm": options.Algorithm = reader.Value(); break;
                case "--phase": options.Phase = reader.Value(); break;
                case "--input": options.Input = reader.Value(); break;
                case "--output": options.Output = reader.Value(); break;
                default: throw new ArgumentException($"Unknown option '{reader.Raw}'. Try bench.sh segmentation --help.");
            }
        }

        if (options.MinK < 2 || options.MaxK <= options.MinK)
        {
            throw new ArgumentException("Need 2 <= --min-k < --max-k.");
        }

        if (options.Users.Count == 0 || options.Users.Any(n => n <= Math.Max(options.MaxK, 10)))
        {
            throw new ArgumentException("--users: each size must exceed --max-k and 10.");
        }

        return options;
    }

    /// <summary>The options a worker process needs, as arguments.</summary>
    public IEnumerable<string> WorkerArguments(string phase, string input, string output, string algorithm = "kmeans") =>
    [
        "--phase", phase, "--algorithm", algorithm, "--input", input, "--output", output,
        "--min-k", Invariant(MinK), "--max-k", Invariant(MaxK), "--n-init", Invariant(Initializations),
        "--silhouette-sample", Invariant(SilhouetteSample), "--single-calls", Invariant(SingleCalls), "--seed", Invariant(Seed),
    ];

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
