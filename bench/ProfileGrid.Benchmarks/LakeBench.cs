using System.Diagnostics;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.DevHost;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// Lake archive throughput: events/s from the event log (append blobs) to Parquet parts in the lake container, both on
/// one Azurite, with the archiver the silo runs (one step per partition at a time). The events are written to the log
/// first (not measured), then archived. `bash bench.sh lake [--events N] [--partitions P] [--step R]`.
/// </summary>
public static class LakeBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        int events = 200_000, partitions = 4, step = 2_000;
        try
        {
            var reader = new OptionReader(args);
            while (reader.Next())
            {
                switch (reader.Name)
                {
                    case "--events": events = reader.PositiveInt(); break;
                    case "--partitions": partitions = reader.PositiveInt(); break;
                    case "--step": step = reader.PositiveInt(); break;
                    default: throw new ArgumentException($"Unknown option '{reader.Raw}'.");
                }
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine("bash bench.sh lake [--events N (200000)] [--partitions P (4)] [--step records per archive step (2000)]");
            return 2;
        }

        var location = Path.Combine(Path.GetTempPath(), "profilegrid-lake-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var azuritePorts = AzuriteServer.FreeTcpPorts(3);
        var azurite = await AzuriteServer.StartAsync(location, azuritePorts[0], azuritePorts[1], azuritePorts[2]);
        try
        {
            Console.WriteLine("# Lake archive throughput (log append blobs -> Parquet in blob storage, one Azurite)");
            foreach (var line in MachineInfo.Capture().Lines())
            {
                Console.WriteLine(line);
            }

            var blobs = new BlobServiceClient(azurite.ConnectionString);
            var log = new AzureBlobEventLog(blobs, "lakebench");
            var written = await FillLogAsync(log, events, partitions);
            Console.WriteLine($"log: {written:N0} events in {partitions} partitions");

            var serializer = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(UserEvent).Assembly)).BuildServiceProvider().GetRequiredService<Serializer>();
            var store = new AzureBlobLakeStore(blobs.GetBlobContainerClient("lakebench-lake"));
            var archiver = new LakeArchiver(store, log, serializer,
                Options.Create(new LakeOptions { MaxRecordsPerArchive = step }), TimeProvider.System, NullLogger<LakeArchiver>.Instance);

            var clock = Stopwatch.StartNew();
            var archived = await Task.WhenAll(Enumerable.Range(0, partitions).Select(async p =>
            {
                var sum = 0;
                while ((await archiver.ArchiveAsync(p, checkpoint: -1)) is { Records: > 0 } done)
                {
                    sum += done.Events;
                }

                return sum;
            }));
            var seconds = clock.Elapsed.TotalSeconds;
            long files = 0, bytes = 0;
            await foreach (var file in store.ListAsync(LakePaths.Events))
            {
                files++;
                bytes += file.Size;
            }

            Console.WriteLine($"archived: {archived.Sum():N0} events in {seconds:F1} s = {archived.Sum() / seconds:N0} events/s; {files:N0} Parquet files, {bytes / 1024.0 / 1024.0:F1} MiB");
            return archived.Sum() == written ? 0 : 1;
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

    /// <summary>Shop-like events over 30 days for 2,000 users (page and product views, searches, purchases), appended in records of about 500 events.</summary>
    private static async Task<int> FillLogAsync(AzureBlobEventLog log, int events, int partitions)
    {
        var random = new Random(7);
        var start = DateTimeOffset.UtcNow.AddDays(-30);
        var byPartition = new List<ProfileBatch>[partitions];
        for (var p = 0; p < partitions; p++)
        {
            byPartition[p] = [];
        }

        for (var i = 0; i < events; i += 10)
        {
            var user = $"user-{random.Next(2_000)}";
            var key = new ProfileKey("bench", user).ToString();
            var batch = Enumerable.Range(0, Math.Min(10, events - i)).Select(j => (j % 7) switch
            {
                0 => new UserEvent
                {
                    EventId = $"e{i + j}", Kind = EventKind.Purchase, Tenant = "bench", UserId = user, OccurredAt = start.AddMinutes(random.Next(43_000)), Source = Channel.Web,
                    Purchase = new PurchaseInfo { OrderId = $"o{i + j}", Currency = "EUR", Lines = [new PurchaseLine { ProductId = $"p{random.Next(500)}", Category = "shoes", Quantity = 1, UnitPrice = 49.90m }] },
                },
                1 => new UserEvent { EventId = $"e{i + j}", Kind = EventKind.Search, Tenant = "bench", UserId = user, OccurredAt = start.AddMinutes(random.Next(43_000)), Search = new SearchInfo { Query = "red shoes" } },
                _ => new UserEvent
                {
                    EventId = $"e{i + j}", Kind = EventKind.ProductView, Tenant = "bench", UserId = user, OccurredAt = start.AddMinutes(random.Next(43_000)), Source = Channel.App,
                    Context = new EventContext { Device = DeviceType.Mobile, Country = "DE" },
                    Product = new ProductInfo { ProductId = $"p{random.Next(500)}", Category = "shoes", UnitPrice = new Money(49.90m, "EUR") },
                },
            }).ToList();
            byPartition[ProfileBuckets.LogPartition(key, partitions)].Add(new ProfileBatch(key, new EventBatch(batch)));
        }

        var total = 0;
        for (var p = 0; p < partitions; p++)
        {
            var end = await log.GetEndAsync(p);
            foreach (var record in byPartition[p].Chunk(50))
            {
                end = (await log.AppendAsync(p, end, LogRecords.Frame([LogRecordCodec.Encode(record)]))).Next;
                total += record.Sum(r => r.Batch.Events.Count);
            }
        }

        return total;
    }
}
