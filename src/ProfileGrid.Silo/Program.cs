using ProfileGrid.Grains;
using ProfileGrid.Silo.Access;
using ProfileGrid.Silo.Gateway;
using ProfileGrid.Silo.Hosting;
using ProfileGrid.Silo.Hosting.Operations;

// One process: an Orleans silo, its gRPC/REST gateway and health endpoints. Azurite and the demo feed live in the dev
// host (src/ProfileGrid.DevHost), not here. appsettings.json sits next to the binary, whatever the working directory.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });

// Every ProfileGrid:* setting is bound, validated and checked for unknown keys before anything starts.
var problems = SettingsCheck.Problems(builder.Configuration);
if (problems.Count > 0)
{
    Console.Error.WriteLine("ProfileGrid cannot start, the configuration is invalid:");
    foreach (var problem in problems)
    {
        Console.Error.WriteLine("  " + problem);
    }

    return 2;
}

var settings = builder.Configuration.GetSection(HostSettings.Section).Get<HostSettings>() ?? new HostSettings();
var limits = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();

// A graceful stop deactivates every grain, writing what it has not written; under load on a slow store that outlasts
// the host's default 30 s, which then cancels the stop halfway (an outside probe: "Silo shutdown completed
// (non-graceful)"). 55 s fits inside the 60 s an orchestrator waits (deploy/kubernetes.yaml).
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(55));

builder.UseOrleans(silo => silo
    .AddProfileGridProviders(settings, settings.StorageConnectionString)
    .AddProfileGridGrains(builder.Configuration)
    .AddProfileGridOperations(builder.Configuration));
builder.AddProfileGridGateway(settings, limits);
builder.AddProfileGridAccess();
builder.AddProfileGridTelemetry(settings);

var app = builder.Build();
app.MapProfileGridGateway().MapProfileGridOperations().AnnounceWhenReady(settings);
app.MapProfileGridDashboard();

try
{
    await app.RunAsync();
    return 0;
}
catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
{
    Console.Error.WriteLine(
        $"ProfileGrid cannot start: {ex.Message} Another program uses that port; choose others with " +
        "--ProfileGrid:Endpoints:GrpcPort=<port> --ProfileGrid:Endpoints:HttpPort=<port>.");
    return 1;
}

public partial class Program;
