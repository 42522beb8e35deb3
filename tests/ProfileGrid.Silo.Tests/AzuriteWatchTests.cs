using Azure.Data.Tables;
using ProfileGrid.DevHost;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The dev host's watch over its own Azurite, on a real one: it warns once when the saved table database passes the
/// threshold, and says plainly that Azurite has stopped when it is killed.
/// </summary>
public class AzuriteWatchTests
{
    [Fact]
    public async Task The_watch_warns_once_as_the_table_database_grows_and_says_when_Azurite_has_stopped()
    {
        var location = Path.Combine(Path.GetTempPath(), "profilegrid-watch-" + Guid.NewGuid().ToString("N")[..8]);
        var ports = AzuriteServer.FreeTcpPorts(3);
        var azurite = await AzuriteServer.StartAsync(location, ports[0], ports[1], ports[2]);
        try
        {
            var output = new StringWriter();
            using var watching = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var watch = new AzuriteWatch(azurite, TextWriter.Synchronized(output), warnFromBytes: 256 * 1024, TimeSpan.FromMilliseconds(200)).RunAsync(watching.Token);

            // About 400 KB of rows: more than the threshold once Azurite has saved them (every 5 s while anything changed).
            var table = new TableServiceClient(azurite.ConnectionString).GetTableClient("watched");
            await table.CreateIfNotExistsAsync();
            var payload = new byte[4_000];
            new Random(5).NextBytes(payload);
            for (var i = 0; i < 100; i++)
            {
                await table.AddEntityAsync(new TableEntity("p", $"r{i:D3}") { ["D0"] = payload });
            }

            await UntilAsync(() => output.ToString().Contains("Azurite's table database is", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            Assert.Contains("aborts when it passes about 512 MiB", output.ToString(), StringComparison.Ordinal);

            // Killed the way the 512 MB save kills it: no chance to save or say goodbye.
            await table.AddEntityAsync(new TableEntity("p", "one-more") { ["D0"] = payload });
            using (var kill = System.Diagnostics.Process.Start("kill", ["-KILL", azurite.ProcessId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await watch.WaitAsync(TimeSpan.FromSeconds(30));
            var said = output.ToString();
            Assert.Contains("Azurite, the storage emulator, has stopped (exit code", said, StringComparison.Ordinal);
            Assert.Contains("stop this host (Ctrl-C) and start it again", said, StringComparison.Ordinal);
            Assert.Equal(1, said.Split("Azurite's table database is").Length - 1);
        }
        finally
        {
            await azurite.DisposeAsync();
            Directory.Delete(location, recursive: true);
        }
    }

    [Fact]
    public async Task The_watch_stays_quiet_while_Azurite_runs_small_and_when_the_host_stops_Azurite_itself()
    {
        var location = Path.Combine(Path.GetTempPath(), "profilegrid-watch-" + Guid.NewGuid().ToString("N")[..8]);
        var ports = AzuriteServer.FreeTcpPorts(3);
        var azurite = await AzuriteServer.StartAsync(location, ports[0], ports[1], ports[2]);
        var output = new StringWriter();
        using var watching = new CancellationTokenSource();
        var watch = new AzuriteWatch(azurite, TextWriter.Synchronized(output), interval: TimeSpan.FromMilliseconds(100)).RunAsync(watching.Token);
        try
        {
            await Task.Delay(500);
            watching.Cancel();
            await watch.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await azurite.DisposeAsync();
            Directory.Delete(location, recursive: true);
        }

        Assert.Equal("", output.ToString());
    }

    private static async Task UntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the watch");
            await Task.Delay(100);
        }
    }
}
