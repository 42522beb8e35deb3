using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using ProfileGrid.DevHost;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// One configuration's host: Azurite (if needed) and <c>ProfileGrid.Silo.dll</c> as child processes on free loopback
/// ports with a fresh service id, warmed up on another tenant; disposing kills both and removes their temp folder.
/// </summary>
public sealed class BenchHost : IAsyncDisposable
{
    private readonly string _root;
    private readonly AzuriteServer? _azurite;
    private readonly IDisposable? _abort;
    private readonly GrpcChannel _channel;

    private BenchHost(HostConfiguration config, string root, AzuriteServer? azurite, IDisposable? abort, ChildProcess process, int grpcPort, int httpPort, string? apiKey)
    {
        ApiKey = apiKey;
        Config = config;
        _root = root;
        _azurite = azurite;
        _abort = abort;
        Process = process;
        GrpcPort = grpcPort;
        Http = new HttpClient(apiKey is null ? new SocketsHttpHandler() : new KeyHandler(apiKey)) { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };
        _channel = OpenChannel();
        Client = new ProfileGateway.ProfileGatewayClient(_channel);
        StoragePid = azurite is null ? null : CpuMeter.FindProcess("azurite", azurite.BlobPort.ToString(CultureInfo.InvariantCulture));
    }

    public HostConfiguration Config { get; }

    public ChildProcess Process { get; }

    public int GrpcPort { get; }

    /// <summary>The host's HTTP/1.1 endpoint (health, admin).</summary>
    public HttpClient Http { get; }

    /// <summary>The ingest client (its own channel; readers open another).</summary>
    public ProfileGateway.ProfileGatewayClient Client { get; }

    /// <summary>Azurite's node process, for CPU figures; null without Azurite.</summary>
    public int? StoragePid { get; }

    public CpuMeter StartCpuMeter() => new(Process.Id, StoragePid);

    /// <summary>A second client on its own channel (own HTTP/2 connection), as a reading service would have.</summary>
    public GrpcChannel OpenChannel() =>
        ApiKey is null
            ? GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}")
            : GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}", new GrpcChannelOptions { HttpHandler = new KeyHandler(ApiKey) });

    /// <summary>The operator key every call of this host's clients carries; null when the host checks no keys.</summary>
    public string? ApiKey { get; }

    /// <summary>Adds the API key to every request (gRPC and HTTP) when there is one.</summary>
    private sealed class KeyHandler(string? key) : DelegatingHandler(new SocketsHttpHandler { EnableMultipleHttp2Connections = true })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation("authorization", "Bearer " + key);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>The host's resident set (working set) now, from /proc; null when it cannot be read.</summary>
    public long? WorkingSetBytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{Process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? null : long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The counts of what the host said about overwhelmed storage so far (<see cref="ChildProcess.Counted"/>).</summary>
    public string Warnings() => string.Join(", ", ChildProcess.Counted.Select(c => $"'{c}' {Process.Counts.GetValueOrDefault(c)}"));

    /// <summary>Starts the host of <paramref name="config"/> and warms it up (JIT, connections, grain types) with requests of <paramref name="batch"/> events.</summary>
    public static async Task<BenchHost> StartAsync(HostConfiguration config, int batch, Action<string> log, int? warmupUsers = null)
    {
        var root = Path.Combine(Path.GetTempPath(), $"profilegrid-bench-{config.Name}-{Guid.NewGuid():N}"[..48]);
        Directory.CreateDirectory(root);
        AzuriteServer? azurite = null;
        IDisposable? abort = null;
        ChildProcess? process = null;
        BenchHost? host = null;
        try
        {
            var settings = config.HostSettings().ToList();
            string? apiKey = null;
            if (config.Keys)
            {
                // The host registers the key in this file as its operator key; the limits are far above any load here, so
                // the cost measured is the key check and the limiter's bookkeeping, never a refusal.
                apiKey = ProfileGrid.Silo.Access.ApiKeyText.NewKey().Text;
                var keyFile = Path.Combine(root, "admin.key");
                await File.WriteAllTextAsync(keyFile, apiKey);
                settings.AddRange([$"--ProfileGrid:Auth:BootstrapKeyFile={keyFile}", "--ProfileGrid:Auth:PermitsPerSecond=10000000", "--ProfileGrid:Auth:Burst=10000000"]);
            }
            else if (!settings.Any(s => s.StartsWith("--ProfileGrid:Auth:", StringComparison.OrdinalIgnoreCase)))
            {
                // Measured without API keys unless the configuration asks for them (bench.sh key-cost compares both).
                settings.Add("--ProfileGrid:Auth:Enabled=false");
            }
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
            process = ChildProcess.Start("host", "dotnet", [hostDll, .. settings], root);
            host = new BenchHost(config, root, azurite, abort, process, grpcPort, httpPort, apiKey);
            await host.WaitHealthyAsync(TimeSpan.FromSeconds(90));
            log($"host ready in {startWatch.Elapsed.TotalSeconds:F1} s (gRPC {grpcPort}, HTTP {httpPort}{(azurite is null ? string.Empty : $", Azurite blob {azurite.BlobPort}")})");

            // JIT, connections and grain types warmed on another tenant, settled before the clock starts.
            var warmup = Stopwatch.StartNew();
            var warmed = await host.WarmUpAsync(batch, warmupUsers);
            log($"warmed up on another tenant: {warmed:N0} events, then settled, in {warmup.Elapsed.TotalSeconds:F1} s");
            return host;
        }
        catch (Exception ex) when (process is not null)
        {
            var tail = process.Tail;
            await DisposeAsync(host, process, azurite, abort, root);
            throw new InvalidOperationException($"{ex.Message}\n--- last host output ---\n{tail}", ex);
        }
        catch
        {
            await DisposeAsync(host, process, azurite, abort, root);
            throw;
        }
    }

    public ValueTask DisposeAsync() => DisposeAsync(this, Process, _azurite, _abort, _root);

    private static async ValueTask DisposeAsync(BenchHost? host, ChildProcess? process, AzuriteServer? azurite, IDisposable? abort, string root)
    {
        if (host is not null)
        {
            host._channel.Dispose();
            host.Http.Dispose();
        }

        if (process is not null)
        {
            await process.DisposeAsync();
        }

        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }

        abort?.Dispose();
        ProfileGridRun.TryDelete(root);
    }

    /// <summary>
    /// Seconds on <paramref name="clock"/> until every event sent is applied and in durably written profile state, or
    /// null after <paramref name="timeout"/>. The log path says so itself (/v1/admin/ingest: allWritten); the stream
    /// path writes state before it completes a delivery, so applied (EventsApplied summed over
    /// <paramref name="userIds"/> reaching <paramref name="events"/>) there means written.
    /// </summary>
    public async Task<double?> WaitAppliedAndWrittenAsync(
        string tenant, IReadOnlyList<string> userIds, long events, Stopwatch clock, TimeSpan timeout, Action<string> log)
    {
        var lastReport = clock.Elapsed;
        while (clock.Elapsed < timeout)
        {
            if (Config.StreamPath)
            {
                var applied = await SumAppliedAsync(tenant, userIds);
                if (applied >= events)
                {
                    return clock.Elapsed.TotalSeconds;
                }

                if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
                {
                    log($"  {applied:N0} of {events:N0} events applied after {clock.Elapsed.TotalSeconds:F0} s");
                    lastReport = clock.Elapsed;
                }

                // Reading 100 profiles per call over all users is itself load on the host: poll at a modest pace.
                await Task.Delay(500);
            }
            else
            {
                if (await AllWrittenAsync())
                {
                    return clock.Elapsed.TotalSeconds;
                }

                await Task.Delay(100);
            }
        }

        return null;
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"The host exited with code {Process.ExitCode}.");
            }

            try
            {
                using var response = await Http.GetAsync("/healthz");
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

    /// <summary>
    /// Users of the first warm-up stream on the log path (about 45,000 events), sent 8 requests in flight as the measured stream
    /// is. With 20 users sent one request at a time, as before, the measured ingest began with the host's hot paths still
    /// at tier 0 and the JIT compiling them: a perf profile of the in-memory ingest had 15% of the host's samples in the
    /// JIT and 12% in quick-jitted code (docs/benchmarks.md, 2026-12-06). The stream path keeps 20 (about 1,300 events/s).
    /// </summary>
    public const int LogPathWarmupUsers = 500;

    /// <summary>
    /// Warm-up streams, each on its own tenant and each waited out until written. After one, the measured burst's
    /// write-behind (profile writes, shard pushes and writes, reports) still ran quick-jitted code and the JIT took 13% of
    /// the host's samples in it: the runtime counts calls toward tier 1 only once no new method has been jitted for
    /// 100 ms, which a single burst and its single flush never leave, so the flush path is counted, and compiled, during
    /// the next burst's flush. A long-running host has long since done that.
    /// </summary>
    public const int WarmupRounds = 2;

    /// <summary>
    /// Users of the warm-up rounds after the first on the log path: enough profile writes for the write-behind path to be
    /// counted to tier 1, few enough that Azurite's table database (which it saves whole every few seconds) hardly grows
    /// (one round or two made no difference on Azurite beyond the spread between runs: docs/benchmarks.md, run K).
    /// </summary>
    public const int LaterWarmupRoundUsers = 100;

    private async Task<long> WarmUpAsync(int batch, int? users)
    {
        long events = 0;
        for (var round = 0; round < WarmupRounds; round++)
        {
            var tenant = round == 0 ? "warmup" : $"warmup-{round + 1}";
            var warm = new SyntheticStream(new SimulationOptions
            {
                Users = Config.StreamPath ? 20 : round == 0 ? users ?? LogPathWarmupUsers : LaterWarmupRoundUsers, Seed = 7 + round, Tenant = tenant,
            });
            var expected = warm.ComputeExpectedTotals();
            await Parallel.ForEachAsync(warm.IngestRequests(batch), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (request, token) => await Client.IngestEventsAsync(request, cancellationToken: token));
            await UntilAppliedAsync(tenant, expected);
            events += expected.Events;
        }

        await SettleAsync();
        return events;
    }

    private async Task UntilAppliedAsync(string tenant, ExpectedTotals expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (Config.StreamPath
                    ? await SumAppliedAsync(tenant, expected.Users.Keys.ToList()) >= expected.Events
                    : await AllWrittenAsync())
            {
                return;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The warm-up events of tenant {tenant} were not applied within 60 s.");
    }

    /// <summary>
    /// Until the host has used under a fifth of a core for 2 s (at most 30 s): the JIT's background compilations of the
    /// warm-up's hot paths, and the warm-up's write-behind, done before the clock starts.
    /// </summary>
    private async Task SettleAsync()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            var meter = StartCpuMeter();
            await Task.Delay(TimeSpan.FromSeconds(2));
            if (meter.Stop().Server < 0.2)
            {
                return;
            }
        }
    }

    /// <summary>The host's profile state writes and log appends, with the storage requests that carried them (Azure Storage only).</summary>
    public async Task<string?> StorageRequestsAsync()
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync("/v1/admin/ingest"));
        if (!document.RootElement.TryGetProperty("stateWrites", out var writes) || writes.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var (rows, transactions) = (writes.GetProperty("rows").GetInt64(), writes.GetProperty("transactions").GetInt64());
        var appends = document.RootElement.GetProperty("logAppends");
        var (count, bytes) = (appends.GetProperty("appends").GetInt64(), appends.GetProperty("bytes").GetInt64());
        // Azurite keeps every table row in one database it saves whole every 5 s (the file lags by up to that).
        var database = new FileInfo(Path.Combine(_root, "azurite", "__azurite_db_table__.json"));
        return $"profile state: {rows:N0} rows written in {transactions:N0} table transactions ({(transactions == 0 ? 0 : (double)rows / transactions):F1} rows each); " +
            $"log: {count:N0} appends of {(count == 0 ? 0 : bytes / count / 1024.0):F1} KiB on average" +
            (database.Exists ? $"; Azurite's table database {database.Length / 1048576.0:N1} MiB" : "");
    }

    /// <summary>
    /// Profile activations holding their state unpacked, from the host's Prometheus scrape (gauge
    /// profilegrid.profiles.unpacked); null when the host does not answer it.
    /// </summary>
    public async Task<long?> UnpackedProfilesAsync()
    {
        const string Name = "profilegrid_profiles_unpacked";
        using var response = await Http.GetAsync("/metrics");
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        long? total = null;
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (!line.StartsWith(Name, StringComparison.Ordinal) || line.Length == Name.Length || line[Name.Length] is not (' ' or '{'))
            {
                continue;
            }

            // name{labels} value [timestamp]
            var valueStart = line[Name.Length] == '{' ? line.IndexOf('}') + 1 : Name.Length;
            if (double.TryParse(line[valueStart..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                total = (total ?? 0) + (long)value;
            }
        }

        return total;
    }

    private async Task<bool> AllWrittenAsync()
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync("/v1/admin/ingest"));
        return document.RootElement.GetProperty("allWritten").GetBoolean();
    }

    private async Task<long> SumAppliedAsync(string tenant, IReadOnlyList<string> userIds)
    {
        var pages = await Task.WhenAll(userIds.Chunk(ProfileReader.PageSize).Select(async page =>
            (await Client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { page } })).Profiles.Sum(p => p.EventsApplied)));
        return pages.Sum();
    }
}
