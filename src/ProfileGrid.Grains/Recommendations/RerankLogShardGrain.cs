using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>What a re-ranker log shard persists: its latest lists, oldest first, and how many it was ever sent.</summary>
[GenerateSerializer, Alias("pg.rerank-log-shard-state")]
public sealed class RerankLogShardState
{
    [Id(0)] public List<RerankLoggedList> Lists { get; set; } = [];

    [Id(1)] public long Logged { get; set; }
}

/// <summary>
/// Keeps the latest <see cref="RerankingOptions.MaxListsPerShard"/> lists served to the users of one shard, with the
/// feature vectors they were served with, for the re-ranker's trainer. Written behind
/// (<see cref="RerankingOptions.LogFlushInterval"/>) like the feedback shard: a list is training data, not a record of
/// anything a user did, so what the last interval held is all a lost silo costs.
/// </summary>
public sealed partial class RerankLogShardGrain(
    [PersistentState("rerank-log", ProfileStores.Segments)] IPersistentState<RerankLogShardState> state,
    IOptions<RerankingOptions> options,
    ILogger<RerankLogShardGrain> logger)
    : Grain, IRerankLogShardGrain
{
    private bool _dirty;
    private bool _scheduleAsked;
    private IGrainTimer? _flushTimer;

    /// <summary>The lists as a ring: index of the oldest once the list is full (lists are appended until then).</summary>
    private int _oldest;

    private List<RerankLoggedList> Lists => state.State.Lists;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var max = options.Value.MaxListsPerShard;
        if (Lists.Count > max)
        {
            Lists.RemoveRange(0, Lists.Count - max); // the setting was lowered: keep the latest
        }

        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
    }

    public Task LogAsync(RerankLoggedList list)
    {
        var max = options.Value.MaxListsPerShard;
        if (Lists.Count < max)
        {
            Lists.Add(list);
        }
        else
        {
            Lists[_oldest] = list;
            _oldest = (_oldest + 1) % max;
        }

        state.State.Logged++;
        MarkDirty();
        if (!_scheduleAsked && options.Value.RetrainAfterLists > 0)
        {
            _scheduleAsked = true;
            GrainFactory.GetGrain<IRerankerGrain>(ProfileKey.Parse(this.GetPrimaryKeyString()).Tenant).EnsureScheduledAsync();
        }

        return Task.CompletedTask;
    }

    public Task<RerankLoggedList[]> GetListsAsync() => Task.FromResult(Ordered());

    public async Task<int> ForgetAsync(string[] recommendationIds)
    {
        var ids = recommendationIds.ToHashSet(StringComparer.Ordinal);
        var kept = Ordered().Where(list => !ids.Contains(list.RecommendationId)).ToList();
        var removed = Lists.Count - kept.Count;
        if (removed > 0)
        {
            state.State.Lists = kept;
            _oldest = 0;
            _dirty = false;
            await state.WriteStateAsync();
        }

        return removed;
    }

    public Task<RerankLogCounts> CountAsync() => Task.FromResult(new RerankLogCounts(Lists.Count, state.State.Logged));

    /// <summary>The lists oldest first (the ring unrolled).</summary>
    private RerankLoggedList[] Ordered()
    {
        var ordered = new RerankLoggedList[Lists.Count];
        for (var i = 0; i < ordered.Length; i++)
        {
            ordered[i] = Lists[(_oldest + i) % ordered.Length];
        }

        return ordered;
    }

    private void MarkDirty()
    {
        _dirty = true;
        _flushTimer ??= this.RegisterGrainTimer(
            FlushAsync,
            new GrainTimerCreationOptions(options.Value.LogFlushInterval, Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        _flushTimer?.Dispose();
        _flushTimer = null;
        if (!_dirty)
        {
            return;
        }

        try
        {
            _dirty = false;
            if (_oldest != 0)
            {
                // Stored oldest first, so that a reload (and a lowered MaxListsPerShard) knows which are the latest.
                state.State.Lists = [.. Ordered()];
                _oldest = 0;
            }

            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            LogWriteFailed(this.GetPrimaryKeyString(), ex);
            MarkDirty();
        }
    }

    [LoggerMessage(EventId = 3480, Level = LogLevel.Warning, Message = "Re-ranker log shard {ShardKey}: writing its lists failed; will try again")]
    private partial void LogWriteFailed(string shardKey, Exception exception);
}
