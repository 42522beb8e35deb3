using System.Diagnostics;
using System.Runtime;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using Orleans.Configuration;
using Orleans.Storage;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.DevHost;
using ProfileGrid.Domain;
using ProfileGrid.Grains;
using ProfileGrid.Silo.Gateway;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// <c>bench.sh memory</c>: how many bytes one resident profile grain of the demo mix costs in a silo (see
/// <see cref="MemoryOptions.Usage"/> for exactly what it does), and what a profile holds.
/// </summary>
public static class MemoryBench
{
    private const int ChunkEvents = 500;
    private const int Partitions = 16;
    private const string WarmupTenant = "memory-warmup";

    public static async Task<int> RunAsync(string[] args)
    {
        MemoryOptions? options;
        try
        {
            options = MemoryOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(MemoryOptions.Usage);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine(MemoryOptions.Usage);
            return 0;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");

        Console.WriteLine("# ProfileGrid memory benchmark");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh memory {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine($"GC:              {(GCSettings.IsServerGC ? "server" : "workstation")}, concurrent {GCSettings.LatencyMode != GCLatencyMode.Batch}");
        Console.WriteLine();

        var simulation = new SimulationOptions { Users = options.Users, Seed = options.Seed };
        var histories = new Histories(simulation, options.MaxEventsPerUser);
        var profileStore = new MeasuringStore();
        var segmentStore = new MeasuringStore();

        using var host = BuildSilo(profileStore, segmentStore, options.PackIdleAfter);
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        var packer = host.Services.GetRequiredService<ProfilePacker>();
        var residency = host.Services.GetRequiredService<IOptions<ResidencyOptions>>().Value;
        var packs = residency.PackIdleAfter > TimeSpan.Zero;
        var serializer = host.Services.GetRequiredService<IGrainStorageSerializer>();
        profileStore.Serializer = segmentStore.Serializer = serializer;
        Log($"packing: {(packs ? $"after {residency.PackIdleAfter.TotalSeconds:N0} s idle" : "off")}");
        Log("silo started (in process, localhost clustering; profile and segment stores count serialized bytes and keep nothing)");

        // What a profile holds, from states built directly by the updater for the first users: the same code and
        // options the grain applies, without the grain around it (and trimmed, as the grain does after a write).
        var sample = Math.Min(options.Sample, options.Users);
        PrintStateModel(histories, sample, serializer, host.Services.GetRequiredService<Serializer<UserProfileGrainState>>(), Log);

        // The empty silo: warmed up (JIT, serializer caches, partitions and a shard active), then its profiles collected.
        var warmup = new Histories(simulation with { Tenant = WarmupTenant, Users = 20 }, options.MaxEventsPerUser);
        await FeedAsync(grains, warmup, 0, 20, options.Concurrency, () => false);
        await UntilWrittenAsync(profileStore, 20, Log);
        await grains.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var baselineActivations = await ProfileActivationsAsync(grains);
        profileStore.Reset();
        var baseline = HeapFigures.Measure();
        Log($"empty silo: {baseline} ({baselineActivations} profile activations left)");

        var results = new List<(string Phase, int Profiles, HeapFigures Heap, int Activations)>();
        var limit = (long)(options.MaxWorkingSetGiB * 1024 * 1024 * 1024);
        var stopped = false;
        bool TooBig()
        {
            if (!stopped && Environment.WorkingSet > limit)
            {
                stopped = true;
                Log($"working set {Environment.WorkingSet / 1048576.0:N0} MiB passed --max-working-set-gib {options.MaxWorkingSetGiB}: feeding stops here");
            }

            return stopped;
        }

        var fed = 0;
        foreach (var upTo in new[] { options.Users / 2, options.Users }.Where(n => n > 0).Distinct())
        {
            var feedClock = Stopwatch.StartNew();
            var (users, events) = await FeedAsync(grains, histories, fed, upTo, options.Concurrency, TooBig);
            Log($"fed users {fed:N0}..{fed + users - 1:N0}: {events:N0} events in {feedClock.Elapsed.TotalSeconds:F1} s");
            fed += users;
            await UntilWrittenAsync(profileStore, fed, Log);
            var heap = HeapFigures.Measure();
            var activations = await ProfileActivationsAsync(grains) - baselineActivations;
            Log($"{activations:N0} resident profiles ({packer.Resident.Profiles:N0} packed), every state written: {heap}; {PerProfile(heap, baseline, activations)}");
            results.Add(("after ingest", activations, heap, activations));
            if (stopped)
            {
                break;
            }
        }

        // Idle profiles pack their state (ResidencyOptions.PackIdleAfter): the steady state of profiles nobody uses.
        if (packs && !stopped)
        {
            var activations = await ProfileActivationsAsync(grains) - baselineActivations;
            var packClock = Stopwatch.StartNew();
            await UntilPackedAsync(packer, activations, residency.PackIdleAfter * 2 + TimeSpan.FromSeconds(30));
            var heap = HeapFigures.Measure();
            var (packed, bytes) = packer.Resident;
            Log($"{packed:N0} of {activations:N0} profiles packed ({bytes / (double)Math.Max(1, packed):N0} B each) {packClock.Elapsed.TotalSeconds:F1} s after the writes: {heap}; {PerProfile(heap, baseline, activations)}");
            results.Add(("idle: state packed", activations, heap, activations));
        }

        if (options.Read && !stopped)
        {
            var readClock = Stopwatch.StartNew();
            await ForEachUserAsync(fed, options.Concurrency, index => grains.GetGrain<IUserProfileGrain>(histories.Key(index)).GetViewAsync());
            var heap = HeapFigures.Measure();
            var activations = await ProfileActivationsAsync(grains) - baselineActivations;
            Log($"read every profile once ({readClock.Elapsed.TotalSeconds:F1} s): {heap}; {PerProfile(heap, baseline, activations)}");
            results.Add(("after one read of each", activations, heap, activations));

            // A profile keeps the view a read built for a while (ResidencyOptions.ViewKeptFor, 1 minute by default), then
            // drops it, and packs once idle; without packing, measured once the views are gone.
            readClock.Restart();
            if (packs)
            {
                await UntilPackedAsync(packer, activations, residency.ViewKeptFor * 2 + residency.PackIdleAfter * 2 + TimeSpan.FromSeconds(30));
            }
            else
            {
                await Task.Delay(residency.ViewKeptFor * 2 + TimeSpan.FromSeconds(10));
            }

            heap = HeapFigures.Measure();
            var phase = $"{readClock.Elapsed.TotalMinutes:F1} min after the reads{(packs ? ", packed again" : "")}";
            Log($"{phase} ({packer.Resident.Profiles:N0} packed): {heap}; {PerProfile(heap, baseline, activations)}");
            results.Add((phase, activations, heap, activations));
        }

        Console.WriteLine();
        Console.WriteLine($"## Bytes per resident profile ({histories.Describe()})");
        Console.WriteLine();
        Console.WriteLine("| phase | resident profiles | managed heap (live) | minus empty silo, per profile | GC heap size incl. fragmentation, per profile | working set | working set minus empty silo's, per profile |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| empty silo | 0 | {Mib(baseline.Live)} | - | - | {Mib(baseline.WorkingSet)} | - |");
        foreach (var (phase, profiles, heap, _) in results)
        {
            Console.WriteLine($"| {phase} | {profiles:N0} | {Mib(heap.Live)} | {(heap.Live - baseline.Live) / (double)profiles:N0} B | " +
                $"{(heap.HeapSize - baseline.HeapSize) / (double)profiles:N0} B | {Mib(heap.WorkingSet)} | {(heap.WorkingSet - baseline.WorkingSet) / (double)profiles:N0} B |");
        }

        var ingest = results.Where(r => r.Phase == "after ingest").ToList();
        if (ingest.Count == 2 && ingest[1].Profiles > ingest[0].Profiles)
        {
            var slope = (ingest[1].Heap.Live - ingest[0].Heap.Live) / (double)(ingest[1].Profiles - ingest[0].Profiles);
            Console.WriteLine();
            Console.WriteLine($"Marginal bytes per profile between {ingest[0].Profiles:N0} and {ingest[1].Profiles:N0} profiles (fixed costs cancel): {slope:N0} B.");
        }

        Console.WriteLine();
        Console.WriteLine($"State writes: {profileStore.Writes:N0} of {profileStore.Bytes / (double)Math.Max(1, profileStore.Writes):N0} serialized bytes on average " +
            $"(largest {profileStore.Largest:N0}); segment-store writes: {segmentStore.Writes:N0}.");
        if (stopped)
        {
            Console.WriteLine($"STOPPED at {fed:N0} of {options.Users:N0} users: the working set passed {options.MaxWorkingSetGiB} GiB.");
        }

        Console.WriteLine($"Total {total.Elapsed:mm\\:ss}.");
        await host.StopAsync();
        return 0;
    }

    /// <summary>Waits until <paramref name="profiles"/> profiles are packed, or until <paramref name="atMost"/> has passed.</summary>
    private static async Task UntilPackedAsync(ProfilePacker packer, int profiles, TimeSpan atMost)
    {
        var clock = Stopwatch.StartNew();
        while (packer.Resident.Profiles < profiles && clock.Elapsed < atMost)
        {
            await Task.Delay(500);
        }
    }

    private static IHost BuildSilo(MeasuringStore profiles, MeasuringStore segments, TimeSpan? packIdleAfter)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        var (siloPort, gatewayPort) = (AzuriteServer.FreeTcpPort(), AzuriteServer.FreeTcpPort());
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(siloPort, gatewayPort);
            silo.Configure<EndpointOptions>(o => o.AdvertisedIPAddress = System.Net.IPAddress.Loopback);
            silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("memory-bench", "memory-bench"));

            // Nothing is collected while the benchmark runs (the default collects activations idle for 15 minutes).
            silo.Configure<GrainCollectionOptions>(o => o.CollectionAge = TimeSpan.FromDays(1));
            silo.AddMemoryGrainStorage(ProfileStores.PubSub);
            silo.UseInMemoryReminderService();
            silo.AddProfileGridGrains(builder.Configuration);
            if (packIdleAfter is { } idle)
            {
                silo.Services.Configure<ResidencyOptions>(o => o.PackIdleAfter = idle);
            }
            silo.Services.AddKeyedSingleton<IGrainStorage>(ProfileStores.Profiles, profiles);
            silo.Services.AddKeyedSingleton<IGrainStorage>(ProfileStores.Segments, segments);
        });
        return builder.Build();
    }

    private static void PrintStateModel(Histories histories, int sample, IGrainStorageSerializer serializer, Serializer<UserProfileGrainState> stateSerializer, Action<string> log)
    {
        var options = new ProfileOptions();
        var now = DateTimeOffset.UtcNow;
        var before = HeapFigures.Measure().Live;
        var profiles = new UserProfile[sample];
        for (var i = 0; i < sample; i++)
        {
            var profile = new UserProfile();
            foreach (var chunk in histories.Events(i).Chunk(ChunkEvents))
            {
                ProfileUpdater.Apply(profile, chunk, options, now);
            }

            // As the grain holds it once written (it trims after every write).
            ProfileUpdater.TrimExcess(profile);
            profiles[i] = profile;
        }

        var states = HeapFigures.Measure().Live;
        var serialized = profiles.Select(p => (double)serializer.Serialize(new UserProfileGrainState { Profile = p, LogPosition = 1_000_000 }).ToMemory().Length).ToArray();
        var withViews = MeasureWithViews(profiles, options, now);
        var packing = MeasurePacking(profiles, stateSerializer);

        Console.WriteLine();
        Console.WriteLine($"## What a profile holds (the first {sample:N0} users, {histories.Describe()})");
        Console.WriteLine();
        Console.WriteLine("| per profile | mean | p50 | p95 | max |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        void Row(string name, Func<UserProfile, double> value) => Console.WriteLine(Stats(name, profiles.Select(value).ToArray()));
        Console.WriteLine(Stats("serialized state (bytes, as the host writes it)", serialized));
        Row("events applied", p => p.EventsApplied);
        Row("event-id hashes (dedupe window)", p => p.RecentEventIds.Count);
        Row("order-id hashes", p => p.RecentOrderIds.Count);
        Row("recent actions", p => p.Behavior.RecentActions.Count);
        Row("daily buckets", p => p.Behavior.DailyBuckets.Count);
        Row("recent sessions kept", p => p.Behavior.RecentSessions.Count);
        Row("sessions counted", p => p.Behavior.Sessions);
        Row("category scores", p => p.Behavior.CategoryScores.Count);
        Row("currencies", p => p.Behavior.MonetaryByCurrency.Count);
        Row("anonymous ids", p => p.AnonymousIds.Count);
        Row("traits + preference values", p => p.Demographics.Traits.Count + p.Preferences.Values.Count);

        // Where the heap bytes of a state go: each part is replaced by an empty one in turn and the heap measured again
        // (strings shared between parts count in the part dropped last).
        var parts = new List<(string Part, long Bytes)>();
        var last = HeapFigures.Measure().Live;
        void Drop(string part, Action<UserProfile> clear)
        {
            foreach (var profile in profiles)
            {
                clear(profile);
            }

            var measured = HeapFigures.Measure().Live;
            parts.Add((part, last - measured));
            last = measured;
        }

        Drop("event-id window", p => p.RecentEventIds = new());
        Drop("order-id window", p => p.RecentOrderIds = new());
        Drop("recent actions", p => p.Behavior.RecentActions = []);
        Drop("daily buckets", p => p.Behavior.DailyBuckets = []);
        Drop("recent sessions", p => p.Behavior.RecentSessions = []);
        Drop("category scores", p => p.Behavior.CategoryScores = []);
        Drop("event counts, money, engagement, other counters", p => p.Behavior = null!);
        Drop("context (last device, channel, country, locale, user agent; mixes; hours)", p => p.Context = null!);
        Drop("demographics and traits", p => p.Demographics = null!);
        Drop("preferences", p => p.Preferences = null!);
        Drop("the profile object, ids, anonymous ids", _ => { });
        Array.Clear(profiles);
        var rest = HeapFigures.Measure().Live;
        parts[^1] = (parts[^1].Part, last - rest);

        Console.WriteLine();
        Console.WriteLine("| heap bytes per profile, outside a grain | bytes |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| the state (UserProfile and all it references) | {(states - before) / (double)sample:N0} |");
        foreach (var (part, bytes) in parts)
        {
            Console.WriteLine($"| - {part} | {bytes / (double)sample:N0} |");
        }

        Console.WriteLine($"| a read view built from it (ProfileView, sharing the state's strings) | {(withViews - states) / (double)sample:N0} |");

        Console.WriteLine();
        Console.WriteLine("| packed form of the state (ProfilePacker) | bytes mean | p50 | p95 | max | pack us per profile | unpack us per profile (incl. Compact) | bytes allocated per pack (managed) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, bytes, packUs, unpackUs, packAllocated) in packing)
        {
            var sorted = bytes.Order().ToArray();
            double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
            Console.WriteLine($"| {name} | {bytes.Average():N0} | {At(0.5):N0} | {At(0.95):N0} | {sorted[^1]:N0} | {packUs:N1} | {unpackUs:N1} | {packAllocated:N0} |");
        }
        log($"state model done: {sample:N0} profiles");
    }

    /// <summary>
    /// Sizes and CPU of the packed forms ProfilePacker can write: Orleans' serialization as is, Brotli at its fastest,
    /// Deflate at its fastest, zstd at level 1; unpacking includes the deserialization and ProfileUpdater.Compact.
    /// </summary>
    private static List<(string Name, double[] Bytes, double PackUs, double UnpackUs, double PackAllocated)> MeasurePacking(UserProfile[] profiles, Serializer<UserProfileGrainState> serializer)
    {
        var states = profiles.Select(p => new UserProfileGrainState { Profile = p, LogPosition = 1_000_000 }).ToArray();
        var codecs = new[] { ProfilePackCodec.None, ProfilePackCodec.Brotli, ProfilePackCodec.Deflate, ProfilePackCodec.Zstd };
        var packers = codecs.Select(c => new ProfilePacker(serializer) { Codec = c }).ToArray();
        var packed = codecs.Select(_ => new byte[states.Length][]).ToArray();
        var (packUs, unpackUs) = (codecs.Select(_ => double.MaxValue).ToArray(), codecs.Select(_ => double.MaxValue).ToArray());
        var packAllocated = new double[codecs.Length];

        // Seven rounds, the codecs taking turns within each so that a busy moment of the machine does not favour one, and
        // the best round of each kept (the first rounds also run code the JIT has not optimised yet).
        for (var round = 0; round < 7; round++)
        {
            for (var c = 0; c < codecs.Length; c++)
            {
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < states.Length; i++)
                {
                    packed[c][i] = packers[c].Pack(states[i]);
                }

                packUs[c] = Math.Min(packUs[c], clock.Elapsed.TotalMicroseconds / states.Length);
                packAllocated[c] = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)states.Length;
                clock.Restart();
                foreach (var bytes in packed[c])
                {
                    packers[c].Unpack(bytes);
                }

                unpackUs[c] = Math.Min(unpackUs[c], clock.Elapsed.TotalMicroseconds / states.Length);
            }
        }

        var chosen = new ProfilePacker(serializer).Codec;
        return codecs.Select((codec, c) =>
        {
            var name = codec switch
            {
                ProfilePackCodec.None => "Orleans serialization, uncompressed",
                ProfilePackCodec.Brotli => "Brotli quality 1, window 16",
                ProfilePackCodec.Deflate => "Deflate, fastest level",
                _ => "zstd level 1, its context reused per thread",
            };
            return (codec == chosen ? name + " (the default)" : name, packed[c].Select(b => (double)b.Length).ToArray(), packUs[c], unpackUs[c], packAllocated[c]);
        }).ToList();
    }

    /// <summary>The live heap while a view of each profile is held as well.</summary>
    private static long MeasureWithViews(UserProfile[] profiles, ProfileOptions options, DateTimeOffset now)
    {
        var views = profiles.Select(p => ProfileViews.Build(p, options, now)).ToArray();
        var live = HeapFigures.Measure().Live;
        GC.KeepAlive(views);
        return live;
    }

    private static async Task<(int Users, long Events)> FeedAsync(IGrainFactory grains, Histories histories, int from, int until, int concurrency, Func<bool> stop)
    {
        long events = 0;
        var users = 0;
        var positions = new long[Partitions];
        await Parallel.ForEachAsync(Enumerable.Range(from, until - from), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (index, _) =>
        {
            if (stop())
            {
                return;
            }

            var grain = grains.GetGrain<IUserProfileGrain>(histories.Key(index));
            var partition = index % Partitions;
            var userEvents = histories.Events(index);
            foreach (var chunk in userEvents.Chunk(ChunkEvents))
            {
                var position = Interlocked.Increment(ref positions[partition]);
                await grain.ApplyLoggedAsync(new EventBatch(chunk), partition, position, previous: null);
            }

            Interlocked.Add(ref events, userEvents.Count);
            Interlocked.Increment(ref users);
        });
        return (users, events);
    }

    private static Task ForEachUserAsync(int count, int concurrency, Func<int, Task> call) =>
        Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (index, _) => await call(index));

    /// <summary>Waits until the profiles wrote at least <paramref name="profiles"/> states and then no write for longer than a flush interval.</summary>
    private static async Task UntilWrittenAsync(MeasuringStore store, int profiles, Action<string> log)
    {
        var clock = Stopwatch.StartNew();
        while (store.Writes < profiles)
        {
            await Task.Delay(250);
        }

        var quietFor = TimeSpan.FromSeconds(7);
        long seen;
        do
        {
            seen = store.Writes;
            await Task.Delay(quietFor);
        }
        while (store.Writes != seen);

        log($"states written ({store.Writes:N0} writes) {clock.Elapsed.TotalSeconds:F1} s after the feed");
    }

    private static async Task<int> ProfileActivationsAsync(IGrainFactory grains)
    {
        var statistics = await grains.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return statistics.Where(s => s.GrainType.Contains(nameof(UserProfileGrain), StringComparison.Ordinal)).Sum(s => s.ActivationCount);
    }

    private static string PerProfile(HeapFigures heap, HeapFigures baseline, int profiles) =>
        profiles == 0 ? "no profiles" : $"{(heap.Live - baseline.Live) / (double)profiles:N0} B of heap per profile";

    private static string Mib(long bytes) => $"{bytes / 1048576.0:N1} MiB";

    private static string Stats(string name, double[] values)
    {
        if (values.Length == 0)
        {
            return $"| {name} | - | - | - | - |";
        }

        var sorted = values.Order().ToArray();
        double At(double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
        return $"| {name} | {values.Average():N1} | {At(0.5):N0} | {At(0.95):N0} | {sorted[^1]:N0} |";
    }

    /// <summary>The simulated users' histories, one user at a time, as validated events (what the log hands a profile).</summary>
    private sealed class Histories(SimulationOptions simulation, int? maxEventsPerUser)
    {
        // A stream of no users plans nobody and gives the catalogue the simulator's users shop from.
        private readonly ProductCatalog _catalog = new SyntheticStream(simulation with { Users = 0 }).Catalog;
        private readonly EventValidator _validator = new(new ProfileGrid.Silo.Gateway.GatewayOptions(), TimeProvider.System);

        public string Key(int index) => new ProfileKey(simulation.Tenant, $"u-{index + 1:D6}").ToString();

        public string Describe() =>
            $"the demo mix, seed {simulation.Seed}, {(maxEventsPerUser is { } max ? $"each user's first {max:N0} events" : "whole histories")}";

        public List<UserEvent> Events(int index)
        {
            var events = new List<UserEvent>();
            foreach (var session in SyntheticStream.SessionsOfUser(simulation, _catalog, index))
            {
                foreach (var wire in session.Events)
                {
                    if (maxEventsPerUser is { } max && events.Count >= max)
                    {
                        return events;
                    }

                    // Parsed from its bytes as the gateway receives it: each event brings its own strings (the simulator's
                    // share the catalogue's), as events arriving over gRPC or read back from the log do.
                    var received = Contracts.V1.Event.Parser.ParseFrom(wire.ToByteArray());
                    if (!_validator.TryValidate(received, simulation.Tenant, "event", out var validated, out var error))
                    {
                        throw new InvalidOperationException($"The simulator produced an event the gateway refuses: {error}");
                    }

                    events.Add(validated!);
                }
            }

            return events;
        }
    }

    /// <summary>Grain storage that serializes each write as the host's store would (to count its bytes) and keeps nothing.</summary>
    private sealed class MeasuringStore : IGrainStorage
    {
        private long _writes;
        private long _bytes;
        private long _largest;

        public IGrainStorageSerializer? Serializer { get; set; }

        public long Writes => Interlocked.Read(ref _writes);

        public long Bytes => Interlocked.Read(ref _bytes);

        public long Largest => Interlocked.Read(ref _largest);

        public void Reset() => (_writes, _bytes, _largest) = (0, 0, 0);

        public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            grainState.RecordExists = false;
            return Task.CompletedTask;
        }

        public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            var length = Serializer!.Serialize(grainState.State).ToMemory().Length;
            Interlocked.Add(ref _bytes, length);
            var writes = Interlocked.Increment(ref _writes);
            long largest;
            while (length > (largest = Interlocked.Read(ref _largest)) && Interlocked.CompareExchange(ref _largest, length, largest) != largest)
            {
            }

            grainState.ETag = writes.ToString(System.Globalization.CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
            return Task.CompletedTask;
        }

        public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
        {
            grainState.RecordExists = false;
            grainState.ETag = null;
            return Task.CompletedTask;
        }
    }

    private sealed record HeapFigures(long Live, long HeapSize, long Fragmented, long WorkingSet)
    {
        /// <summary>After two full, blocking, compacting collections (large objects compacted too).</summary>
        public static HeapFigures Measure()
        {
            for (var i = 0; i < 2; i++)
            {
                GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
                GC.WaitForPendingFinalizers();
            }

            var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            using var process = Process.GetCurrentProcess();
            return new HeapFigures(GC.GetTotalMemory(forceFullCollection: false), info.HeapSizeBytes, info.FragmentedBytes, process.WorkingSet64);
        }

        public override string ToString() =>
            $"heap {Live / 1048576.0:N1} MiB live ({HeapSize / 1048576.0:N1} MiB with {Fragmented / 1048576.0:N1} MiB fragmentation), working set {WorkingSet / 1048576.0:N1} MiB";
    }
}
