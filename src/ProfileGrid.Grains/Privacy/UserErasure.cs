using System.Text.Json.Serialization;
using ProfileGrid.Abstractions.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Privacy;

/// <summary>
/// One store's part of an erasure. Steps run in <see cref="Order"/>, after the tenant's privacy ledger holds the
/// erasure; each is idempotent (a resumed erasure runs every step again). Register more with
/// <c>services.AddSingleton&lt;IErasureStep, MyStep&gt;()</c> (the identity graph is one).
/// </summary>
public interface IErasureStep
{
    /// <summary>The store, as the receipt names it ("profiles", "segments", ...).</summary>
    string Store { get; }

    /// <summary>Where the step runs among the others (lower first). Profiles are 100; the log and lake 900.</summary>
    int Order { get; }

    Task<ErasureStepReceipt> RunAsync(ErasureContext context, CancellationToken cancellationToken);
}

/// <summary>What the steps share: who is erased, and what earlier steps found that later ones key by.</summary>
public sealed class ErasureContext(string tenant, string userId, IReadOnlyList<string> userIds, DateTimeOffset cutoff)
{
    public string Tenant { get; } = tenant;

    /// <summary>The user the request named.</summary>
    public string UserId { get; } = userId;

    /// <summary>The user and its linked anonymous profiles ("anon:&lt;id&gt;"), as profile user ids.</summary>
    public IReadOnlyList<string> UserIds { get; } = userIds;

    /// <summary>Events of these users that happened at or before this instant are erased.</summary>
    public DateTimeOffset Cutoff { get; } = cutoff;

    public IReadOnlyList<string> ProfileKeys { get; } = [.. userIds.Select(u => new ProfileKey(tenant, u).ToString())];

    /// <summary>The lists the profiles were shown (filled by the profile step; the re-ranker's logs are keyed by them).</summary>
    public HashSet<string> RecommendationIds { get; } = new(StringComparer.Ordinal);
}

/// <summary>One store's line of an erasure receipt: what was removed (counts by kind), and what is still to go, and when.</summary>
public sealed record ErasureStepReceipt(string Store, IReadOnlyDictionary<string, long> Removed, string? Note = null, string? Error = null)
{
    /// <summary>
    /// Whether the store held anything of the users: by default, any count above zero. A step whose counts include work
    /// done whoever is erased (log segments sealed and deleted) sets it from the user's own counts.
    /// </summary>
    [JsonIgnore]
    public bool Held { get; init; } = Removed.Values.Any(count => count > 0);
}

/// <summary>
/// An erasure's receipt: the steps' lines; complete when no step failed (the ledger then forgets the ids).
/// <see cref="NothingHeld"/>: no store held anything of the user (an id never ingested, or erased already); the
/// erasure is recorded all the same, and <see cref="ProfilesErased"/> is empty.
/// </summary>
public sealed record ErasureReceipt(
    string Tenant, string UserId, string[] ProfilesErased, DateTimeOffset Cutoff, DateTimeOffset CompletedAt, bool Complete, ErasureStepReceipt[] Steps,
    bool NothingHeld = false);

/// <summary>A person's canonical user id and the user ids of all their profiles (<see cref="UserErasure.PersonOfAsync"/>).</summary>
public sealed record PersonProfiles(string Canonical, IReadOnlyList<string> UserIds);

/// <summary>
/// Erases a user everywhere (docs/privacy.md): records the erasure in the tenant's privacy ledger first (from then on
/// no event of theirs from before the erasure is applied, archived or rebuilt again, whatever replays), then runs every
/// <see cref="IErasureStep"/>. A step that fails leaves the erasure pending in the ledger: a retry of the request, or the
/// ledger's reminder a minute later, runs the steps again.
/// </summary>
public sealed partial class UserErasure(IGrainFactory grains, IEnumerable<IErasureStep> steps, TimeProvider clock, ILogger<UserErasure> logger)
{
    private readonly IErasureStep[] _steps = [.. steps.OrderBy(s => s.Order)];

    /// <summary>The stores erased, in order.</summary>
    public IReadOnlyList<string> Stores => [.. _steps.Select(s => s.Store)];

    public async Task<ErasureReceipt> EraseAsync(string tenant, string userId, CancellationToken cancellationToken = default)
    {
        var ledger = grains.GetGrain<ITenantPrivacyGrain>(tenant);

        // The ledger holds the user first, so that a merge into them not yet under way is refused from now on (a login
        // answered a moment ago is carried out after its answer); then the person, read once any merge under way has
        // finished, so that a visitor it brings in is erased with them; then the ledger holds every profile of theirs.
        // Identity links are read before anything is erased (a resumed erasure has them in the ledger).
        var first = await ledger.BeginErasureAsync([userId]);
        var person = await PersonOfAsync(tenant, userId, settled: true);
        var start = await ledger.BeginErasureAsync([.. person.UserIds]);
        var context = new ErasureContext(tenant, userId, start.UserIds, start.Cutoff);
        var receipts = new List<ErasureStepReceipt>();
        foreach (var step in _steps)
        {
            try
            {
                receipts.Add(await step.RunAsync(context, cancellationToken));
            }
            catch (Exception ex)
            {
                LogStepFailed(step.Store, ex);
                receipts.Add(new ErasureStepReceipt(step.Store, new Dictionary<string, long>(), Error: $"{ex.GetType().Name}: {ex.Message}"));
            }
        }

        var complete = receipts.All(r => r.Error is null);
        if (complete)
        {
            await ledger.CompleteErasureAsync(userId);
        }

        // A resumed erasure (begun earlier, still pending) may finish what its first run found (log segments holding the
        // user's events, which no count names): it is never reported as one that found nothing.
        var resumed = first.StartedAt < first.Cutoff;
        var nothingHeld = complete && !resumed && receipts.All(r => !r.Held);
        LogErased(context.UserIds.Count, complete, nothingHeld);
        return new ErasureReceipt(tenant, userId, nothingHeld ? [] : [.. context.UserIds], start.Cutoff, clock.GetUtcNow(), complete, [.. receipts], nothingHeld);
    }

    /// <summary>
    /// The person <paramref name="userId"/> belongs to (docs/identity.md): the canonical profile, and the user ids of every
    /// profile that is theirs, <paramref name="userId"/> first: the canonical one, every profile merged into it, and the
    /// visitors their logins linked, but not a visitor that is another person's (<see cref="IsAnotherPersonAsync"/>).
    /// What an erasure erases and an export hands out. <paramref name="settled"/>: read once a merge into the person that is
    /// under way has finished (an erasure's read, after its ledger entry refuses any merge not yet under way).
    /// </summary>
    public async Task<PersonProfiles> PersonOfAsync(string tenant, string userId, bool settled = false)
    {
        var canonical = await grains.GetGrain<IIdentityGrain>(new ProfileKey(tenant, userId).ToString()).CanonicalAsync();
        var identity = grains.GetGrain<IIdentityGrain>(new ProfileKey(tenant, canonical).ToString());
        var person = settled ? await identity.GetSettledAsync() : await identity.GetAsync();
        var linked = new List<string>();
        var personProfiles = new HashSet<string>([userId, canonical, .. person.Members], StringComparer.Ordinal);
        foreach (var profile in new[] { userId, canonical }.Concat(person.Members).Distinct(StringComparer.Ordinal))
        {
            linked.Add(profile);
            var view = await grains.GetGrain<IUserProfileGrain>(new ProfileKey(tenant, profile).ToString()).GetViewAsync();
            foreach (var visitor in view?.AnonymousIds.Select(a => AnonymousProfiles.Prefix + a) ?? [])
            {
                if (await IsAnotherPersonAsync(tenant, visitor, personProfiles, canonical, person))
                {
                    continue;
                }

                linked.Add(visitor);
            }
        }

        return new PersonProfiles(canonical, [.. linked.Distinct(StringComparer.Ordinal)]);
    }

    /// <summary>
    /// A visitor profile that one of the person's logins named but that is someone else's: its anonymous id was linked
    /// to a profile of another person first (this person's login with it was a conflict), or an operator unmerged it
    /// from this person, deciding they are two people. Erasing the person leaves it. Decided by who linked the id, not by
    /// where the visitor's profile ended up: a visitor this person's own login linked stays theirs, wherever it merged.
    /// </summary>
    private async Task<bool> IsAnotherPersonAsync(string tenant, string visitor, HashSet<string> personProfiles, string canonical, IdentityView person)
    {
        if (personProfiles.Contains(visitor))
        {
            return false;
        }

        if (person.Merges.Any(m => m.From == visitor && m.Into == canonical && m.Status == MergeStatus.Reversed))
        {
            return true;
        }

        // An anonymous id's identifier and its visitor's profile have one name, "anon:<id>".
        var owner = await grains.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, visitor).ToString()).OwnerAsync();
        if (owner is null || personProfiles.Contains(owner))
        {
            return false;
        }

        var ownersPerson = await grains.GetGrain<IIdentityGrain>(new ProfileKey(tenant, owner).ToString()).CanonicalAsync();
        return !personProfiles.Contains(ownersPerson);
    }

    /// <summary>The profile key's user part of an anonymous visitor (as the gateway makes it).</summary>

    [LoggerMessage(EventId = 3766, Level = LogLevel.Warning, Message = "Erasure: the step for {Store} failed; the erasure stays pending and is retried")]
    private partial void LogStepFailed(string store, Exception exception);

    [LoggerMessage(EventId = 3767, Level = LogLevel.Information, Message = "Erasure of {Profiles} profiles: complete {Complete}, nothing held {NothingHeld}")]
    private partial void LogErased(int profiles, bool complete, bool nothingHeld);
}

/// <summary>Profiles: each profile's stored record deleted, its activation emptied (the user's, then its anonymous ones).</summary>
public sealed class ProfileErasureStep(IGrainFactory grains, IOptions<IngestOptions> ingest) : IErasureStep
{
    public string Store => "profiles";

    public int Order => 100;

    public async Task<ErasureStepReceipt> RunAsync(ErasureContext context, CancellationToken cancellationToken)
    {
        // The silos of the profiles' log partitions learn of the erasure first: a replay there (of records a merged visitor
        // refused, say) would otherwise hand their older events to the erased profiles from a filter read before, and
        // bring them back.
        await Task.WhenAll(context.ProfileKeys.Select(key => ProfileBuckets.LogPartition(key, ingest.Value.Partitions)).Distinct()
            .Select(partition => grains.GetGrain<IEventLogPartitionGrain>(partition).ReloadPrivacyAsync(context.Tenant)));

        var (profiles, events) = (0L, 0L);
        foreach (var key in context.ProfileKeys)
        {
            var erased = await grains.GetGrain<IUserProfileGrain>(key).EraseAsync();
            if (erased.Existed)
            {
                profiles++;
                events += erased.EventsApplied;
            }

            context.RecommendationIds.UnionWith(erased.RecommendationIds);
        }

        return new ErasureStepReceipt(Store, new Dictionary<string, long> { ["profiles"] = profiles, ["eventsApplied"] = events });
    }
}

/// <summary>
/// The identity graph: each erased profile's identifiers (deleted when one of the erased profiles owns them; others' keep
/// no trace of the erased ids), the records of every merge they took part in, then their identity records. Read first and
/// deleted last, so that a step cut short finds everything again when the erasure is resumed.
/// </summary>
public sealed class IdentityErasureStep(IGrainFactory grains) : IErasureStep
{
    public string Store => "identity";

    public int Order => 150;

    public async Task<ErasureStepReceipt> RunAsync(ErasureContext context, CancellationToken cancellationToken)
    {
        var ids = context.UserIds.ToArray();
        var identities = context.ProfileKeys.Select(k => grains.GetGrain<IIdentityGrain>(k)).ToList();
        var views = await Task.WhenAll(identities.Select(i => i.GetAsync()));
        // The identifiers of every merge they took part in too: an unmerged login leaves the pair blocked on the visitor's
        // id, which no identity record lists when the visitor had a history to merge.
        var identifiers = views.SelectMany(v => v.Identifiers)
            .Concat(views.SelectMany(v => v.Merges.Select(m => m.Identifier)))
            .Concat(context.UserIds.Where(u => AnonymousProfiles.IsAnonymous(u)).Select(u => IdentifierKinds.Name(IdentifierKinds.Anonymous, u[AnonymousProfiles.Prefix.Length..])))
            .Distinct(StringComparer.Ordinal).ToList();
        // Those who showed an identifier of theirs while they held it, and those who held one they showed: a phone's
        // conflict was once noted on the other person's record only, so the erased person's own records do not name them
        // all. Asked, and their copies of the conflicts removed, before anything of the erased person is deleted, so that
        // a retry after a crash finds them all again.
        var sharers = await Task.WhenAll(identifiers.Select(async identifier =>
        {
            var grain = grains.GetGrain<IIdentifierGrain>(new ProfileKey(context.Tenant, identifier).ToString());
            return (await grain.SharedWithAsync()).Append(await grain.OwnerAsync());
        }));
        var counterparts = views.SelectMany(v => v.Conflicts).SelectMany(c => new[] { c.HeldBy, c.ShownBy }).Concat(sharers.SelectMany(users => users))
            .OfType<string>().Where(u => !ids.Contains(u, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal).ToList();
        var conflicts = 0L;
        foreach (var counterpart in counterparts)
        {
            conflicts += await grains.GetGrain<IIdentityGrain>(new ProfileKey(context.Tenant, counterpart).ToString()).ForgetConflictsWithAsync(ids);
        }

        var deleted = 0L;
        foreach (var identifier in identifiers)
        {
            deleted += await grains.GetGrain<IIdentifierGrain>(new ProfileKey(context.Tenant, identifier).ToString()).EraseAsync(ids) ? 1 : 0;
        }

        var merges = views.SelectMany(v => v.Merges.Select(m => m.MergeId)).Distinct(StringComparer.Ordinal).ToList();
        foreach (var merge in merges)
        {
            await grains.GetGrain<IMergeIndexGrain>(new ProfileKey(context.Tenant, merge).ToString()).EraseAsync();
        }

        foreach (var identity in identities)
        {
            await identity.EraseAsync();
        }

        return new ErasureStepReceipt(Store, new Dictionary<string, long>
        {
            ["identityRecords"] = views.Count(v => v.Identifiers.Length > 0 || v.Merges.Length > 0 || v.Members.Length > 0 || v.MergedInto is not null),
            ["identifiers"] = deleted,
            ["mergeRecords"] = merges.Count,
            ["otherProfilesConflicts"] = conflicts,
        }, null);
    }
}

/// <summary>Derived per-user state in the tenant's shards: feature vectors and segments, item histories, feedback and experiment figures, re-ranker logs.</summary>
public sealed class ShardErasureStep(IGrainFactory grains, IOptions<SegmentationOptions> segmentation) : IErasureStep
{
    public string Store => "shards";

    public int Order => 200;

    public async Task<ErasureStepReceipt> RunAsync(ErasureContext context, CancellationToken cancellationToken)
    {
        var shards = segmentation.Value.Shards;
        var byShard = context.ProfileKeys.GroupBy(k => SegmentKeys.Shard(context.Tenant, SegmentKeys.ShardOf(k, shards)));
        var (vectors, histories, feedback) = (0L, 0L, 0L);
        foreach (var group in byShard)
        {
            var keys = group.ToArray();
            vectors += await grains.GetGrain<IFeatureShardGrain>(group.Key).ForgetAsync(keys);
            histories += await grains.GetGrain<IInteractionShardGrain>(group.Key).ForgetAsync(keys);
            feedback += await grains.GetGrain<IFeedbackShardGrain>(group.Key).ForgetAsync(keys);
        }

        // Lists are logged to the shard of the user they were served to; every shard is asked, as a list's user is not kept.
        var lists = 0L;
        if (context.RecommendationIds.Count > 0)
        {
            var ids = context.RecommendationIds.ToArray();
            foreach (var count in await Task.WhenAll(Enumerable.Range(0, shards).Select(s => grains.GetGrain<IRerankLogShardGrain>(SegmentKeys.Shard(context.Tenant, s)).ForgetAsync(ids))))
            {
                lists += count;
            }
        }

        return new ErasureStepReceipt(Store, new Dictionary<string, long>
        {
            ["featureVectors"] = vectors,
            ["itemHistories"] = histories,
            ["feedbackAndExperimentFigures"] = feedback,
            ["rerankerLoggedLists"] = lists,
        }, "Trained models hold no user rows (item-item recommenders, segment centroids, re-ranker weights): the user's data leaves them at their next training. Stats keep counts of past events without ids; the profile distributions and segment sizes no longer count the user.");
    }
}

/// <summary>The event log and the lake, through every log partition (each rewrites its own files; see <see cref="IEventLogPartitionGrain.EraseAsync"/>).</summary>
public sealed class LogAndLakeErasureStep(IGrainFactory grains, IOptions<IngestOptions> ingest) : IErasureStep
{
    public string Store => "log+lake";

    public int Order => 900;

    public async Task<ErasureStepReceipt> RunAsync(ErasureContext context, CancellationToken cancellationToken)
    {
        var ids = context.UserIds.ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, ingest.Value.Partitions)
            .Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).EraseAsync(context.Tenant, ids)));
        return new ErasureStepReceipt(Store, new Dictionary<string, long>
        {
            ["lakeFilesRewritten"] = results.Sum(r => r.LakeFilesRewritten),
            ["lakeRowsRemoved"] = results.Sum(r => r.LakeRowsRemoved),
            ["snapshotRowsRemoved"] = results.Sum(r => r.SnapshotRowsRemoved),
            ["logSegmentsDeleted"] = results.Sum(r => r.LogSegmentsDeleted),
            ["logSegmentsSealed"] = results.Count(r => r.LogSealed),
            ["setAsideRecordsRemoved"] = results.Sum(r => r.SetAsideRecordsRemoved),
        }, "Every log segment written before the erasure is sealed, archived without the users' events and deleted (with a lake; without one the log keeps them, skipped by every reader).")
        {
            // Segments are sealed and deleted whoever is erased: only rows of the users say the store held them.
            Held = results.Any(r => r.LakeRowsRemoved > 0 || r.SnapshotRowsRemoved > 0 || r.SetAsideRecordsRemoved > 0),
        };
    }
}
