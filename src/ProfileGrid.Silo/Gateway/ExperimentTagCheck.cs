using System.Collections.Concurrent;
using ProfileGrid.Domain;
using ProfileGrid.Experiments.Design;
using ProfileGrid.Grains.Experiments;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Feedback quoting a list tagged with an experiment (<c>-x{number}v{variant}</c>, <see cref="ExperimentTag"/>) is
/// refused when the tenant has no experiment of that number, or that experiment no such variant: Recommend never served
/// such a list, and a profile counted it as an experiment all the same, where up to 20 of them pushed the user's real
/// experiments out (<c>ExperimentsKept</c>; probe51). Each silo keeps the tenants' experiment sets it was asked about,
/// read again after a few seconds and on a number it does not know (an experiment created through another silo); when
/// they cannot be read, feedback is taken as it comes.
/// </summary>
public sealed partial class ExperimentTagCheck(IGrainFactory grains, TimeProvider clock, ILogger<ExperimentTagCheck> logger)
{
    private static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(5);

    // A miss reads the set again at most this often, so a stream of made-up numbers costs no grain call per event.
    private static readonly TimeSpan MissRereadAfter = TimeSpan.FromMilliseconds(500);

    private readonly ConcurrentDictionary<string, (ExperimentSet Set, DateTimeOffset ReadAt)> _sets = new(StringComparer.Ordinal);

    /// <summary>
    /// Why feedback of <paramref name="userId"/> (and the visitor <paramref name="anonymousId"/>) quoting
    /// <paramref name="recommendationId"/> cannot be taken, or null when it can (untagged ids included).
    /// </summary>
    public async ValueTask<string?> RefusalAsync(string tenant, string recommendationId, string userId, string? anonymousId)
    {
        if (!ExperimentTag.TryParse(recommendationId, out var number, out var variant, out var userCheck))
        {
            return null;
        }

        var set = await SetAsync(tenant, FreshFor);
        var experiment = set?.Experiments.FirstOrDefault(e => e.Number == number);
        if (set is not null && experiment is null)
        {
            set = await SetAsync(tenant, MissRereadAfter);
            experiment = set?.Experiments.FirstOrDefault(e => e.Number == number);
        }

        if (set is null)
        {
            return null;
        }

        if (experiment is null)
        {
            return $"is tagged with experiment number {number} ('-x{number}v{variant}'), which this tenant does not have: not a list Recommend served";
        }

        if (variant >= experiment.Variants.Count)
        {
            return $"is tagged with variant {variant} of experiment '{experiment.Id}' (number {number}), which has {experiment.Variants.Count} variants: not a list Recommend served";
        }

        // A list served to this user (its user check is theirs) carries the variant assignment gives them, which never
        // changes once an experiment has started. Another variant's tag was forged, and a profile counted the user under
        // whichever variant arrived first (probe51). A list served to someone else is left to the profile, which counts it
        // in no experiment.
        var servedFor = ServedFor(userCheck, userId, anonymousId);
        if (servedFor is not null && Assignment.VariantOf(experiment, tenant, servedFor) is var assigned && assigned != variant)
        {
            return $"is tagged with variant {variant} of experiment '{experiment.Id}', but that experiment serves this user variant {assigned}: not a list Recommend served them";
        }

        return null;
    }

    /// <summary>The user (the event's, or its visitor's) whose user check the tag carries; null for a tag without one, or someone else's.</summary>
    private static string? ServedFor(int? userCheck, string userId, string? anonymousId)
    {
        if (userCheck is not { } check)
        {
            return null;
        }

        if (ExperimentTag.UserCheck(userId) == check)
        {
            return userId;
        }

        return anonymousId is not null && ExperimentTag.UserCheck(AnonymousPrefix + anonymousId) == check ? AnonymousPrefix + anonymousId : null;
    }

    private const string AnonymousPrefix = "anon:";

    private async ValueTask<ExperimentSet?> SetAsync(string tenant, TimeSpan maxAge)
    {
        var now = clock.GetUtcNow();
        var known = _sets.TryGetValue(tenant, out var cached) ? cached : default;
        if (known.Set is not null && now - known.ReadAt < maxAge)
        {
            return known.Set;
        }

        try
        {
            var changed = await grains.GetGrain<IExperimentsGrain>(tenant).GetIfChangedAsync(known.Set?.Version ?? -1);
            var set = changed ?? known.Set ?? ExperimentSet.Empty;
            _sets[tenant] = (set, now);
            return set;
        }
        catch (Exception ex)
        {
            LogUnreadable(tenant, ex);
            return known.Set;
        }
    }

    [LoggerMessage(EventId = 1120, Level = LogLevel.Warning, Message = "Tenant {Tenant}: its experiments could not be read to check a feedback event's experiment tag; the event is taken as it comes")]
    private partial void LogUnreadable(string tenant, Exception exception);
}
