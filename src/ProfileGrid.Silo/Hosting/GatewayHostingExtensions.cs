using System.Net;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Silo.Access;
using ProfileGrid.Silo.Gateway;
using ProfileGrid.Silo.Hosting.Operations;

namespace ProfileGrid.Silo.Hosting;

/// <summary>The gateway half of the host: gRPC (with REST by JSON transcoding), validation, sinks and endpoints.</summary>
public static class GatewayHostingExtensions
{
    /// <summary>Registers the gateway's services and its two Kestrel endpoints (gRPC over HTTP/2, REST over HTTP/1.1).</summary>
    public static WebApplicationBuilder AddProfileGridGateway(this WebApplicationBuilder builder, HostSettings settings, GatewayOptions limits)
    {
        var services = builder.Services;
        services.AddSingleton(settings);
        services.AddOptions<GatewayOptions>().Bind(builder.Configuration.GetSection(GatewayOptions.Section));
        services.AddSingleton(sp => new EventValidator(
            sp.GetRequiredService<IOptions<GatewayOptions>>().Value, sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<ProfileGrid.Grains.Identity.IdentityOptions>>().Value.HashSecret));
        services.AddSingleton<IdentityResolver>();
        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = limits.MaxRequestBytes;
            o.Interceptors.Add<ErrorMappingInterceptor>();
        }).AddJsonTranscoding(o =>
        {
            // A zero is an answer (segment 0, nothing unassigned); leaving it out makes REST clients guess.
            o.JsonSettings.IgnoreDefaultValues = false;
        });
        services.AddGrpcReflection();

        // grpc-dotnet's binder, replaced by one that refuses unparseable request bytes with InvalidArgument (SafeRequestBinding).
        var defaultBinder = services.Single(d => d.ServiceType == typeof(Grpc.AspNetCore.Server.Model.IServiceMethodProvider<>)
            && d.ImplementationType is { Name: "BinderServiceMethodProvider`1" });
        services.Remove(defaultBinder);
        services.Add(ServiceDescriptor.Singleton(typeof(Grpc.AspNetCore.Server.Model.IServiceMethodProvider<>), typeof(SafeRequestBinding<>)));
        services.AddSingleton<IEventSink>(sp => settings.UsesStreams
            ? settings.Streams == StreamProvider.AzureQueue
                ? new StreamEventSink(sp.GetRequiredService<IClusterClient>(), sp.GetRequiredService<Orleans.Serialization.Serializer>(), StreamEventSink.AzureQueueMaxEventBytes)
                : new StreamEventSink(sp.GetRequiredService<IClusterClient>())
            : new LogEventSink(sp.GetRequiredService<IClusterClient>(), sp.GetRequiredService<IOptions<IngestOptions>>()));
        services.AddSingleton<SegmentLookup>();
        services.AddSingleton<ExperimentTagCheck>();
        services.AddSingleton<SiloReadiness>();
        services.AddHealthChecks().AddCheck<SiloReadiness>("silo");
        services.AddGrpcHealthChecks(o => o.Services.Map(string.Empty, c => !c.Tags.Contains(TelemetryExtensions.DetailTag)));

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var endpoints = settings.Endpoints;
            var address = IPAddress.Parse(endpoints.ListenAddress);
            kestrel.Limits.MaxRequestBodySize = limits.MaxRequestBytes;
            kestrel.Listen(address, endpoints.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Listen(address, endpoints.HttpPort, listen => listen.Protocols = HttpProtocols.Http1);
        });
        return builder;
    }

    /// <summary>The middleware and every endpoint: gRPC services, REST routes, health, admin and the root page.</summary>
    public static WebApplication MapProfileGridGateway(this WebApplication app)
    {
        app.UseMiddleware<RestErrorHandler>();
        app.UseMiddleware<RefusalBodies>();
        app.UseMiddleware<GrpcFramingErrors>();
        app.UseMiddleware<PathEncodingGuard>();
        app.UseRouting();
        app.UseProfileGridAccess();
        app.UseMiddleware<AmbiguousPathRefusals>();
        app.UseMiddleware<RestJsonGuard>();
        app.MapGrpcService<ProfileGatewayService>();
        app.MapGrpcService<SegmentServiceImpl>();
        app.MapGrpcService<RecommendationServiceImpl>();
        app.MapGrpcService<ExperimentServiceImpl>();
        app.MapGrpcReflectionService();
        app.MapGrpcHealthChecksService();
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = TelemetryExtensions.IsReadinessCheck });
        app.MapProfileDocumentApi();
        app.MapPrivacyApi();
        if (app.Services.GetRequiredService<AdminSettings>().Enabled)
        {
            app.MapAdminApi();
        }

        app.MapProfileGridKeys();
        app.MapStatsApi();
        app.MapIdentityApi();
        app.MapGet("/", (HostSettings settings) => TypedResults.Text(RootPage(settings)));

        // The ingest route's transcoding has no other method beside POST for routing to answer 405 with (a path of literals
        // alone, unlike every other route): it said 404 "not a route" (probe60). RefusalBodies writes the reason.
        app.MapMethods("/v1/events:ingest", [HttpMethods.Get, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete], (HttpContext http) =>
        {
            http.Response.Headers.Allow = HttpMethods.Post;
            return Results.StatusCode(StatusCodes.Status405MethodNotAllowed);
        });
        return app;
    }

    /// <summary>Marks the host healthy once it has started, and says where it listens.</summary>
    public static WebApplication AnnounceWhenReady(this WebApplication app, HostSettings settings)
    {
        if (settings.IsEphemeral)
        {
            app.Logger.LogWarning("Ephemeral mode: memory storage or memory streams. Events and profiles are lost when the process stops.");
        }

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            app.Services.GetRequiredService<SiloReadiness>().MarkReady();
            Console.WriteLine(
                $"ProfileGrid ready: gRPC http://{settings.Endpoints.ListenAddress}:{settings.Endpoints.GrpcPort}, " +
                $"REST http://{settings.Endpoints.ListenAddress}:{settings.Endpoints.HttpPort} " +
                $"(storage {settings.Storage}, ingest {(settings.UsesStreams ? $"{settings.Streams} stream" : "event log")})");
        });
        return app;
    }

    private static string RootPage(HostSettings settings) =>
        $$"""
        ProfileGrid gateway
          gRPC:  http://{{settings.Endpoints.ListenAddress}}:{{settings.Endpoints.GrpcPort}} (service profilegrid.v1.ProfileGateway, reflection on)
          REST:  POST /v1/events:ingest, GET /v1/tenants/{tenant}/users/{user}/profile, POST /v1/tenants/{tenant}/profiles:batchGet
                 GET /v1/tenants/{tenant}/users/{user}/document (the JSON document view); profile and document take ?asOf=
                 PUT /v1/tenants/{tenant}/users/{user}/attributes, PUT /v1/tenants/{tenant}/users/{user}/preferences
          Segments (service profilegrid.v1.SegmentService):
                 GET /v1/tenants/{tenant}/segments, POST /v1/tenants/{tenant}/segments:run, GET /v1/tenants/{tenant}/users/{user}/segment
                 GET /v1/tenants/{tenant}/users/{user}/segment:explain (why: features against the centroid and the nearest other segment)
                 GET /v1/tenants/{tenant}/segments/{id}/members, GET /v1/tenants/{tenant}/segments/map, GET /v1/tenants/{tenant}/segments/curves
                 GET /v1/tenants/{tenant}/rfm (RFM cells, sizes, quintile edges), GET /v1/tenants/{tenant}/rfm/{cell}/members
          Recommendations (service profilegrid.v1.RecommendationService):
                 GET /v1/tenants/{tenant}/users/{user}/recommendations?n=10, GET /v1/tenants/{tenant}/items/{item}/similar
                 POST /v1/tenants/{tenant}/recommender:train, GET /v1/tenants/{tenant}/recommender
                 POST /v1/tenants/{tenant}/recommender:evaluate (offline evaluation of every algorithm on the tenant's history)
                 POST /v1/tenants/{tenant}/items:upsert, POST /v1/tenants/{tenant}/items:delete, GET /v1/tenants/{tenant}/items[/{item}]
                 GET|PUT|POST /v1/tenants/{tenant}/recommendation-rules, GET|PUT|DELETE /v1/tenants/{tenant}/recommendation-rules/{rule}
          Identity: GET /v1/tenants/{tenant}/identity/{user}, GET /v1/tenants/{tenant}/identity/merges/{merge}, POST .../merges/{merge}/unmerge
          Stats: GET /v1/tenants, GET /v1/tenants/{tenant}/stats, GET /v1/tenants/{tenant}/stats/series?resolution=minute|hour
          Health: GET /healthz (readiness), GET /healthz/detail (storage, ingest backlog; JSON)    Metrics: GET /metrics (Prometheus)
          Operators (loopback unless ProfileGrid:Admin:AllowRemote): GET /v1/admin/ingest, GET /v1/admin/cluster, GET/POST /v1/admin/lake (archive, rebuild, snapshot), the Orleans dashboard at /orleans
          Dashboard: GET /dashboard (the web dashboard; ProfileGrid:Dashboard:Enabled)
        """;
}
