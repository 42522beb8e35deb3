using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using ProfileGrid.DevHost;
using ProfileGrid.Silo.Hosting;

// ./run.sh: Azurite (unless storage is given or in memory), one silo as a child process, then the demo feed through
// the silo's public gRPC API. Ctrl-C stops the feed, the silo (gracefully) and Azurite, in that order.
// Settings under ProfileGrid:Demo and ProfileGrid:Azurite are the dev host's; every other argument goes to the silo.
var siloDll = Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll");
var (ownArguments, siloArguments) = SplitArguments(args);
var configuration = new ConfigurationBuilder()
    .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
    .AddEnvironmentVariables()
    .AddCommandLine([.. siloArguments, .. ownArguments])
    .Build();
var unknown = SettingsCheck.UnknownKeys(configuration.GetSection(DemoSettings.Section), typeof(DemoSettings))
    .Concat(SettingsCheck.UnknownKeys(configuration.GetSection(AzuriteSettings.Section), typeof(AzuriteSettings)))
    .ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine("ProfileGrid dev host cannot start, the configuration is invalid:");
    unknown.ForEach(problem => Console.Error.WriteLine("  " + problem));
    return 2;
}

var grid = GridSettings.From(configuration);

// The demo's population is small, so the Orleans dashboard's per-second walk over the activations costs nothing here.
if (configuration["ProfileGrid:Admin:OrleansDashboard"] is null)
{
    siloArguments.Add("--ProfileGrid:Admin:OrleansDashboard=true");
}
var demo = configuration.GetSection(DemoSettings.Section).Get<DemoSettings>() ?? new DemoSettings();
var azuriteSettings = configuration.GetSection(AzuriteSettings.Section).Get<AzuriteSettings>() ?? new AzuriteSettings();

using var stopping = new CancellationTokenSource();
void StopOnSignal(PosixSignalContext signal)
{
    // Ctrl-C (the terminal also sends the silo its own SIGINT) or a plain kill: stop the silo and Azurite before exiting,
    // so that neither outlives this process.
    signal.Cancel = true;
    stopping.Cancel();
}

using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, StopOnSignal);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopOnSignal);

AzuriteServer? azurite = null;
if (grid.NeedsAzureStorage && string.IsNullOrEmpty(grid.StorageConnectionString))
{
    try
    {
        azurite = await AzuriteServer.StartAsync(
            azuriteSettings.Location, azuriteSettings.BlobPort, azuriteSettings.QueuePort, azuriteSettings.TablePort, stopping.Token);
    }
    catch (InvalidOperationException ex)
    {
        Console.Error.WriteLine($"ProfileGrid dev host: {ex.Message}");
        return 1;
    }

    grid.DataLocation = azurite.Owned ? azuriteSettings.Location : null;
    siloArguments.Add($"--ProfileGrid:StorageConnectionString={azurite.ConnectionString}");
    Console.WriteLine(azurite.Owned
        ? $"Azurite started (data in {azuriteSettings.Location}, ports {azurite.BlobPort}-{azurite.TablePort})."
        : $"Azurite found running on ports {azurite.BlobPort}-{azurite.TablePort}; using it.");
}

await using var ownedAzurite = azurite;
using var watching = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
var azuriteWatch = azurite is { Owned: true } ? new AzuriteWatch(azurite, Console.Error).RunAsync(watching.Token) : Task.CompletedTask;
var keyFile = grid.AuthEnabled ? Path.GetFullPath(grid.KeyFile ?? KeySettings.DefaultFile) : null;
if (keyFile is not null && grid.KeyFile is null)
{
    // The silo creates an operator key there on its first start and registers it again on every start, so a re-run
    // prints the same key (docs/security.md).
    siloArguments.Add($"--ProfileGrid:Auth:BootstrapKeyFile={keyFile}");
}

var siloStart = new ProcessStartInfo("dotnet", [siloDll, .. siloArguments]) { UseShellExecute = false };
foreach (var name in siloStart.Environment.Keys.Where(IsDevHostVariable).ToList())
{
    // The silo refuses settings it does not know, and these are the dev host's.
    siloStart.Environment.Remove(name);
}

var silo = Process.Start(siloStart) ?? throw new InvalidOperationException($"Could not start {siloDll}.");
try
{
    if (!await WaitUntilHealthyAsync(silo, grid.HttpAddress, stopping.Token))
    {
        return silo.HasExited ? silo.ExitCode : 0;
    }

    if (keyFile is not null)
    {
        grid.ApiKey = (await File.ReadAllTextAsync(keyFile, stopping.Token)).Trim();
        var shown = Path.GetRelativePath(Environment.CurrentDirectory, keyFile);
        grid.KeyFileShown = shown;
        Console.WriteLine($"API key (operator: every scope, every tenant; in {shown}, owner-only):");
        Console.WriteLine($"  {grid.ApiKey}");
        Console.WriteLine($"  curl -s -H \"Authorization: Bearer $(cat {shown})\" {grid.HttpAddress}/v1/tenants/{demo.Tenant}/stats");
        Console.WriteLine($"  a key for an app: dotnet run --project src/ProfileGrid.Cli -c Release -- keys create --grid {grid.HttpAddress} --key-file {shown} --name my-app --scopes ingest,read --tenants {demo.Tenant}");
    }

    if (grid.DashboardAddress(demo.Tenant) is { } dashboard)
    {
        Console.WriteLine($"Dashboard: {dashboard} (live; it fills in as the demo feed runs{(keyFile is null ? "" : "; enter the key above when it asks")})");
    }

    if (demo.Enabled)
    {
        await new DemoFeed(demo, grid).RunAsync(stopping.Token);
    }

    await silo.WaitForExitAsync(stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    if (silo.HasExited && !stopping.IsCancellationRequested)
    {
        // Nobody asked it to stop (a crash, an out-of-memory kill, kill -9): say so, and fail, rather than close quietly.
        var how = silo.ExitCode > 128 ? $"exit code {silo.ExitCode}: killed by signal {silo.ExitCode - 128}" : $"exit code {silo.ExitCode}";
        Console.Error.WriteLine($"The silo stopped on its own ({how}); the grid is down. Its log is above. Run ./run.sh again to start it: "
            + "what was acknowledged is kept, and events not yet applied are replayed from the log.");
        return silo.ExitCode == 0 ? 1 : silo.ExitCode;
    }
}
finally
{
    // Azurite is stopped after the silo, on purpose: that is no failure to report.
    watching.Cancel();
    await azuriteWatch;
    await StopAsync(silo);
}

return 0;

static (List<string> Own, List<string> Silo) SplitArguments(string[] arguments)
{
    var own = new List<string>();
    var silo = new List<string>();
    for (var i = 0; i < arguments.Length; i++)
    {
        var argument = arguments[i];
        var target = IsDevHostSetting(argument) ? own : silo;
        target.Add(argument);
        // "--key value" as well as "--key=value".
        if (argument.StartsWith("--", StringComparison.Ordinal) && !argument.Contains('=') && i + 1 < arguments.Length &&
            !arguments[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            target.Add(arguments[++i]);
        }
    }

    return (own, silo);
}

static bool IsDevHostSetting(string argument)
{
    var key = argument.TrimStart('-', '/');
    return key.StartsWith(DemoSettings.Section + ":", StringComparison.OrdinalIgnoreCase)
        || key.StartsWith(AzuriteSettings.Section + ":", StringComparison.OrdinalIgnoreCase);
}

static bool IsDevHostVariable(string name) =>
    IsDevHostSetting(name.Replace("__", ":", StringComparison.Ordinal));

static async Task<bool> WaitUntilHealthyAsync(Process silo, string httpAddress, CancellationToken cancellationToken)
{
    using var http = new HttpClient { BaseAddress = new Uri(httpAddress), Timeout = TimeSpan.FromSeconds(5) };
    var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
    while (!silo.HasExited && !cancellationToken.IsCancellationRequested)
    {
        try
        {
            using var response = await http.GetAsync("/healthz", cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return true;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
        }

        if (DateTime.UtcNow > deadline)
        {
            Console.Error.WriteLine($"ProfileGrid dev host: the silo did not become healthy at {httpAddress}/healthz within 2 minutes.");
            return false;
        }

        await Task.Delay(250, CancellationToken.None);
    }

    return false;
}

static async Task StopAsync(Process silo)
{
    if (!silo.HasExited)
    {
        // SIGTERM, the graceful stop an orchestrator asks for (the silo writes unwritten profile state); the terminal's
        // Ctrl-C may already have sent it SIGINT.
        using (var term = Process.Start("kill", ["-TERM", silo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        try
        {
            await silo.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60)); // the silo's own stop gives up after 55 s
        }
        catch (TimeoutException)
        {
            silo.Kill(entireProcessTree: true);
        }
    }

    silo.Dispose();
}

/// <summary>Where the dev host keeps the local operator key.</summary>
internal static class KeySettings
{
    public const string DefaultFile = ".profilegrid/admin.key";
}
