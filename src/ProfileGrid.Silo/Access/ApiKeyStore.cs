using System.Collections.Concurrent;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Silo.Access;

/// <summary>
/// Checks the keys requests carry, and creates, lists and revokes keys. A key checked (or refused) is trusted for
/// <see cref="AuthSettings.CacheFor"/> on this silo, so a key grain hears from each silo a few times a minute per key,
/// not once per request; that is also the bound on how long a revoked key keeps working on another silo.
/// </summary>
public sealed partial class ApiKeyStore(IGrainFactory grains, AuthSettings settings, TimeProvider clock, ILogger<ApiKeyStore> logger)
{
    // Keys that passed, and texts that were refused, each cached apart: refusals must be cached (a client retrying with a
    // wrong key must not reach a grain per request) and so bounded, as random texts could grow them without end; a flood of
    // them empties only the refusals, never the keys in use. Accepted keys are as many as the keys that exist.
    private const int MaxCached = 10_000;

    /// <summary>How long after its trust ran out a key that passed is still taken while its check cannot be made at all.</summary>
    public static readonly TimeSpan StaleGrace = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (ApiKeyIdentity Identity, long Until)> _accepted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _refused = new(StringComparer.Ordinal);

    /// <summary>The key's identity when <paramref name="text"/> is a valid, unrevoked key; null otherwise.</summary>
    public async ValueTask<ApiKeyIdentity?> CheckAsync(string text)
    {
        var hash = ApiKeyText.Hash(text);
        var now = clock.GetTimestamp();
        if (_accepted.TryGetValue(hash, out var accepted) && now < accepted.Until)
        {
            return accepted.Identity;
        }

        if (_refused.TryGetValue(hash, out var refusedUntil) && now < refusedUntil)
        {
            return null;
        }

        // The directory answers from memory whether the id was ever made; only then is the key's own grain (and its
        // storage row) read.
        ApiKeyIdentity? identity = null;
        try
        {
            if (ApiKeyText.TryParseId(text, out var id)
                && await grains.GetGrain<IApiKeyDirectoryGrain>(0).ContainsAsync(id)
                && await grains.GetGrain<IApiKeyGrain>(id).GetAsync() is { RevokedAt: null } key
                && ApiKeyText.HashesEqual(key.SecretHash, hash))
            {
                identity = new ApiKeyIdentity(key);
            }
        }
        catch (Exception ex) when (Gateway.GatewayErrors.IsTransient(ex)
            && accepted.Identity is not null && now < accepted.Until + (long)(StaleGrace.TotalSeconds * clock.TimestampFrequency))
        {
            // The key's grains are out of reach (a silo just died with them, storage down): a key that passed within the
            // last minute (past its trust) is trusted until they answer again, rather than every request of every client refused (probe52
            // saw the surviving silo refuse all for 7 s after a kill). Not cached: the next request asks again.
            LogCheckedEarlier(accepted.Identity.Id, ex);
            return accepted.Identity;
        }

        var until = now + (long)(settings.CacheFor.TotalSeconds * clock.TimestampFrequency);
        if (identity is not null)
        {
            Bound(_accepted, now, e => e.Until);
            _accepted[hash] = (identity, until);
        }
        else
        {
            // Refused now (revoked on another silo since): never again taken from its earlier pass (review55).
            _accepted.TryRemove(hash, out _);
            Bound(_refused, now, e => e);
            _refused[hash] = until;
        }

        return identity;
    }

    /// <summary>Makes room for one entry: drops the expired ones once the cache is full, and all of them if none had expired.</summary>
    private static void Bound<T>(ConcurrentDictionary<string, T> cache, long now, Func<T, long> until)
    {
        if (cache.Count < MaxCached)
        {
            return;
        }

        foreach (var (hash, entry) in cache)
        {
            if (now >= until(entry))
            {
                cache.TryRemove(hash, out _);
            }
        }

        if (cache.Count >= MaxCached)
        {
            cache.Clear();
        }
    }

    /// <summary>Creates a key; the text is returned once and stored nowhere.</summary>
    public async Task<(ApiKeyRecord Key, string Text)> CreateAsync(string name, IEnumerable<string> scopes, IEnumerable<string> tenants, bool allTenants, int? permitsPerSecond, int? burst)
    {
        var (id, text) = ApiKeyText.NewKey();
        var key = await StoreAsync(id, text, name, scopes, tenants, allTenants, permitsPerSecond, burst);
        LogCreated(id, string.Join(',', key.Scopes), allTenants ? "*" : string.Join(',', key.Tenants));
        return (key, text);
    }

    /// <summary>Stores the key <paramref name="text"/> under its own id (the same key again changes nothing).</summary>
    public async Task<ApiKeyRecord> StoreAsync(string id, string text, string name, IEnumerable<string> scopes, IEnumerable<string> tenants, bool allTenants, int? permitsPerSecond, int? burst)
    {
        // Listed first: the gateway refuses an id the directory does not hold, so a key must never exist unlisted (an id
        // listed whose key was never stored, after a failure between the two, is only an empty line that lists skip).
        await grains.GetGrain<IApiKeyDirectoryGrain>(0).AddAsync(id);
        var key = await grains.GetGrain<IApiKeyGrain>(id).CreateAsync(new ApiKeyRecord
        {
            Id = id,
            Name = name,
            Scopes = scopes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
            Tenants = allTenants ? [] : tenants.Distinct(StringComparer.Ordinal).ToArray(),
            AllTenants = allTenants,
            CreatedAt = clock.GetUtcNow(),
            SecretHash = ApiKeyText.Hash(text),
            PermitsPerSecond = permitsPerSecond,
            Burst = burst,
        });
        return key;
    }

    public async Task<ApiKeyRecord[]> ListAsync()
    {
        var ids = await grains.GetGrain<IApiKeyDirectoryGrain>(0).ListAsync();
        var keys = await Task.WhenAll(ids.Select(id => grains.GetGrain<IApiKeyGrain>(id).GetAsync()));
        return keys.OfType<ApiKeyRecord>().OrderBy(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Revokes a key: at once on this silo, within <see cref="AuthSettings.CacheFor"/> on the others. Null: no such key.</summary>
    public async Task<ApiKeyRecord?> RevokeAsync(string id)
    {
        var key = await grains.GetGrain<IApiKeyGrain>(id).RevokeAsync(clock.GetUtcNow());
        if (key is not null)
        {
            foreach (var entry in _accepted.Where(e => e.Value.Identity.Id == id).ToList())
            {
                _accepted.TryRemove(entry.Key, out _);
            }

            LogRevoked(id);
        }

        return key;
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "API key {KeyId} created (scopes {Scopes}, tenants {Tenants})")]
    private partial void LogCreated(string keyId, string scopes, string tenants);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Warning, Message = "API key {KeyId} could not be checked; taken as it was checked within the last minute")]
    private partial void LogCheckedEarlier(string keyId, Exception exception);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "API key {KeyId} revoked")]
    private partial void LogRevoked(string keyId);
}
