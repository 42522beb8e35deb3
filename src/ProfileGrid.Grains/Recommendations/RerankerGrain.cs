using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Reranking;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>What a tenant's re-ranker persists besides its model: the last training's status.</summary>
[GenerateSerializer, Alias("pg.reranker-state")]
public sealed class RerankerGrainState
{
    [Id(0)] public RerankerStatus? Status { get; set; }
}

/// <summary>The published re-ranker (<see cref="RerankerModel.ToBytes"/>), stored apart because it is large.</summary>
[GenerateSerializer, Alias("pg.reranker-model-state")]
public sealed class RerankerModelState
{
    [Id(0)] public long Version { get; set; }

    [Id(1)] public string? Fingerprint { get; set; }

    [Id(2)] public byte[] Model { get; set; } = [];
}

/// <summary>
/// A tenant's re-ranker. A training reads every log shard's lists and asks the feedback shard of the same index which
/// of them were shown and what was clicked (only shown lists are examples), trains on a thread-pool thread, and
/// publishes the next version only when the evaluation gate allows; the last evaluation is kept either way. Retrains by
/// itself when <see cref="RerankingOptions.RetrainAfterLists"/> lists were logged since the last training, checked
/// every <see cref="RerankingOptions.RetrainCheckInterval"/> (a reminder, so it survives restarts). Reentrant: serving
/// reads interleave with a training; a second training is refused.
/// </summary>
[Reentrant]
public sealed partial class RerankerGrain(
    [PersistentState("reranker", ProfileStores.Segments)] IPersistentState<RerankerGrainState> state,
    [PersistentState("reranker-model", ProfileStores.Segments)] IPersistentState<RerankerModelState> model,
    IOptions<RerankingOptions> options,
    IOptions<SegmentationOptions> segmentationOptions,
    TimeProvider clock,
    ILogger<RerankerGrain> logger,
    ProfileGridMetrics metrics)
    : Grain, IRerankerGrain, IRemindable
{
    private const string RetrainReminder = "retrain-reranker";
    private bool _running;
    private bool _scheduled;

    private string Tenant => this.GetPrimaryKeyString();

    public async Task<RerankerTrainResult> TrainAsync()
    {
        if (_running)
        {
            return new RerankerTrainResult(RerankerTrainOutcome.AlreadyRunning, ["a re-ranker training is already in progress for this tenant; try again when it ends."], state.State.Status);
        }

        _running = true;
        try
        {
            var now = clock.GetUtcNow();
            var (examples, logged, shown, withClick, loggedEver) = await GatherAsync();
            if (shown == 0)
            {
                return new RerankerTrainResult(RerankerTrainOutcome.InsufficientData,
                    [$"none of the {logged} logged lists was shown yet: send impression events quoting the recommendation ids, then train again."], state.State.Status);
            }

            var settings = options.Value;
            var trainingOptions = new RerankerTrainingOptions
            {
                PublishMargin = settings.PublishMargin,
                MinValidationListsWithClick = settings.MinValidationListsWithClick,
                RequiredStandardErrors = settings.RequiredStandardErrors,
            };
            RerankerTrainingResult trained;
            try
            {
                // Off the grain's turn: serving's model reads go on while FastTree fits.
                trained = await metrics.TrainAsync(ProfileGridMetrics.Models.Reranker, () => RerankerTrainer.Train(examples, trainingOptions));
            }
            catch (ArgumentException ex)
            {
                return new RerankerTrainResult(RerankerTrainOutcome.InsufficientData, [ex.Message], state.State.Status);
            }
            catch (Exception ex)
            {
                LogTrainingFailed(Tenant, ex);
                return new RerankerTrainResult(RerankerTrainOutcome.Failed, [$"training failed: {ex.Message}"], state.State.Status);
            }

            var previous = state.State.Status;
            var (version, fingerprint, publishedAt) = (model.State.Version, model.State.Fingerprint, previous?.PublishedAt);
            if (trained.Publishable)
            {
                version = model.State.Version + 1;
                fingerprint = trained.Model.Fingerprint;
                publishedAt = now;
                model.State.Version = version;
                model.State.Fingerprint = fingerprint;
                model.State.Model = trained.Model.ToBytes();
                await model.WriteStateAsync();
            }

            var evaluation = View(trained.Evaluation);
            state.State.Status = new RerankerStatus(version, fingerprint, publishedAt, now, trained.Publishable, logged, shown, withClick, evaluation, loggedEver);
            await state.WriteStateAsync();
            LogTrained(Tenant, shown, evaluation.ModelNdcg, evaluation.BaseNdcg, trained.Publishable, version);
            return new RerankerTrainResult(RerankerTrainOutcome.Trained, [], state.State.Status);
        }
        finally
        {
            _running = false;
        }
    }

    public Task<RerankerModelBytes> GetModelAsync(long knownVersion) =>
        Task.FromResult(model.State.Version == knownVersion || model.State.Version == 0
            ? new RerankerModelBytes(model.State.Version, model.State.Fingerprint, null)
            : new RerankerModelBytes(model.State.Version, model.State.Fingerprint, model.State.Model));

    public Task<RerankerStatus?> GetStatusAsync() => Task.FromResult(state.State.Status);

    public async Task EnsureScheduledAsync()
    {
        var period = options.Value.RetrainCheckInterval;
        if (_scheduled || options.Value.RetrainAfterLists == 0)
        {
            return;
        }

        _scheduled = true;
        try
        {
            // Registering again would restart the schedule: keep a reminder that exists with this period.
            if (ServiceProvider.GetService<IReminderTable>() is { } table
                && await GrainReminders.ReadAsync(this, table, RetrainReminder) is { } entry && entry.Period == period)
            {
                return;
            }

            await GrainReminders.RegisterOrUpdateAsync(this, RetrainReminder, period, period);
        }
        catch (Exception ex)
        {
            _scheduled = false; // the next log shard activation asks again
            LogScheduleFailed(Tenant, ex);
        }
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RetrainReminder || _running)
        {
            return;
        }

        var shards = segmentationOptions.Value.Shards;
        var counts = await Task.WhenAll(Enumerable.Range(0, shards).Select(i => LogShard(i).CountAsync()));
        var loggedSince = counts.Sum(c => c.Logged) - (state.State.Status?.LoggedAtTraining ?? 0);
        // A shard's count restarts from its last write after a lost silo: a negative difference means "retrain too".
        if (loggedSince >= 0 && loggedSince < options.Value.RetrainAfterLists)
        {
            return;
        }

        var result = await TrainAsync();
        if (result.Outcome is not (RerankerTrainOutcome.Trained or RerankerTrainOutcome.AlreadyRunning))
        {
            LogRetrainSkipped(Tenant, string.Join(" ", result.Problems));
        }
    }

    private IRerankLogShardGrain LogShard(int shard) => GrainFactory.GetGrain<IRerankLogShardGrain>(SegmentKeys.Shard(Tenant, shard));

    /// <summary>
    /// The examples: every item of every logged list the feedback shards know was shown, clicked or not. Shard i of the
    /// log and of the feedback hold the same users, so each pair is joined on its own.
    /// </summary>
    private async Task<(List<RerankExample> Examples, int Logged, int Shown, int WithClick, long LoggedEver)> GatherAsync()
    {
        var shards = segmentationOptions.Value.Shards;
        var joined = await Task.WhenAll(Enumerable.Range(0, shards).Select(async i =>
        {
            var logShard = LogShard(i);
            var counts = await logShard.CountAsync();
            var lists = await logShard.GetListsAsync();
            var clicks = lists.Length == 0
                ? []
                : await GrainFactory.GetGrain<IFeedbackShardGrain>(SegmentKeys.Shard(Tenant, i))
                    .GetListClicksAsync(lists.Select(l => l.RecommendationId).ToArray());
            return (Lists: lists, Clicks: clicks, counts.Logged);
        }));

        var examples = new List<RerankExample>();
        var (logged, shown, withClick) = (0, 0, 0);
        foreach (var (lists, clicks, _) in joined)
        {
            logged += lists.Length;
            var byId = new Dictionary<string, ListClicksReport>(clicks.Length, StringComparer.Ordinal);
            foreach (var report in clicks)
            {
                byId[report.RecommendationId] = report;
            }

            foreach (var list in lists)
            {
                if (!byId.TryGetValue(list.RecommendationId, out var report))
                {
                    continue; // served but never shown (or its impression not pushed yet): not an example
                }

                shown++;
                withClick += report.ClickedItemIds.Length > 0 ? 1 : 0;
                examples.AddRange(RerankServing.Examples(list, report.ClickedItemIds));
            }
        }

        return (examples, logged, shown, withClick, joined.Sum(j => j.Logged));
    }

    private static RerankerEvaluationView View(RerankerEvaluation e) => new(
        e.TrainingRows, e.TrainingLists, e.ValidationRows, e.ValidationLists, e.ValidationListsWithClick, e.K,
        e.ModelAuc, e.BaseAuc, e.ModelNdcg, e.BaseNdcg, e.NdcgGainLowerBound, e.Publishable, [.. e.Reasons], e.TrainingTime);

    [LoggerMessage(EventId = 3490, Level = LogLevel.Information, Message = "Re-ranker {Tenant}: trained on {Lists} shown lists, nDCG {ModelNdcg:0.000} against the base order's {BaseNdcg:0.000}; published: {Published} (version {Version})")]
    private partial void LogTrained(string tenant, int lists, double modelNdcg, double baseNdcg, bool published, long version);

    [LoggerMessage(EventId = 3491, Level = LogLevel.Error, Message = "Re-ranker {Tenant}: training failed")]
    private partial void LogTrainingFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3492, Level = LogLevel.Warning, Message = "Re-ranker {Tenant}: could not register the retraining reminder; asked again when a log shard next activates")]
    private partial void LogScheduleFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3493, Level = LogLevel.Information, Message = "Re-ranker {Tenant}: scheduled retraining skipped: {Problems}")]
    private partial void LogRetrainSkipped(string tenant, string problems);
}
