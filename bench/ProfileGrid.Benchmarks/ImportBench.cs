using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ProfileGrid.Cli;
using Spectre.Console;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// bench.sh import: generates an Online Retail-shaped CSV (profilegrid generate-retail), imports it with
/// profilegrid import-events into a log-azurite host through the public gRPC API, and prints rows/s and events/s
/// acknowledged (in the log) and durable (every profile that the events touched written to storage).
/// </summary>
internal static class ImportBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var rows = 1_000_000;
        var customers = 4_000;
        var config = "log-azurite";
        var parallel = 4;
        var batch = 500;
        var warmUpRows = 300_000;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rows": rows = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--customers": customers = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--config": config = args[++i]; break;
                case "--parallel": parallel = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--batch": batch = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--warm-up-rows": warmUpRows = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--help":
                    Console.WriteLine("bench.sh import [--rows 1000000] [--customers 4000] [--config log-azurite|log-memory] [--parallel 4] [--batch 500] [--warm-up-rows 300000]");
                    return 0;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]} (--help)");
                    return 2;
            }
        }

        var folder = Directory.CreateTempSubdirectory("profilegrid-import-bench-");
        try
        {
            var file = Path.Combine(folder.FullName, "online-retail.csv");
            var mapping = Path.Combine(AppContext.BaseDirectory, "online-retail.json");
            var console = AnsiConsole.Console;
            var generated = Stopwatch.StartNew();
            if (CliApp.Run(["generate-retail", "--rows", rows.ToString(CultureInfo.InvariantCulture), "--customers", customers.ToString(CultureInfo.InvariantCulture), "--out", file], console, Console.Out, Console.Error) != 0)
            {
                return 1;
            }

            Console.WriteLine($"generated {rows:N0} rows ({new FileInfo(file).Length / 1e6:F1} MB) in {generated.Elapsed.TotalSeconds:F1} s");
            await using var host = await BenchHost.StartAsync(HostConfiguration.Parse(config), 500, Console.WriteLine);
            if (warmUpRows > 0)
            {
                // The host's import path (large orders, refunds, the shards they feed) compiled to its final tier before the
                // clock starts, as in a silo that has been running: a short import into another tenant, written through.
                var warmUpFile = Path.Combine(folder.FullName, "warm-up.csv");
                var warmUpClock = Stopwatch.StartNew();
                if (CliApp.Run(["generate-retail", "--rows", warmUpRows.ToString(CultureInfo.InvariantCulture), "--customers", "1000", "--seed", "11", "--out", warmUpFile], console, Console.Out, Console.Error) != 0
                    || CliApp.Run(["import-events", "--grid", $"http://127.0.0.1:{host.GrpcPort}", "--tenant", "warmup-import", "--file", warmUpFile, "--mapping", mapping, "--parallel", parallel.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture)], console, TextWriter.Null, Console.Error) != 0
                    || await host.WaitAppliedAndWrittenAsync("warmup-import", [], 0, warmUpClock, TimeSpan.FromMinutes(10), _ => { }) is null)
                {
                    Console.Error.WriteLine("The warm-up import failed.");
                    return 1;
                }

                Console.WriteLine($"warm-up: {warmUpRows:N0} rows imported into tenant warmup-import in {warmUpClock.Elapsed.TotalSeconds:F1} s (not measured)");
            }

            var summaryPath = Path.Combine(folder.FullName, "summary.json");
            var clock = Stopwatch.StartNew();
            var meter = host.StartCpuMeter();
            var exit = CliApp.Run(
                ["import-events", "--grid", $"http://127.0.0.1:{host.GrpcPort}", "--tenant", "retail", "--file", file, "--mapping", mapping,
                 "--parallel", parallel.ToString(CultureInfo.InvariantCulture), "--batch", batch.ToString(CultureInfo.InvariantCulture), "--summary-json", summaryPath],
                console, Console.Out, Console.Error);
            var acknowledged = clock.Elapsed.TotalSeconds;
            var acknowledgeCpu = meter.Stop();
            if (exit != 0)
            {
                return exit;
            }

            var durableMeter = host.StartCpuMeter();
            var durable = await host.WaitAppliedAndWrittenAsync("retail", [], 0, clock, TimeSpan.FromMinutes(30), Console.WriteLine);
            var durableCpu = durableMeter.Stop();
            using var summary = JsonDocument.Parse(File.ReadAllBytes(summaryPath));
            var read = summary.RootElement.GetProperty("rowsRead").GetInt64();
            var events = summary.RootElement.GetProperty("eventsAcknowledged").GetInt64();
            Console.WriteLine();
            Console.WriteLine($"{config}: {read:N0} rows, {events:N0} events (orders and refunds), {parallel} requests of up to {batch} events in flight");
            Console.WriteLine($"  acknowledged: {acknowledged:F1} s, {read / acknowledged:N0} rows/s, {events / acknowledged:N0} events/s (planning the file included)");
            Console.WriteLine(durable is { } d
                ? $"  durable:      {d:F1} s, {read / d:N0} rows/s, {events / d:N0} events/s (every touched profile written)"
                : "  durable:      not within 30 minutes");
            Console.WriteLine($"  cores busy until acknowledged: CLI (reading, cleaning, sending) {acknowledgeCpu.Client:F2}, host {acknowledgeCpu.Server:F2}, storage {acknowledgeCpu.Storage:F2}, others {acknowledgeCpu.Others:F2}");
            Console.WriteLine($"  cores busy from then to durable ({durableCpu.Seconds:F1} s): host {durableCpu.Server:F2}, storage {durableCpu.Storage:F2}, others {durableCpu.Others:F2}");
            return 0;
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
