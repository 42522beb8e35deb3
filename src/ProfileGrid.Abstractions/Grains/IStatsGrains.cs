using Orleans.Concurrency;
using ProfileGrid.Abstractions.Stats;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One tenant's cluster statistics (key: the tenant). Fed only by the silos' collectors, once per flush interval per
/// silo with a <see cref="StatsDelta"/>, never per event; read by the stats API and the dashboard.
/// </summary>
public interface ITenantStatsGrain : IGrainWithStringKey
{
    /// <summary>Adds one silo's delta for one flush interval.</summary>
    Task ApplyAsync(StatsDelta delta);

    /// <summary>The tenant's figures as of now; null when nothing was ever collected for the tenant.</summary>
    [AlwaysInterleave]
    Task<TenantStatsView?> GetStatsAsync();

    /// <summary>The minute (<paramref name="hourly"/> false) or hour series, oldest first, only points that hold data.</summary>
    [AlwaysInterleave]
    Task<StatsSeriesView?> GetSeriesAsync(bool hourly);

    /// <summary>The tenant's line in the tenant list.</summary>
    [AlwaysInterleave]
    Task<TenantSummary?> GetSummaryAsync();
}

/// <summary>
/// The tenants the collectors have seen (key: 0). A silo registers a tenant the first time its collector flushes it,
/// so this grain hears from each silo once per new tenant, never per event.
/// </summary>
public interface ITenantDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Adds tenants (already known ones change nothing).</summary>
    Task RegisterAsync(string[] tenants);

    /// <summary>Every tenant registered, in ordinal order.</summary>
    [AlwaysInterleave]
    Task<string[]> ListAsync();
}
