using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Stats;

/// <summary>
/// Sends this silo's collected statistics to each tenant's stats grain every <see cref="StatsOptions.FlushInterval"/>
/// (one call per tenant with something new), registers tenants the directory has not heard of from this silo (one call
/// per flush, only when there are new ones), and flushes once more when the silo stops.
/// </summary>
public sealed partial class StatsFlusher(
    StatsCollector collector,
    IGrainFactory grains,
    IOptions<StatsOptions> options,
    TimeProvider clock,
    ILogger<StatsFlusher> logger) : PeriodicFlusher
{
    protected override TimeSpan Interval => options.Value.FlushInterval;

    protected override TimeProvider Clock => clock;

    protected override bool Active => collector.Enabled;

    /// <summary>Sends what every tenant's buffer holds; a failed send is put back and goes with the next flush.</summary>
    public override async Task FlushAsync()
    {
        var now = clock.GetUtcNow();
        var newTenants = collector.Buffers.Where(b => !b.Registered).ToList();
        if (newTenants.Count > 0)
        {
            try
            {
                await grains.GetGrain<ITenantDirectoryGrain>(0).RegisterAsync(newTenants.Select(b => b.Tenant).ToArray());
                newTenants.ForEach(b => b.Registered = true);
            }
            catch (Exception ex)
            {
                LogRegisterFailed(newTenants.Count, ex);
            }
        }

        await Task.WhenAll(collector.Buffers.Select(async buffer =>
        {
            if (buffer.Take(now) is not { } delta)
            {
                return;
            }

            try
            {
                await grains.GetGrain<ITenantStatsGrain>(buffer.Tenant).ApplyAsync(delta);
            }
            catch (Exception ex)
            {
                buffer.Return(delta);
                LogFlushFailed(buffer.Tenant, ex);
            }
        }));
    }

    [LoggerMessage(EventId = 3602, Level = LogLevel.Warning, Message = "Stats: sending tenant {Tenant}'s figures failed; they go with the next flush")]
    private partial void LogFlushFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "Stats: registering {Count} tenants in the directory failed; will try again")]
    private partial void LogRegisterFailed(int count, Exception exception);
}
