using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Privacy;

/// <summary>
/// A tenant's privacy ledger as the readers of the log use it: is this user erased (and was this event before the
/// erasure), has this user withdrawn personalization consent. Users are known by a salted hash only.
/// </summary>
public sealed class PrivacyFilter
{
    /// <summary>A tenant with no erasures and no opt-outs: every check is one field read.</summary>
    public static readonly PrivacyFilter None = new([], new Dictionary<string, DateTimeOffset>(), []);

    private readonly byte[] _salt;
    private readonly IReadOnlyDictionary<string, DateTimeOffset> _erased;
    private readonly HashSet<string> _optedOut;

    public PrivacyFilter(byte[] salt, IReadOnlyDictionary<string, DateTimeOffset> erased, IEnumerable<string> optedOut)
    {
        _salt = salt;
        _erased = erased;
        _optedOut = new HashSet<string>(optedOut, StringComparer.Ordinal);
    }

    public static PrivacyFilter Of(PrivacyFilterView view) => view.Erased.Count == 0 && view.OptedOut.Length == 0 ? None : new(view.Salt, view.Erased, view.OptedOut);

    /// <summary>Nothing to filter: no erasure, no opt-out.</summary>
    public bool IsEmpty => _erased.Count == 0 && _optedOut.Count == 0;

    /// <summary>The erasure cut-off of <paramref name="userId"/> (the profile's user part), or null when it was never erased.</summary>
    public DateTimeOffset? ErasedBefore(string userId) =>
        _erased.Count > 0 && _erased.TryGetValue(Hash(_salt, userId), out var cutoff) ? cutoff : null;

    /// <summary>Whether an event of <paramref name="userId"/> that happened at <paramref name="occurredAt"/> was erased.</summary>
    public bool IsErased(string userId, DateTimeOffset occurredAt) => ErasedBefore(userId) is { } cutoff && occurredAt <= cutoff;

    /// <summary>Whether <paramref name="userId"/> withdrew personalization consent (as last recorded).</summary>
    public bool IsOptedOut(string userId) => _optedOut.Count > 0 && _optedOut.Contains(Hash(_salt, userId));

    /// <summary>The events to keep of one profile's batch: null when every event was erased, the batch itself when none was.</summary>
    public EventBatch? Keep(string userId, EventBatch batch)
    {
        if (ErasedBefore(userId) is not { } cutoff)
        {
            return batch;
        }

        var kept = batch.Events.Where(e => e.OccurredAt > cutoff).ToArray();
        return kept.Length == 0 ? null : kept.Length == batch.Events.Count ? batch : new EventBatch(kept);
    }

    /// <summary>The ledger's name for a user: 96 bits of HMAC-SHA256 under the tenant's salt, in base64.</summary>
    public static string Hash(byte[] salt, string userId)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(salt, Encoding.UTF8.GetBytes(userId), mac);
        return Convert.ToBase64String(mac[..12]);
    }
}

/// <summary>
/// The silo's cache of tenants' privacy filters. An entry is read from the tenant's ledger grain when first needed
/// and again once older than <see cref="RefreshAfter"/>; an erasure reloads it at once on every silo that hosts a log
/// partition (<see cref="IEventLogPartitionGrain.EraseAsync"/>), so consent changes reach the archivers within
/// <see cref="RefreshAfter"/> and erasures at once.
/// </summary>
public sealed class PrivacyFilters(IGrainFactory grains, TimeProvider clock)
{
    /// <summary>How long a cached filter is used before the ledger is read again.</summary>
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (PrivacyFilter Filter, DateTimeOffset ReadAt, string Version)> _filters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _refreshing = new(StringComparer.Ordinal);

    /// <summary>
    /// The tenant's filter. Only the first use of a tenant waits for its ledger; later a stale filter is answered at once and
    /// reread in the background, so the log's dispatch never waits on a ledger whose silo just died (erasures are pushed
    /// with <see cref="ReloadAsync"/> and need no refresh).
    /// </summary>
    public ValueTask<PrivacyFilter> ForTenantAsync(string tenant)
    {
        if (!_filters.TryGetValue(tenant, out var cached))
        {
            return new ValueTask<PrivacyFilter>(ReloadAsync(tenant));
        }

        if (clock.GetUtcNow() - cached.ReadAt >= RefreshAfter && !_refreshing.ContainsKey(tenant))
        {
            _refreshing[tenant] = Task.Run(async () =>
            {
                try
                {
                    await ReloadAsync(tenant);
                }
                catch (Exception)
                {
                    // The stale filter stays until a later read succeeds.
                }
                finally
                {
                    _refreshing.TryRemove(tenant, out _);
                }
            });
        }

        return ValueTask.FromResult(cached.Filter);
    }

    /// <summary>Reads the tenant's ledger now.</summary>
    public async Task<PrivacyFilter> ReloadAsync(string tenant)
    {
        var ledger = grains.GetGrain<ITenantPrivacyGrain>(tenant);
        // The version first: a change between the two reads leaves a newer filter under an older version, read again next time.
        var version = await ledger.GetVersionAsync();
        var filter = PrivacyFilter.Of(await ledger.GetFilterAsync());
        _filters[tenant] = (filter, clock.GetUtcNow(), version);
        return filter;
    }

    /// <summary>
    /// The tenant's filter as the ledger holds it now: the cached one when the ledger has not changed since (one small
    /// call), else read again. For a reader that must honour every change made before it asked (the lake's archiver).
    /// </summary>
    public async Task<PrivacyFilter> CurrentAsync(string tenant)
    {
        var version = await grains.GetGrain<ITenantPrivacyGrain>(tenant).GetVersionAsync();
        return _filters.TryGetValue(tenant, out var cached) && cached.Version == version ? cached.Filter : await ReloadAsync(tenant);
    }
}
