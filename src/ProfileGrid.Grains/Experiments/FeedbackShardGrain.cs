using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Experiments;

/// <summary>What a feedback shard persists: the latest figures of every user that hashes to it.</summary>
[GenerateSerializer, Alias("pg.feedback-shard-state")]
public sealed class FeedbackShardState
{
    [Id(0)] public Dictionary<string, FeedbackUpdate> Users { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Holds the feedback figures of the users that hash to it, as their profiles last pushed them, and sums them per
/// experiment variant (and, for the fairness audit, per group) when asked: a scan of its users, so the figures are exact
/// at every read and nothing is counted twice. Written behind like the feature shard
/// (<see cref="SegmentationOptions.ShardFlushInterval"/>); the figures are derived data, so whatever the last interval
/// lost with a silo comes back with the users' next pushes.
/// </summary>
public sealed partial class FeedbackShardGrain(
    [PersistentState("feedback", ProfileStores.Segments)] IPersistentState<FeedbackShardState> state,
    IOptions<SegmentationOptions> options,
    ILogger<FeedbackShardGrain> logger)
    : Grain, IFeedbackShardGrain
{
    private bool _dirty;
    private IGrainTimer? _flushTimer;

    private Dictionary<string, FeedbackUpdate> Users => state.State.Users;

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
    }

    public Task UpdateAsync(FeedbackUpdate update)
    {
        if (Users.TryGetValue(update.ProfileKey, out var held) && held.AsOf > update.AsOf)
        {
            return Task.CompletedTask; // a push that overtook this one is newer
        }

        Users[update.ProfileKey] = update;
        MarkDirty();
        return Task.CompletedTask;
    }

    public Task<int> CountAsync() => Task.FromResult(Users.Count);

    public Task<VariantTally[]> GetExperimentTalliesAsync(int experimentNumber)
    {
        var tallies = new Dictionary<int, VariantAccumulator>();
        foreach (var user in Users.Values)
        {
            foreach (var outcome in user.Experiments)
            {
                if (outcome.Experiment != experimentNumber)
                {
                    continue;
                }

                if (!tallies.TryGetValue(outcome.Variant, out var tally))
                {
                    tallies[outcome.Variant] = tally = new VariantAccumulator();
                }

                tally.Add(outcome);
            }
        }

        return Task.FromResult(tallies.OrderBy(pair => pair.Key).Select(pair => pair.Value.ToTally(pair.Key)).ToArray());
    }

    public Task<ListClicksReport[]> GetListClicksAsync(string[] recommendationIds)
    {
        // A scan of the shard's users' recent lists (at most ProfileOptions.RecentListsCapacity each): training is rare,
        // and an index by list id would cost memory on every push.
        var wanted = new HashSet<string>(recommendationIds, StringComparer.Ordinal);
        var found = new List<ListClicksReport>(Math.Min(wanted.Count, 1024));
        foreach (var user in Users.Values)
        {
            if (user.RecentLists is not { } lists)
            {
                continue;
            }

            foreach (var list in lists)
            {
                if (list.Shown && wanted.Contains(list.RecommendationId))
                {
                    found.Add(list);
                }
            }
        }

        return Task.FromResult(found.ToArray());
    }

    private void MarkDirty()
    {
        _dirty = true;
        _flushTimer ??= this.RegisterGrainTimer(
            FlushAsync,
            new GrainTimerCreationOptions(options.Value.ShardFlushInterval, Timeout.InfiniteTimeSpan) { KeepAlive = true });
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
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            LogWriteFailed(this.GetPrimaryKeyString(), ex);
            MarkDirty();
        }
    }

    /// <summary>Sums of one variant's users, added up in place (a scan of a shard allocates one per variant, not one per user).</summary>
    private sealed class VariantAccumulator
    {
        private long _users, _clickers, _converters, _mismatched;
        private double _impressions, _impressionSquares, _clicks, _clickSquares, _clicksTimesImpressions, _cartAdds, _purchases;
        private double _revenue, _revenueSquares, _covariate, _covariateSquares, _revenueTimesCovariate;

        public void Add(ExperimentOutcomeReport user)
        {
            _users++;
            _impressions += user.Impressions;
            _impressionSquares += (double)user.Impressions * user.Impressions;
            _clicks += user.Clicks;
            _clickSquares += (double)user.Clicks * user.Clicks;
            _clicksTimesImpressions += (double)user.Clicks * user.Impressions;
            _clickers += user.Clicks > 0 ? 1 : 0;
            _converters += user.Purchases > 0 ? 1 : 0;
            _cartAdds += user.CartAdds;
            _purchases += user.Purchases;
            _revenue += user.Revenue;
            _revenueSquares += user.Revenue * user.Revenue;
            _covariate += user.PrePeriodRevenue;
            _covariateSquares += user.PrePeriodRevenue * user.PrePeriodRevenue;
            _revenueTimesCovariate += user.Revenue * user.PrePeriodRevenue;
            _mismatched += user.Mismatched > 0 ? 1 : 0;
        }

        public VariantTally ToTally(int variant) => new()
        {
            Variant = variant,
            Users = _users,
            Impressions = _impressions,
            ImpressionSquares = _impressionSquares,
            Clicks = _clicks,
            ClickSquares = _clickSquares,
            ClicksTimesImpressions = _clicksTimesImpressions,
            Clickers = _clickers,
            Converters = _converters,
            CartAdds = _cartAdds,
            Purchases = _purchases,
            Revenue = _revenue,
            RevenueSquares = _revenueSquares,
            Covariate = _covariate,
            CovariateSquares = _covariateSquares,
            RevenueTimesCovariate = _revenueTimesCovariate,
            UsersWithMismatches = _mismatched,
        };
    }

    [LoggerMessage(EventId = 3470, Level = LogLevel.Warning, Message = "Feedback shard {ShardKey}: writing its figures failed; will try again")]
    private partial void LogWriteFailed(string shardKey, Exception exception);
}
