using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>
/// What an interaction shard persists: item ids once each (users refer to them by index, so a popular item's id is
/// held once per shard, not once per user), every user's item history, and the item facts seen in events.
/// </summary>
[GenerateSerializer, Alias("pg.interaction-shard-state")]
public sealed class InteractionShardState
{
    [Id(0)] public List<string> ItemIds { get; set; } = [];

    [Id(1)] public Dictionary<string, UserItemHistory> Users { get; set; } = new(StringComparer.Ordinal);

    [Id(2)] public Dictionary<string, ItemFact> Facts { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>One user's items (indices into <see cref="InteractionShardState.ItemIds"/>) and their counts, as of <see cref="AsOf"/>.</summary>
/// <remarks>
/// Never shared between users, so its references are not tracked: a shard of 62,500 users is 62,500 fewer entries in the
/// serializer's reference table on every write (12% less time; docs/benchmarks.md). Rows written with tracking read the same.
/// </remarks>
[GenerateSerializer, SuppressReferenceTracking, Alias("pg.user-item-history")]
public sealed class UserItemHistory
{
    [Id(0)] public int[] Items { get; set; } = [];
    [Id(1)] public int[] Views { get; set; } = [];
    [Id(2)] public int[] CartAdds { get; set; } = [];
    [Id(3)] public int[] Purchases { get; set; } = [];

    /// <summary>The latest rating per item; NaN when none.</summary>
    [Id(4)] public double[] Ratings { get; set; } = [];

    /// <summary>The latest interaction per item, as UTC ticks.</summary>
    [Id(5)] public long[] LastAtTicks { get; set; } = [];

    [Id(6)] public DateTimeOffset AsOf { get; set; }

    /// <summary>The user's slicing attributes as the profile last sent them (null from a profile that sent none).</summary>
    [Id(7)] public UserAttributesView? Attributes { get; set; }

    /// <summary>Older items the profile forgot at its bound (the history holds the rest).</summary>
    [Id(8)] public long ItemsForgotten { get; set; }
}

/// <summary>
/// Holds the item histories of the users of one feature shard (profiles push their whole history after each write
/// that changed it) and the item facts their events carried. Written behind like a feature shard; the recommender reads
/// it all when it trains. Histories are replaced, never added to, so a repeated or lost push changes nothing for good.
/// </summary>
public sealed partial class InteractionShardGrain(
    [PersistentState("interactions", ProfileStores.Segments)] IPersistentState<InteractionShardState> state,
    IOptions<RecommendationOptions> options,
    Ingest.IngestActivity ingest,
    TimeProvider clock,
    ILogger<InteractionShardGrain> logger)
    : Grain, IInteractionShardGrain
{
    private readonly Dictionary<string, int> _itemIndex = new(StringComparer.Ordinal);
    private IGrainTimer? _flushTimer;
    private bool _dirty;
    private bool _scheduled;
    private readonly ShardWrites _writes = new();

    // Users whose history this activation dropped (erased, or pushed empty): a stored row read to reconcile a write
    // conflict does not bring their older history back.
    private readonly HashSet<string> _dropped = new(StringComparer.Ordinal);

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var ids = state.State.ItemIds;
        for (var i = 0; i < ids.Count; i++)
        {
            _itemIndex[ids[i]] = i;
        }

        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _writes.EndAfterAsync(FlushAsync(cancellationToken));

    public Task<ShardWriteState> WaitWrittenAsync(ShardWriteTicket ticket)
    {
        _flushTimer = _writes.BringForwardIfQuiet(_flushTimer, _dirty, ingest.IsQuiet, state.State.Users.Count, due =>
            this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true }));
        return _writes.WaitAsync(ticket, clock);
    }

    public Task<ShardWriteTicket> UpdateAsync(InteractionUpdate update)
    {
        if (!_scheduled)
        {
            _scheduled = true;
            var tenant = ProfileKey.Parse(this.GetPrimaryKeyString()).Tenant;
            GrainFactory.GetGrain<IRecommenderGrain>(tenant).EnsureScheduledAsync().Ignore();
        }

        var users = state.State.Users;
        if (users.TryGetValue(update.ProfileKey, out var held) && held.AsOf > update.AsOf)
        {
            return Task.FromResult(_writes.Ticket(_dirty)); // overtaken by a newer push
        }

        var items = update.Items;
        var history = new UserItemHistory
        {
            Items = new int[items.Length],
            Views = new int[items.Length],
            CartAdds = new int[items.Length],
            Purchases = new int[items.Length],
            Ratings = new double[items.Length],
            LastAtTicks = new long[items.Length],
            AsOf = update.AsOf,
            Attributes = update.Attributes,
            ItemsForgotten = update.ItemsForgotten,
        };
        for (var i = 0; i < items.Length; i++)
        {
            var item = items[i];
            history.Items[i] = IndexOf(item.ItemId);
            history.Views[i] = item.Views;
            history.CartAdds[i] = item.CartAdds;
            history.Purchases[i] = item.Purchases;
            history.Ratings[i] = item.Rating ?? double.NaN;
            history.LastAtTicks[i] = item.LastAt.UtcTicks;
        }

        if (items.Length == 0)
        {
            users.Remove(update.ProfileKey);
            _dropped.Add(update.ProfileKey);
        }
        else
        {
            users[update.ProfileKey] = history;
            _dropped.Remove(update.ProfileKey);
        }

        foreach (var fact in update.Facts)
        {
            state.State.Facts[fact.ItemId] = ItemFact.Merge(state.State.Facts.GetValueOrDefault(fact.ItemId), fact);
        }

        MarkDirty();
        return Task.FromResult(_writes.Ticket(_dirty));
    }

    public Task<int> CountAsync() => Task.FromResult(state.State.Users.Count);

    public async Task<int> ForgetAsync(string[] profileKeys)
    {
        // Item ids and item facts (category, price) are the catalogue's, not the user's: they stay.
        var removed = profileKeys.Count(key => state.State.Users.Remove(key));
        _dropped.UnionWith(profileKeys);
        if (removed > 0)
        {
            try
            {
                await WriteReconcilingAsync();
            }
            catch
            {
                MarkDirty(); // the removal is still to be stored, whether or not the erasure asks again
                throw;
            }

            _dirty = false;
            _writes.Written();
        }

        return removed;
    }

    public Task<InteractionShardData> GetTrainingDataAsync()
    {
        var ids = state.State.ItemIds;
        var keys = new string[state.State.Users.Count];
        var rows = new ItemInteractionView[keys.Length][];
        var attributes = new UserAttributesView?[keys.Length];
        var forgotten = new long[keys.Length];
        var u = 0;
        foreach (var (key, history) in state.State.Users)
        {
            keys[u] = key;
            var row = new ItemInteractionView[history.Items.Length];
            for (var i = 0; i < row.Length; i++)
            {
                var rating = history.Ratings[i];
                row[i] = new ItemInteractionView(
                    ids[history.Items[i]], history.Views[i], history.CartAdds[i], history.Purchases[i],
                    double.IsNaN(rating) ? null : rating, new DateTimeOffset(history.LastAtTicks[i], TimeSpan.Zero));
            }

            attributes[u] = history.Attributes;
            forgotten[u] = history.ItemsForgotten;
            rows[u++] = row;
        }

        return Task.FromResult(new InteractionShardData(keys, rows, state.State.Facts.Values.ToArray(), attributes, forgotten));
    }

    private int IndexOf(string itemId)
    {
        if (!_itemIndex.TryGetValue(itemId, out var index))
        {
            index = state.State.ItemIds.Count;
            state.State.ItemIds.Add(itemId);
            _itemIndex[itemId] = index;
        }

        return index;
    }

    private void MarkDirty()
    {
        _dirty = true;
        _flushTimer ??= this.RegisterGrainTimer(
            FlushAsync,
            new GrainTimerCreationOptions(ShardWritePacing.Interval(options.Value.ShardFlushInterval, state.State.Users.Count), Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        _flushTimer?.Dispose();
        _flushTimer = null;
        _writes.WriteStarting();
        if (!_dirty)
        {
            return;
        }

        try
        {
            await WriteReconcilingAsync();
            _dirty = false;
            _writes.Written();
        }
        catch (Exception ex)
        {
            LogWriteFailed(this.GetPrimaryKeyString(), ex);
            MarkDirty();
        }
    }

    /// <summary>Writes the state, reconciling with a stored row it did not write last (<see cref="ReconcilingWrites"/>).</summary>
    private Task WriteReconcilingAsync() =>
        ReconcilingWrites.WriteAsync(state, reason => LogWriteConflict(this.GetPrimaryKeyString(), reason), AdoptStored);

    /// <summary>
    /// Every user's newer history of the stored row's and this activation's is kept (none this activation dropped), its item
    /// indices mapped to this row's item list, and the item facts merged.
    /// </summary>
    private void AdoptStored(InteractionShardState stored)
    {
        var ours = state.State;
        var adopted = 0;
        foreach (var (key, theirs) in stored.Users)
        {
            if (_dropped.Contains(key) || (ours.Users.TryGetValue(key, out var mine) && mine.AsOf >= theirs.AsOf))
            {
                continue;
            }

            theirs.Items = Array.ConvertAll(theirs.Items, i => IndexOf(stored.ItemIds[i]));
            ours.Users[key] = theirs;
            adopted++;
        }

        foreach (var (itemId, fact) in stored.Facts)
        {
            ours.Facts[itemId] = ItemFact.Merge(ours.Facts.GetValueOrDefault(itemId), fact);
        }

        LogReconciled(this.GetPrimaryKeyString(), adopted, stored.Users.Count);
    }

    [LoggerMessage(EventId = 3496, Level = LogLevel.Warning, Message = "Interaction shard {Shard}: a write was refused on its ETag ({Reason}); reading the stored row to reconcile")]
    private partial void LogWriteConflict(string shard, string reason);

    [LoggerMessage(EventId = 3497, Level = LogLevel.Warning, Message = "Interaction shard {Shard}: reconciled with the stored row: {Adopted} of its {Stored} users' histories were newer and are kept")]
    private partial void LogReconciled(string shard, int adopted, int stored);

    [LoggerMessage(EventId = 3400, Level = LogLevel.Warning, Message = "Interaction shard {Shard}: writing state failed; retrying after the flush interval")]
    private partial void LogWriteFailed(string shard, Exception exception);
}
