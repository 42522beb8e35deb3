using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using ProfileGrid.DevHost;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// What Azurite spends (CPU of its process) per request of each kind the durable paths make: single table writes and
/// reads of a profile-sized row, the same rows in entity-group transactions, blob uploads, and log appends of two sizes.
/// It explains the durable ingest figures: Azurite shares the machine's two cores with the host, so its CPU per event
/// bounds the rate. `bash bench.sh storage-costs [--rows N]`.
/// </summary>
public static class StorageCostBench
{
    private const int StateBytes = 4_500;

    private static int ParseRows(string[] args)
    {
        var rows = 2_000;
        var reader = new OptionReader(args);
        while (reader.Next())
        {
            rows = reader.Name switch
            {
                "--rows" => reader.PositiveInt(),
                _ => throw new ArgumentException($"Unknown option '{reader.Raw}'."),
            };
        }

        return rows >= 100 ? rows : throw new ArgumentException("--rows must be at least 100 (transactions of 100 rows are measured).");
    } // about a demo-mix profile's stored state (docs/benchmarks.md, memory section)

    public static async Task<int> RunAsync(string[] args)
    {
        int rows;
        try
        {
            rows = ParseRows(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine("bash bench.sh storage-costs [--rows N]   (N: single-row requests per kind [2000], at least 100)");
            return 2;
        }

        var location = Path.Combine(Path.GetTempPath(), "profilegrid-storage-costs-" + Guid.NewGuid().ToString("N")[..8]);
        var azuritePorts = AzuriteServer.FreeTcpPorts(3);
        var azurite = await AzuriteServer.StartAsync(location, azuritePorts[0], azuritePorts[1], azuritePorts[2]);
        try
        {
            var pid = CpuMeter.FindProcess("azurite", azurite.BlobPort.ToString(CultureInfo.InvariantCulture))
                ?? throw new InvalidOperationException("Azurite's process was not found.");
            Console.WriteLine("# Azurite CPU per request");
            Console.WriteLine();
            foreach (var line in MachineInfo.Capture().Lines())
            {
                Console.WriteLine(line);
            }

            Console.WriteLine();
            Console.WriteLine("| request | requests | rows or bytes each | wall s | Azurite CPU ms per request | per row |");
            Console.WriteLine("|---|---:|---|---:|---:|---:|");

            var random = new Random(42);
            byte[] Bytes(int n)
            {
                var bytes = new byte[n];
                random.NextBytes(bytes);
                return bytes;
            }

            async Task MeasureAsync(string name, int requests, int inFlight, string size, int rowsEach, Func<int, Task> request)
            {
                var cpu0 = CpuMeter.ProcessSeconds(pid);
                var clock = Stopwatch.StartNew();
                var next = -1;
                await Task.WhenAll(Enumerable.Range(0, inFlight).Select(async _ =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < requests)
                    {
                        await request(i);
                    }
                }));
                var perRequest = (CpuMeter.ProcessSeconds(pid) - cpu0) * 1000 / requests;
                Console.WriteLine($"| {name} | {requests:N0} | {size} | {clock.Elapsed.TotalSeconds:F2} | {perRequest:F2} | {perRequest / rowsEach:F2} |");
            }

            var tables = new TableServiceClient(azurite.ConnectionString);
            var table = tables.GetTableClient("costs");
            await table.CreateIfNotExistsAsync();
            var state = Bytes(StateBytes);
            TableEntity Row(string partition, string row) => new(partition, row) { ["D0"] = state };

            await MeasureAsync("table insert, one row per request", rows, 16, $"{StateBytes:N0} B", 1, i => table.AddEntityAsync(Row($"p{i}", "profile")));
            await MeasureAsync("table replace, one row per request", rows, 16, $"{StateBytes:N0} B", 1, i => table.UpsertEntityAsync(Row($"p{i}", "profile"), TableUpdateMode.Replace));
            await MeasureAsync("table read, one row per request", rows, 16, $"{StateBytes:N0} B", 1, i => table.GetEntityAsync<TableEntity>($"p{i}", "profile"));
            foreach (var size in new[] { 10, 100 })
            {
                await MeasureAsync($"table transaction of {size} replaces", rows / size, 4, $"{size} x {StateBytes:N0} B", size, i =>
                    table.SubmitTransactionAsync(Enumerable.Range(0, size)
                        .Select(j => new TableTransactionAction(TableTransactionActionType.UpsertReplace, Row($"t{i % 64}", $"r{i}-{j}")))));
            }

            var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("costs");
            await container.CreateIfNotExistsAsync();
            await MeasureAsync("block blob upload", rows, 16, $"{StateBytes:N0} B", 1, i => container.GetBlobClient($"b{i}").UploadAsync(new BinaryData(state), overwrite: true));
            foreach (var (bytes, count) in new[] { (20_000, rows), (200_000, rows / 10) })
            {
                var log = container.GetAppendBlobClient($"log-{bytes}");
                await log.CreateIfNotExistsAsync();
                var record = Bytes(bytes);
                await MeasureAsync("append block (one log partition)", count, 1, $"{bytes:N0} B", 1, async _ =>
                {
                    using var body = new MemoryStream(record);
                    await log.AppendBlockAsync(body);
                });
            }

            return 0;
        }
        finally
        {
            await azurite.DisposeAsync();
            try
            {
                Directory.Delete(location, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
