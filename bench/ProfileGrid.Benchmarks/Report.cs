namespace ProfileGrid.Benchmarks;

/// <summary>The results as Markdown tables, ready to paste into docs/benchmarks.md.</summary>
public static class Report
{
    public static void Print(
        BenchOptions options, Workload whole, Workload streamPrefix, IReadOnlyList<IngestResult> results, RedisBenchResult? redis, TimeSpan elapsed)
    {
        Console.WriteLine("## Results");
        Console.WriteLine();
        Console.WriteLine($"Seed {options.Seed}, {options.Users:N0} users; batch = at most {options.Batch} events per request, whole sessions kept together; " +
                          $"{options.Concurrency} requests (Redis: pipelined batches) in flight; reads: {options.LatencyRequests:N0} measured after " +
                          $"at least {ProfileGridRun.WarmupReads(options.LatencyRequests):N0} and {options.ReadWarmup.TotalSeconds:F0} s of warm-up, {options.LatencyConcurrency} in flight, random users.");
        if (results.Any(r => r.Workload.Capped))
        {
            Console.WriteLine($"The stream path is capped at --stream-max-events {options.StreamMaxEvents:N0}: it gets the first {streamPrefix.Requests.Count:N0} " +
                              $"requests ({streamPrefix.Events:N0} events of {streamPrefix.UserIds.Count:N0} users), the other rows the whole stream.");
        }

        Console.WriteLine();
        Console.WriteLine("### Ingest");
        Console.WriteLine();
        Console.WriteLine("| configuration | events | users | events/user/request | acknowledged in | ack events/s | applied + durable in | end-to-end events/s | exactly-once |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.Name} | {r.Workload.Events:N0} | {r.Workload.UserIds.Count:N0} | {r.Workload.EventsPerUserPerRequest:F2} | {r.AckSeconds:F2} s | " +
                              $"{r.AckEventsPerSecond:N0} | {(r.EndToEndSeconds is { } s ? $"{s:F2} s" : "timeout")} | " +
                              $"{(r.EndToEndEventsPerSecond is { } e ? e.ToString("N0") : "-")} | {(r.Verified ? "OK" : "MISMATCH")}{(r.Notes.Length > 0 ? $" ({r.Notes})" : string.Empty)} |");
        }

        if (redis is not null)
        {
            Console.WriteLine($"| redis (Lua per event, AOF everysec) | {redis.Workload.Events:N0} | {redis.Workload.UserIds.Count:N0} | " +
                              $"{redis.Workload.EventsPerUserPerRequest:F2} | {redis.Seconds:F2} s | {redis.EventsPerSecond:N0} | {redis.Seconds:F2} s (+ fsync within 1 s) | " +
                              $"{redis.EventsPerSecond:N0} | {(redis.Verified ? "OK" : "MISMATCH")} |");
        }

        Console.WriteLine();
        Console.WriteLine("### Reads");
        Console.WriteLine();
        Console.WriteLine("| configuration | read | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results.Where(r => r.Reads is not null))
        {
            PrintReads(r.Name, "GetProfile (gRPC, full layered profile)", r.Reads!);
            if (r.TransportFloor is { } floor)
            {
                PrintReads(r.Name, "gRPC health check (no work: the transport floor)", floor);
            }
        }

        if (redis is not null)
        {
            PrintReads("redis", "HGETALL (flat counters hash)", redis.Reads);
        }

        if (redis is not null && results.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine("### ProfileGrid / Redis");
            Console.WriteLine();
            Console.WriteLine("Throughput ratios above 1 mean ProfileGrid is faster; latency ratios above 1 mean ProfileGrid is slower.");
            Console.WriteLine();
            Console.WriteLine("| configuration | ack events/s | end-to-end events/s | p50 latency | p99 latency |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var r in results)
            {
                var e2e = r.EndToEndEventsPerSecond is { } e ? Ratio(e / redis.EventsPerSecond) : "-";
                var p50 = r.Reads is { } reads ? Ratio(reads.P50 / redis.Reads.P50) : "-";
                var p99 = r.Reads is { } reads99 ? Ratio(reads99.P99 / redis.Reads.P99) : "-";
                Console.WriteLine($"| {r.Name} | {Ratio(r.AckEventsPerSecond / redis.EventsPerSecond)} | {e2e} | {p50} | {p99} |");
            }
        }

        Console.WriteLine();
        Console.WriteLine($"### CPU: cores busy on average, of {Environment.ProcessorCount}");
        Console.WriteLine();
        Console.WriteLine("Server: the host process (ProfileGrid) or redis-server; storage: Azurite (node); client: this benchmark " +
                          "(load generator and reader); others: everything else on the machine meanwhile. Per core-second: events " +
                          "(or measured reads) per second of CPU used by server + storage + client, a figure that depends " +
                          "less on what else the machine was doing than the rates above.");
        Console.WriteLine();
        Console.WriteLine("| configuration | phase | seconds | server | storage | client | others | machine | per core-second |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            foreach (var (phase, u, work) in r.Cpu)
            {
                PrintCpu(r.Name, phase, u, work, storage: r.Name.Contains("-azurite", StringComparison.Ordinal));
            }
        }

        if (redis is not null)
        {
            // redis-server is both server and storage: its CPU is shown as server.
            foreach (var (phase, u, work) in redis.Cpu)
            {
                PrintCpu("redis", phase, u with { Server = u.Storage, Storage = 0 }, work, storage: false);
            }
        }

        PrintStatsCost(results);

        Console.WriteLine();
        Console.WriteLine("### Checks");
        Console.WriteLine();
        foreach (var r in results)
        {
            Console.WriteLine($"- {r.Name}: {r.Verification}");
        }

        if (redis is not null)
        {
            Console.WriteLine($"- redis: {redis.Verification}");
        }

        Console.WriteLine();
        Console.WriteLine($"Total run time {elapsed.TotalSeconds:F0} s.");
    }

    private static void PrintReads(string name, string read, LatencyStats s) =>
        Console.WriteLine($"| {name} | {read} | {s.Requests:N0} | {s.RequestsPerSecond:N0} | {s.P50:F3} | {s.P90:F3} | {s.P99:F3} | {s.Max:F3} | {s.Errors} |");

    private static void PrintCpu(string name, string phase, CpuUsage u, long work, bool storage) => Console.WriteLine(CpuRow(name, phase, u, work, storage));

    /// <summary>One row of a CPU table: cores busy per process over the phase, and work per core-second of server + storage + client.</summary>
    public static string CpuRow(string name, string phase, CpuUsage u, long work, bool storage)
    {
        var coreSeconds = (u.Server + u.Storage + u.Client) * u.Seconds;
        var perCoreSecond = coreSeconds > 0 ? (work / coreSeconds).ToString("N0") : "-";
        return $"| {name} | {phase} | {u.Seconds:F1} | {u.Server:F2} | {(storage ? u.Storage.ToString("F2") : "-")} | {u.Client:F2} | " +
               $"{u.Others:F2} | {u.Machine:F2} | {perCoreSecond} |";
    }

    /// <summary>
    /// Cluster stats collection on against off: each configuration beside its "-nostats" twin, the median of its runs
    /// (bench.sh stats-cost runs each twice, alternating, so that drift on a shared machine hits both alike).
    /// </summary>
    private static void PrintStatsCost(IReadOnlyList<IngestResult> results)
    {
        var pairs = results
            .Where(r => !r.Name.EndsWith("-nostats", StringComparison.Ordinal))
            .Select(r => r.Name).Distinct()
            .Where(name => results.Any(r => r.Name == name + "-nostats"))
            .ToList();
        if (pairs.Count == 0)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("### Cluster stats collection: on against off");
        Console.WriteLine();
        Console.WriteLine("Median of each configuration's runs; a ratio below 1 is what collection costs.");
        Console.WriteLine();
        Console.WriteLine("| configuration | runs | ack events/s on | off | on/off | end-to-end events/s on | off | on/off | host CPU us/event on | off |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var name in pairs)
        {
            var on = results.Where(r => r.Name == name).ToList();
            var off = results.Where(r => r.Name == name + "-nostats").ToList();
            double ack(List<IngestResult> runs) => Median(runs.Select(r => r.AckEventsPerSecond));
            double e2e(List<IngestResult> runs) => Median(runs.Select(r => r.EndToEndEventsPerSecond ?? double.NaN));
            double cpu(List<IngestResult> runs) => Median(runs.Select(HostMicrosecondsPerEvent));
            Console.WriteLine($"| {name} | {on.Count}+{off.Count} | {ack(on):N0} | {ack(off):N0} | {Ratio(ack(on) / ack(off))} | {e2e(on):N0} | {e2e(off):N0} | " +
                              $"{Ratio(e2e(on) / e2e(off))} | {cpu(on):F1} | {cpu(off):F1} |");
        }
    }

    /// <summary>Host CPU per event from the first request until every event is applied and durable (one meter over both phases).</summary>
    private static double HostMicrosecondsPerEvent(IngestResult r)
    {
        var whole = r.Cpu.Where(c => c.Phase == "ingest until applied + durable").ToList();
        return whole.Count == 0 ? double.NaN : whole[0].Usage.Server * whole[0].Usage.Seconds * 1e6 / r.Workload.Events;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static string Ratio(double value) => value >= 10 ? $"{value:F1}x" : $"{value:F2}x";
}
