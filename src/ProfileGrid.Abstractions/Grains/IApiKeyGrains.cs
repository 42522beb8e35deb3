using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// An API key as stored: who it is for, what it may do, and the SHA-256 of its secret (never the secret). Immutable;
/// a change (revocation) is a new record.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.api-key")]
public sealed record ApiKeyRecord
{
    /// <summary>The public id (16 lower-case hex digits), shown in lists and logs; part of the key's text.</summary>
    [Id(0)] public required string Id { get; init; }

    /// <summary>A display name chosen by whoever created the key ("web shop ingest").</summary>
    [Id(1)] public required string Name { get; init; }

    /// <summary>"ingest", "read", "admin" (see docs/security.md).</summary>
    [Id(2)] public required string[] Scopes { get; init; }

    /// <summary>The tenants the key is bound to; ignored when <see cref="AllTenants"/>.</summary>
    [Id(3)] public required string[] Tenants { get; init; }

    /// <summary>An operator key: every tenant, present and future.</summary>
    [Id(4)] public bool AllTenants { get; init; }

    [Id(5)] public DateTimeOffset CreatedAt { get; init; }

    [Id(6)] public DateTimeOffset? RevokedAt { get; init; }

    /// <summary>Lower-case hex SHA-256 of the key's full text.</summary>
    [Id(7)] public required string SecretHash { get; init; }

    /// <summary>This key's own sustained rate (requests per second); null: ProfileGrid:Auth:PermitsPerSecond.</summary>
    [Id(8)] public int? PermitsPerSecond { get; init; }

    /// <summary>This key's own burst (token bucket size); null: ProfileGrid:Auth:Burst.</summary>
    [Id(9)] public int? Burst { get; init; }
}

/// <summary>One API key (key: its public id). Looked up by the gateway on a cache miss, a few times a minute per key and silo.</summary>
public interface IApiKeyGrain : IGrainWithStringKey
{
    /// <summary>The key, revoked or not; null when no key has this id.</summary>
    [AlwaysInterleave]
    Task<ApiKeyRecord?> GetAsync();

    /// <summary>Stores a new key; the same record again changes nothing; another key under a taken id is refused.</summary>
    Task<ApiKeyRecord> CreateAsync(ApiKeyRecord key);

    /// <summary>Revokes the key (the first revocation's time is kept); null when no key has this id.</summary>
    Task<ApiKeyRecord?> RevokeAsync(DateTimeOffset at);
}

/// <summary>The ids of every API key ever created (key: 0), for listing; keys are few (an operator's, one per app).</summary>
public interface IApiKeyDirectoryGrain : IGrainWithIntegerKey
{
    Task AddAsync(string id);

    /// <summary>Whether a key was ever created under this id: answered from memory, so a made-up id costs no key grain and no storage read.</summary>
    [AlwaysInterleave]
    Task<bool> ContainsAsync(string id);

    [AlwaysInterleave]
    Task<string[]> ListAsync();
}
