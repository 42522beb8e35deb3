namespace ProfileGrid.Benchmarks;

/// <summary>Options of <c>bench.sh recommend</c>, parsed by hand like <see cref="GrowthOptions"/>.</summary>
public sealed class RecommendOptions
{
    public int Users { get; private set; } = 100_000;

    public int Items { get; private set; } = 20_000;

    /// <summary>Open-loop Recommend calls per second.</summary>
    public int Rate { get; private set; } = 1000;

    /// <summary>Length of the measured open-loop phase.</summary>
    public int Seconds { get; private set; } = 30;

    /// <summary>Items per list.</summary>
    public int N { get; private set; } = 10;

    public HostConfiguration Config { get; private set; } = HostConfiguration.Parse("log-memory");

    /// <summary>item-cf or ease: what TrainRecommender trains the hybrid's personal candidates with.</summary>
    public string Algorithm { get; private set; } = "item-cf";

    /// <summary>Share of Recommend calls for users the grid has never seen (cold start).</summary>
    public double UnknownShare { get; private set; } = 0.1;

    public int WarmupSeconds { get; private set; } = 15;

    /// <summary>
    /// Seconds from the end of loading to the warm-up: profiles pack 30 to 60 s after their last write
    /// (ResidencyOptions.PackIdleAfter), so by then the grid holds its users as one whose load is long past does.
    /// </summary>
    public int SettleSeconds { get; private set; } = 75;

    public int ClosedConcurrency { get; private set; } = 16;

    public int ClosedSeconds { get; private set; } = 15;

    /// <summary>Interactions per user: uniform in [Mean - Spread, Mean + Spread].</summary>
    public int PerUser { get; private set; } = 20;

    /// <summary>Item popularity ∝ 1/rank^s.</summary>
    public double Zipf { get; private set; } = 0.8;

    public int Categories { get; private set; } = 50;

    public int Batch { get; private set; } = 500;

    public int Concurrency { get; private set; } = 4;

    public int Seed { get; private set; } = 42;

    public const string Usage =
        """
        ProfileGrid Recommend serving benchmark (issue 9): Recommend latency and the host's CPU per request at a fixed
        request rate (open loop), and at the most the host serves with 16 calls in flight (closed loop), on the real
        host with a synthetic long-tailed item history loaded through the public ingest API and a model trained by
        TrainRecommender.

        bench.sh recommend [options] (defaults in brackets):
          --users N                 users with an item history [100000]
          --items N                 catalog items (upserted with category and price) [20000]
          --rate N                  open-loop Recommend calls per second [1000]
          --seconds N               measured open-loop seconds [30]
          --n N                     items per list [10]
          --storage S               memory or azurite: the host's state and log storage [memory]
          --algorithm A             item-cf or ease: TrainRecommender's candidate algorithm [item-cf]
          --unknown-share X         share of calls for users never seen (cold start) [0.1]
          --warmup-seconds N        unrecorded open-loop seconds at --rate before the measured ones [15]
          --settle-seconds N        seconds from the end of loading to the warm-up, so that idle profiles have packed
                                    (30-60 s after their last write) as in a grid whose load is long past [75]
          --closed-concurrency N    calls in flight in the closed-loop (max throughput) run [16]
          --closed-seconds N        measured seconds of the closed-loop run [15]
          --per-user N              interactions per user on average (uniform in N-4..N+4) [20]
          --zipf S                  item popularity ∝ 1/rank^S [0.8]
          --categories N            item categories [50]
          --batch N                 events per IngestEvents request [500]
          --concurrency N           ingest requests in flight [4]
          --seed N                  seed of the history and of the draws [42]
          --help                    this text

        What it does:
        1. Starts the host (ProfileGrid.Silo.dll) as a child process on free loopback ports, log ingest path, state in
           memory (or on Azurite with disk persistence), warmed up on another tenant, as bench.sh does.
        2. Upserts the catalog (UpsertItems, 1,000 items per request): item i0000000.. in one of --categories
           categories, a price in EUR. Then loads the history through IngestEvents: each user (u0000000..) gets about
           --per-user interactions with distinct items, 60% drawn from the user's favourite category and 40% from the
           whole catalog, both by popularity ∝ 1/rank^S; 70% product_view, 15% add_to_cart, 8% purchase, 7% rating,
           times spread over the last 29 days; --batch events per request (whole users), --concurrency in flight.
           Waits until GetRecommenderStatus says the interaction shards hold every user, then TrainRecommender.
        3. Warm-up, then the open loop: Recommend(n) is scheduled every 1/--rate s whatever the answers do, and each
           latency is measured from the scheduled send time (so queueing in the host or in this client is counted, not
           hidden: no coordinated omission). 1 - --unknown-share of the calls are for a random user with a history, the
           rest for an id never seen (cold start).
        4. The closed loop: --closed-concurrency callers, each with one call in flight, for --closed-seconds.
        Reported per phase: achieved rate, p50/p90/p99/p99.9/max, errors, the host's CPU per request and its cores
        busy, this client's and the rest of the machine's, and what the answers were (cold start, list lengths).
        """;

    /// <summary>Null when --help was asked for.</summary>
    public static RecommendOptions? Parse(IEnumerable<string> args)
    {
        var options = new RecommendOptions();
        var reader = new OptionReader(args.ToList());
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--help" or "-h": return null;
                case "--users": options.Users = reader.PositiveInt(); break;
                case "--items": options.Items = reader.PositiveInt(); break;
                case "--rate": options.Rate = reader.PositiveInt(); break;
                case "--seconds": options.Seconds = reader.PositiveInt(); break;
                case "--n": options.N = reader.PositiveInt(); break;
                case "--storage":
                    options.Config = reader.Value() switch
                    {
                        "memory" => HostConfiguration.Parse("log-memory"),
                        "azurite" => HostConfiguration.Parse("log-azurite"),
                        var other => throw new ArgumentException($"--storage must be memory or azurite, not '{other}'."),
                    };
                    break;
                case "--algorithm":
                    var algorithm = reader.Value();
                    options.Algorithm = algorithm is "item-cf" or "ease" ? algorithm : throw new ArgumentException("--algorithm must be item-cf or ease.");
                    break;
                case "--unknown-share":
                    var share = reader.PositiveNumber();
                    options.UnknownShare = share < 1 ? share : throw new ArgumentException("--unknown-share must be below 1.");
                    break;
                case "--warmup-seconds": options.WarmupSeconds = reader.PositiveInt(); break;
                case "--settle-seconds": options.SettleSeconds = reader.NonNegativeInt(); break;
                case "--closed-concurrency": options.ClosedConcurrency = reader.PositiveInt(); break;
                case "--closed-seconds": options.ClosedSeconds = reader.PositiveInt(); break;
                case "--per-user": options.PerUser = reader.PositiveInt(); break;
                case "--zipf": options.Zipf = reader.PositiveNumber(); break;
                case "--categories": options.Categories = reader.PositiveInt(); break;
                case "--batch": options.Batch = reader.PositiveInt(); break;
                case "--concurrency": options.Concurrency = reader.PositiveInt(); break;
                case "--seed": options.Seed = reader.PositiveInt(); break;
                default: throw new ArgumentException($"Unknown option '{reader.Raw}'. Try bench.sh recommend --help.");
            }
        }

        // The gateway refuses requests of more than 1000 events (ProfileGrid:Gateway:MaxEventsPerRequest).
        if (options.Batch > 1000)
        {
            throw new ArgumentException("--batch must be at most 1000, the gateway's limit per request.");
        }

        if (options.PerUser + RecommendWorkload.PerUserSpread > options.Items)
        {
            throw new ArgumentException("--per-user must leave room for distinct items: at most --items minus 4.");
        }

        if (options.Categories > options.Items)
        {
            throw new ArgumentException("--categories must be at most --items.");
        }

        // The host's default ProfileGrid:Recommendations:MaxResults.
        if (options.N > 100)
        {
            throw new ArgumentException("--n must be at most 100, the host's default limit per list.");
        }

        return options;
    }
}
