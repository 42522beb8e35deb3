using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Experiments.Fairness;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Experiments;

/// <summary>What a feedback shard persists: the latest figures of every user that hashes to it.</summary>
[GenerateSerializer, Alias("pg.feedback-shard-state")]
public sealed class FeedbackShardState
{
    [Id(0)] public Dictionary<string, FeedbackUpdate> Users { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>An experiment as the fairness audit of one shard needs it: its number, its variants' keys by index, its control.</summary>
[GenerateSerializer, Immutable, Alias("pg.audited-experiment")]
public sealed record AuditedExperiment(
    [property: Id(0)] string Id,
    [property: Id(1)] int Number,
    [property: Id(2)] string[] VariantKeys,
    [property: Id(3)] string ControlVariant);

/// <summary>One feedback shard's part of the fairness audit.</summary>
[GenerateSerializer, Immutable, Alias("pg.feedback-audit-part")]
public sealed record FeedbackAuditPart(
    [property: Id(0)] AuditInput Audit,
    [property: Id(1)] ExperimentAuditInput? Experiment);

/// <summary>
/// The fairness audit's view of a feedback shard (the same grain as <see cref="IFeedbackShardGrain"/>; its types come
/// from the experiments library, which the grain-interface project does not reference).
/// </summary>
public interface IFeedbackAuditGrain : IGrainWithStringKey
{
    /// <summary>
    /// The shard's users tallied by segment, gender, age band, country and new or returning, its items' impressions,
    /// and, for <paramref name="experiment"/>, its users of each group per variant.
    /// </summary>
    [ReadOnly]
    Task<FeedbackAuditPart> GetAuditAsync(AuditedExperiment? experiment);
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
    Ingest.IngestActivity ingest,
    TimeProvider clock,
    ILogger<FeedbackShardGrain> logger)
    : Grain, IFeedbackShardGrain, IFeedbackAuditGrain
{
    private bool _dirty;
    private IGrainTimer? _flushTimer;
    private readonly ShardWrites _writes = new();

    private Dictionary<string, FeedbackUpdate> Users => state.State.Users;

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _writes.EndAfterAsync(FlushAsync(cancellationToken));

    public Task<ShardWriteState> WaitWrittenAsync(ShardWriteTicket ticket)
    {
        _flushTimer = _writes.BringForwardIfQuiet(_flushTimer, _dirty, ingest.IsQuiet, entries: 0, due =>
            this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true }));
        return _writes.WaitAsync(ticket, clock);
    }

    public Task<ShardWriteTicket> UpdateAsync(FeedbackUpdate update)
    {
        if (Users.TryGetValue(update.ProfileKey, out var held) && held.AsOf > update.AsOf)
        {
            return Task.FromResult(_writes.Ticket(_dirty)); // a push that overtook this one is newer
        }

        Users[update.ProfileKey] = update;
        MarkDirty();
        return Task.FromResult(_writes.Ticket(_dirty));
    }

    public Task<int> CountAsync() => Task.FromResult(Users.Values.Count(user => !user.Left));

    public async Task<int> ForgetAsync(string[] profileKeys)
    {
        var removed = profileKeys.Count(key => Users.Remove(key));
        if (removed > 0)
        {
            await state.WriteStateAsync();
            _dirty = false;
            _writes.Written();
        }

        return removed;
    }

    public Task<VariantTally[]> GetExperimentTalliesAsync(int experimentNumber) =>
        Task.FromResult(ExperimentTallies.Of(Users.Values, experimentNumber));

    public async Task<FeedbackAuditPart> GetAuditAsync(AuditedExperiment? experiment)
    {
        // Segments live in the feature shard of the same key (the same users).
        var segments = await GrainFactory.GetGrain<IFeatureShardGrain>(this.GetPrimaryKeyString()).GetSegmentLabelsAsync();
        var now = clock.GetUtcNow();
        var groups = FairnessDimensions.Known.ToDictionary(d => d, _ => new Dictionary<string, GroupTallyBuilder>(StringComparer.Ordinal));
        var byVariant = FairnessDimensions.Known.ToDictionary(d => d, _ => new Dictionary<string, Dictionary<string, GroupTallyBuilder>>(StringComparer.Ordinal));
        var items = new Dictionary<string, long>(StringComparer.Ordinal);
        var memberships = new (string Dimension, string Group)[FairnessDimensions.Known.Count];
        foreach (var (key, user) in Users)
        {
            if (user.Left)
            {
                continue; // merged into another profile, which reports for both
            }

            memberships[0] = (FairnessDimensions.Segment, SegmentGroup(segments, key, user.Groups));
            memberships[1] = (FairnessDimensions.Gender, user.Groups.Gender ?? FairnessDimensions.Unknown);
            memberships[2] = (FairnessDimensions.AgeBand, ProfileView.AgeBandOf(user.Groups.BirthYear, now) ?? FairnessDimensions.Unknown);
            memberships[3] = (FairnessDimensions.Country, user.Groups.Country ?? FairnessDimensions.Unknown);
            memberships[4] = (FairnessDimensions.Visitor, user.Groups.Returning ? FairnessDimensions.ReturningVisitor : FairnessDimensions.NewVisitor);
            var totals = user.Totals;
            var outcome = experiment is null ? null : Array.Find(user.Experiments, e => e.Experiment == experiment.Number);
            var variant = outcome is not null && outcome.Variant >= 0 && outcome.Variant < experiment!.VariantKeys.Length ? experiment.VariantKeys[outcome.Variant] : null;
            foreach (var (dimension, group) in memberships)
            {
                // Exposed by its first impression or click (a click whose impression was lost counts no click, but proves it).
                Builder(groups[dimension], group).Record(totals.Impressions, totals.ItemsShown, totals.Clicks, totals.Purchases, Math.Max(0, totals.Revenue), user.Groups.FirstExposureKnown);
                if (variant is not null)
                {
                    if (!byVariant[dimension].TryGetValue(group, out var variants))
                    {
                        byVariant[dimension][group] = variants = new Dictionary<string, GroupTallyBuilder>(StringComparer.Ordinal);
                    }

                    // An experiment's outcome counts lists, not items: its items shown are not kept per experiment.
                    Builder(variants, variant).Record(outcome!.Impressions, 0, outcome.Clicks, outcome.Purchases, Math.Max(0, outcome.Revenue), exposed: true);
                }
            }

            for (var i = 0; i < user.ShownItemIds.Length; i++)
            {
                items[user.ShownItemIds[i]] = items.GetValueOrDefault(user.ShownItemIds[i]) + user.ShownCounts[i];
            }
        }

        var audit = new AuditInput
        {
            Groups = groups.ToDictionary(d => d.Key, d => (IReadOnlyDictionary<string, GroupTally>)d.Value.ToDictionary(g => g.Key, g => g.Value.ToTally(), StringComparer.Ordinal)),
            ItemImpressions = items,
        };
        var experimentAudit = experiment is null ? null : new ExperimentAuditInput
        {
            ExperimentId = experiment.Id,
            ControlVariant = experiment.ControlVariant,
            Groups = byVariant.ToDictionary(
                d => d.Key,
                d => (IReadOnlyDictionary<string, IReadOnlyDictionary<string, GroupTally>>)d.Value.ToDictionary(
                    g => g.Key,
                    g => (IReadOnlyDictionary<string, GroupTally>)g.Value.ToDictionary(v => v.Key, v => v.Value.ToTally(), StringComparer.Ordinal),
                    StringComparer.Ordinal)),
        };
        return new FeedbackAuditPart(audit, experimentAudit);
    }

    /// <summary>
    /// The segment the user's first list was served under: one the lists' outcome cannot have moved them out of (a purchase
    /// turns an inactive user into a loyal one, and judging "inactive" by its conversions then would find none). Served
    /// without a segment: unknown. A segment since dropped from the model is named by its id. When the first list is not
    /// one the grid served (a client's own ids), or the profile's feedback predates the record, the segment now.
    /// </summary>
    private static string SegmentGroup(SegmentLabels segments, string profileKey, UserGroups groups) =>
        groups is not { FirstExposureKnown: true, SegmentAtFirstExposure: { } id } ? segments.ByProfile.GetValueOrDefault(profileKey) ?? FairnessDimensions.Unknown
        : id < 0 ? FairnessDimensions.Unknown
        : segments.ById.GetValueOrDefault(id) ?? string.Create(CultureInfo.InvariantCulture, $"segment {id}");

    private static GroupTallyBuilder Builder(Dictionary<string, GroupTallyBuilder> builders, string key)
    {
        if (!builders.TryGetValue(key, out var builder))
        {
            builders[key] = builder = new GroupTallyBuilder();
        }

        return builder;
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
        _writes.WriteStarting();
        if (!_dirty)
        {
            return;
        }

        try
        {
            _dirty = false;
            await state.WriteStateAsync();
            _writes.Written();
        }
        catch (Exception ex)
        {
            LogWriteFailed(this.GetPrimaryKeyString(), ex);
            MarkDirty();
        }
    }

    [LoggerMessage(EventId = 3470, Level = LogLevel.Warning, Message = "Feedback shard {ShardKey}: writing its figures failed; will try again")]
    private partial void LogWriteFailed(string shardKey, Exception exception);
}
