namespace ProfileGrid.Benchmarks;

/// <summary>Options of <c>bench.sh growth</c>, parsed by hand like <see cref="BenchOptions"/>.</summary>
public sealed class GrowthOptions
{
    /// <summary>Population sizes, smallest first: the first is the one the others are compared with.</summary>
    public IReadOnlyList<int> UsersList { get; private set; } = [3000, 100_000, 1_000_000];

    public IReadOnlyList<HostConfiguration> Configs { get; private set; } = [HostConfiguration.Parse("log-memory")];

    /// <summary>Events of the measured ingest, the same for every population.</summary>
    public int Events { get; private set; } = 300_000;

    public int Batch { get; private set; } = 500;

    public int Concurrency { get; private set; } = 8;

    public int LatencyRequests { get; private set; } = 20_000;

    public int LatencyConcurrency { get; private set; } = 16;

    public TimeSpan ReadWarmup { get; private set; } = TimeSpan.FromSeconds(15);

    /// <summary>Users whose profiles are checked event for event after the measured ingest.</summary>
    public int VerifyUsers { get; private set; } = 2000;

    public int Seed { get; private set; } = 42;

    /// <summary>Stop populating when the host's working set passes this (GiB): the machine is shared, and a swapping host measures nothing.</summary>
    public double MaxHostGiB { get; private set; } = 16;

    public const string Usage =
        """
        ProfileGrid growth benchmark (issue 7): ingest and GetProfile with N distinct resident users, for each N.

        bench.sh growth [options] (defaults in brackets):
          --users-list N,N,...      population sizes; each is compared with the first [3000,100000,1000000]
          --configs A,B,...         log-memory, log-azurite [log-memory] (the stream paths are too slow to populate
                                    100k users: about 1,300 events/s)
          --events N                events of the measured ingest, the same for every N [300000]
          --batch N                 events per IngestEvents request, populate and measured ingest [500]
          --concurrency N           requests in flight, populate and measured ingest [8]
          --latency-requests N      measured GetProfile requests per N [20000]
          --latency-concurrency N   reads in flight [16]
          --read-warmup-seconds N   least time of unrecorded reads before the measured ones [15]
          --verify-users N          users checked event for event after the measured ingest [2000]
          --seed N                  seed of the template sessions and of the draws [42]
          --max-host-gib X          stop populating (that N fails) when the host's working set passes X GiB [16]
          --help                    this text

        What it does, for each configuration and each N, on a fresh host (as bench.sh does: free ports, fresh service
        id, Azurite with disk persistence when the configuration needs it, a warm-up on another tenant):
        1. Populate: N users (tenant "growth", ids u0000000, u0000001, ...) each get one session of the demo mix: a web
           or app session of 3 to 8 events (page and product views, searches, carts, sometimes a purchase) taken from
           the simulator's stream (seed --seed, 300 users) and re-keyed to the user (event, session and order ids), its
           times moved into the last 30 days. Sent through gRPC like the measured ingest, timed, and waited for until
           applied and durable; then the host's working set is read, and the benchmark waits until the host is at
           rest (nearly every profile packed, by the host's gauge profilegrid.profiles.unpacked, and under 0.2 cores
           for 5 s; at most 5 min: the load's tail of packing idle profiles, shard writes and lake archiving is not
           what is measured).
        2. Ingest: --events events of the same kind of sessions, each for a user drawn uniformly from the N (so at 1M
           users most sessions land on a profile no other session touches), packed into requests with whole sessions
           kept together, times in the last day. Acknowledged and end-to-end (applied + durable) events/s, measured as
           bench.sh measures them.
        3. Exactly-once: --verify-users users drawn from the N; each one's events applied, counts by type and revenue
           per currency against its populate session and measured sessions.
        4. Reads: once the host is at rest again (as after the populate: the ingest's tail of shard writes and packs
           is not what is measured), GetProfile of users drawn uniformly from the N, 16 in flight, after the
           warm-up; then the gRPC health check (the transport floor).
        The table gives each figure against the first N; issue 7's target is within 20%.
        """;

    /// <summary>Null when --help was asked for.</summary>
    public static GrowthOptions? Parse(IEnumerable<string> args)
    {
        var options = new GrowthOptions();
        var reader = new OptionReader(args.ToList());
        while (reader.Next())
        {
            switch (reader.Name)
            {
                case "--help" or "-h": return null;
                case "--users-list": options.UsersList = reader.List(reader.PositiveInt); break;
                case "--configs": options.Configs = reader.List(HostConfiguration.Parse); break;
                case "--events": options.Events = reader.PositiveInt(); break;
                case "--batch": options.Batch = reader.PositiveInt(); break;
                case "--concurrency": options.Concurrency = reader.PositiveInt(); break;
                case "--latency-requests": options.LatencyRequests = reader.PositiveInt(); break;
                case "--latency-concurrency": options.LatencyConcurrency = reader.PositiveInt(); break;
                case "--read-warmup-seconds": options.ReadWarmup = TimeSpan.FromSeconds(reader.PositiveInt()); break;
                case "--verify-users": options.VerifyUsers = reader.PositiveInt(); break;
                case "--seed": options.Seed = reader.PositiveInt(); break;
                case "--max-host-gib": options.MaxHostGiB = reader.PositiveNumber(); break;
                default: throw new ArgumentException($"Unknown option '{reader.Raw}'. Try bench.sh growth --help.");
            }
        }

        if (options.UsersList.Count == 0)
        {
            throw new ArgumentException("--users-list needs at least one population size.");
        }

        if (options.Configs.Any(c => c.StreamPath))
        {
            throw new ArgumentException("--configs: the growth benchmark takes log-memory and log-azurite; the stream paths are too slow to populate 100k users.");
        }

        // The gateway refuses requests of more than 1000 events (ProfileGrid:Gateway:MaxEventsPerRequest).
        if (options.Batch > 1000)
        {
            throw new ArgumentException("--batch must be at most 1000, the gateway's limit per request.");
        }

        return options;
    }
}
