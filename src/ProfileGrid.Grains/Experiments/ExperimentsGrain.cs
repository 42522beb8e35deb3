using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Experiments.Design;
using ProfileGrid.Experiments.Results;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Grains.Experiments;

/// <summary>The outcome of a change to a tenant's experiments (the library's <see cref="ExperimentChange"/>, as it crosses grains).</summary>
[GenerateSerializer, Immutable, Alias("pg.experiment-change-result")]
public sealed record ExperimentChangeResult(
    [property: Id(0)] ExperimentSet? Set,
    [property: Id(1)] Experiment? Experiment,
    [property: Id(2)] FieldProblem[] Problems,
    [property: Id(3)] bool NotFound,
    [property: Id(4)] bool Conflict);

/// <summary>
/// A tenant's experiments (key: tenant), versioned: every change is stored before it is answered and raises the version,
/// which each silo's serving cache compares to fetch them again. Changes are rare admin calls and reads come once per
/// version per silo, so the grain is not on the serving path.
/// </summary>
public interface IExperimentsGrain : IGrainWithStringKey
{
    [AlwaysInterleave]
    Task<ExperimentSet> GetAsync();

    /// <summary>The experiments when their version differs from <paramref name="knownVersion"/>; otherwise null.</summary>
    [AlwaysInterleave]
    Task<ExperimentSet?> GetIfChangedAsync(long knownVersion);

    Task<ExperimentChangeResult> CreateAsync(Experiment experiment);

    Task<ExperimentChangeResult> UpdateAsync(Experiment experiment);

    Task<ExperimentChangeResult> StartAsync(string experimentId);

    Task<ExperimentChangeResult> StopAsync(string experimentId);

    Task<ExperimentChangeResult> ArchiveAsync(string experimentId);

    /// <summary>
    /// The experiment's results now (null when it does not exist): the feedback shards' tallies of its variants through
    /// every test. Each call is one look of the sequential test, whose state is stored.
    /// </summary>
    Task<ExperimentResult?> GetResultsAsync(string experimentId);
}

[GenerateSerializer, Alias("pg.experiments-state")]
public sealed class ExperimentsState
{
    [Id(0)] public ExperimentSet Experiments { get; set; } = ExperimentSet.Empty;

    /// <summary>Per experiment id, the sequential test's state after the last look, per "variant/metric".</summary>
    [Id(1)] public Dictionary<string, Dictionary<string, SequentialState>> Looks { get; set; } = new(StringComparer.Ordinal);
}

public sealed partial class ExperimentsGrain(
    [PersistentState("experiments", ProfileStores.Segments)] IPersistentState<ExperimentsState> state,
    IOptions<SegmentationOptions> segmentationOptions,
    TimeProvider clock,
    ILogger<ExperimentsGrain> logger)
    : Grain, IExperimentsGrain
{
    public Task<ExperimentSet> GetAsync() => Task.FromResult(state.State.Experiments);

    public Task<ExperimentSet?> GetIfChangedAsync(long knownVersion) =>
        Task.FromResult(state.State.Experiments.Version == knownVersion ? null : state.State.Experiments);

    public Task<ExperimentChangeResult> CreateAsync(Experiment experiment) =>
        CommitAsync(ExperimentEditor.Create(state.State.Experiments, experiment, clock.GetUtcNow()));

    public Task<ExperimentChangeResult> UpdateAsync(Experiment experiment) =>
        CommitAsync(ExperimentEditor.Update(state.State.Experiments, experiment, clock.GetUtcNow()));

    public Task<ExperimentChangeResult> StartAsync(string experimentId) =>
        CommitAsync(ExperimentEditor.Start(state.State.Experiments, experimentId, clock.GetUtcNow()));

    public Task<ExperimentChangeResult> StopAsync(string experimentId) =>
        CommitAsync(ExperimentEditor.Stop(state.State.Experiments, experimentId, clock.GetUtcNow()));

    public Task<ExperimentChangeResult> ArchiveAsync(string experimentId) =>
        CommitAsync(ExperimentEditor.Archive(state.State.Experiments, experimentId, clock.GetUtcNow()));

    public async Task<ExperimentResult?> GetResultsAsync(string experimentId)
    {
        if (state.State.Experiments.Find(experimentId) is not { } experiment)
        {
            return null;
        }

        var tenant = this.GetPrimaryKeyString();
        // A draft has served nothing: feedback quoting its tag (a made-up or mistyped list id) is not its result.
        var shards = experiment.StartedAt is null ? [] : await Task.WhenAll(Enumerable.Range(0, segmentationOptions.Value.Shards).Select(shard =>
            GrainFactory.GetGrain<IFeedbackShardGrain>(SegmentKeys.Shard(tenant, shard)).GetExperimentTalliesAsync(experiment.Number)));
        var byVariant = new Dictionary<int, VariantTally>();
        foreach (var tally in shards.SelectMany(shard => shard))
        {
            byVariant[tally.Variant] = byVariant.TryGetValue(tally.Variant, out var sum) ? VariantTally.Add(sum, tally) : tally;
        }

        var figures = experiment.Variants.Select((variant, index) => ExperimentTallies.Figures(variant.Key, variant.Control, variant.Weight, byVariant.GetValueOrDefault(index))).ToList();
        var previous = state.State.Looks.GetValueOrDefault(experimentId);
        var result = ExperimentAnalysis.Analyze(experimentId, figures, previous);
        if (experiment.StartedAt is null)
        {
            result = result with { Notes = [.. result.Notes, "Not started: it has served no lists, so nothing counts for it yet."] };
        }

        var unknown = byVariant.Keys.Where(index => index < 0 || index >= experiment.Variants.Count).Sum(index => byVariant[index].Users);
        if (unknown > 0)
        {
            result = result with { Notes = [.. result.Notes, $"{unknown} users were exposed under variant numbers the experiment does not have (ids forged or damaged); they are left out."] };
        }

        if (experiment.StartedAt is null)
        {
            // A draft's results are empty: looking at them is no look of the sequential test (probe67: a draft read twice
            // started its test at look 3).
            return result;
        }

        state.State.Looks[experimentId] = new Dictionary<string, SequentialState>(result.Sequential, StringComparer.Ordinal);
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // The look still answers; the sequential test's memory of it is kept in this activation and stored with the next.
            LogLooksNotStored(tenant, experimentId, ex);
        }

        return result;
    }

    [LoggerMessage(EventId = 3461, Level = LogLevel.Warning, Message = "Experiments {Tenant}: storing the sequential test's look at {Experiment} failed")]
    private partial void LogLooksNotStored(string tenant, string experiment, Exception exception);

    private async Task<ExperimentChangeResult> CommitAsync(ExperimentChange change)
    {
        if (change.Set is not { } changed)
        {
            return new ExperimentChangeResult(null, null, [.. change.Problems], change.NotFound, change.Conflict);
        }

        var before = state.State.Experiments;
        state.State.Experiments = changed;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Experiments = before;
            throw;
        }

        LogChanged(this.GetPrimaryKeyString(), change.Experiment!.Id, change.Experiment.Status, changed.Version);
        return new ExperimentChangeResult(changed, change.Experiment, [], false, false);
    }

    [LoggerMessage(EventId = 3460, Level = LogLevel.Information, Message = "Experiments {Tenant}: {Experiment} is {Status}, version {Version}")]
    private partial void LogChanged(string tenant, string experiment, ExperimentStatus status, long version);
}
