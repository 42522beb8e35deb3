using Azure.Storage.Blobs;
using DuckDB.NET.Data;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>The data lake of a real silo process on Azurite: archived while ingesting, killed mid-archive, read by DuckDB.</summary>
[Collection(AzuriteCollection.Name)]
public class LakeSiloTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private static readonly string[] LakeSettings =
    [
        // Tiny steps, often, so that a kill lands inside archiving; no compaction (its crash is covered in LakeArchiverTests).
        "--ProfileGrid:Lake:ArchiveInterval=00:00:00.050", "--ProfileGrid:Lake:MaxRecordsPerArchive=1",
        "--ProfileGrid:Lake:CompactionThreshold=10000", "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.100",
    ];

    [Fact]
    public async Task A_silo_killed_mid_archive_leaves_every_event_in_the_lake_exactly_once()
    {
        var serviceId = "k" + Guid.NewGuid().ToString("N")[..10];
        var stream = new SyntheticStream(new SimulationOptions { Users = 60, Seed = 31 });
        var requests = stream.IngestRequests(maxEventsPerRequest: 50).ToList();
        var expected = stream.ComputeExpectedTotals();
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{serviceId}-lake");

        await using (var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, LakeSettings))
        {
            foreach (var request in requests)
            {
                Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
            }

            // Killed once the archive is under way and not finished.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await CountPartsAsync(container) < 3)
            {
                Assert.True(DateTime.UtcNow < deadline, "The silo archived nothing.\n" + silo.Output);
                await Task.Delay(20);
            }

            await silo.KillAsync();
        }

        var before = await CountPartsAsync(container);
        await using var restarted = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, LakeSettings);
        await ProfileAssertions.WaitUntilAsync(restarted.Client, expected, stream.Options.Tenant, TimeSpan.FromSeconds(90), exact: true);
        await ArchiveEverythingAsync(restarted);
        output.WriteLine($"{before} parts when killed, {await CountPartsAsync(container)} at the end");

        var folder = await DownloadAsync(container);
        try
        {
            using var duck = new DuckDBConnection("Data Source=:memory:");
            duck.Open();
            var rows = $"read_parquet('{folder}/events/**/*.parquet', hive_partitioning = false)";
            var sent = requests.Sum(r => r.Events.Count);
            Assert.Equal(sent, Scalar(duck, $"SELECT count(*) FROM {rows}"));
            Assert.Equal(sent, Scalar(duck, $"SELECT count(DISTINCT (log_partition, log_position, event_index)) FROM {rows}"));
            Assert.Equal(expected.Events, Scalar(duck, $"SELECT count(DISTINCT (user_id, event_id)) FROM {rows}"));

            using var command = duck.CreateCommand();
            command.CommandText = $"SELECT user_id, count(DISTINCT event_id), count(DISTINCT order_id) FROM {rows} GROUP BY user_id";
            using var reader = command.ExecuteReader();
            var users = 0;
            while (reader.Read())
            {
                var totals = expected.Users[reader.GetString(0)];
                Assert.Equal(totals.Events, reader.GetInt64(1));
                Assert.Equal(totals.Purchases, reader.GetInt64(2));
                users++;
            }

            Assert.Equal(expected.Users.Count, users);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<int> CountPartsAsync(BlobContainerClient container)
    {
        if (!(await container.ExistsAsync()).Value)
        {
            return 0;
        }

        var count = 0;
        await foreach (var _ in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "events/" }))
        {
            count++;
        }

        return count;
    }

    /// <summary>POST /v1/admin/lake/archive until no partition's watermark moves.</summary>
    private static async Task ArchiveEverythingAsync(SiloProcess silo)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        string? last = null;
        while (true)
        {
            var response = await silo.Http.PostAsync("/v1/admin/lake/archive", null);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStringAsync();
            if (body == last)
            {
                return;
            }

            last = body;
            Assert.True(DateTime.UtcNow < deadline, "The archive did not catch up with the log.");
        }
    }

    private static async Task<string> DownloadAsync(BlobContainerClient container)
    {
        var folder = Path.Combine(Path.GetTempPath(), "pg-lake-" + Guid.NewGuid().ToString("N")[..10]);
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = "events/" }))
        {
            var path = Path.Combine(folder, blob.Name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await container.GetBlobClient(blob.Name).DownloadToAsync(path);
        }

        return folder;
    }

    private static long Scalar(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }
}
