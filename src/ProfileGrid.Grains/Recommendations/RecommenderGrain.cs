using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>What a tenant's recommender persists besides its model: the settings it trains with and the model's summary.</summary>
[GenerateSerializer, Alias("pg.recommender-state")]
public sealed class RecommenderGrainState
{
    [Id(0)] public RecommenderTrainRequest? Settings { get; set; }

    [Id(1)] public RecommenderStatus? Status { get; set; }
}

/// <summary>The current model package (<see cref="ModelPackage"/>), stored apart because it is large.</summary>
[GenerateSerializer, Alias("pg.recommender-model-state")]
public sealed class RecommenderModelState
{
    [Id(0)] public long Version { get; set; }

    [Id(1)] public byte[] Package { get; set; } = [];
}

/// <summary>
/// A tenant's recommender. A run reads every interaction shard (users' item histories and the item facts events
/// carried) and the users' segments from the feature shards, never a profile grain; trains on a thread-pool thread so
/// the grain keeps answering; stores the model package with the next version. Every silo's serving cache asks for the
/// package by version and serves it from memory. Reentrant: reads interleave with a run; a second run is refused.
/// </summary>
[Reentrant]
public sealed partial class RecommenderGrain(
    [PersistentState("recommender", ProfileStores.Segments)] IPersistentState<RecommenderGrainState> state,
    [PersistentState("recommender-model", ProfileStores.Segments)] IPersistentState<RecommenderModelState> model,
    IOptions<RecommendationOptions> options,
    IOptions<SegmentationOptions> segmentationOptions,
    TimeProvider clock,
    ILogger<RecommenderGrain> logger,
    ProfileGridMetrics metrics)
    : Grain, IRecommenderGrain, IRemindable
{
    private const string RetrainReminder = "retrain-recommender";
    private bool _running;
    private bool _evaluating;
    private bool _scheduled;

    private string Tenant => this.GetPrimaryKeyString();

    public async Task<RecommenderTrainResult> TrainAsync(RecommenderTrainRequest? request)
    {
        if (_running)
        {
            return new RecommenderTrainResult(RecommenderTrainOutcome.AlreadyRunning, ["a training run is already in progress for this tenant; try again when it ends."], state.State.Status);
        }

        _running = true;
        try
        {
            var settings = RecommenderSettings.Merge(request, state.State.Settings);
            var problems = RecommenderSettings.Validate(settings);
            if (problems.Count > 0)
            {
                return new RecommenderTrainResult(RecommenderTrainOutcome.InvalidSettings, problems.ToArray(), state.State.Status);
            }

            var started = Stopwatch.GetTimestamp();
            var now = clock.GetUtcNow();
            var (users, facts, _, forgotten) = await GatherAsync();
            var version = Math.Max(model.State.Version + 1, 1);
            TrainedPackage trained;
            try
            {
                // Off the grain's turn: serving reads and status calls go on while the CPU-heavy training runs.
                trained = await metrics.TrainAsync(ProfileGridMetrics.Models.Recommender, () => RecommenderTraining.Train(users, facts, settings, version, now));
            }
            catch (InsufficientTrainingDataException ex)
            {
                return new RecommenderTrainResult(RecommenderTrainOutcome.InsufficientData, [ex.Message], state.State.Status);
            }
            catch (Exception ex)
            {
                LogTrainingFailed(Tenant, ex);
                return new RecommenderTrainResult(RecommenderTrainOutcome.Failed, [$"training failed: {ex.Message}"], state.State.Status);
            }

            model.State.Version = version;
            model.State.Package = trained.Package;
            await model.WriteStateAsync();
            // The status shows the threshold the model was trained with, also when it came from the default.
            var status = trained.Status with
            {
                Warnings = forgotten.Users == 0 ? trained.Status.Warnings : [.. trained.Status.Warnings, ForgottenWarning(forgotten)],
                TrainingTime = Stopwatch.GetElapsedTime(started),
                Settings = settings with { MinPositiveRating = RecommenderSettings.Weights(settings).MinPositiveRating },
            };
            state.State.Settings = settings;
            state.State.Status = status;
            await state.WriteStateAsync();
            LogTrained(Tenant, version, status.Users, status.Items, status.Interactions, status.TrainingTime);
            return new RecommenderTrainResult(RecommenderTrainOutcome.Trained, status.Warnings, status);
        }
        finally
        {
            _running = false;
        }
    }

    public async Task<RecommenderEvaluationResult> EvaluateAsync(RecommenderEvaluationRequest request)
    {
        if (_evaluating)
        {
            return new RecommenderEvaluationResult(RecommenderTrainOutcome.AlreadyRunning, ["an evaluation is already in progress for this tenant; try again when it ends."], null);
        }

        _evaluating = true;
        try
        {
            var settings = RecommenderSettings.Merge(null, state.State.Settings);
            var (users, _, attributes, _) = await GatherAsync();
            var labels = await SegmentLabelsAsync();
            var now = clock.GetUtcNow();
            try
            {
                // Off the grain's turn, like training: it trains every algorithm once more.
                var report = await Task.Run(() => RecommenderEvaluation.Run(users, attributes, labels, settings, request, now));
                LogEvaluated(Tenant, report.TestUsers, report.Algorithms.Length);
                return new RecommenderEvaluationResult(RecommenderTrainOutcome.Trained, [], report);
            }
            catch (ArgumentException ex)
            {
                return new RecommenderEvaluationResult(RecommenderTrainOutcome.InvalidSettings, [ex.Message], null);
            }
            catch (InsufficientTrainingDataException ex)
            {
                return new RecommenderEvaluationResult(RecommenderTrainOutcome.InsufficientData, [ex.Message], null);
            }
        }
        finally
        {
            _evaluating = false;
        }
    }

    /// <summary>Segment id (as the recommender names it) → label, from the published segmentation; empty before the first.</summary>
    private async Task<Dictionary<string, string>> SegmentLabelsAsync()
    {
        try
        {
            var model = await GrainFactory.GetGrain<ISegmentationGrain>(Tenant).GetModelAsync();
            return model?.Segments.ToDictionary(segment => SegmentKey(segment.Id), segment => segment.Label, StringComparer.Ordinal) ?? [];
        }
        catch (Exception ex)
        {
            LogSegmentsUnavailable(Tenant, ex);
            return [];
        }
    }

    public Task<RecommenderModelBytes> GetModelAsync(long knownVersion) =>
        Task.FromResult(model.State.Version == knownVersion || model.State.Version == 0
            ? new RecommenderModelBytes(model.State.Version, null)
            : new RecommenderModelBytes(model.State.Version, model.State.Package));

    public Task<RecommenderStatus?> GetStatusAsync() => Task.FromResult(state.State.Status);

    public async Task EnsureScheduledAsync()
    {
        var period = options.Value.RetrainInterval;
        if (_scheduled || period <= TimeSpan.Zero)
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
            _scheduled = false; // the next shard activation asks again
            LogScheduleFailed(Tenant, ex);
        }
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RetrainReminder)
        {
            return;
        }

        var result = await TrainAsync(null);
        if (result.Outcome is not (RecommenderTrainOutcome.Trained or RecommenderTrainOutcome.AlreadyRunning))
        {
            LogRetrainSkipped(Tenant, string.Join(" ", result.Problems));
        }
    }

    /// <summary>
    /// Says that training has less than the users' whole histories: profiles remember a bounded number of items
    /// (ProfileGrid:Profile:MaxItemsRemembered and ItemsMaxBytes), and heavy users' oldest items were forgotten.
    /// </summary>
    private static string ForgottenWarning((int Users, long Items) forgotten) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{forgotten.Items:N0} older items are not in training: {(forgotten.Users == 1 ? "1 user's profile" : $"{forgotten.Users:N0} users' profiles")} forgot them at the bound of items a profile remembers (ProfileGrid:Profile:MaxItemsRemembered, ItemsMaxBytes). The count is of items of any kind of interaction and any rating, liked or not");

    /// <summary>
    /// Every user's item history with their segment id (as text; null when unassigned), the item facts of all shards,
    /// and how many users' profiles forgot older items at their bound (and how many items).
    /// </summary>
    private async Task<(List<UserInteractions> Users, Dictionary<string, ItemFact> Facts, Dictionary<string, UserAttributesView> Attributes, (int Users, long Items) Forgotten)> GatherAsync()
    {
        var shards = segmentationOptions.Value.Shards;
        var data = Task.WhenAll(Enumerable.Range(0, shards).Select(i =>
            GrainFactory.GetGrain<IInteractionShardGrain>(SegmentKeys.Shard(Tenant, i)).GetTrainingDataAsync()));
        var assignments = Task.WhenAll(Enumerable.Range(0, shards).Select(i =>
            GrainFactory.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(Tenant, i)).GetAssignmentsAsync()));
        var shardData = await data;
        Dictionary<string, int>[] segments;
        try
        {
            segments = await assignments;
        }
        catch (Exception ex)
        {
            // Segments refine popularity; without them the recommender still trains (global popularity for everyone).
            LogSegmentsUnavailable(Tenant, ex);
            segments = [];
        }

        var users = new List<UserInteractions>();
        var facts = new Dictionary<string, ItemFact>(StringComparer.Ordinal);
        var attributes = new Dictionary<string, UserAttributesView>(StringComparer.Ordinal);
        var forgotten = (Users: 0, Items: 0L);
        for (var s = 0; s < shardData.Length; s++)
        {
            var shard = shardData[s];
            var assigned = s < segments.Length ? segments[s] : null;
            for (var u = 0; u < shard.ProfileKeys.Length; u++)
            {
                var key = shard.ProfileKeys[u];
                var items = shard.Items[u].Select(i => new ItemInteraction(i.ItemId, i.Views, i.CartAdds, i.Purchases, i.Rating, i.LastAt)).ToArray();
                var segment = assigned is not null && assigned.TryGetValue(key, out var id) ? SegmentKey(id) : null;
                users.Add(new UserInteractions(key, items, segment));
                if (shard.Attributes?[u] is { } userAttributes)
                {
                    attributes[key] = userAttributes;
                }

                if (shard.ItemsForgotten?[u] is > 0 and var itemsForgotten)
                {
                    forgotten = (forgotten.Users + 1, forgotten.Items + itemsForgotten);
                }
            }

            foreach (var fact in shard.Facts)
            {
                facts[fact.ItemId] = ItemFact.Merge(facts.GetValueOrDefault(fact.ItemId), fact);
            }
        }

        return (users, facts, attributes, forgotten);
    }

    /// <summary>How a segment is named to the recommender: its id, which carries over between segmentation models.</summary>
    public static string SegmentKey(int segmentId) => segmentId.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [LoggerMessage(EventId = 3420, Level = LogLevel.Information, Message = "Recommender {Tenant}: model {Version} trained on {Users} users, {Items} items, {Interactions} interactions in {Elapsed}")]
    private partial void LogTrained(string tenant, long version, int users, int items, long interactions, TimeSpan elapsed);

    [LoggerMessage(EventId = 3421, Level = LogLevel.Error, Message = "Recommender {Tenant}: training failed")]
    private partial void LogTrainingFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3422, Level = LogLevel.Warning, Message = "Recommender {Tenant}: could not register the retraining reminder; asked again when a shard next activates")]
    private partial void LogScheduleFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3423, Level = LogLevel.Information, Message = "Recommender {Tenant}: scheduled retraining skipped: {Problems}")]
    private partial void LogRetrainSkipped(string tenant, string problems);

    [LoggerMessage(EventId = 3425, Level = LogLevel.Information, Message = "Recommender {Tenant}: evaluated {Algorithms} algorithms on {TestUsers} test users")]
    private partial void LogEvaluated(string tenant, int testUsers, int algorithms);

    [LoggerMessage(EventId = 3424, Level = LogLevel.Warning, Message = "Recommender {Tenant}: users' segments could not be read; training with global popularity only")]
    private partial void LogSegmentsUnavailable(string tenant, Exception exception);
}
