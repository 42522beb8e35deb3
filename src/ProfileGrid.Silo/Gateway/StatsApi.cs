using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Stats;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Grains.Stats;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The cluster statistics over REST (JSON, camelCase): the tenant list, a tenant's figures and its series. What the
/// stats grains hold is completed here with what lives elsewhere and is cheap to read on demand: the log partitions'
/// backlog and the catalog size. See docs/stats.md.
/// </summary>
public static class StatsApi
{
    /// <summary>camelCase, instants in UTC with a "Z", and labels such as "&lt; 1 h" written as they are (read by the dashboard and by people with curl; never embedded in HTML).</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new UtcInstantConverter() },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IEndpointRouteBuilder MapStatsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/tenants", ListTenantsAsync);
        var tenant = routes.MapGroup("/v1/tenants/{tenant}");
        tenant.MapGet("/stats", GetStatsAsync);
        tenant.MapGet("/stats/series", GetSeriesAsync);
        return routes;
    }

    private static async Task<IResult> ListTenantsAsync(HttpContext http, IGrainFactory grains, StatsCollector collector)
    {
        if (!collector.Enabled)
        {
            return Disabled();
        }

        // A key sees the tenants it is bound to, and no sign of the others.
        var key = http.Features.Get<Access.ApiKeyIdentity>();
        var names = (await grains.GetGrain<ITenantDirectoryGrain>(0).ListAsync()).Where(name => key?.Allows(name) ?? true);
        var summaries = await Task.WhenAll(names.Select(name => grains.GetGrain<ITenantStatsGrain>(name).GetSummaryAsync()));
        return TypedResults.Json(new
        {
            statsEnabled = true,
            tenants = summaries.Where(s => s is not null).Select(s => new { tenant = s!.Tenant, profiles = s.Profiles, lastEventAt = s.LastEventAt }).ToArray(),
        }, Json);
    }

    private static async Task<IResult> GetStatsAsync(
        HttpContext http, string tenant, IGrainFactory grains, StatsCollector collector, EventValidator validator,
        IOptions<IngestOptions> ingest, RecommendationServing serving)
    {
        if (Tenant(http, tenant, validator, collector) is { } refused)
        {
            return refused;
        }

        tenant = GatewayPaths.FromRawPath(http, "tenant") ?? tenant;
        var view = await grains.GetGrain<ITenantStatsGrain>(tenant).GetStatsAsync();
        if (view is null)
        {
            return Unknown(tenant);
        }

        var partitions = await Task.WhenAll(Enumerable.Range(0, ingest.Value.Partitions).Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).GetStatusAsync()));
        var snapshot = await serving.GetAsync(tenant);
        var catalog = snapshot.Catalog.Count + (snapshot.Package?.EventCatalog.Keys.Count(id => !snapshot.Catalog.ContainsKey(id)) ?? 0);
        var recommended = view.Recommendations.ItemsRecommended24h;
        view = view with
        {
            Ingest = view.Ingest with
            {
                Backlog = partitions.Select(p => new PartitionBacklog(p.Partition, p.ProfilesWithUnwrittenState, p.RecordsAwaitingDispatch)).ToArray(),
            },
            Recommendations = view.Recommendations with
            {
                CatalogSize = catalog,
                Coverage = catalog == 0 ? 0 : Math.Round(Math.Min(1, (double)recommended / catalog), 6),
            },
        };
        return TypedResults.Json(view, Json);
    }

    private static async Task<IResult> GetSeriesAsync(
        HttpContext http, string tenant, string? resolution, IGrainFactory grains, StatsCollector collector, EventValidator validator)
    {
        if (Tenant(http, tenant, validator, collector) is { } refused)
        {
            return refused;
        }

        if (RestJsonGuard.UnexpectedQueryParameter(http, "resolution") is { } unexpected)
        {
            return TypedResults.BadRequest(new RestEndpoints.ErrorBody(unexpected.ToString()));
        }

        if (resolution is not (null or "minute" or "hour"))
        {
            return TypedResults.BadRequest(new RestEndpoints.ErrorBody($"resolution: '{resolution}' is not a resolution; use minute (the last 24 h, the default) or hour (the last 30 days)"));
        }

        tenant = GatewayPaths.FromRawPath(http, "tenant") ?? tenant;
        var series = await grains.GetGrain<ITenantStatsGrain>(tenant).GetSeriesAsync(hourly: resolution == "hour");
        return series is null ? Unknown(tenant) : TypedResults.Json(series, Json);
    }

    /// <summary>Refuses a request that cannot be answered: collection off (503) or an invalid tenant (400).</summary>
    private static IResult? Tenant(HttpContext http, string tenant, EventValidator validator, StatsCollector collector)
    {
        if (!collector.Enabled)
        {
            return Disabled();
        }

        tenant = GatewayPaths.FromRawPath(http, "tenant") ?? tenant;
        return validator.TryValidateTenant(tenant, out var error) ? null : TypedResults.BadRequest(new RestEndpoints.ErrorBody(error!.ToString()));
    }

    private static IResult Unknown(string tenant) =>
        TypedResults.NotFound(new RestEndpoints.ErrorBody(
            $"No statistics for tenant '{tenant}': no event, rejection or recommendation was recorded for it (figures appear within {nameof(StatsOptions.FlushInterval)} of the first)."));

    private const string StatsDisabled =
        "Statistics are not collected: ProfileGrid:Stats:Enabled is false on this silo. Nothing was counted; start the silo with it true (the default) to collect.";

    private static IResult Disabled() =>
        TypedResults.Json(
            new { statsEnabled = false, error = StatsDisabled, message = StatsDisabled },
            statusCode: StatusCodes.Status503ServiceUnavailable);

    private sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
    }
}
