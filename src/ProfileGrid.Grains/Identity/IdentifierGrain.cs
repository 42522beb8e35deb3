using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Identity;

/// <summary>What an identifier grain keeps.</summary>
[GenerateSerializer, Alias("pg.identifier-state")]
public sealed class IdentifierState
{
    /// <summary>The profile the identifier belongs to (user id or "anon:&lt;id&gt;"); null until claimed (or after an unmerge of a login).</summary>
    [Id(0)] public string? Owner { get; set; }

    /// <summary>A merge decided and not yet known to be carried out: retried by the next claim.</summary>
    [Id(1)] public MergeRecord? Pending { get; set; }

    /// <summary>Pairs "from\ninto" an operator unmerged: never merged again by this identifier.</summary>
    [Id(2)] public HashSet<string> Blocked { get; set; } = [];

    /// <summary>Other profiles that showed it (phones, conflicts), bounded.</summary>
    [Id(3)] public List<string> SharedWith { get; set; } = [];

    /// <summary>A login linked while its anonymous profile had no history: merged when the first anonymous record comes.</summary>
    [Id(4)] public IdentityClaim? Linked { get; set; }
}

/// <summary>
/// One identifier of a tenant and the rules of docs/identity.md: the first profile to show it owns it; a login links an
/// anonymous id to its user once; the same email or CRM id on a second profile merges the later into the earlier; a
/// phone never merges; an anonymous id already linked to another user is a conflict. Claims of one identifier are
/// serialised here, so two silos racing with the same login merge once. A claim decides a merge and writes it down
/// (<see cref="IdentifierState.Pending"/>) before it answers; a login's merge is carried out after the answer, by this
/// grain's next turn, so that a request is not held up by the reading of a visitor's history; a reminder retries any
/// merge that stays pending (a crash, a failure), and a login link whose history check a crash cut short.
/// </summary>
public sealed partial class IdentifierGrain(
    [PersistentState("identifier", IdentityStores.Identity)] IPersistentState<IdentifierState> state,
    TimeProvider clock,
    IOptions<IngestOptions> ingest,
    IOptions<IdentityOptions> identity,
    IOptions<Orleans.Hosting.ReminderOptions> reminders,
    ILogger<IdentifierGrain> logger) : Grain, IIdentifierGrain, IRemindable
{
    private const int MaxShared = 20;
    private const string CarryOutReminder = "merge-carry-out";

    // Registered by this activation (the reminder itself when the grain holds its own, GrainReminders).
    private bool _reminderRegistered;
    private IGrainReminder? _reminder;

    public Task<string[]> SharedWithAsync() => Task.FromResult(state.State.SharedWith.ToArray());

    public async Task<bool> EraseAsync(string[] userIds)
    {
        var erased = new HashSet<string>(userIds, StringComparer.Ordinal);
        if (state.State.Owner is { } owner && erased.Contains(owner))
        {
            var wasPending = state.State.Pending;
            await state.ClearStateAsync();
            state.State = new IdentifierState();
            await ForgetReminderAsync(); // a relay that held it forgets this identifier too
            if (wasPending is not null)
            {
                await NoteSettledAsync(wasPending);
            }

            DeactivateOnIdle();
            return true;
        }

        var kept = state.State;
        var changed = kept.SharedWith.RemoveAll(erased.Contains) > 0
            | kept.Blocked.RemoveWhere(pair => pair.Split('\n').Any(erased.Contains)) > 0;
        MergeRecord? dropped = null;
        if (kept.Pending is { } pending && (erased.Contains(pending.From) || erased.Contains(pending.Into)))
        {
            (dropped, kept.Pending) = (pending, null);
            changed = true;
        }

        if (kept.Linked is { } linked && erased.Contains(linked.ProfileUserId))
        {
            kept.Linked = null;
            changed = true;
        }

        if (changed)
        {
            await WriteOrStartOverAsync();
        }

        if (dropped is not null)
        {
            await NoteSettledAsync(dropped);
        }

        return false;
    }

    public async Task<ClaimOutcome> ClaimAsync(IdentityClaim claim)
    {
        var identifier = IdentifierKinds.Name(claim.Kind, claim.Value);
        if (state.State.Pending is { } pending)
        {
            await CarryOutAsync(pending);
        }

        var claimant = claim.ProfileUserId;
        var owner = state.State.Owner;
        if (claim.Kind == IdentifierKinds.Anonymous && owner is null && AnonymousProfiles.IsAnonymous(claimant))
        {
            return ClaimOutcome.AlreadyLinked; // a visitor's own anonymous id
        }

        if (owner is null)
        {
            if (claim.Kind != IdentifierKinds.Anonymous)
            {
                state.State.Owner = claimant;
                await WriteOrStartOverAsync();
                await Identity(claim.Tenant, claimant).NoteAsync(identifier, null, null);
                return ClaimOutcome.Recorded;
            }

            // A login: the anonymous profile joins the user's canonical profile.
            var from = AnonymousProfiles.Prefix + claim.Value;
            var into = await Identity(claim.Tenant, claimant).CanonicalAsync();
            if (state.State.Blocked.Contains(Pair(from, into)))
            {
                return ClaimOutcome.Blocked;
            }

            // Owner first, written, then the profile asked (after any record it is applying): either it applied one
            // before (history: merge now) or it will ask the owner before its first (and have the merge made then). The
            // reminder comes first: should this silo die between the link and the question, it asks (ClaimLinkedAsync).
            await RegisterReminderAsync(claim.Tenant);
            state.State.Owner = claimant;
            state.State.Linked = claim;
            await WriteOrStartOverAsync();
            return await ClaimLinkedAsync(claim, identifier, into);
        }

        if (claim.Kind == IdentifierKinds.Anonymous && owner == claimant && state.State.Linked is { } linked && linked.ProfileUserId == claimant)
        {
            // A login linked the id earlier and left the merge to the visitor's first record: asked again (a retry of a
            // request whose silo died after the link was written), it looks at the visitor's history again, so a visitor
            // that has history by now is merged rather than left apart for good.
            return await ClaimLinkedAsync(claim, identifier, await Identity(claim.Tenant, claimant).CanonicalAsync());
        }

        var (ownerCanonical, claimantCanonical) = (await Identity(claim.Tenant, owner).CanonicalAsync(), await Identity(claim.Tenant, claimant).CanonicalAsync());
        if (owner == claimant || ownerCanonical == claimantCanonical)
        {
            return ClaimOutcome.AlreadyLinked;
        }

        if (claim.Kind == IdentifierKinds.Anonymous)
        {
            // An anonymous id seen with a second user (a shared device, a cookie copied): no silent re-merge.
            return await ConflictAsync(claim, identifier, owner, $"the anonymous id is linked to '{owner}' already; not merged again");
        }

        if (claim.Kind == IdentifierKinds.Phone)
        {
            // Phones are shared by households and recycled by carriers: a link to look at, never a merge.
            if (!state.State.SharedWith.Contains(claimant) && state.State.SharedWith.Count < MaxShared)
            {
                state.State.SharedWith.Add(claimant);
                await WriteOrStartOverAsync();
            }

            // Noted on both, as an anonymous id's conflict is: an erasure of either finds the other's copy through its
            // own (probe68: the owner's erasure left its id on the other person's record, which only that one held).
            var conflict = new IdentityConflict(identifier, owner, claimant, claim.EventId, claim.At, "phone numbers are shared, not merged");
            await Identity(claim.Tenant, claimant).NoteAsync(identifier, null, conflict);
            await Identity(claim.Tenant, owner).NoteAsync(identifier, null, conflict);
            return ClaimOutcome.Shared;
        }

        // The same email or CRM id: one person. An anonymous side always joins the known one; of two known users the later
        // joins the earlier (the identifier's owner), whose profile stays canonical.
        var rule = claim.Kind == IdentifierKinds.Crm ? MergeRules.Crm : MergeRules.Email;
        var anonymousOwner = AnonymousProfiles.IsAnonymous(ownerCanonical) && !AnonymousProfiles.IsAnonymous(claimantCanonical);
        var (mergeFrom, mergeInto) = anonymousOwner ? (ownerCanonical, claimantCanonical) : (claimantCanonical, ownerCanonical);
        if (state.State.Blocked.Contains(Pair(mergeFrom, mergeInto)))
        {
            return ClaimOutcome.Blocked;
        }

        // Carried out before the answer, unlike a login's: the next claims of this request (another identifier of the same
        // event) and of the next requests then see the person's canonical profile, as identify events expect. The new
        // owner is written with the decided merge; should the merge not be decided after all, the retried claim finds the
        // old owner and decides it again rather than "already linked".
        if (anonymousOwner)
        {
            state.State.Owner = claimantCanonical;
        }

        // Another merge may still be pending here (settling off the grain's turn): this claim's merge was decided only if
        // its own record took the place.
        var pendingBefore = state.State.Pending;
        try
        {
            return await MergeAsync(claim, identifier, rule, mergeFrom, mergeInto);
        }
        catch when (ReferenceEquals(state.State.Pending, pendingBefore))
        {
            state.State.Owner = owner;
            throw;
        }
    }

    /// <summary>
    /// A login's link is written (owner and <see cref="IdentifierState.Linked"/>): a visitor with history is merged now; one
    /// without keeps the link, and its first record has the merge made.
    /// </summary>
    private async Task<ClaimOutcome> ClaimLinkedAsync(IdentityClaim claim, string identifier, string into)
    {
        var from = AnonymousProfiles.Prefix + claim.Value;
        if (!await MergeSide(claim.Tenant, from).HasHistoryAsync())
        {
            await Identity(claim.Tenant, into).NoteAsync(identifier, null, null);
            if (state.State.Pending is null)
            {
                await ForgetReminderAsync(); // the visitor's first record has the merge made
            }

            return ClaimOutcome.Recorded;
        }

        // The link goes with the decided merge's write: should the merge fail to be noted or written (the visitor's log
        // partition on a silo that died under the call), the link stays, and the retried claim or the reminder finishes
        // it. Taken off first, it left the retry "already linked" and the person split for good (probe64, probe66).
        var linked = state.State.Linked;
        var pendingBefore = state.State.Pending;
        state.State.Linked = null;
        try
        {
            return await DecideMergeAsync(claim, identifier, MergeRules.Login, from, into);
        }
        catch when (ReferenceEquals(state.State.Pending, pendingBefore))
        {
            state.State.Linked ??= linked;
            throw;
        }
    }

    /// <summary>
    /// A login's merge: decided, written, and carried out by this grain's next turn, so the claim answers at once. Its
    /// history read costs seconds on a busy store, and one request may carry many logins.
    /// </summary>
    private async Task<ClaimOutcome> DecideMergeAsync(IdentityClaim claim, string identifier, string rule, string from, string into)
    {
        await WritePendingAsync(NewRecord(claim, identifier, rule, from, into));
        this.AsReference<IIdentifierGrain>().EnsureMergedAsync().Ignore();
        return ClaimOutcome.Merged;
    }

    private MergeRecord NewRecord(IdentityClaim claim, string identifier, string rule, string from, string into) => new()
    {
        MergeId = NewMergeId(),
        Tenant = claim.Tenant,
        From = from,
        Into = into,
        Rule = rule,
        Identifier = identifier,
        EventId = claim.EventId,
        Source = claim.Source,
        At = clock.GetUtcNow(),
        EventAt = claim.OccurredAt,
    };

    /// <summary>
    /// Decided and written before it is carried out, with a reminder registered first: a crash in between is finished by
    /// the reminder, the next claim, or a replay (a reminder without a pending merge only unregisters itself).
    /// </summary>
    private async Task WritePendingAsync(MergeRecord record)
    {
        await RegisterReminderAsync(record.Tenant);

        // Counted by the visitor's log partition (saved there) before anyone is answered, so that allWritten waits for the
        // merge too, also across a crash.
        await PartitionOf(record).NoteMergeAsync(record.MergeId, this.GetPrimaryKeyString(), pending: true);
        state.State.Pending = record;
        try
        {
            await WriteOrStartOverAsync();
        }
        catch
        {
            state.State.Pending = null;
            await NoteSettledAsync(record); // not decided after all: the claim fails and is asked again
            throw;
        }
    }

    /// <summary>
    /// Writes the state; a write that fails may have been stored all the same (a time-out) or not, and the state in memory
    /// (a link taken off, a merge decided) is then no guide: this activation goes, and the next reads what the store holds,
    /// which a retried claim or the reminder then finishes.
    /// </summary>
    private async Task WriteOrStartOverAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    private async Task RegisterReminderAsync(string tenant)
    {
        if (_reminderRegistered)
        {
            return; // registered by this activation already (a login's link, then its merge): one reminder-table call
        }

        try
        {
            // Not below the silo's minimum, which Orleans would refuse (a minute unless the host lowers it).
            var every = identity.Value.MergeRetryInterval < reminders.Value.MinimumReminderPeriod
                ? reminders.Value.MinimumReminderPeriod
                : identity.Value.MergeRetryInterval;
            _reminder = await GrainReminders.RegisterOrUpdateAsync(this, CarryOutReminder, every, every);
            _reminderRegistered = true;
        }
        catch (Exception ex)
        {
            // The merge goes on; only its unattended retry after a crash is lost (a retried claim or the visitor's next
            // record finishes it).
            LogReminderFailed(tenant, ex);
        }
    }

    private IEventLogPartitionGrain PartitionOf(MergeRecord record) => GrainFactory.GetGrain<IEventLogPartitionGrain>(
        ProfileBuckets.LogPartition(new ProfileKey(record.Tenant, record.From).ToString(), ingest.Value.Partitions));

    /// <summary>
    /// The merge is carried out or dropped: its partition stops counting it. A failure here is left alone: such a call fails
    /// when the partition's silo died, and the partition, activated again, finds the merge done (<see cref="ResumeMergeAsync"/>).
    /// </summary>
    private async Task NoteSettledAsync(MergeRecord record)
    {
        try
        {
            await PartitionOf(record).NoteMergeAsync(record.MergeId, this.GetPrimaryKeyString(), pending: false);
        }
        catch (Exception ex)
        {
            LogSettledNoteFailed(record.Tenant, record.MergeId, ex);
        }
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != CarryOutReminder)
        {
            return;
        }

        if (state.State.Pending is { } pending)
        {
            try
            {
                // Noted again (idempotent): a merge decided before partitions counted merges is counted from now on.
                await PartitionOf(pending).NoteMergeAsync(pending.MergeId, this.GetPrimaryKeyString(), pending: true);
            }
            catch (Exception ex)
            {
                LogCarryOutFailed(pending.Tenant, pending.MergeId, ex);
            }

            await CarryOutAsync(pending); // a failure leaves it pending, and the reminder retries in a minute
        }
        else if (state.State.Linked is { } linked && state.State.Owner == linked.ProfileUserId)
        {
            // A login's link whose history check never ran (its silo died in between, and nobody retried the request): the
            // visitor's history is merged now, or the link is left for its first record and the reminder goes.
            await ClaimLinkedAsync(linked, IdentifierKinds.Name(linked.Kind, linked.Value), await Identity(linked.Tenant, linked.ProfileUserId).CanonicalAsync());
        }
        else
        {
            await ForgetReminderAsync();
        }
    }

    private async Task ForgetReminderAsync()
    {
        try
        {
            await GrainReminders.UnregisterAsync(this, CarryOutReminder, _reminder);
        }
        catch (Exception ex)
        {
            LogReminderFailed(ProfileKey.Parse(this.GetPrimaryKeyString()).Tenant, ex); // it fires again and finds nothing pending
        }

        (_reminder, _reminderRegistered) = (null, false);
    }

    /// <summary>Decides and carries out the merge in this turn (a caller that is itself off the request path).</summary>
    private async Task<ClaimOutcome> MergeAsync(IdentityClaim claim, string identifier, string rule, string from, string into)
    {
        var record = NewRecord(claim, identifier, rule, from, into);
        await WritePendingAsync(record);
        return await CarryOutAsync(record) ? ClaimOutcome.Merged : ClaimOutcome.Conflict;
    }

    // Merges this activation carried out whose pushes are awaited, off the grain's turn, before they are settled.
    private readonly Dictionary<string, MergeRecord> _settling = new(StringComparer.Ordinal);

    /// <summary>
    /// Carries out the merge (again, after a crash: the identity finds it done), then settles it once both profiles'
    /// pushes are stored: the person's profile with the visitor's history in it, and the visitor's leaving its shards.
    /// Until then the merge stays pending, in this grain's state and at the visitor's log partition, so a kill before the
    /// shards write has the partition resume it, which wakes both profiles, which push again on activation. The wait runs
    /// off this grain's turn (a large shard writes every 25 s): claims of the identifier meanwhile find the merge made.
    /// </summary>
    private async Task<bool> CarryOutAsync(MergeRecord record)
    {
        if (_settling.ContainsKey(record.MergeId))
        {
            return true; // carried out; settled once its pushes are stored
        }

        var done = await Identity(record.Tenant, record.Into).AbsorbAsync(record);
        if (done is { Status: MergeStatus.Erased })
        {
            // One side was erased after the merge was decided: dropped, and nobody's record names the erased id.
            state.State.Pending = null;
            if (record.Rule == MergeRules.Login && state.State.Owner is not null && record.Identifier.StartsWith(IdentifierKinds.Anonymous + ":", StringComparison.Ordinal))
            {
                state.State.Owner = null;
            }

            await WriteOrStartOverAsync();
            await ForgetReminderAsync();
            await NoteSettledAsync(record);
            return false;
        }

        if (done is null)
        {
            // Refused by the rules (a profile already merged elsewhere, or with profiles of its own merged into it).
            state.State.Pending = null;
            LogMergeRefused(record.Tenant, record.From, record.Into, record.Rule);
            if (record.Rule == MergeRules.Login && state.State.Owner is not null && record.Identifier.StartsWith(IdentifierKinds.Anonymous + ":", StringComparison.Ordinal))
            {
                state.State.Owner = null;
            }

            await WriteOrStartOverAsync();
            await ForgetReminderAsync();
            await NoteSettledAsync(record);
            await Identity(record.Tenant, record.From).NoteAsync(record.Identifier, null,
                new IdentityConflict(record.Identifier, record.Into, record.From, record.EventId, record.At, $"{record.Rule}: not merged (one side is merged elsewhere or has profiles merged into it)"));
            return false;
        }

        if (record.Rule != MergeRules.Login)
        {
            // A login's anonymous profile holds the merge id already (it is its own identifier); a CRM record notes what it showed.
            await Identity(record.Tenant, record.From).NoteAsync(record.Identifier, done.MergeId, null);
        }

        LogMerged(record.Tenant, done.MergeId, record.From, record.Into, record.Rule);
        _settling[record.MergeId] = record;
        _ = SettleWhenPushedAsync(record);
        return true;
    }

    /// <summary>Waits for the merge's pushes to be stored, then has this grain settle it in a turn of its own; never throws.</summary>
    private async Task SettleWhenPushedAsync(MergeRecord record)
    {
        await MergePushesWrittenAsync(record);
        try
        {
            await this.AsReference<IIdentifierGrain>().SettleAsync(record.MergeId);
        }
        catch (Exception ex)
        {
            // Still pending where it was stored: the reminder, the next claim or the partition carries it out again.
            _settling.Remove(record.MergeId);
            LogCarryOutFailed(record.Tenant, record.MergeId, ex);
        }
    }

    public async Task SettleAsync(string mergeId)
    {
        if (!_settling.Remove(mergeId, out var record))
        {
            return;
        }

        if (state.State.Pending?.MergeId == mergeId)
        {
            state.State.Pending = null;
            await WriteOrStartOverAsync();
            await ForgetReminderAsync();
        }

        await NoteSettledAsync(record);
    }

    private async Task MergePushesWrittenAsync(MergeRecord record)
    {
        try
        {
            await Task.WhenAll(MergeSide(record.Tenant, record.From).UntilPushesWrittenAsync(), MergeSide(record.Tenant, record.Into).UntilPushesWrittenAsync());
        }
        catch (Exception ex)
        {
            // Settled all the same: a merge is not held back for a shard out of reach (their pushes heal when the profiles
            // are next active).
            LogMergePushesUnconfirmed(record.Tenant, record.MergeId, ex);
        }
    }

    private IProfileMergeGrain MergeSide(string tenant, string userId) => GrainFactory.GetGrain<IProfileMergeGrain>(new ProfileKey(tenant, userId).ToString());

    [LoggerMessage(EventId = 3412, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant} merge {MergeId}: waiting for the profiles' pushes to be stored failed; settled all the same")]
    private partial void LogMergePushesUnconfirmed(string tenant, string mergeId, Exception exception);

    private async Task<ClaimOutcome> ConflictAsync(IdentityClaim claim, string identifier, string owner, string reason)
    {
        if (!state.State.SharedWith.Contains(claim.ProfileUserId) && state.State.SharedWith.Count < MaxShared)
        {
            state.State.SharedWith.Add(claim.ProfileUserId);
            await WriteOrStartOverAsync();
        }

        var conflict = new IdentityConflict(identifier, owner, claim.ProfileUserId, claim.EventId, claim.At, reason);
        await Identity(claim.Tenant, claim.ProfileUserId).NoteAsync(identifier, null, conflict);
        await Identity(claim.Tenant, owner).NoteAsync(identifier, null, conflict);
        LogConflict(claim.Tenant, claim.Kind, claim.ProfileUserId);
        return ClaimOutcome.Conflict;
    }

    public async Task ReleaseAsync(string mergeId, string userId)
    {
        var key = ProfileKey.Parse(this.GetPrimaryKeyString());
        var kind = key.UserId[..key.UserId.IndexOf(':')];
        var record = await GrainFactory.GetGrain<IMergeIndexGrain>(new ProfileKey(key.Tenant, mergeId).ToString()).GetAsync();
        if (record is not null)
        {
            state.State.Blocked.Add(Pair(record.From, record.Into));
        }

        if (kind == IdentifierKinds.Anonymous)
        {
            // The login link goes; the pairing stays blocked, so a replay of the old login does not merge again.
            state.State.Owner = null;
        }

        await WriteOrStartOverAsync();
    }

    public Task<string?> OwnerAsync() => Task.FromResult(state.State.Owner);

    public async Task<string?> MergeInProgressAsync(string except)
    {
        if (state.State.Pending is { } pending && pending.MergeId != except && !_settling.ContainsKey(pending.MergeId)
            && await GrainFactory.GetGrain<IMergeIndexGrain>(new ProfileKey(pending.Tenant, pending.MergeId).ToString()).GetAsync() is not { Status: MergeStatus.Merged or MergeStatus.Reversed })
        {
            return pending.MergeId;
        }

        return null;
    }

    public async Task RehomeAsync(MergeRecord reversed, string into)
    {
        if (await MergeInProgressAsync(except: reversed.MergeId) is { } busy)
        {
            // A merge not yet carried out is not carried out from here: it may be a merge into the profile whose unmerge is
            // waiting for this answer, which would wait on it in turn. The unmerge fails as unavailable (503, retry) and is
            // asked again once the reminder has carried it out. (One carried out and settling is no matter.)
            throw new TimeoutException($"The identifier that joined '{reversed.From}' has a merge of its own in progress ({busy}); run the unmerge again in a minute.");
        }

        if (state.State.Blocked.Contains(Pair(reversed.From, into)))
        {
            return; // an operator unmerged these two before: the profile stands apart
        }

        var record = new MergeRecord
        {
            MergeId = NewMergeId(),
            Tenant = reversed.Tenant,
            From = reversed.From,
            Into = into,
            Rule = reversed.Rule,
            Identifier = reversed.Identifier,
            EventId = reversed.EventId,
            Source = reversed.Source,
            At = clock.GetUtcNow(),
            EventAt = reversed.EventAt,
        };
        await WritePendingAsync(record);
        await CarryOutAsync(record);
    }

    public async Task EnsureMergedAsync()
    {
        try
        {
            if (state.State.Pending is { } pending)
            {
                await CarryOutAsync(pending);
            }

            if (state.State.Linked is not { } claim || state.State.Owner != claim.ProfileUserId)
            {
                return;
            }

            var into = await Identity(claim.Tenant, claim.ProfileUserId).CanonicalAsync();
            var pendingBefore = state.State.Pending;
            state.State.Linked = null;
            try
            {
                await MergeAsync(claim, IdentifierKinds.Name(claim.Kind, claim.Value), MergeRules.Login, AnonymousProfiles.Prefix + claim.Value, into);
            }
            catch when (ReferenceEquals(state.State.Pending, pendingBefore))
            {
                // Not decided: the link stays for the next record, the reminder or a retried claim (as in ClaimLinkedAsync).
                state.State.Linked ??= claim;
                throw;
            }
        }
        catch (Exception ex)
        {
            // Nobody waits for this call: the merge stays pending and its reminder tries again.
            LogCarryOutFailed(ProfileKey.Parse(this.GetPrimaryKeyString()).Tenant, state.State.Pending?.MergeId, ex);
        }
    }

    public async Task<bool> ResumeMergeAsync(string mergeId)
    {
        if (state.State.Pending is not { } pending || pending.MergeId != mergeId)
        {
            return false;
        }

        try
        {
            await CarryOutAsync(pending);
        }
        catch (Exception ex)
        {
            LogCarryOutFailed(pending.Tenant, mergeId, ex);
        }

        return state.State.Pending?.MergeId == mergeId;
    }

    private IIdentityGrain Identity(string tenant, string userId) => GrainFactory.GetGrain<IIdentityGrain>(new ProfileKey(tenant, userId).ToString());

    private static string Pair(string from, string into) => from + "\n" + into;

    private static string NewMergeId() => "m-" + Guid.NewGuid().ToString("N")[..20];

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Identity: tenant {Tenant} merge {MergeId}: {From} into {Into} ({Rule})")]
    private partial void LogMerged(string tenant, string mergeId, string from, string into, string rule);

    [LoggerMessage(EventId = 3402, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant}: {From} not merged into {Into} ({Rule}); recorded as a conflict")]
    private partial void LogMergeRefused(string tenant, string from, string into, string rule);

    [LoggerMessage(EventId = 3403, Level = LogLevel.Information, Message = "Identity: tenant {Tenant}: a {Kind} identifier of another person shown by {Profile}; recorded as a conflict")]
    private partial void LogConflict(string tenant, string kind, string profile);

    [LoggerMessage(EventId = 3407, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant}: the reminder that retries a pending merge could not be registered or removed")]
    private partial void LogReminderFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3409, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant}: merge {MergeId} is done, but its log partition could not be told; it counts the merge as pending until it is activated again")]
    private partial void LogSettledNoteFailed(string tenant, string mergeId, Exception exception);

    [LoggerMessage(EventId = 3408, Level = LogLevel.Warning, Message = "Identity: tenant {Tenant}: merge {MergeId} could not be carried out now; its reminder tries again")]
    private partial void LogCarryOutFailed(string tenant, string? mergeId, Exception exception);
}

/// <summary>The grain storage of the identity graph.</summary>
public static class IdentityStores
{
    /// <summary>
    /// The identity graph's grains keep their small states in the segments store (blobs, bounded keys, in every host and
    /// test cluster already), rather than a store of their own that every host would have to wire.
    /// </summary>
    public const string Identity = ProfileStores.Segments;
}
