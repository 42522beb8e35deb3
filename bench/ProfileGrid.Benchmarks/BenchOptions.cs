namespace ProfileGrid.Benchmarks;

/// <summary>
/// One ProfileGrid configuration to measure: an ingest path on a storage, with the cluster stats collection on (the
/// default) or off (a name ending in "-nostats", for the cost of collection).
/// </summary>
public sealed record HostConfiguration(string Name, bool StreamPath, bool Azurite, bool Stats = true, bool Keys = false)
{
    private const string NoStats = "-nostats";

    public static HostConfiguration Parse(string name)
    {
        var stats = !name.EndsWith(NoStats, StringComparison.Ordinal);
        var config = (stats ? name : name[..^NoStats.Length]) switch
        {
            "log-azurite" => new HostConfiguration(name, StreamPath: false, Azurite: true),
            "stream-azurite" => new HostConfiguration(name, StreamPath: true, Azurite: true),
            "log-memory" => new HostConfiguration(name, StreamPath: false, Azurite: false),
            "stream-memory" => new HostConfiguration(name, StreamPath: true, Azurite: false),
            _ => throw new ArgumentException(
                $"Unknown configuration '{name}': use log-azurite, stream-azurite, log-memory or stream-memory, each optionally with '{NoStats}'."),
        };
        return config with { Stats = stats };
    }

    /// <summary>Host settings of this configuration (storage connection string, ports and service id come on top).</summary>
    public IEnumerable<string> HostSettings()
    {
        yield return $"--ProfileGrid:IngestPath={(StreamPath ? "Stream" : "Log")}";
        yield return $"--ProfileGrid:Storage={(Azurite ? "AzureStorage" : "Memory")}";
        yield return $"--ProfileGrid:Streams={(Azurite ? "AzureQueue" : "Memory")}";
        yield return $"--ProfileGrid:Stats:Enabled={(Stats ? "true" : "false")}";
    }

    public string Description => (StreamPath, Azurite) switch
    {
        (false, true) => "event log (append blobs) + write-behind Table state, on Azurite (disk)",
        (true, true) => "Azure Queue stream + write-through Table state, on Azurite (disk)",
        (false, false) => "event log + state in process memory (not durable: throwaway mode)",
        (true, false) => "memory stream + memory state (not durable: throwaway mode)",
    } + (Stats ? string.Empty : ", cluster stats collection off") + (Keys ? ", API keys checked on every call" : string.Empty);
}

/// <summary>
/// Command-line options. Parsed by hand rather than with System.CommandLine: seven flat "--name value" options and
/// --help do not earn a dependency, and System.CommandLine's API has changed between every major version.
/// </summary>
public sealed class BenchOptions
{
    public int Users { get; private set; } = 3000;

    public int Batch { get; private set; } = 500;

    public int Concurrency { get; private set; } = 8;

    public int LatencyRequests { get; private set; } = 20_000;

    public int LatencyConcurrency { get; private set; } = 16;

    public IReadOnlyList<HostConfiguration> Configs { get; private set; } =
        new[] { "log-azurite", "stream-azurite", "log-memory" }.Select(HostConfiguration.Parse).ToList();

    public int StreamMaxEvents { get; private set; } = 40_000;

    /// <summary>Cap on every configuration's events (a prefix of the stream); null: the whole stream.</summary>
    public int? MaxEvents { get; private set; }

    public int Seed { get; private set; } = 42;

    /// <summary>Least time of unrecorded reads before each read phase is measured (the host's JIT settles meanwhile).</summary>
    public TimeSpan ReadWarmup { get; private set; } = TimeSpan.FromSeconds(15);

    /// <summary>Users of the warm-up stream on another tenant before the measured ingest (log path); null: <see cref="BenchHost.LogPathWarmupUsers"/>.</summary>
    public int? WarmupUsers { get; private set; }

    public bool SkipRedis { get; private set; }

    /// <summary>Ingest only: no GetProfile phase (the stats-cost comparison).</summary>
    public bool SkipReads { get; private set; }

    public const string Usage =
        """
        ProfileGrid benchmark: ingest throughput and GetProfile latency of the real host, and the same work in Redis.

        Options (defaults in brackets):
          --users N                 simulated users [3000, about 274k events]
          --batch N                 events per IngestEvents request (and per Redis pipeline batch) [500]
          --concurrency N           requests (batches) in flight during ingest [8]
          --latency-requests N      measured GetProfile / HGETALL requests per configuration [20000]
          --latency-concurrency N   reads in flight during the latency phase [16]
          --configs A,B,...         log-azurite, stream-azurite, log-memory, stream-memory, each optionally with
                                    "-nostats" (cluster stats collection off) [log-azurite,stream-azurite,log-memory]
          --stream-max-events N     cap on the events sent through the stream path (a prefix of the stream) [40000]
          --max-events N            cap on the events of every configuration (a prefix of the stream: many users,
                                    few events each, as a burst of new users) [the whole stream]
          --seed N                  seed of the simulated stream [42]
          --read-warmup-seconds N   least time of unrecorded reads before each read phase is measured, so that the
                                    host's JIT has settled, as in a server that has been up a while [15]
          --warmup-users N          users of the first warm-up stream sent before the measured ingest, on another
                                    tenant and 8 requests in flight; a second of 100 users follows on a third tenant,
                                    then the host is left to settle (log path; the stream path sends 20 twice) [500,
                                    about 45k events]
          --no-redis                skip the Redis comparison
          --no-reads                skip the GetProfile phase (ingest figures only)
          --help                    this text

        bench.sh segmentation --help: the segmentation benchmark (k-means against scikit-learn).
        bench.sh memory --help: bytes per resident profile grain of the demo mix, in one in-process silo.
        bench.sh growth --help: ingest and GetProfile with 3k, 100k and 1M resident users (issue 7's growth target).
        bench.sh stats-cost: the cost of cluster stats collection on ingest, each of log-memory and log-azurite run
        twice with collection on and twice off, alternating (on, off, off, on), ingest figures only; extra options
        (e.g. --users 10000) go through.
        """;

    /// <summary>Null when --help was asked for.</summary>
    public static BenchOptions? Parse(string[] args)
    {
        var options = new BenchOptions();
        var reader = new OptionReader(args);
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--help" or "-h": return null;
                case "--users": options.Users = reader.PositiveInt(); break;
                case "--batch": options.Batch = reader.PositiveInt(); break;
                case "--concurrency": options.Concurrency = reader.PositiveInt(); break;
                case "--latency-requests": options.LatencyRequests = reader.PositiveInt(); break;
                case "--latency-concurrency": options.LatencyConcurrency = reader.PositiveInt(); break;
                case "--stream-max-events": options.StreamMaxEvents = reader.PositiveInt(); break;
                case "--max-events": options.MaxEvents = reader.PositiveInt(); break;
                case "--seed": options.Seed = reader.PositiveInt(); break;
                case "--read-warmup-seconds": options.ReadWarmup = TimeSpan.FromSeconds(reader.PositiveInt()); break;
                case "--warmup-users": options.WarmupUsers = reader.PositiveInt(); break;
                case "--no-redis": options.SkipRedis = true; break;
                case "--no-reads": options.SkipReads = true; break;
                case "--configs": options.Configs = reader.List(HostConfiguration.Parse); break;
                default: throw new ArgumentException($"Unknown option '{reader.Raw}'. Try --help.");
            }
        }

        // The gateway refuses requests of more than 1000 events (ProfileGrid:Gateway:MaxEventsPerRequest).
        if (options.Batch > 1000)
        {
            throw new ArgumentException("--batch must be at most 1000, the gateway's limit per request.");
        }

        return options;
    }
}
