using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>The outcome of a change to a tenant's rules (the library's <see cref="RuleSetChange"/>, as it crosses grains).</summary>
[GenerateSerializer, Immutable, Alias("pg.rule-change-result")]
public sealed record RuleChangeResult(
    [property: Id(0)] RuleSet? RuleSet,
    [property: Id(1)] RecommendationRule? Rule,
    [property: Id(2)] string[] Problems,
    [property: Id(3)] bool NotFound,
    [property: Id(4)] bool Conflict);

/// <summary>
/// A tenant's segment rules (key: tenant), validated and versioned: every change is stored before it is answered and
/// raises the version, which each silo's serving cache compares to decide whether to fetch the rules again. Writes
/// are rare admin calls and reads come once per version per silo, so the grain is not on the serving path.
/// </summary>
public interface IRecommendationRulesGrain : IGrainWithStringKey
{
    [AlwaysInterleave]
    Task<RuleSet> GetAsync();

    /// <summary>The rules when their version differs from <paramref name="knownVersion"/>; otherwise null.</summary>
    [AlwaysInterleave]
    Task<RuleSet?> GetIfChangedAsync(long knownVersion);

    /// <summary>
    /// Creates (<paramref name="mustExist"/> false: a rule of that id must not exist) or replaces a rule (true: it must);
    /// <paramref name="expectedVersion"/> guards against lost updates.
    /// </summary>
    Task<RuleChangeResult> UpsertAsync(RecommendationRule rule, long? expectedVersion, bool mustExist);

    Task<RuleChangeResult> DeleteAsync(string ruleId, long? expectedVersion);

    /// <summary>Replaces every rule at once (all or nothing).</summary>
    Task<RuleChangeResult> ReplaceAsync(RecommendationRule[] rules, long? expectedVersion);
}

[GenerateSerializer, Alias("pg.recommendation-rules-state")]
public sealed class RecommendationRulesState
{
    [Id(0)] public RuleSet Rules { get; set; } = RuleSet.Empty;
}

public sealed partial class RecommendationRulesGrain(
    [PersistentState("rules", ProfileStores.Segments)] IPersistentState<RecommendationRulesState> state,
    TimeProvider clock,
    ILogger<RecommendationRulesGrain> logger)
    : Grain, IRecommendationRulesGrain
{
    public Task<RuleSet> GetAsync() => Task.FromResult(state.State.Rules);

    public Task<RuleSet?> GetIfChangedAsync(long knownVersion) =>
        Task.FromResult(state.State.Rules.Version == knownVersion ? null : state.State.Rules);

    public Task<RuleChangeResult> UpsertAsync(RecommendationRule rule, long? expectedVersion, bool mustExist)
    {
        // A create names a new rule: one that exists is a conflict (two people creating the same rule), not a replace.
        if (!mustExist && rule.Id is { } id && state.State.Rules.Rules.Any(r => r.Id == id))
        {
            return Task.FromResult(new RuleChangeResult(null, null, [], NotFound: false, Conflict: true));
        }

        return CommitAsync(RuleSetEditor.Upsert(state.State.Rules, rule, clock.GetUtcNow(), expectedVersion, mustExist));
    }

    public Task<RuleChangeResult> DeleteAsync(string ruleId, long? expectedVersion) =>
        CommitAsync(RuleSetEditor.Delete(state.State.Rules, ruleId, clock.GetUtcNow(), expectedVersion));

    public Task<RuleChangeResult> ReplaceAsync(RecommendationRule[] rules, long? expectedVersion) =>
        CommitAsync(RuleSetEditor.Replace(state.State.Rules, rules, clock.GetUtcNow(), expectedVersion));

    private async Task<RuleChangeResult> CommitAsync(RuleSetChange change)
    {
        var problems = change.Problems.Select(p => p.ToString()).ToArray();
        if (change.RuleSet is not { } changed)
        {
            return new RuleChangeResult(null, null, problems, change.NotFound, change.Conflict);
        }

        var before = state.State.Rules;
        state.State.Rules = changed;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Rules = before;
            throw;
        }

        LogRulesChanged(this.GetPrimaryKeyString(), changed.Version, changed.Rules.Count);
        return new RuleChangeResult(changed, change.Rule, problems, false, false);
    }

    [LoggerMessage(EventId = 3440, Level = LogLevel.Information, Message = "Rules {Tenant}: version {Version}, {Count} rules")]
    private partial void LogRulesChanged(string tenant, long version, int count);
}
