using Microsoft.Extensions.Logging;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>What a catalog shard persists: its items by id and a version that every change bumps.</summary>
[GenerateSerializer, Alias("pg.catalog-shard-state")]
public sealed class CatalogShardState
{
    [Id(0)] public SortedDictionary<string, CatalogItemView> Items { get; set; } = new(StringComparer.Ordinal);

    [Id(1)] public long Version { get; set; }
}

/// <summary>
/// One shard of a tenant's catalog. Writes are bulk admin operations, stored before they are acknowledged (a catalog
/// change is something a user expects to stick); reads come from each silo's serving cache, once per version.
/// </summary>
public sealed partial class CatalogShardGrain(
    [PersistentState("catalog", ProfileStores.Segments)] IPersistentState<CatalogShardState> state,
    ILogger<CatalogShardGrain> logger)
    : Grain, ICatalogShardGrain
{
    private CatalogShardSnapshot? _snapshot;

    public async Task<long> UpsertAsync(CatalogItemView[] items)
    {
        foreach (var item in items)
        {
            state.State.Items[item.ItemId] = item;
        }

        return await CommitAsync(items.Length);
    }

    public async Task<int> DeleteAsync(string[] itemIds)
    {
        // Items known only from events are deleted too: the tombstone is what keeps them from being recommended.
        var now = DateTimeOffset.UtcNow;
        var deleted = 0;
        foreach (var id in itemIds.Distinct(StringComparer.Ordinal))
        {
            if (state.State.Items.GetValueOrDefault(id) is not { Deleted: true })
            {
                state.State.Items[id] = new CatalogItemView { ItemId = id, Available = false, Deleted = true, UpdatedAt = now };
                deleted++;
            }
        }

        if (deleted > 0)
        {
            await CommitAsync(deleted);
        }

        return deleted;
    }

    public Task<CatalogItemView[]> GetAsync(string[] itemIds) =>
        Task.FromResult(itemIds.Select(id => state.State.Items.GetValueOrDefault(id)).OfType<CatalogItemView>().ToArray());

    public Task<CatalogItemView[]> ListAsync(string? afterItemId, int pageSize)
    {
        var items = state.State.Items.Values.Where(item => !item.Deleted);
        if (afterItemId is not null)
        {
            items = items.SkipWhile(item => string.CompareOrdinal(item.ItemId, afterItemId) <= 0);
        }

        return Task.FromResult(items.Take(Math.Max(0, pageSize)).ToArray());
    }

    public Task<CatalogShardSnapshot> GetSnapshotAsync(long knownVersion)
    {
        if (knownVersion == state.State.Version)
        {
            return Task.FromResult(new CatalogShardSnapshot(knownVersion, null));
        }

        // Built once per version: every silo's cache asks after each change.
        if (_snapshot?.Version != state.State.Version)
        {
            _snapshot = new CatalogShardSnapshot(state.State.Version, state.State.Items.Values.ToArray());
        }

        return Task.FromResult(_snapshot);
    }

    private async Task<long> CommitAsync(int changed)
    {
        // Never a version that was handed out before: a failed write (reloaded from storage) must not reuse its number,
        // or a cache that saw the failed change would think it current.
        state.State.Version = Math.Max(state.State.Version + 1, DateTime.UtcNow.Ticks);
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // Memory and storage now differ: start again from what storage holds, and let the caller retry.
            LogWriteFailed(this.GetPrimaryKeyString(), changed, ex);
            DeactivateOnIdle();
            throw;
        }

        return state.State.Version;
    }

    [LoggerMessage(EventId = 3410, Level = LogLevel.Warning, Message = "Catalog shard {Shard}: writing {Changed} changed items failed; the shard reloads from storage")]
    private partial void LogWriteFailed(string shard, int changed, Exception exception);
}
