using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Domain;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Segments;

/// <summary>
/// What a tenant's segmentation persists: the published model and the settings it was trained with (the reminder's
/// next run uses them). Ids 2 and 3 held fields of no use and are retired.
/// </summary>
[GenerateSerializer, Alias("pg.segmentation-state")]
public sealed class SegmentationGrainState
{
    [Id(0)] public SegmentModel? Model { get; set; }

    [Id(1)] public SegmentationSettings? LastSettings { get; set; }
}

/// <summary>
/// A tenant's segmentation. A run samples vectors from the tenant's feature shards (never from profile grains), trains
/// on a thread-pool thread so that the grain keeps answering, persists the new model with the next version, and
/// publishes it to every shard, which reassigns its users at once. Reentrant: reads interleave with a run; a second
/// run while one is in progress is refused.
/// </summary>
[Reentrant]
public sealed partial class SegmentationGrain(
    [PersistentState("segmentation", ProfileStores.Segments)] IPersistentState<SegmentationGrainState> state,
    IOptions<SegmentationOptions> options,
    IOptions<ProfileOptions> profileOptions,
    TimeProvider clock,
    ILogger<SegmentationGrain> logger,
    ProfileGridMetrics metrics)
    : Grain, ISegmentationGrain, IRemindable
{
    private const string RetrainReminder = "retrain";
    private readonly SegmentationOptions _options = options.Value;
    private bool _running;
    private bool _scheduled;
    private bool _scheduling;
    private IGrainTimer? _scheduleRetry;
    private SegmentOverview? _overview;
    private SegmentModelView? _view;
    private DateTimeOffset _overviewAt;
    private IGrainTimer? _publishRetry;

    private static readonly TimeSpan PublishRetryInterval = TimeSpan.FromSeconds(10);

    private string Tenant => this.GetPrimaryKeyString();

    public async Task<SegmentationRunResult> RunAsync(SegmentationRequest? request)
    {
        if (_running)
        {
            return new SegmentationRunResult(
                null, ["a segmentation run is already in progress for this tenant; try again when it ends."], SegmentationRunOutcome.AlreadyRunning);
        }

        _running = true;
        try
        {
            SegmentationSettings settings;
            try
            {
                var tenantRules = state.State.LastSettings?.LabelRules ?? _options.DefaultSettings().LabelRules;
                settings = request?.ToSettings(tenantRules) ?? state.State.LastSettings ?? _options.DefaultSettings();
            }
            catch (ArgumentException ex)
            {
                return new SegmentationRunResult(null, [$"normalization: {ex.Message}"], SegmentationRunOutcome.InvalidSettings);
            }

            var problems = settings.Validate(ProfileFeatures.All, 0);
            if (problems.Count > 0)
            {
                return new SegmentationRunResult(null, problems.ToArray(), SegmentationRunOutcome.InvalidSettings);
            }

            var training = await GatherAsync(settings.Seed, settings.AsOf);
            if (settings.AsOf is { } asOf && training.Rows.Length == 0 && training.Population > 0)
            {
                return new SegmentationRunResult(null,
                    [$"as_of: {asOf:yyyy-MM-ddTHH:mm:ssZ} is before the first event of every one of the {training.Population:N0} profiles; no one had a history to segment then"],
                    SegmentationRunOutcome.InvalidSettings);
            }
            var previous = state.State.Model;
            var version = (previous?.Version ?? 0) + 1;
            var now = clock.GetUtcNow();
            SegmentModel model;
            try
            {
                // Off the grain's turn: the grain keeps serving reads while the CPU-heavy fit runs on the thread pool.
                model = await metrics.TrainAsync(ProfileGridMetrics.Models.Segmentation, () =>
                    SegmentationTrainer.Train(training, settings, previous, version, now, RowsAsAssignedBy(previous, training, settings.AsOf ?? now, now)));
            }
            catch (SegmentationException ex)
            {
                var outcome = ex.Kind == SegmentationProblem.InvalidSettings ? SegmentationRunOutcome.InvalidSettings : SegmentationRunOutcome.InsufficientData;
                return new SegmentationRunResult(null, ex.Problems.ToArray(), outcome);
            }
            catch (Exception ex)
            {
                // A bug or a data shape the trainer does not handle: not something a retry of the same data fixes.
                LogTrainingFailed(Tenant, ex);
                return new SegmentationRunResult(null, [$"training failed: {ex.Message}"], SegmentationRunOutcome.Failed);
            }

            state.State.Model = model;
            state.State.LastSettings = settings;
            await state.WriteStateAsync();
            _overview = null;
            var view = CurrentView()!;
            var unreached = await PublishAsync(view, Shards());
            LogPublished(Tenant, model.Version, model.K, model.TrainedOn, model.Population, clock.GetUtcNow() - now);
            var warnings = unreached.Length == 0
                ? Array.Empty<string>()
                : [$"{unreached.Length} feature shards could not take the model yet; they are retried every {PublishRetryInterval.TotalSeconds:0} s and count as unassigned meanwhile."];
            return new SegmentationRunResult(view, warnings, SegmentationRunOutcome.Published);
        }
        finally
        {
            _running = false;
        }
    }

    /// <summary>Sends the model to every shard; returns those that did not take it, and keeps retrying them on a timer.</summary>
    private async Task<IFeatureShardGrain[]> PublishAsync(SegmentModelView model, IFeatureShardGrain[] shards)
    {
        var calls = shards.Select(async shard =>
        {
            try
            {
                await shard.ApplyModelAsync(model);
                return null;
            }
            catch (Exception ex)
            {
                LogPublishFailed(Tenant, shard.GetPrimaryKeyString(), model.Version, ex);
                return shard;
            }
        });
        var unreached = (await Task.WhenAll(calls)).OfType<IFeatureShardGrain>().ToArray();
        _publishRetry?.Dispose();
        _publishRetry = null;
        if (unreached.Length > 0)
        {
            _publishRetry = this.RegisterGrainTimer(
                async _ =>
                {
                    if (CurrentView() is { } current && current.Version == model.Version)
                    {
                        await PublishAsync(current, unreached);
                    }
                },
                new GrainTimerCreationOptions(PublishRetryInterval, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        }

        return unreached;
    }

    public Task<SegmentModelView?> GetModelAsync() => Task.FromResult(CurrentView());

    /// <summary>The published model as the contract carries it, built once per model version.</summary>
    private SegmentModelView? CurrentView()
    {
        var model = state.State.Model;
        if (model is not null && _view?.Version != model.Version)
        {
            _view = model.ToView();
        }

        return model is null ? null : _view;
    }

    public async Task<SegmentOverview> GetOverviewAsync()
    {
        var now = clock.GetUtcNow();
        if (_overview is not null && now - _overviewAt < _options.SizesCacheDuration)
        {
            return _overview with { Running = _running };
        }

        var model = CurrentView();
        var stats = await Task.WhenAll(Shards().Select(shard => shard.GetStatsAsync()));
        var sizes = model?.Segments.ToDictionary(s => s.Id, _ => 0) ?? [];
        var rfmSizes = RfmCells.All.ToDictionary(cell => cell, _ => 0, StringComparer.Ordinal);
        long vectors = 0, assigned = 0;
        foreach (var shard in stats)
        {
            vectors += shard.Vectors;
            if (model is null || shard.ModelVersion != model.Version)
            {
                continue; // still on an older model: counted as unassigned until it catches up
            }

            foreach (var (segment, size) in shard.Sizes)
            {
                sizes[segment] = sizes.GetValueOrDefault(segment) + size;
                assigned += size;
            }

            foreach (var (cell, size) in shard.RfmSizes ?? [])
            {
                rfmSizes[cell] = rfmSizes.GetValueOrDefault(cell) + size;
            }
        }

        var overview = new SegmentOverview(model, sizes, vectors, vectors - assigned, _running, rfmSizes);
        if (model?.Version == state.State.Model?.Version)
        {
            // Not when a run published a newer model while the shards were being asked.
            _overview = overview;
            _overviewAt = now;
        }

        return overview;
    }

    public async Task EnsureScheduledAsync()
    {
        if (_scheduled || _scheduling || _options.RetrainInterval <= TimeSpan.Zero)
        {
            return;
        }

        _scheduling = true;
        try
        {
            _scheduled = await ScheduleAsync(_options.RetrainInterval);
        }
        finally
        {
            _scheduling = false;
        }

        if (!_scheduled)
        {
            // Shards ask once per activation, so a failed registration would otherwise wait for the next shard to wake.
            _scheduleRetry?.Dispose();
            _scheduleRetry = this.RegisterGrainTimer(
                async _ =>
                {
                    _scheduleRetry?.Dispose();
                    _scheduleRetry = null;
                    await EnsureScheduledAsync();
                },
                new GrainTimerCreationOptions(ScheduleRetryDelay, Timeout.InfiniteTimeSpan) { KeepAlive = true });
        }
    }

    /// <summary>
    /// Registers the retraining reminder unless it already exists with <paramref name="period"/>: registering again
    /// restarts its schedule (the next tick a whole period after the call), and every activation of this grain (after
    /// idle collection, a silo restart) asks, so the period would slip each time. True when the reminder is in place.
    /// </summary>
    private async Task<bool> ScheduleAsync(TimeSpan period)
    {
        if (await ReadReminderAsync() is { Exists: true } existing && (existing.Period ?? period) == period)
        {
            LogScheduleKept(Tenant, period);
            return true;
        }

        try
        {
            await GrainReminders.RegisterOrUpdateAsync(this, RetrainReminder, period, period);
            LogScheduled(Tenant, period);
            return true;
        }
        catch (Exception ex)
        {
            // A time-out may come back from a write that landed (a storage call answered late): look before warning.
            if (await ReadReminderAsync() is { Exists: true } stored && (stored.Period ?? period) == period)
            {
                LogScheduledDespiteError(Tenant, period, ex.GetType().Name, ex.Message);
                return true;
            }

            LogScheduleFailed(Tenant, ScheduleRetryDelay, ex);
            return false;
        }
    }

    /// <summary>
    /// The retraining reminder as stored: whether it exists, and its period when the reminder table can tell (a grain's
    /// <c>GetReminder</c> tells existence only, and then an existing reminder is taken as it is); null when it could not
    /// be read.
    /// </summary>
    private async Task<(bool Exists, TimeSpan? Period)?> ReadReminderAsync()
    {
        try
        {
            if (ServiceProvider.GetService<IReminderTable>() is { } table)
            {
                var entry = await GrainReminders.ReadAsync(this, table, RetrainReminder);
                return entry is null ? (false, null) : (true, entry.Period);
            }

            return (await GrainReminders.ExistsAsync(this, RetrainReminder), null);
        }
        catch (Exception ex)
        {
            LogReminderReadFailed(Tenant, ex);
            return null;
        }
    }

    /// <summary>How long a failed registration waits before the next attempt: the retrain interval, at most a minute.</summary>
    private TimeSpan ScheduleRetryDelay => _options.RetrainInterval < MaxScheduleRetryDelay ? _options.RetrainInterval : MaxScheduleRetryDelay;

    private static readonly TimeSpan MaxScheduleRetryDelay = TimeSpan.FromMinutes(1);

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != RetrainReminder)
        {
            return;
        }

        var result = await RunAsync(null);
        if (result.Model is null && result.Outcome != SegmentationRunOutcome.AlreadyRunning)
        {
            LogRetrainSkipped(Tenant, string.Join(" ", result.Problems));
        }
    }

    /// <summary>
    /// A sample of at most <see cref="SegmentationOptions.MaxTrainingRows"/> vectors: each shard gives its share in
    /// proportion to its size (all of them when the tenant holds fewer).
    /// </summary>
    private async Task<TrainingSet> GatherAsync(int seed, DateTimeOffset? asOf)
    {
        var shards = Shards();
        var counts = await Task.WhenAll(shards.Select(shard => shard.CountAsync()));
        var population = counts.Sum(c => (long)c);
        var limit = _options.MaxTrainingRows;
        var samples = await Task.WhenAll(shards.Select((shard, i) =>
        {
            var quota = population <= limit ? counts[i] : (int)Math.Ceiling((double)counts[i] * limit / population);
            return counts[i] == 0 ? Task.FromResult(Array.Empty<double[]>()) : shard.SampleAsync(quota, seed + i, asOf);
        }));

        var rows = samples.SelectMany(s => s).ToArray();
        var heavyTailed = ProfileFeatures.All.Select(ProfileFeatures.IsHeavyTailed).ToArray();
        return new TrainingSet(ProfileFeatures.All, heavyTailed, rows, population, profileOptions.Value.ReportingCurrency);
    }

    /// <summary>
    /// The training rows moved to the instant at which <paramref name="previous"/> assigns users (its as-of instant, or
    /// now), when this run measures them to another: switching between a live run and one as of a history's end compares
    /// the previous segments with their members as they were assigned, so the same groups keep their ids. Null when the
    /// instants are the same.
    /// </summary>
    private double[][]? RowsAsAssignedBy(SegmentModel? previous, TrainingSet training, DateTimeOffset runInstant, DateTimeOffset now)
    {
        var previousInstant = previous?.EvaluatedAt ?? now;
        return previous is null || previousInstant == runInstant
            ? null
            : training.Rows.Select(row => ProfileFeatures.MoveTo(row, training.SourceFeatures, runInstant, previousInstant, profileOptions.Value)).ToArray();
    }

    private IFeatureShardGrain[] Shards() =>
        Enumerable.Range(0, _options.Shards).Select(i => GrainFactory.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(Tenant, i))).ToArray();

    [LoggerMessage(EventId = 3200, Level = LogLevel.Information, Message = "Segmentation {Tenant}: published model {Version} with {K} segments, trained on {Rows} of {Population} vectors in {Elapsed}")]
    private partial void LogPublished(string tenant, long version, int k, int rows, long population, TimeSpan elapsed);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "Segmentation {Tenant}: training failed")]
    private partial void LogTrainingFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Segmentation {Tenant}: shard {Shard} did not take model {Version}; retrying")]
    private partial void LogPublishFailed(string tenant, string shard, long version, Exception exception);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Segmentation {Tenant}: could not register the retraining reminder (it is not stored); retrying in {RetryIn}")]
    private partial void LogScheduleFailed(string tenant, TimeSpan retryIn, Exception exception);

    [LoggerMessage(EventId = 3204, Level = LogLevel.Information, Message = "Segmentation {Tenant}: scheduled retraining skipped: {Problems}")]
    private partial void LogRetrainSkipped(string tenant, string problems);

    [LoggerMessage(EventId = 3205, Level = LogLevel.Information, Message = "Segmentation {Tenant}: the retraining reminder was stored (every {Period}) although registering it reported {Error}: {Reason}")]
    private partial void LogScheduledDespiteError(string tenant, TimeSpan period, string error, string reason);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Debug, Message = "Segmentation {Tenant}: retraining reminder registered, every {Period}")]
    private partial void LogScheduled(string tenant, TimeSpan period);

    [LoggerMessage(EventId = 3207, Level = LogLevel.Debug, Message = "Segmentation {Tenant}: retraining reminder already registered every {Period}; its schedule is kept")]
    private partial void LogScheduleKept(string tenant, TimeSpan period);

    [LoggerMessage(EventId = 3208, Level = LogLevel.Debug, Message = "Segmentation {Tenant}: could not read the retraining reminder")]
    private partial void LogReminderReadFailed(string tenant, Exception exception);
}
