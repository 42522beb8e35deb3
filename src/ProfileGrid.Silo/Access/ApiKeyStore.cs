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
    // Refusals are cached too (a client retrying with a wrong key must not reach a grain per request), so the cache is
    // bounded: random keys must not grow it without end.
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, (ApiKeyIdentity? Identity, long Until)> _checked = new(StringComparer.Ordinal);

    /// <summary>The key's identity when <paramref name="text"/> is a valid, unrevoked key; null otherwise.</summary>
    public async ValueTask<ApiKeyIdentity?> CheckAsync(string text)
    {
        var hash = ApiKeyText.Hash(text);
        var now = clock.GetTimestamp();
        if (_checked.TryGetValue(hash, out var cached) && now < cached.Until)
        {
            return cached.Identity;
        }

        ApiKeyIdentity? identity = null;
        if (ApiKeyText.TryParseId(text, out var id)
            && await grains.GetGrain<IApiKeyGrain>(id).GetAsync() is { RevokedAt: null } key
            && ApiKeyText.HashesEqual(key.SecretHash, hash))
        {
            identity = new ApiKeyIdentity(key);
        }

        if (_checked.Count >= MaxCached)
        {
            _checked.Clear();
        }

        _checked[hash] = (identity, now + (long)(settings.CacheFor.TotalSeconds * clock.TimestampFrequency));
        return identity;
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
        await grains.GetGrain<IApiKeyDirectoryGrain>(0).AddAsync(id);
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
            foreach (var entry in _checked.Where(e => e.Value.Identity?.Id == id).ToList())
            {
                _checked.TryRemove(entry.Key, out _);
            }

            LogRevoked(id);
        }

        return key;
    }

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "API key {KeyId} created (scopes {Scopes}, tenants {Tenants})")]
    private partial void LogCreated(string keyId, string scopes, string tenants);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "API key {KeyId} revoked")]
    private partial void LogRevoked(string keyId);
}
