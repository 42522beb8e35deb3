using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ProfileGrid.Grains;
using ProfileGrid.Silo.Gateway;
using ProfileGrid.Silo.Hosting;

// appsettings.json sits next to the binary, whatever directory the host is started from.
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

builder.UseOrleans(silo => silo
    .AddProfileGridProviders(settings, settings.StorageConnectionString)
    .AddProfileGridGrains(builder.Configuration));
builder.Services.AddSingleton(settings);
builder.Services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section));
builder.Services.AddSingleton(sp => new EventValidator(sp.GetRequiredService<IOptions<GatewayOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
builder.Services.AddGrpc(o =>
{
    o.MaxReceiveMessageSize = limits.MaxRequestBytes;
    o.Interceptors.Add<ErrorMappingInterceptor>();
}).AddJsonTranscoding(o =>
{
    // A zero is an answer (segment 0, nothing unassigned); leaving it out makes REST clients guess.
    o.JsonSettings.IgnoreDefaultValues = false;
});
builder.Services.AddGrpcReflection();
builder.Services.AddSingleton<IEventSink>(sp => settings.UsesStreams
    ? new StreamEventSink(sp.GetRequiredService<IClusterClient>())
    : new LogEventSink(sp.GetRequiredService<IClusterClient>(), sp.GetRequiredService<IOptions<ProfileGrid.Grains.Ingest.IngestOptions>>()));
builder.Services.AddSingleton<SegmentLookup>();
builder.Services.AddSingleton<SiloReadiness>();
builder.Services.AddHealthChecks().AddCheck<SiloReadiness>("silo");
builder.Services.AddGrpcHealthChecks();

builder.WebHost.ConfigureKestrel(kestrel =>
{
    var endpoints = settings.Endpoints;
    var address = IPAddress.Parse(endpoints.ListenAddress);
    kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBytes;
    kestrel.Listen(address, endpoints.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
    kestrel.Listen(address, endpoints.HttpPort, listen => listen.Protocols = HttpProtocols.Http1);
});

var app = builder.Build();
app.UseMiddleware<RestErrorHandler>();
app.UseRouting();
app.UseMiddleware<RestJsonGuard>();
app.MapGrpcService<ProfileGatewayService>();
app.MapGrpcService<SegmentServiceImpl>();
app.MapGrpcReflectionService();
app.MapGrpcHealthChecksService();
app.MapHealthChecks("/healthz");
app.MapGet("/v1/tenants/{tenant}/users/{userId}/document", async (HttpContext http, string tenant, string userId, string? asOf, IGrainFactory grains, EventValidator validator, TimeProvider clock) =>
{
    // The JSON document view (snake_case codes, the list of missing fields): the shape exports and notebooks read,
    // built from the same view as GetProfile. Route values are decoded except "%2F"; take both from the raw path,
    // decoded exactly once.
    (tenant, userId) = (GatewayPaths.FromRawPath(http, "tenant") ?? tenant, GatewayPaths.FromRawPath(http, "userId") ?? userId);
    if (!validator.TryValidateKey(tenant, userId, out var error))
    {
        return Results.BadRequest(new { error = error!.ToString() });
    }

    if (!AsOfParameter.TryParse(asOf, clock.GetUtcNow(), out var at, out var reason))
    {
        return Results.BadRequest(new { error = $"asOf: {reason}" });
    }

    var view = await grains.GetGrain<ProfileGrid.Abstractions.Grains.IUserProfileGrain>(new ProfileGrid.Abstractions.ProfileKey(tenant, userId).ToString()).GetViewAsync(at);
    return view is null
        ? Results.NotFound(new { error = $"No profile for user '{userId}' in tenant '{tenant}'." })
        : Results.Text(ProfileGrid.Domain.ProfileJson.Serialize(view, indented: true), "application/json");
});
app.MapGet("/v1/admin/cluster", async (IGrainFactory grains) =>
{
    var management = grains.GetGrain<IManagementGrain>(0);
    var silos = await management.GetHosts(onlyActive: true);
    var statistics = await management.GetSimpleGrainStatistics();
    var activations = statistics
        .GroupBy(s => s.GrainType.Split(',')[0].Split('.').Last())
        .OrderBy(g => g.Key, StringComparer.Ordinal)
        .ToDictionary(g => g.Key, g => g.Sum(s => s.ActivationCount));
    return Results.Json(new { activeSilos = silos.Count, silos = silos.Keys.Select(s => s.ToString()).Order().ToArray(), activations });
});
app.MapGet("/v1/admin/ingest", async (IGrainFactory grains, IOptions<ProfileGrid.Grains.Ingest.IngestOptions> ingest) =>
{
    // Where each log partition stands: how much is acknowledged but not yet in written profile state.
    var partitions = await Task.WhenAll(Enumerable.Range(0, ingest.Value.Partitions)
        .Select(p => grains.GetGrain<ProfileGrid.Abstractions.Grains.IEventLogPartitionGrain>(p).GetStatusAsync()));
    return Results.Json(new
    {
        path = settings.UsesStreams ? "stream" : "log",
        durableLog = app.Services.GetRequiredService<ProfileGrid.Grains.Ingest.IEventLog>().IsDurable,
        profilesWithUnwrittenState = partitions.Sum(p => p.ProfilesWithUnwrittenState),
        allWritten = partitions.All(p => p.ProfilesWithUnwrittenState == 0 && p.RecordsAwaitingDispatch == 0 && !p.Replaying && p.Checkpoint == p.NextPosition),

        // Profiles whose state could not be written (IngestOptions.MaxWriteAttempts): the checkpoint moved on without them.
        profilesSetAside = partitions.Sum(p => p.ProfilesSetAside),
        recentlySetAside = partitions.SelectMany(p => p.RecentlySetAside ?? []).OrderByDescending(r => r.At).Take(10).ToArray(),
        partitions,
    });
});
app.MapGet("/", () => Results.Text(
    $$"""
    ProfileGrid gateway
      gRPC:  http://{{settings.Endpoints.ListenAddress}}:{{settings.Endpoints.GrpcPort}} (service profilegrid.v1.ProfileGateway, reflection on)
      REST:  POST /v1/events:ingest, GET /v1/tenants/{tenant}/users/{user}/profile, POST /v1/tenants/{tenant}/profiles:batchGet
             GET /v1/tenants/{tenant}/users/{user}/document (the JSON document view); profile and document take ?asOf=
             PUT /v1/tenants/{tenant}/users/{user}/attributes, PUT /v1/tenants/{tenant}/users/{user}/preferences
      Segments (service profilegrid.v1.SegmentService):
             GET /v1/tenants/{tenant}/segments, POST /v1/tenants/{tenant}/segments:run, GET /v1/tenants/{tenant}/users/{user}/segment
             GET /v1/tenants/{tenant}/segments/{id}/members, GET /v1/tenants/{tenant}/segments/map, GET /v1/tenants/{tenant}/segments/curves
      Health: GET /healthz    Ingest status: GET /v1/admin/ingest    Cluster: GET /v1/admin/cluster
    """));

var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("ProfileGrid");
if (settings.IsEphemeral)
{
    logger.LogWarning("Ephemeral mode: memory storage or memory streams. Events and profiles are lost when the process stops.");
}

app.Lifetime.ApplicationStarted.Register(() =>
{
    app.Services.GetRequiredService<SiloReadiness>().MarkReady();
    Console.WriteLine(
        $"ProfileGrid ready: gRPC http://{settings.Endpoints.ListenAddress}:{settings.Endpoints.GrpcPort}, " +
        $"REST http://{settings.Endpoints.ListenAddress}:{settings.Endpoints.HttpPort} " +
        $"(storage {settings.Storage}, ingest {(settings.UsesStreams ? $"{settings.Streams} stream" : "event log")})");
});

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

/// <summary>Healthy once the host, and with it the silo, has started.</summary>
internal sealed class SiloReadiness : IHealthCheck
{
    private volatile bool _ready;

    public void MarkReady() => _ready = true;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_ready ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("starting"));
}

public partial class Program;
