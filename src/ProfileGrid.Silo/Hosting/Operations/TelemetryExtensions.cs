using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orleans.Dashboard;
using ProfileGrid.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Recommendations;

namespace ProfileGrid.Silo.Hosting.Operations;

/// <summary>
/// The operator side of the host, set up once (as eShop's ServiceDefaults): OpenTelemetry metrics and traces, the
/// Prometheus scrape endpoint, the detailed health report and the Orleans dashboard. docs/observability.md.
/// </summary>
public static class TelemetryExtensions
{
    /// <summary>Meters exported: ProfileGrid's own, Orleans', ASP.NET Core's, Kestrel's and the .NET runtime's (all built in, no extra listener).</summary>
    public static IReadOnlyList<string> Meters { get; } =
    [
        ProfileGridMetrics.MeterName, RecommendationEngine.MeterName, "Microsoft.Orleans",
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime",
    ];

    /// <summary>
    /// Orleans gauges left out of /metrics: each walks every activation (or directory cache entry) of the silo when it is
    /// read, the first under the lock that every new activation takes, so a scrape would cost about a second of CPU at a
    /// million resident profiles and hold up activations meanwhile. A dropped instrument is never read.
    /// </summary>
    public static IReadOnlyList<string> InstrumentsNotExported { get; } =
    [
        "orleans-messaging-processing-activation-data", "orleans-directory-cache-size",
    ];

    /// <summary>Activity sources traced when traces are exported.</summary>
    public static IReadOnlyList<string> Sources { get; } =
    [
        IngestTracing.SourceName, Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName,
        Orleans.Diagnostics.ActivitySources.RuntimeActivitySourceName,
    ];

    /// <summary>Tags of the health checks that only the detailed report (/healthz/detail) runs.</summary>
    public const string DetailTag = "detail";

    /// <summary>
    /// Registers OpenTelemetry (metrics always, for /metrics; traces only when they are exported over OTLP, so that no
    /// span is made when nobody collects it), the storage and ingest health checks and the operators' settings.
    /// </summary>
    public static WebApplicationBuilder AddProfileGridTelemetry(this WebApplicationBuilder builder, HostSettings host)
    {
        var telemetry = Settings<TelemetrySettings>(builder.Configuration, TelemetrySettings.Section);
        var services = builder.Services;
        services.AddSingleton(telemetry);
        services.AddSingleton(Settings<AdminSettings>(builder.Configuration, AdminSettings.Section));
        services.AddSingleton(Settings<HealthSettings>(builder.Configuration, HealthSettings.Section));

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                "profilegrid", serviceInstanceId: $"{Environment.MachineName}:{host.Endpoints.SiloPort}")
                .AddAttributes([new("profilegrid.service_id", host.ServiceId), new("profilegrid.cluster_id", host.ClusterId)]))
            .WithMetrics(metrics =>
            {
                foreach (var meter in Meters)
                {
                    metrics.AddMeter(meter);
                }

                foreach (var instrument in InstrumentsNotExported)
                {
                    metrics.AddView(instrument, MetricStreamConfiguration.Drop);
                }

                if (telemetry.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });

        if (ExportsOtlp(builder.Configuration, telemetry))
        {
            otel.WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(telemetry.TraceSampleRatio)))
                .AddSource([.. Sources])
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperatorPath(http.Request.Path)));
            if (string.IsNullOrEmpty(telemetry.OtlpEndpoint))
            {
                otel.UseOtlpExporter(); // the standard OTEL_EXPORTER_OTLP_* variables
            }
            else
            {
                otel.UseOtlpExporter(
                    telemetry.OtlpProtocol == OtlpProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf, new Uri(telemetry.OtlpEndpoint));
            }
        }

        services.AddSingleton<StorageHealthCheck>();
        services.AddHealthChecks()
            .AddCheck<StorageHealthCheck>("storage", tags: [DetailTag])
            .AddCheck<IngestBacklogHealthCheck>("ingest", tags: [DetailTag]);
        return builder;
    }

    /// <summary>Grain call tracing (when traces are exported) and the Orleans dashboard (when the admin surface is on).</summary>
    public static ISiloBuilder AddProfileGridOperations(this ISiloBuilder silo, IConfiguration configuration)
    {
        var telemetry = Settings<TelemetrySettings>(configuration, TelemetrySettings.Section);
        if (ExportsOtlp(configuration, telemetry))
        {
            silo.AddActivityPropagation();
        }

        if (Settings<AdminSettings>(configuration, AdminSettings.Section) is { Enabled: true, OrleansDashboard: true })
        {
            // Its grain profiler only records while someone has the dashboard open (GrainProfilerOptions.TraceAlways is off).
            silo.AddDashboard();
        }

        return silo;
    }

    /// <summary>/metrics, /healthz/detail and the Orleans dashboard at /orleans, with the admin access rule in front.</summary>
    public static WebApplication MapProfileGridOperations(this WebApplication app)
    {
        var admin = app.Services.GetRequiredService<AdminSettings>();
        app.UseMiddleware<AdminAccess>();
        if (app.Services.GetRequiredService<TelemetrySettings>().Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(MetricsPath);
        }

        if (admin.Enabled)
        {
            app.MapHealthChecks(HealthDetailPath, new HealthCheckOptions { ResponseWriter = HealthReportJson.WriteAsync });
            if (admin.OrleansDashboard)
            {
                app.MapOrleansDashboard(OrleansDashboardPath);
            }
            else
            {
                app.Map(OrleansDashboardPath + "/{**rest}", () => Results.Text(
                    "The Orleans dashboard is off: start the silo with ProfileGrid:Admin:OrleansDashboard=true (docs/observability.md).",
                    statusCode: StatusCodes.Status404NotFound));
            }
        }

        return app;
    }

    public const string MetricsPath = "/metrics";
    public const string HealthDetailPath = "/healthz/detail";
    public const string OrleansDashboardPath = "/orleans";

    /// <summary>Whether OTLP export is configured, by the ProfileGrid setting or the standard environment variable.</summary>
    public static bool ExportsOtlp(IConfiguration configuration, TelemetrySettings telemetry) =>
        !string.IsNullOrEmpty(telemetry.OtlpEndpoint) || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>The checks plain /healthz (and gRPC health) run: readiness only; the detailed ones need /healthz/detail.</summary>
    public static bool IsReadinessCheck(HealthCheckRegistration check) => !check.Tags.Contains(DetailTag);

    private static bool IsOperatorPath(PathString path) =>
        path.StartsWithSegments(MetricsPath) || path.StartsWithSegments("/healthz") || path.StartsWithSegments(OrleansDashboardPath);

    private static T Settings<T>(IConfiguration configuration, string section)
        where T : new() => configuration.GetSection(section).Get<T>() ?? new T();
}
