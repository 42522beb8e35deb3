using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ProfileGrid.Contracts.V1;
using ProfileGrid.DevHost;
using ProfileGrid.Simulator;
using StackExchange.Redis;

namespace ProfileGrid.Benchmarks;

/// <summary>What Redis measured on the same events.</summary>
public sealed record RedisBenchResult(
    Workload Workload, int Concurrency, double Seconds, string Verification, bool Verified, LatencyStats Reads,
    IReadOnlyList<(string Phase, CpuUsage Usage, long Work)> Cpu)
{
    public double EventsPerSecond => Workload.Events / Seconds;
}

/// <summary>
/// The same events, in the same order and the same batches, applied by one Lua script per event (EVALSHA) in a
/// redis-server with an append-only file fsynced every second.
/// </summary>
public static class RedisRun
{
    public static async Task<RedisBenchResult> RunAsync(Workload workload, BenchOptions options, Action<string> log)
    {
        var root = Path.Combine(Path.GetTempPath(), $"profilegrid-bench-redis-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(root);
        var port = AzuriteServer.FreeTcpPort();
        ChildProcess? server = null;
        try
        {
            // AOF with fsync once a second: acknowledged writes are in the OS page cache and on disk within a second,
            // about what Azurite gives (it writes to disk without fsync). No RDB snapshots.
            server = ChildProcess.Start("redis-server", "redis-server", [
                "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", root, "--daemonize", "no"], root);
            await WaitListeningAsync(server, port);

            var configuration = new ConfigurationOptions
            {
                EndPoints = { { IPAddress.Loopback, port } },
                AbortOnConnectFail = true,
                AsyncTimeout = 60_000,
                SyncTimeout = 60_000,
            };
            await using var redis = await ConnectionMultiplexer.ConnectAsync(configuration);
            var db = redis.GetDatabase();
            var script = await ReadScriptAsync();
            var sha = await redis.GetServer(redis.GetEndPoints()[0]).ScriptLoadAsync(script);
            log($"redis-server on 127.0.0.1:{port}, script loaded (sha {Convert.ToHexStringLower(sha)[..12]})");

            // Fields are pulled out of the events before the clock starts: Redis is timed on applying, as ProfileGrid's
            // host is timed on receiving already-built protobuf requests (it validates and parses them, Redis does not).
            var batches = workload.Requests.Select(r => r.Events.Select(e => ToCall(r.Tenant, e)).ToArray()).ToList();

            // One warm-up batch on another tenant: connection, script cache and JIT, as the host gets.
            var warm = new SyntheticStream(new SimulationOptions { Users = 20, Seed = 7, Tenant = "warmup" });
            foreach (var request in warm.IngestRequests(options.Batch))
            {
                await Task.WhenAll(request.Events.Select(e => ToCall(request.Tenant, e)).Select(c => db.ScriptEvaluateAsync(sha, c.Keys, c.Values)));
            }

            log($"applying {workload.Events:N0} events in {batches.Count:N0} pipelined batches, {options.Concurrency} in flight");
            var cpu = new List<(string, CpuUsage, long)>();
            var meter = new CpuMeter(null, server.Id);
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency }, async (batch, _) =>
            {
                // All of a batch's EVALSHA calls go out at once on the multiplexed connection, then are awaited together.
                var calls = new Task[batch.Length];
                for (var i = 0; i < batch.Length; i++)
                {
                    calls[i] = db.ScriptEvaluateAsync(sha, batch[i].Keys, batch[i].Values);
                }

                await Task.WhenAll(calls);
            });
            var seconds = clock.Elapsed.TotalSeconds;
            cpu.Add(("ingest (applied when acknowledged)", meter.Stop(), workload.Events));
            log($"applied in {seconds:F2} s: {workload.Events / seconds:N0} events/s");

            var (verified, verification) = await VerifyAsync(db, workload);
            log($"exactly-once check: {verification}");

            Task ReadHash(string user) => db.HashGetAllAsync(ProfileKey(workload.Tenant, user));
            await LatencyRunner.WarmUpAsync(
                workload.UserIds, ProfileGridRun.WarmupReads(options.LatencyRequests), options.ReadWarmup, options.LatencyConcurrency, options.Seed, ReadHash);
            var readMeter = new CpuMeter(null, server.Id);
            var reads = await LatencyRunner.MeasureAsync(workload.UserIds, options.LatencyRequests, options.LatencyConcurrency, options.Seed, ReadHash);
            cpu.Add(("HGETALL reads (measured, after warm-up)", readMeter.Stop(), options.LatencyRequests));
            log($"HGETALL: p50 {reads.P50:F3} ms, p99 {reads.P99:F3} ms, {reads.RequestsPerSecond:N0} req/s, errors {reads.Errors}");
            return new RedisBenchResult(workload, options.Concurrency, seconds, verification, verified, reads, cpu);
        }
        catch (Exception ex) when (server is not null)
        {
            throw new InvalidOperationException($"Redis failed: {ex.Message}\n--- last redis-server output ---\n{server.Tail}", ex);
        }
        finally
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }

            ProfileGridRun.TryDelete(root);
        }
    }

    private static RedisKey ProfileKey(string tenant, string user) => $"pg:{tenant}:{user}";

    private static (RedisKey[] Keys, RedisValue[] Values) ToCall(string requestTenant, Event e)
    {
        var tenant = string.IsNullOrEmpty(e.Tenant) ? requestTenant : e.Tenant;
        var user = Workload.UserOf(e);
        var at = DateTimeOffset.Parse(e.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUnixTimeMilliseconds();
        var currency = string.Empty;
        var revenue = string.Empty;
        if (e.Type == "purchase" && e.Purchase is { } purchase)
        {
            currency = purchase.Currency;
            revenue = purchase.Lines
                .Sum(l => l.Quantity * decimal.Parse(l.UnitPrice, NumberStyles.Number, CultureInfo.InvariantCulture))
                .ToString(CultureInfo.InvariantCulture);
        }

        return (
            [$"pg:{tenant}:{user}:ids", ProfileKey(tenant, user)],
            [e.EventId, e.Type, at, e.Context?.Device ?? string.Empty, e.Source, e.Context?.Country ?? string.Empty, currency, revenue]);
    }

    private static async Task<(bool Ok, string Message)> VerifyAsync(IDatabase db, Workload workload)
    {
        var hashes = await Task.WhenAll(workload.UserIds.Select(async user =>
            (User: user, Fields: (await db.HashGetAllAsync(ProfileKey(workload.Tenant, user))).ToDictionary(f => f.Name.ToString(), f => f.Value.ToString()))));
        var mismatched = 0;
        string? first = null;
        foreach (var (user, fields) in hashes)
        {
            var problem = Mismatch(user, workload.Expected.Users[user], fields);
            if (problem is null)
            {
                continue;
            }

            mismatched++;
            first ??= problem;
        }

        return mismatched == 0
            ? (true, $"OK ({workload.Expected.Users.Count:N0} users, {workload.Events:N0} events: counts by type, events, orders and revenue per currency to the cent)")
            : (false, $"MISMATCH in {mismatched:N0} of {workload.Expected.Users.Count:N0} users, e.g. {first}");
    }

    private static string? Mismatch(string user, UserTotals totals, Dictionary<string, string> fields)
    {
        long Count(string field) => fields.TryGetValue(field, out var v) ? long.Parse(v, CultureInfo.InvariantCulture) : 0;
        if (Count("events") != totals.Events)
        {
            return $"{user}: {Count("events")} events, expected {totals.Events}";
        }

        if (Count("orders") != totals.Purchases)
        {
            return $"{user}: {Count("orders")} orders, expected {totals.Purchases}";
        }

        foreach (var (type, count) in totals.CountByType)
        {
            if (Count("count:" + type) != count)
            {
                return $"{user}: {Count("count:" + type)} {type} events, expected {count}";
            }
        }

        foreach (var (currency, revenue) in totals.RevenueByCurrency)
        {
            // HINCRBYFLOAT adds in binary floating point (long double): equal to the cent, not to the last digit.
            var amount = fields.TryGetValue("revenue:" + currency, out var v) ? decimal.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture) : 0m;
            if (Math.Abs(amount - revenue) >= 0.005m)
            {
                return $"{user}: revenue {amount} {currency}, expected {revenue}";
            }
        }

        return null;
    }

    private static async Task<string> ReadScriptAsync()
    {
        await using var stream = typeof(RedisRun).Assembly.GetManifestResourceStream("profile.lua")
            ?? throw new InvalidOperationException("profile.lua is not embedded.");
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    private static async Task WaitListeningAsync(ChildProcess server, int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (server.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {server.ExitCode}.");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"redis-server did not listen on {port} within 20 s.");
    }
}
