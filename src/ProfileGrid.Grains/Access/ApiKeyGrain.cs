using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Access;

/// <summary>One API key's record (key: its public id). Holds the hash of the secret only.</summary>
public sealed class ApiKeyGrain([PersistentState("key", ProfileStores.Keys)] IPersistentState<ApiKeyState> state) : Grain, IApiKeyGrain
{
    Task<ApiKeyRecord?> IApiKeyGrain.GetAsync()
    {
        if (state.State.Key is null)
        {
            // An id no one made (a guess, or a key cut short): leave no activation behind, or a flood of made-up keys,
            // which no rate limit charges, would fill the silo with idle grains until the collector comes round.
            DeactivateOnIdle();
        }

        return Task.FromResult(state.State.Key);
    }

    async Task<ApiKeyRecord> IApiKeyGrain.CreateAsync(ApiKeyRecord key)
    {
        if (state.State.Key is { } existing)
        {
            // The bootstrap key is re-created on every start from its file: the same secret is the same key.
            return existing.SecretHash == key.SecretHash
                ? existing
                : throw new InvalidOperationException($"An API key with id {key.Id} exists already.");
        }

        state.State.Key = key;
        await state.WriteStateAsync();
        return key;
    }

    async Task<ApiKeyRecord?> IApiKeyGrain.RevokeAsync(DateTimeOffset at)
    {
        if (state.State.Key is not { } key)
        {
            return null;
        }

        if (key.RevokedAt is null)
        {
            state.State.Key = key = key with { RevokedAt = at };
            await state.WriteStateAsync();
        }

        return key;
    }
}

/// <summary>The ids of every key created (key: 0).</summary>
public sealed class ApiKeyDirectoryGrain([PersistentState("keys", ProfileStores.Keys)] IPersistentState<ApiKeyDirectoryState> state) : Grain, IApiKeyDirectoryGrain
{
    async Task IApiKeyDirectoryGrain.AddAsync(string id)
    {
        if (state.State.Ids.Add(id))
        {
            await state.WriteStateAsync();
        }
    }

    Task<bool> IApiKeyDirectoryGrain.ContainsAsync(string id) => Task.FromResult(state.State.Ids.Contains(id));

    Task<string[]> IApiKeyDirectoryGrain.ListAsync() => Task.FromResult(state.State.Ids.Order(StringComparer.Ordinal).ToArray());
}

[GenerateSerializer, Alias("pg.api-key-state")]
public sealed class ApiKeyState
{
    [Id(0)] public ApiKeyRecord? Key { get; set; }
}

[GenerateSerializer, Alias("pg.api-key-directory")]
public sealed class ApiKeyDirectoryState
{
    [Id(0)] public HashSet<string> Ids { get; set; } = new(StringComparer.Ordinal);
}
