using Microsoft.Extensions.Logging;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Identity;

/// <summary>What a profile's identity grain keeps; every list is bounded.</summary>
[GenerateSerializer, Alias("pg.identity-state")]
public sealed class IdentityState
{
    [Id(0)] public string? MergedInto { get; set; }

    [Id(1)] public string? MergedIntoId { get; set; }

    /// <summary>Identifiers shown ("kind:value"), first seen first.</summary>
    [Id(2)] public List<string> Identifiers { get; set; } = [];

    /// <summary>Profiles merged into this one now, with their merge ids.</summary>
    [Id(3)] public Dictionary<string, string> Members { get; set; } = [];

    /// <summary>Every merge this profile took part in, either side; the records are kept by <see cref="IMergeIndexGrain"/>.</summary>
    [Id(4)] public List<string> MergeIds { get; set; } = [];

    [Id(5)] public List<IdentityConflict> Conflicts { get; set; } = [];
}

/// <summary>
/// A profile's identity (key: the profile key). As a canonical profile it carries out the merges into it one at a time
/// (its turn serialises them, so two concurrent logins into one user read each other's members) and their unmerges.
/// </summary>
public sealed partial class IdentityGrain(
    [PersistentState("identity", IdentityStores.Identity)] IPersistentState<IdentityState> state,
    IdentityHistory history,
    TimeProvider clock,
    ILogger<IdentityGrain> logger) : Grain, IIdentityGrain
{
    private const int MaxIdentifiers = 50, MaxConflicts = 20, MaxMergeIds = 500, RebuildAttempts = 10;
    private static readonly TimeSpan SlowMerge = TimeSpan.FromSeconds(2);

    private ProfileKey Key => ProfileKey.Parse(this.GetPrimaryKeyString());

    public async Task<IdentityView> GetAsync()
    {
        var key = Key;
        var records = await Task.WhenAll(state.State.MergeIds.Select(id => Index(key.Tenant, id).GetAsync()));
        return new IdentityView
        {
            Tenant = key.Tenant,
            UserId = key.UserId,
            MergedInto = state.State.MergedInto,
            Identifiers = [.. state.State.Identifiers],
            Members = [.. state.State.Members.Keys.Order(StringComparer.Ordinal)],
            Merges = [.. records.OfType<MergeRecord>().OrderBy(r => r.At)],
            Conflicts = [.. state.State.Conflicts],
        };
    }

    public Task<string> CanonicalAsync() => Task.FromResult(state.State.MergedInto ?? Key.UserId);

    public async Task<(string[] Identifiers, string[] MergeIds)> EraseAsync()
    {
        string[] identifiers = [.. state.State.Identifiers];
        string[] mergeIds = [.. state.State.MergeIds.Concat(state.State.Members.Values).Append(state.State.MergedIntoId).OfType<string>().Distinct(StringComparer.Ordinal)];
        await state.ClearStateAsync();
        state.State = new IdentityState();
        DeactivateOnIdle();
        return (identifiers, mergeIds);
    }

    public async Task<int> ForgetConflictsWithAsync(string[] userIds)
    {
        var removed = state.State.Conflicts.RemoveAll(c => userIds.Contains(c.HeldBy, StringComparer.Ordinal) || userIds.Contains(c.ShownBy, StringComparer.Ordinal));
        if (removed > 0)
        {
            await state.WriteStateAsync();
        }

        return removed;
    }

    public async Task NoteAsync(string identifier, string? mergeId, IdentityConflict? conflict)
    {
        var changed = false;
        if (!state.State.Identifiers.Contains(identifier) && state.State.Identifiers.Count < MaxIdentifiers)
        {
            state.State.Identifiers.Add(identifier);
            changed = true;
        }

        if (mergeId is not null)
        {
            changed |= AddMergeId(mergeId);
        }

        if (conflict is not null)
        {
            // One entry per identifier and pair of people, at its latest sighting: a shared phone or device sends its
            // identifier with every visit, and a copy per visit pushed the other conflicts out of the bounded list.
            // A claim that arrives late (a retry, an older event) does not replace a later sighting.
            var sameConflict = state.State.Conflicts.FindIndex(c => c.Identifier == conflict.Identifier && c.HeldBy == conflict.HeldBy && c.ShownBy == conflict.ShownBy);
            if (sameConflict < 0 || state.State.Conflicts[sameConflict].At < conflict.At)
            {
                if (sameConflict >= 0)
                {
                    state.State.Conflicts.RemoveAt(sameConflict);
                }

                state.State.Conflicts.Add(conflict);
                if (state.State.Conflicts.Count > MaxConflicts)
                {
                    state.State.Conflicts.RemoveAt(0);
                }

                changed = true;
            }
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }
    }

    public async Task<MergeRecord?> AbsorbAsync(MergeRecord record)
    {
        var key = Key;
        var index = Index(key.Tenant, record.MergeId);
        if (await index.GetAsync() is { Status: MergeStatus.Merged or MergeStatus.Reversed } done)
        {
            return done; // carried out before (a retried claim)
        }

        // A login's merge is carried out after its claim answered: an identify event's email may meanwhile have decided
        // the same pair under another merge id. One of them carries it out; the other finds it done.
        if (state.State.Members.TryGetValue(record.From, out var current) && current != record.MergeId
            && await Index(key.Tenant, current).GetAsync() is { Status: MergeStatus.Merged } already)
        {
            return already;
        }

        var from = Identity(key.Tenant, record.From);
        var fromView = await from.GetAsync();
        if (record.From == key.UserId || state.State.MergedInto is not null || fromView.Members.Length > 0
            || (fromView.MergedInto is not null && fromView.MergedInto != key.UserId))
        {
            return null;
        }

        if (await ErasedSinceAsync(key.Tenant, record.EventAt ?? record.At, key.UserId, record.From) is { } erased)
        {
            // A login dated before either side's erasure links nothing (its event is dropped as erased too): carried out now,
            // it would bring a history into an erased person (or an erased visitor's into someone) after the erasure read
            // who the person was. A merge of an event after the erasure is a fresh profile's.
            LogMergeOfErased(key.Tenant, record.MergeId, erased);
            return record with { Status = MergeStatus.Erased };
        }

        // Decided and written first (the member list is what an unmerge and later merges rebuild from), with its record as
        // "merging", so that the identity never lists a member without the merge that brought it (an outside probe saw one
        // for minutes while the history was read).
        var steps = new MergeSteps();
        if (await index.GetAsync() is null)
        {
            await index.SetAsync(record with { Status = MergeStatus.Merging });
        }

        state.State.Members[record.From] = record.MergeId;
        AddMergeId(record.MergeId);
        await state.WriteStateAsync();
        steps.Lap("members written");

        // The merged profile starts forwarding its new records before its history is read: records it takes meanwhile
        // are refused here until the history is in (they replay), and those the read covers are skipped once forwarded.
        await from.SetMergedIntoAsync(key.UserId, record.MergeId);
        steps.Lap("identity forwarded");
        var moved = 0;
        if (await MergeSide(key.Tenant, record.From).SetMergedIntoAsync(key.UserId))
        {
            steps.Lap("profile forwarding");
            var (events, ends) = await history.ReadAsync(key.Tenant, [record.From]);
            steps.Lap("history read");
            moved = await MergeSide(key.Tenant, key.UserId).AbsorbAsync(record.From, new EventBatch(events[record.From]), ends[record.From]);
            steps.Lap("history applied");
        }
        else
        {
            steps.Lap("profile forwarding");
            // Nothing applied yet (most logins: the visitor's first page and the login arrive together): no history to
            // read; every record of it, even one already in the log, reaches this profile by forwarding.
            await MergeSide(key.Tenant, key.UserId).AbsorbAsync(record.From, new EventBatch([]), -1);
            steps.Lap("applied");
        }

        var merged = record with { Status = MergeStatus.Merged, EventsMoved = moved };
        await index.SetAsync(merged);
        steps.Lap("record written");
        if (steps.Total >= SlowMerge)
        {
            LogSlowMerge(key.Tenant, record.MergeId, record.From, key.UserId, steps.Total.TotalSeconds, steps.ToString());
        }

        return merged;
    }

    public async Task<MergeRecord?> ReleaseAsync(string mergeId, string by)
    {
        var key = Key;
        var index = Index(key.Tenant, mergeId);
        if (await index.GetAsync() is not { } record || record.Into != key.UserId)
        {
            return null;
        }

        if (record.Status == MergeStatus.Reversed)
        {
            return record;
        }

        // Profiles that joined through the one set apart (a login of its user, an email or CRM id it showed first, and so on
        // through those) are its: had it never merged, they would have joined it (probe71: a visitor of a login of the
        // unmerged user stayed with the other person, and so did every later event of that device). They leave with it and
        // then join it. Each stays listed here until its new merge is decided and written, so a retried unmerge after a
        // crash or a failure finds those not yet moved (review72).
        var followers = await FollowersOfAsync(key.Tenant, record.From);
        foreach (var follower in followers)
        {
            // Refused before anything changes rather than halfway (review73): the follower's move would have to wait.
            if (await Identifier(key.Tenant, follower.Identifier).MergeInProgressAsync(except: follower.MergeId) is { } busy)
            {
                throw new TimeoutException($"'{follower.From}', which joined through '{record.From}', has a merge in progress ({busy}); run the unmerge again in a minute.");
            }
        }

        // Forwarding stops first; the merged profile kept applying its own events all along, so it stands as it would have.
        await MergeSide(key.Tenant, record.From).SetMergedIntoAsync(null);
        foreach (var follower in followers)
        {
            await MergeSide(key.Tenant, follower.From).SetMergedIntoAsync(null);
        }

        state.State.Members.Remove(record.From);
        await state.WriteStateAsync();
        await RebuildAsync(key, except: [.. followers.Select(f => f.From)]);
        await Identity(key.Tenant, record.From).SetMergedIntoAsync(null, mergeId);
        await GrainFactory.GetGrain<IIdentifierGrain>(new ProfileKey(key.Tenant, record.Identifier).ToString()).ReleaseAsync(mergeId, record.Into);

        var now = clock.GetUtcNow();
        foreach (var follower in followers)
        {
            await Identity(key.Tenant, follower.From).SetMergedIntoAsync(null, follower.MergeId);
            if (follower.Status != MergeStatus.Reversed)
            {
                await Index(key.Tenant, follower.MergeId).SetAsync(follower with { Status = MergeStatus.Reversed, ReversedAt = now, ReversedBy = by });
            }

            await Identifier(key.Tenant, follower.Identifier).RehomeAsync(follower, record.From);
            state.State.Members.Remove(follower.From);
            await state.WriteStateAsync();
        }

        var reversed = record with { Status = MergeStatus.Reversed, ReversedAt = now, ReversedBy = by };
        await index.SetAsync(reversed);
        LogUnmerged(key.Tenant, mergeId, record.From, key.UserId);
        return reversed;
    }

    Task IIdentityGrain.RebuildAsync() => RebuildAsync(Key, except: []);

    /// <summary>
    /// The merges into this profile of the members that joined through <paramref name="userId"/>: whose identifier it owns,
    /// or one of those members owns, and so on. Of a visitor set apart, only other visitors: a known user would not have
    /// joined a visitor (the anonymous side joins the known one), so it stays.
    /// </summary>
    private async Task<List<MergeRecord>> FollowersOfAsync(string tenant, string userId)
    {
        // F's members count as links too: a follower moved into F by an earlier try of this unmerge is no longer listed
        // here, and those that joined through it must still be found (review73).
        var owners = new HashSet<string>((await Identity(tenant, userId).GetAsync()).Members, StringComparer.Ordinal) { userId };
        // Each member's merge and the owner of the identifier behind it, read once and side by side (review73 L2: a round
        // of calls per member for every link of the chain could outlast the caller's time-out for a shared login's
        // thousands of members); the chain is then followed in memory.
        var candidates = new List<(string Member, MergeRecord? Merge, string? Owner)>();
        // 64 members at a time, so that a shared login's thousands of members do not flood the silo with calls at once.
        foreach (var chunk in state.State.Members
            .Where(m => m.Key != userId && (!AnonymousProfiles.IsAnonymous(userId) || AnonymousProfiles.IsAnonymous(m.Key)))
            .ToList()
            .Chunk(64))
        {
            candidates.AddRange(await Task.WhenAll(chunk.Select(async m =>
            {
                // Any status: a member still listed whose merge a failed unmerge already marked reversed is still to move.
                var merge = await Index(tenant, m.Value).GetAsync();
                return merge is not null && merge.From == m.Key
                    ? (Member: m.Key, Merge: merge, Owner: await Identifier(tenant, merge.Identifier).OwnerAsync())
                    : (Member: m.Key, Merge: (MergeRecord?)null, Owner: (string?)null);
            })));
        }

        candidates.RemoveAll(l => l.Merge is null || l.Owner is null);
        var followers = new List<MergeRecord>();
        for (var found = true; found;)
        {
            found = false;
            foreach (var link in candidates.Where(l => owners.Contains(l.Owner!)).ToList())
            {
                candidates.Remove(link);
                owners.Add(link.Member);
                found = true;
                if (await Identity(tenant, link.Member).CanonicalAsync() is var canonical && canonical != Key.UserId && canonical != link.Member)
                {
                    // Moved by an earlier try of this unmerge, which failed before taking it off the list.
                    state.State.Members.Remove(link.Member);
                    continue;
                }

                followers.Add(link.Merge!);
            }
        }

        return followers;
    }

    /// <summary>Resets the canonical profile to its own events and its remaining members', as if the others had never merged.</summary>
    private async Task RebuildAsync(ProfileKey key, string[] except)
    {
        var members = state.State.Members.Keys.Except(except, StringComparer.Ordinal).ToList();
        for (var attempt = 1; ; attempt++)
        {
            var (events, ends) = await history.ReadAsync(key.Tenant, [key.UserId, .. members]);
            // Members' events by their qualified ids, as the merge and forwarding applied them.
            var all = events.SelectMany(e => e.Key == key.UserId ? e.Value : MemberEventIds.Qualified(e.Key, e.Value))
                .OrderBy(e => e.OccurredAt).ThenBy(e => e.EventId, StringComparer.Ordinal).ToList();
            var memberEnds = members.ToDictionary(m => m, m => ends[m], StringComparer.Ordinal);
            if (await MergeSide(key.Tenant, key.UserId).RebuildWithMembersAsync(new EventBatch(all), ends[key.UserId], memberEnds))
            {
                return;
            }

            if (attempt == RebuildAttempts)
            {
                throw new InvalidOperationException($"Profile '{key.UserId}' of tenant '{key.Tenant}' kept taking new events during the unmerge; try again.");
            }
        }
    }

    public async Task SetMergedIntoAsync(string? into, string mergeId)
    {
        state.State.MergedInto = into;
        state.State.MergedIntoId = into is null ? null : mergeId;
        AddMergeId(mergeId);
        await state.WriteStateAsync();
    }

    private bool AddMergeId(string mergeId)
    {
        if (state.State.MergeIds.Contains(mergeId))
        {
            return false;
        }

        state.State.MergeIds.Add(mergeId);
        if (state.State.MergeIds.Count > MaxMergeIds)
        {
            state.State.MergeIds.RemoveAt(0);
        }

        return true;
    }

    private IIdentifierGrain Identifier(string tenant, string identifier) => GrainFactory.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, identifier).ToString());

    private IIdentityGrain Identity(string tenant, string userId) => GrainFactory.GetGrain<IIdentityGrain>(new ProfileKey(tenant, userId).ToString());

    private IProfileMergeGrain MergeSide(string tenant, string userId) => GrainFactory.GetGrain<IProfileMergeGrain>(new ProfileKey(tenant, userId).ToString());

    private IMergeIndexGrain Index(string tenant, string mergeId) => GrainFactory.GetGrain<IMergeIndexGrain>(new ProfileKey(tenant, mergeId).ToString());

    public Task<IdentityView> GetSettledAsync() => GetAsync();

    /// <summary>Which of <paramref name="userIds"/> the tenant's privacy ledger erased at or after <paramref name="at"/>; null when none.</summary>
    private async Task<string?> ErasedSinceAsync(string tenant, DateTimeOffset at, params string[] userIds)
    {
        var filter = Privacy.PrivacyFilter.Of(await GrainFactory.GetGrain<ITenantPrivacyGrain>(tenant).GetFilterAsync());
        return userIds.FirstOrDefault(u => filter.ErasedBefore(u) is { } cutoff && cutoff >= at);
    }

    [LoggerMessage(EventId = 3411, Level = LogLevel.Information, Message = "Identity: tenant {Tenant} merge {MergeId} not carried out: {UserId} was erased after the event that made it")]
    private partial void LogMergeOfErased(string tenant, string mergeId, string userId);

    [LoggerMessage(EventId = 3404, Level = LogLevel.Information, Message = "Identity: tenant {Tenant} merge {MergeId} reversed: {From} stands apart from {Into} again")]
    private partial void LogUnmerged(string tenant, string mergeId, string from, string into);

    [LoggerMessage(EventId = 3405, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant} merge {MergeId} of {From} into {Into} took {Seconds:F1} s: {Steps}")]
    private partial void LogSlowMerge(string tenant, string mergeId, string from, string into, double seconds, string steps);

    /// <summary>How long each step of a merge took, for the log when a merge is slow.</summary>
    private sealed class MergeSteps
    {
        private readonly long _start = System.Diagnostics.Stopwatch.GetTimestamp();
        private readonly List<(string Step, TimeSpan Took)> _laps = [];
        private long _last;

        public MergeSteps() => _last = _start;

        public TimeSpan Total => System.Diagnostics.Stopwatch.GetElapsedTime(_start);

        public void Lap(string step)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            _laps.Add((step, System.Diagnostics.Stopwatch.GetElapsedTime(_last, now)));
            _last = now;
        }

        public override string ToString() => string.Join(", ", _laps.Select(l => $"{l.Step} {l.Took.TotalSeconds:F2} s"));
    }
}

/// <summary>One merge's record, found by its id (key: ProfileKey(tenant, merge id)).</summary>
public sealed class MergeIndexGrain(
    [PersistentState("merge", IdentityStores.Identity)] IPersistentState<MergeRecordHolder> state) : Grain, IMergeIndexGrain
{
    public async Task SetAsync(MergeRecord record)
    {
        state.State.Record = record;
        await state.WriteStateAsync();
    }

    public Task<MergeRecord?> GetAsync() => Task.FromResult(state.State.Record);

    public async Task EraseAsync()
    {
        await state.ClearStateAsync();
        state.State = new MergeRecordHolder();
        DeactivateOnIdle();
    }
}

[GenerateSerializer, Alias("pg.merge-record-holder")]
public sealed class MergeRecordHolder
{
    [Id(0)] public MergeRecord? Record { get; set; }
}
