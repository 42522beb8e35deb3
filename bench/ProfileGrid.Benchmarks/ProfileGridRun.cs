using System.Diagnostics;
using System.Globalization;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>What one configuration measured.</summary>
public sealed record IngestResult(
    string Name,
    string Description,
    Workload Workload,
    int Concurrency,
    double AckSeconds,
    double? EndToEndSeconds,
    string Verification,
    bool Verified,
    LatencyStats? Reads,
    LatencyStats? TransportFloor,
    IReadOnlyList<(string Phase, CpuUsage Usage, long Work)> Cpu,
    string Notes)
{
    public double AckEventsPerSecond => Workload.Events / AckSeconds;

    public double? EndToEndEventsPerSecond => EndToEndSeconds is { } s ? Workload.Events / s : null;
}

/// <summary>What an ingest phase measured: until acknowledged, and until applied and durable.</summary>
public sealed record IngestMeasurement(double AckSeconds, double? EndToEndSeconds, ReplayReport Report, IReadOnlyList<(string Phase, CpuUsage Usage, long Work)> Cpu);

/// <summary>What a read phase measured: GetProfile, and the gRPC health check on the same connection (the transport floor).</summary>
public sealed record ReadMeasurement(LatencyStats Reads, LatencyStats Floor, IReadOnlyList<(string Phase, CpuUsage Usage, long Work)> Cpu);

/// <summary>
/// One configuration: Azurite (if needed) and the host as child processes on free loopback ports, the seeded stream
/// replayed through gRPC, then GetProfile latency from a second client. Its phases serve <see cref="GrowthBench"/> too.
/// </summary>
public static class ProfileGridRun
{
    public static readonly TimeSpan EndToEndTimeout = TimeSpan.FromMinutes(15);

    public static async Task<IngestResult> RunAsync(HostConfiguration config, Workload workload, BenchOptions options, Action<string> log)
    {
        await using var host = await BenchHost.StartAsync(config, options.Batch, log, options.WarmupUsers);
        try
        {
            var ingest = await IngestAsync(host, workload, options.Concurrency, log);
            var (verified, verification) = await VerifyAsync(host.Client, workload.Tenant, workload.Expected);
            log($"exactly-once check: {verification}");

            var reads = options.SkipReads
                ? null
                : await ReadAsync(host, workload.Tenant, workload.UserIds, options.LatencyRequests, options.LatencyConcurrency, options.ReadWarmup, options.Seed, log);
            var report = ingest.Report;
            var notes = report.Rejected > 0 || report.Retries > 0 ? $"rejected {report.Rejected}, retries {report.Retries}" : string.Empty;
            return new IngestResult(
                config.Name, config.Description, workload, options.Concurrency, ingest.AckSeconds, ingest.EndToEndSeconds, verification, verified,
                reads?.Reads, reads?.Floor, [.. ingest.Cpu, .. reads?.Cpu ?? []], notes);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"{config.Name} failed: {ex.Message}\n--- last host output ---\n{host.Process.Tail}", ex);
        }
    }

    public static int WarmupReads(int measured) => Math.Max(500, measured / 10);

    /// <summary>
    /// Sends the workload's requests, <paramref name="concurrency"/> in flight, and times them until acknowledged and
    /// until applied and durable (from the first request), with the host's and storage's CPU over each.
    /// </summary>
    public static async Task<IngestMeasurement> IngestAsync(BenchHost host, Workload workload, int concurrency, Action<string> log)
    {
        log($"ingesting {workload.Events:N0} events of {workload.UserIds.Count:N0} users in {workload.Requests.Count:N0} requests, {concurrency} in flight");
        var replayer = new GatewayReplayer(host.Client, new ReplayOptions { MaxConcurrency = concurrency, RequestTimeout = TimeSpan.FromSeconds(60) });
        var cpu = new List<(string, CpuUsage, long)>();
        var meter = host.StartCpuMeter();
        var clock = Stopwatch.StartNew();
        var report = await replayer.ReplayAsync(workload.Requests);
        var ackSeconds = clock.Elapsed.TotalSeconds;
        cpu.Add(("ingest until acknowledged", meter.Stop(), workload.Events));
        log($"acknowledged in {ackSeconds:F2} s: {workload.Events / ackSeconds:N0} events/s (accepted {report.Accepted:N0}, rejected {report.Rejected}, retries {report.Retries})");

        var endToEnd = await host.WaitAppliedAndWrittenAsync(workload.Tenant, workload.UserIds, workload.Events, clock, EndToEndTimeout, log);
        cpu.Add(("ingest until applied + durable", meter.Stop(), workload.Events));
        log(endToEnd is { } e2e
            ? $"applied and durable in profile state after {e2e:F2} s: {workload.Events / e2e:N0} events/s"
            : $"not all applied within {EndToEndTimeout.TotalMinutes} min");
        if (await host.StorageRequestsAsync() is { } requests)
        {
            log(requests);
        }

        log($"host warnings so far: {host.Warnings()}");
        return new IngestMeasurement(ackSeconds, endToEnd, report, cpu);
    }

    /// <summary>
    /// GetProfile of random users among <paramref name="userIds"/> from a second client, after an unrecorded warm-up;
    /// then as many gRPC health checks on the same connection.
    /// </summary>
    public static async Task<ReadMeasurement> ReadAsync(
        BenchHost host, string tenant, IReadOnlyList<string> userIds, int requests, int concurrency, TimeSpan warmupTime, int seed, Action<string> log)
    {
        var cpu = new List<(string, CpuUsage, long)>();
        using var readChannel = host.OpenChannel();
        var reader = new ProfileGateway.ProfileGatewayClient(readChannel);
        Task ReadProfile(string user) => reader.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user }).ResponseAsync;
        var warmup = await LatencyRunner.WarmUpAsync(userIds, WarmupReads(requests), warmupTime, concurrency, seed, ReadProfile);
        log($"GetProfile warm-up: {warmup:N0} reads");
        var readMeter = host.StartCpuMeter();
        var reads = await LatencyRunner.MeasureAsync(userIds, requests, concurrency, seed, ReadProfile);
        cpu.Add(("GetProfile reads (measured, after warm-up)", readMeter.Stop(), requests));
        log($"GetProfile: p50 {reads.P50:F3} ms, p99 {reads.P99:F3} ms, {reads.RequestsPerSecond:N0} req/s, errors {reads.Errors}");

        // The same number of calls that do no work (the standard gRPC health check, a few bytes each way) on the same
        // connection: what Kestrel, HTTP/2, gRPC and this client cost per call on this machine, the floor under any read.
        var health = new Grpc.Health.V1.Health.HealthClient(readChannel);
        Task CheckHealth(string _) => health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest()).ResponseAsync;
        await LatencyRunner.WarmUpAsync(userIds, WarmupReads(requests), TimeSpan.Zero, concurrency, seed, CheckHealth);
        var floorMeter = host.StartCpuMeter();
        var floor = await LatencyRunner.MeasureAsync(userIds, requests, concurrency, seed, CheckHealth);
        cpu.Add(("gRPC health checks (transport floor)", floorMeter.Stop(), requests));
        log($"gRPC health check (transport floor): p50 {floor.P50:F3} ms, p99 {floor.P99:F3} ms, {floor.RequestsPerSecond:N0} req/s, errors {floor.Errors}");
        return new ReadMeasurement(reads, floor, cpu);
    }

    /// <summary>Every user's event count, count by type and revenue per currency against the recount of the sent events.</summary>
    public static async Task<(bool Ok, string Message)> VerifyAsync(ProfileGateway.ProfileGatewayClient client, string tenant, ExpectedTotals expected)
    {
        var profiles = await ProfileReader.GetAllAsync(client, tenant, expected.Users.Keys);

        var mismatched = 0;
        string? first = null;
        foreach (var (userId, totals) in expected.Users)
        {
            var problem = Mismatch(userId, totals, profiles.GetValueOrDefault(userId));
            if (problem is null)
            {
                continue;
            }

            mismatched++;
            first ??= problem;
        }

        return mismatched == 0
            ? (true, $"OK ({expected.Users.Count:N0} users, {expected.Events:N0} events: counts by type, events applied and revenue per currency all equal)")
            : (false, $"MISMATCH in {mismatched:N0} of {expected.Users.Count:N0} users, e.g. {first}");
    }

    private static string? Mismatch(string userId, UserTotals totals, Profile? profile)
    {
        if (profile is null)
        {
            return $"{userId} has no profile";
        }

        if (profile.EventsApplied != totals.Events)
        {
            return $"{userId}: {profile.EventsApplied} events applied, expected {totals.Events}";
        }

        foreach (var (type, count) in totals.CountByType)
        {
            var applied = profile.Behavior.EventCounts.GetValueOrDefault(type);
            if (applied != count)
            {
                return $"{userId}: {applied} {type} events, expected {count}";
            }
        }

        foreach (var (currency, revenue) in totals.RevenueByCurrency)
        {
            var paid = profile.Behavior.MonetaryByCurrency.FirstOrDefault(m => m.Currency == currency);
            var amount = paid is null ? 0m : decimal.Parse(paid.Amount, CultureInfo.InvariantCulture);
            if (amount != revenue)
            {
                return $"{userId}: revenue {amount} {currency}, expected {revenue}";
            }
        }

        return null;
    }

    internal static void TryDelete(string directory)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(500);
            }
            catch (UnauthorizedAccessException)
            {
                return;
            }
        }
    }
}
