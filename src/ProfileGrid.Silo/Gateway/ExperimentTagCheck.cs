using ProfileGrid.Abstractions;
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
/// read again after a few seconds and on a number past the last it knows (an experiment created through another silo;
/// numbers are never reused); when they cannot be read (within 2 s), feedback is taken as it comes for 5 s.
/// </summary>
public sealed partial class ExperimentTagCheck(IGrainFactory grains, TimeProvider clock, ILogger<ExperimentTagCheck> logger)
{
    private static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(5);

    // A read that failed is not tried again for this long (the events meanwhile are taken), and none waits longer than ReadTimeout.
    private static readonly TimeSpan FailedFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, (ExperimentSet Set, DateTimeOffset ReadAt)> _sets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _failedAt = new(StringComparer.Ordinal);

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
        if (set is not null && experiment is null && number >= set.NextNumber)
        {
            // Perhaps created since, through another silo (a number below NextNumber that is missing never existed).
            set = await SetAsync(tenant, TimeSpan.Zero);
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

        // Recommend tags lists of running experiments only: a draft's tag, or a list served well before the start (another
        // tenant's list of the same number, say), was never a list of this experiment (probe73), and once it started would
        // count as an exposure from before its start and pin the user to the tag's variant.
        if (NotStartedWhenServed(experiment, recommendationId) is not null)
        {
            // Perhaps started since this silo read it (review74): read again before refusing; taken when that fails.
            set = await SetAsync(tenant, TimeSpan.Zero);
            experiment = set?.Experiments.FirstOrDefault(e => e.Number == number);
            if (experiment is null)
            {
                return null;
            }

            if (NotStartedWhenServed(experiment, recommendationId) is { } refusal)
            {
                return refusal;
            }
        }

        // A list served to this user (its user check is theirs) carries the variant assignment gives them, which never
        // changes once an experiment has started. Another variant's tag was forged, and a profile counted the user under
        // whichever variant arrived first (probe51). A list served to someone else is left to the profile, which counts it
        // in no experiment.
        var servedVariants = ServedFor(userCheck, userId, anonymousId).Select(user => Assignment.VariantOf(experiment, tenant, user)).ToList();
        if (servedVariants.Count > 0 && !servedVariants.Contains(variant))
        {
            return $"is tagged with variant {variant} of experiment '{experiment.Id}', but that experiment serves this user variant {servedVariants[0]}: not a list Recommend served them";
        }

        return null;
    }

    /// <summary>Why the list was no list of <paramref name="experiment"/> when served (as far as its id tells), or null.</summary>
    private static string? NotStartedWhenServed(Experiment experiment, string recommendationId)
    {
        if (experiment.StartedAt is not { } started)
        {
            return $"is tagged with experiment '{experiment.Id}' (number {experiment.Number}), which has not started: not a list Recommend served";
        }

        return ServedTime.Read(recommendationId) is { } served && served < started - ServedTime.ClockBehindTolerance
            ? $"was served at {served:yyyy-MM-ddTHH:mm:ssZ}, before experiment '{experiment.Id}' (number {experiment.Number}) started at {started:yyyy-MM-ddTHH:mm:ssZ}: not a list of that experiment"
            : null;
    }

    /// <summary>The users (the event's, its visitor's) whose user check the tag carries: none for a tag without one, or someone else's.</summary>
    private static IEnumerable<string> ServedFor(int? userCheck, string userId, string? anonymousId)
    {
        if (userCheck is not { } check)
        {
            yield break;
        }

        if (ExperimentTag.UserCheck(userId) == check)
        {
            yield return userId;
        }

        if (anonymousId is not null && ExperimentTag.UserCheck(AnonymousProfiles.Prefix + anonymousId) == check)
        {
            yield return AnonymousProfiles.Prefix + anonymousId;
        }
    }

    private async ValueTask<ExperimentSet?> SetAsync(string tenant, TimeSpan maxAge)
    {
        var now = clock.GetUtcNow();
        var known = _sets.TryGetValue(tenant, out var cached) ? cached : default;
        if (known.Set is not null && now - known.ReadAt < maxAge)
        {
            return known.Set;
        }

        if (_failedAt.TryGetValue(tenant, out var failed) && now - failed < FailedFor)
        {
            return known.Set;
        }

        try
        {
            var changed = await grains.GetGrain<IExperimentsGrain>(tenant).GetIfChangedAsync(known.Set?.Version ?? -1).WaitAsync(ReadTimeout);
            var set = changed ?? known.Set ?? ExperimentSet.Empty;
            // A slower read of an older version never replaces a newer one.
            _sets.AddOrUpdate(tenant, (set, now), (_, current) => current.Set.Version > set.Version ? current : (set, now));
            _failedAt.TryRemove(tenant, out _);
            return set;
        }
        catch (Exception ex)
        {
            _failedAt[tenant] = now;
            LogUnreadable(tenant, ex);
            return known.Set;
        }
    }

    [LoggerMessage(EventId = 1120, Level = LogLevel.Warning, Message = "Tenant {Tenant}: its experiments could not be read to check a feedback event's experiment tag; the event is taken as it comes")]
    private partial void LogUnreadable(string tenant, Exception exception);
}
