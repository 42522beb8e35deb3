using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using ProfileGrid.DevHost;
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

/// <summary>
/// One configuration: Azurite (if needed) and the host as child processes on free loopback ports, the seeded stream
/// replayed through gRPC, then GetProfile latency from a second client.
/// </summary>
public static class ProfileGridRun
{
    private static readonly TimeSpan EndToEndTimeout = TimeSpan.FromMinutes(15);

    public static async Task<IngestResult> RunAsync(HostConfiguration config, Workload workload, BenchOptions options, Action<string> log)
    {
        var root = Path.Combine(Path.GetTempPath(), $"profilegrid-bench-{config.Name}-{Guid.NewGuid():N}"[..48]);
        Directory.CreateDirectory(root);
        AzuriteServer? azurite = null;
        IDisposable? abort = null;
        ChildProcess? host = null;
        try
        {
            var settings = config.HostSettings().ToList();
            if (config.Azurite)
            {
                // Disk persistence, as the host's own default (.profilegrid/azurite), in a temp dir removed afterwards.
                azurite = await AzuriteServer.StartAsync(
                    Path.Combine(root, "azurite"), AzuriteServer.FreeTcpPort(), AzuriteServer.FreeTcpPort(), AzuriteServer.FreeTcpPort());
                var started = azurite;
                abort = ChildProcess.OnAbort(() => started.DisposeAsync());
                settings.Add($"--ProfileGrid:StorageConnectionString={azurite.ConnectionString}");
            }

            var serviceId = "bench" + Guid.NewGuid().ToString("N")[..8];
            settings.Add($"--ProfileGrid:ServiceId={serviceId}");
            var (grpcPort, httpPort) = (AzuriteServer.FreeTcpPort(), AzuriteServer.FreeTcpPort());
            settings.AddRange([
                $"--ProfileGrid:Endpoints:GrpcPort={grpcPort}", $"--ProfileGrid:Endpoints:HttpPort={httpPort}",
                $"--ProfileGrid:Endpoints:SiloPort={AzuriteServer.FreeTcpPort()}", $"--ProfileGrid:Endpoints:GatewayPort={AzuriteServer.FreeTcpPort()}"]);

            var hostDll = Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll");
            var startWatch = Stopwatch.StartNew();
            host = ChildProcess.Start("host", "dotnet", [hostDll, .. settings], root);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitHealthyAsync(host, http, TimeSpan.FromSeconds(90));
            log($"host ready in {startWatch.Elapsed.TotalSeconds:F1} s (gRPC {grpcPort}, HTTP {httpPort}{(azurite is null ? string.Empty : $", Azurite blob {azurite.BlobPort}")})");

            using var ingestChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var client = new ProfileGateway.ProfileGatewayClient(ingestChannel);

            // JIT, connections and grain types warmed on another tenant, settled before the clock starts.
            await WarmUpAsync(client, http, config, options.Batch);

            log($"ingesting {workload.Events:N0} events of {workload.UserIds.Count:N0} users in {workload.Requests.Count:N0} requests, {options.Concurrency} in flight");
            var replayer = new GatewayReplayer(client, new ReplayOptions { MaxConcurrency = options.Concurrency, RequestTimeout = TimeSpan.FromSeconds(60) });
            var storagePid = azurite is null ? null : CpuMeter.FindProcess("azurite", azurite.BlobPort.ToString(CultureInfo.InvariantCulture));
            var cpu = new List<(string, CpuUsage, long)>();
            var meter = new CpuMeter(host.Id, storagePid);
            var clock = Stopwatch.StartNew();
            var report = await replayer.ReplayAsync(workload.Requests);
            var ackSeconds = clock.Elapsed.TotalSeconds;
            cpu.Add(("ingest until acknowledged", meter.Stop(), workload.Events));
            log($"acknowledged in {ackSeconds:F2} s: {workload.Events / ackSeconds:N0} events/s (accepted {report.Accepted:N0}, rejected {report.Rejected}, retries {report.Retries})");

            var endToEnd = await WaitAppliedAndWrittenAsync(config, client, http, workload, clock, log);
            cpu.Add(("ingest until applied + durable", meter.Stop(), workload.Events));
            log(endToEnd is { } e2e
                ? $"applied and durable in profile state after {e2e:F2} s: {workload.Events / e2e:N0} events/s"
                : $"not all applied within {EndToEndTimeout.TotalMinutes} min");

            if (await StateWritesAsync(http) is { } writes)
            {
                log(writes);
            }

            log($"host warnings so far: {string.Join(", ", ChildProcess.Counted.Select(c => $"'{c}' {host.Counts.GetValueOrDefault(c)}"))}");
            var (verified, verification) = await VerifyAsync(client, workload);
            log($"exactly-once check: {verification}");

            // A separate client (own channel, own HTTP/2 connection), as a reading service would have.
            using var readChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var reader = new ProfileGateway.ProfileGatewayClient(readChannel);
            Task ReadProfile(string user) => reader.GetProfileAsync(new GetProfileRequest { Tenant = workload.Tenant, UserId = user }).ResponseAsync;
            var warmup = await LatencyRunner.WarmUpAsync(
                workload.UserIds, WarmupReads(options.LatencyRequests), options.ReadWarmup, options.LatencyConcurrency, options.Seed, ReadProfile);
            log($"GetProfile warm-up: {warmup:N0} reads");
            var readMeter = new CpuMeter(host.Id, storagePid);
            var reads = await LatencyRunner.MeasureAsync(workload.UserIds, options.LatencyRequests, options.LatencyConcurrency, options.Seed, ReadProfile);
            cpu.Add(("GetProfile reads (measured, after warm-up)", readMeter.Stop(), options.LatencyRequests));
            log($"GetProfile: p50 {reads.P50:F3} ms, p99 {reads.P99:F3} ms, {reads.RequestsPerSecond:N0} req/s, errors {reads.Errors}");

            // The same number of calls that do no work (the standard gRPC health check, a few bytes each way) on the same
            // connection: what Kestrel, HTTP/2, gRPC and this client cost per call on this machine, the floor under any read.
            var health = new Grpc.Health.V1.Health.HealthClient(readChannel);
            Task CheckHealth(string _) => health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest()).ResponseAsync;
            await LatencyRunner.WarmUpAsync(workload.UserIds, WarmupReads(options.LatencyRequests), TimeSpan.Zero, options.LatencyConcurrency, options.Seed, CheckHealth);
            var floorMeter = new CpuMeter(host.Id, storagePid);
            var floor = await LatencyRunner.MeasureAsync(workload.UserIds, options.LatencyRequests, options.LatencyConcurrency, options.Seed, CheckHealth);
            cpu.Add(("gRPC health checks (transport floor)", floorMeter.Stop(), options.LatencyRequests));
            log($"gRPC health check (transport floor): p50 {floor.P50:F3} ms, p99 {floor.P99:F3} ms, {floor.RequestsPerSecond:N0} req/s, errors {floor.Errors}");

            var notes = report.Rejected > 0 || report.Retries > 0 ? $"rejected {report.Rejected}, retries {report.Retries}" : string.Empty;
            return new IngestResult(config.Name, config.Description, workload, options.Concurrency, ackSeconds, endToEnd, verification, verified, reads, floor, cpu, notes);
        }
        catch (Exception ex) when (host is not null)
        {
            throw new InvalidOperationException($"{config.Name} failed: {ex.Message}\n--- last host output ---\n{host.Tail}", ex);
        }
        finally
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }

            if (azurite is not null)
            {
                await azurite.DisposeAsync();
            }

            abort?.Dispose();
            TryDelete(root);
        }
    }

    public static int WarmupReads(int measured) => Math.Max(500, measured / 10);

    private static async Task WaitHealthyAsync(ChildProcess host, HttpClient http, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (host.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {host.ExitCode}.");
            }

            try
            {
                using var response = await http.GetAsync("/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The host did not answer /healthz within {timeout}.");
    }

    private static async Task WarmUpAsync(ProfileGateway.ProfileGatewayClient client, HttpClient http, HostConfiguration config, int batch)
    {
        var warm = new SyntheticStream(new SimulationOptions { Users = 20, Seed = 7, Tenant = "warmup" });
        var expected = warm.ComputeExpectedTotals();
        foreach (var request in warm.IngestRequests(batch))
        {
            await client.IngestEventsAsync(request);
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (config.StreamPath
                    ? await SumAppliedAsync(client, "warmup", expected.Users.Keys.ToList()) >= expected.Events
                    : await AllWrittenAsync(http))
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The warm-up events were not applied within 60 s.");
    }

    /// <summary>
    /// Seconds from the first request until every event is applied and in durably written profile state. The log path
    /// says so itself (/v1/admin/ingest: allWritten); the stream path writes state before it completes a delivery, so
    /// applied (EventsApplied) there means written.
    /// </summary>
    private static async Task<double?> WaitAppliedAndWrittenAsync(
        HostConfiguration config, ProfileGateway.ProfileGatewayClient client, HttpClient http, Workload workload, Stopwatch clock, Action<string> log)
    {
        var lastReport = clock.Elapsed;
        while (clock.Elapsed < EndToEndTimeout)
        {
            if (config.StreamPath)
            {
                var applied = await SumAppliedAsync(client, workload.Tenant, workload.UserIds);
                if (applied >= workload.Events)
                {
                    return clock.Elapsed.TotalSeconds;
                }

                if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
                {
                    log($"  {applied:N0} of {workload.Events:N0} events applied after {clock.Elapsed.TotalSeconds:F0} s");
                    lastReport = clock.Elapsed;
                }

                // Reading 100 profiles per call over all users is itself load on the host: poll at a modest pace.
                await Task.Delay(500);
            }
            else
            {
                if (await AllWrittenAsync(http))
                {
                    return clock.Elapsed.TotalSeconds;
                }

                await Task.Delay(100);
            }
        }

        return null;
    }

    /// <summary>The host's profile state writes and log appends, with the storage requests that carried them (Azure Storage only).</summary>
    private static async Task<string?> StateWritesAsync(HttpClient http)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/v1/admin/ingest"));
        if (!document.RootElement.TryGetProperty("stateWrites", out var writes) || writes.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var (rows, transactions) = (writes.GetProperty("rows").GetInt64(), writes.GetProperty("transactions").GetInt64());
        var appends = document.RootElement.GetProperty("logAppends");
        var (count, bytes) = (appends.GetProperty("appends").GetInt64(), appends.GetProperty("bytes").GetInt64());
        return $"profile state: {rows:N0} rows written in {transactions:N0} table transactions ({(transactions == 0 ? 0 : (double)rows / transactions):F1} rows each); " +
            $"log: {count:N0} appends of {(count == 0 ? 0 : bytes / count / 1024.0):F1} KiB on average";
    }

    private static async Task<bool> AllWrittenAsync(HttpClient http)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/v1/admin/ingest"));
        return document.RootElement.GetProperty("allWritten").GetBoolean();
    }

    private static async Task<long> SumAppliedAsync(ProfileGateway.ProfileGatewayClient client, string tenant, IReadOnlyList<string> userIds)
    {
        var pages = await Task.WhenAll(userIds.Chunk(ProfileReader.PageSize).Select(async page =>
            (await client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { page } })).Profiles.Sum(p => p.EventsApplied)));
        return pages.Sum();
    }

    /// <summary>Every user's event count, count by type and revenue per currency against the recount of the sent events.</summary>
    private static async Task<(bool Ok, string Message)> VerifyAsync(ProfileGateway.ProfileGatewayClient client, Workload workload)
    {
        var profiles = await ProfileReader.GetAllAsync(client, workload.Tenant, workload.UserIds);

        var mismatched = 0;
        string? first = null;
        foreach (var (userId, totals) in workload.Expected.Users)
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
            ? (true, $"OK ({workload.Expected.Users.Count:N0} users, {workload.Events:N0} events: counts by type, events applied and revenue per currency all equal)")
            : (false, $"MISMATCH in {mismatched:N0} of {workload.Expected.Users.Count:N0} users, e.g. {first}");
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
