namespace ProfileGrid.DevHost;

/// <summary>
/// Watches the Azurite the dev host started: says once when its table database nears the size at which Azurite aborts,
/// and says plainly when Azurite has stopped, rather than leaving the silo to retry its writes unexplained.
/// </summary>
/// <remarks>
/// Azurite keeps every table row (a row per profile) in memory and saves them all, as one JSON string, every 5 seconds
/// while anything changed. Past V8's longest string, about 512 MiB, that save aborts the process (docs/benchmarks.md,
/// "Azurite's table database").
/// </remarks>
public sealed class AzuriteWatch(AzuriteServer azurite, TextWriter output, long warnFromBytes = AzuriteWatch.DefaultWarnFromBytes, TimeSpan? interval = null)
{
    public const long DefaultWarnFromBytes = 320L << 20;

    /// <summary>Checks every interval until <paramref name="cancellationToken"/> (the host stopping Azurite itself) or Azurite has stopped.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var warned = false;
        using var timer = new PeriodicTimer(interval ?? TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (azurite.Exited() is { } how)
                {
                    await output.WriteLineAsync(
                        $"ProfileGrid dev host: Azurite, the storage emulator, has stopped ({how}). The grid can neither take events nor " +
                        "write profiles until it runs again: stop this host (Ctrl-C) and start it again; what Azurite saved is kept in " +
                        $"its data folder. Its table database was {Mebibytes(azurite.TableDatabaseBytes)} MiB.");
                    return;
                }

                if (!warned && azurite.TableDatabaseBytes is { } bytes && bytes >= warnFromBytes)
                {
                    warned = true;
                    await output.WriteLineAsync(
                        $"ProfileGrid dev host: Azurite's table database is {Mebibytes(bytes)} MiB (a row per profile, held in memory and saved " +
                        "whole every 5 seconds). Azurite aborts when it passes about 512 MiB: for more profiles than that holds, point the " +
                        "grid at Azure Storage (--ProfileGrid:StorageConnectionString) or run it in memory (README, \"How it works\").");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static string Mebibytes(long? bytes) =>
        ((bytes ?? 0) / 1048576.0).ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
}
