using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Stats;

namespace ProfileGrid.Grains.Stats;

/// <summary>
/// One tenant's statistics (key: the tenant). Hears from each silo's collector once per flush interval, never per event,
/// so it is not a hot grain however fast events arrive. Its state (totals, distributions, both series) is written
/// behind at most every <see cref="StatsOptions.WriteBehind"/> into the segments store (blobs on Azure Storage: the
/// series can reach a few hundred KB, more than a table row holds), so a restart keeps the series; what arrived after
/// the last write is lost with a crash, a few seconds of figures. The coverage set (items recommended in the last
/// 24 h) is not persisted: it can hold 100,000 ids, and refills as requests are served.
/// </summary>
public sealed partial class TenantStatsGrain(
    [PersistentState("stats", ProfileStores.Segments)] IPersistentState<TenantStatsState> state,
    IOptions<StatsOptions> options,
    IOptions<Segments.SegmentationOptions> segmentation,
    TimeProvider clock,
    ILogger<TenantStatsGrain> logger) : Grain, ITenantStatsGrain
{
    /// <summary>How long the shards' profile count is reused: reads (the dashboard every few seconds) ask them at most this often.</summary>
    private static readonly TimeSpan StoredCountMaxAge = TimeSpan.FromSeconds(5);

    private readonly StatsOptions _options = options.Value;
    private long? _storedProfiles;
    private DateTimeOffset _storedAt;
    private readonly Dictionary<string, long> _recommendedAt = new(StringComparer.Ordinal);
    private bool _itemsCapped;
    private bool _dirty;
    private IGrainTimer? _writeTimer;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_dirty)
        {
            await WriteAsync(cancellationToken);
        }
    }

    Task ITenantStatsGrain.ApplyAsync(StatsDelta delta)
    {
        var now = clock.GetUtcNow();
        state.State.Apply(delta, now);
        if (delta.RecommendedItems is { Length: > 0 } items)
        {
            NoteItems(items, now);
        }

        _dirty = true;
        _writeTimer ??= this.RegisterGrainTimer(WriteAsync, new GrainTimerCreationOptions(_options.WriteBehind, Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = false });
        return Task.CompletedTask;
    }

    async Task<TenantStatsView?> ITenantStatsGrain.GetStatsAsync()
    {
        var stored = await StoredProfilesAsync();
        if (state.State.IsEmpty && stored is not > 0)
        {
            return null;
        }

        var now = clock.GetUtcNow();
        var items = RecommendedSince(now.AddDays(-1));
        return state.State.View(this.GetPrimaryKeyString(), now, _options, items, _itemsCapped, stored);
    }

    Task<StatsSeriesView?> ITenantStatsGrain.GetSeriesAsync(bool hourly) =>
        Task.FromResult(state.State.IsEmpty ? null : state.State.Series(hourly, clock.GetUtcNow()));

    /// <summary>
    /// The tenant list's line: the shards' count when this activation has read it (a stats read does), else the collected
    /// one (never below 0: after a crash the collected deltas can hold merges and erasures of profiles whose creation they
    /// lost, probe60 saw -12). It does not ask the shards itself: the list asks every tenant, and 16 shard activations per tenant is too
    /// much for a list.
    /// </summary>
    Task<TenantSummary?> ITenantStatsGrain.GetSummaryAsync() =>
        Task.FromResult(state.State.IsEmpty && _storedProfiles is not > 0
            ? null
            : new TenantSummary(this.GetPrimaryKeyString(), _storedProfiles ?? Math.Max(0, state.State.Profiles), state.State.LastEventAt));

    /// <summary>
    /// The tenant's profiles as its feature shards hold them: every profile pushes its features there when it writes its
    /// state, merged and erased ones are taken out, and a profile replayed after a crash pushes again, so the count is
    /// right after a crash where the collected deltas are not (an outside probe: 82 where 1,362 profiles existed, after a
    /// silo was killed 8 s into a tenant's first load). It trails the deltas by a profile's write-behind. Null when the
    /// shards could not be asked and none answered before.
    /// </summary>
    private async Task<long?> StoredProfilesAsync()
    {
        var now = clock.GetUtcNow();
        if (_storedProfiles is { } cached && now - _storedAt < StoredCountMaxAge)
        {
            return cached;
        }

        try
        {
            var tenant = this.GetPrimaryKeyString();
            var counts = await Task.WhenAll(Enumerable.Range(0, segmentation.Value.Shards)
                .Select(i => GrainFactory.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(tenant, i)).CountAsync()));
            (_storedProfiles, _storedAt) = (counts.Sum(c => (long)c), now);
        }
        catch (Exception ex)
        {
            LogShardCountFailed(this.GetPrimaryKeyString(), ex);
        }

        return _storedProfiles;
    }

    /// <summary>Items served in the last 24 h with the minute they were last served; bounded by <see cref="StatsOptions.MaxTrackedItems"/>.</summary>
    private void NoteItems(string[] items, DateTimeOffset now)
    {
        var minute = now.ToUnixTimeSeconds() / 60;
        foreach (var item in items)
        {
            if (_recommendedAt.Count >= _options.MaxTrackedItems && !_recommendedAt.ContainsKey(item))
            {
                var dayAgo = minute - 24 * 60;
                foreach (var (old, at) in _recommendedAt.ToArray())
                {
                    if (at < dayAgo)
                    {
                        _recommendedAt.Remove(old);
                    }
                }

                if (_recommendedAt.Count >= _options.MaxTrackedItems)
                {
                    _itemsCapped = true;
                    continue;
                }
            }

            _recommendedAt[item] = minute;
        }
    }

    private long RecommendedSince(DateTimeOffset since)
    {
        var minute = since.ToUnixTimeSeconds() / 60;
        return _recommendedAt.Values.LongCount(at => at >= minute);
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        _writeTimer?.Dispose();
        _writeTimer = null;
        if (!_dirty)
        {
            return;
        }

        _dirty = false;
        try
        {
            // Not the timer's token: disposing the timer (above) cancels it, and every write behind failed on Azure.
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // Derived figures: try again at the next write-behind rather than fail the collectors' flushes.
            _dirty = true;
            LogWriteFailed(this.GetPrimaryKeyString(), ex);
            _writeTimer ??= this.RegisterGrainTimer(WriteAsync, new GrainTimerCreationOptions(_options.WriteBehind, Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = false });
        }
    }

    [LoggerMessage(EventId = 3601, Level = LogLevel.Warning, Message = "Stats of tenant {Tenant}: writing the state failed; will try again")]
    private partial void LogWriteFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3604, Level = LogLevel.Warning, Message = "Stats of tenant {Tenant}: the feature shards' profile count could not be read; the collected count is shown")]
    private partial void LogShardCountFailed(string tenant, Exception exception);
}

/// <summary>The tenants statistics were collected for (key: 0): registered once per new tenant per silo.</summary>
public sealed class TenantDirectoryGrain(
    [PersistentState("tenants", ProfileStores.Segments)] IPersistentState<TenantDirectoryState> state) : Grain, ITenantDirectoryGrain
{
    async Task ITenantDirectoryGrain.RegisterAsync(string[] tenants)
    {
        var added = false;
        foreach (var tenant in tenants)
        {
            added |= state.State.Tenants.Add(tenant);
        }

        if (added)
        {
            await state.WriteStateAsync();
        }
    }

    Task<string[]> ITenantDirectoryGrain.ListAsync() => Task.FromResult(state.State.Tenants.Order(StringComparer.Ordinal).ToArray());
}

[GenerateSerializer, Alias("pg.stats-tenant-directory")]
public sealed class TenantDirectoryState
{
    [Id(0)] public HashSet<string> Tenants { get; set; } = new(StringComparer.Ordinal);
}
