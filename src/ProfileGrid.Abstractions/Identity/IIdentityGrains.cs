using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Identity;

/// <summary>The kinds of identifier the identity graph links (docs/identity.md).</summary>
public static class IdentifierKinds
{
    /// <summary>An anonymous visitor id (a cookie, a device id): the profile "anon:&lt;id&gt;".</summary>
    public const string Anonymous = "anon";

    /// <summary>The keyed SHA-256 of a normalised email address (never the address).</summary>
    public const string Email = "email";

    /// <summary>The keyed SHA-256 of a normalised phone number (never the number).</summary>
    public const string Phone = "phone";

    /// <summary>The person's id in the tenant's CRM, as sent.</summary>
    public const string Crm = "crm";

    /// <summary>"kind:value", the identifier's name in the graph and the user part of its grain key.</summary>
    public static string Name(string kind, string value) => kind + ":" + value;
}

/// <summary>What a merge or a conflict came from.</summary>
public static class MergeRules
{
    /// <summary>An event carried both a user id and an anonymous id (a login): the anonymous profile joins the user's.</summary>
    public const string Login = "login";

    /// <summary>Two profiles showed the same hashed email: the later joins the earlier.</summary>
    public const string Email = "same-email";

    /// <summary>Two profiles showed the same CRM id: the later joins the earlier.</summary>
    public const string Crm = "same-crm-id";
}

/// <summary>A profile showed an identifier: on an event (a login, an identify event) at the gateway.</summary>
[GenerateSerializer, Immutable, Alias("pg.identity-claim")]
public sealed record IdentityClaim(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Value,
    [property: Id(3)] string ProfileUserId,
    [property: Id(4)] string EventId,
    [property: Id(5)] string Source,
    [property: Id(6)] DateTimeOffset At,
    [property: Id(7)] DateTimeOffset? OccurredAt = null);

/// <summary>What became of a claim.</summary>
public enum ClaimOutcome
{
    /// <summary>The identifier was new and now belongs to the profile.</summary>
    Recorded,

    /// <summary>The identifier already belonged to the profile (or to its canonical profile): nothing to do.</summary>
    AlreadyLinked,

    /// <summary>Two profiles are to be merged: decided and written; carried out by the identifier grain after the answer.</summary>
    Merged,

    /// <summary>The identifier belongs to another person and the rules do not merge: recorded as a conflict.</summary>
    Conflict,

    /// <summary>This pairing was unmerged by an operator before: not linked again.</summary>
    Blocked,

    /// <summary>A phone number shown by another profile too: recorded on both, never merged.</summary>
    Shared,
}

/// <summary>One merge and its provenance; kept after an unmerge, marked reversed.</summary>
[GenerateSerializer, Immutable, Alias("pg.merge-record")]
public sealed record MergeRecord
{
    [Id(0)] public required string MergeId { get; init; }
    [Id(1)] public required string Tenant { get; init; }

    /// <summary>The profile merged away (a user id, or "anon:&lt;id&gt;").</summary>
    [Id(2)] public required string From { get; init; }

    /// <summary>The canonical profile it was merged into.</summary>
    [Id(3)] public required string Into { get; init; }

    /// <summary>The rule that merged them (<see cref="MergeRules"/>).</summary>
    [Id(4)] public required string Rule { get; init; }

    /// <summary>The shared identifier, "kind:value" (hashes for email and phone).</summary>
    [Id(5)] public required string Identifier { get; init; }

    /// <summary>The event that caused the merge, and its source (web, app, crm).</summary>
    [Id(6)] public required string EventId { get; init; }
    [Id(7)] public string Source { get; init; } = "";

    /// <summary>When the merge was decided.</summary>
    [Id(8)] public DateTimeOffset At { get; init; }

    /// <summary>"merging" (decided, being carried out), "merged", "reversed".</summary>
    [Id(9)] public string Status { get; init; } = MergeStatus.Merging;

    [Id(10)] public DateTimeOffset? ReversedAt { get; init; }

    /// <summary>Who reversed it (the API key's id, or "cli").</summary>
    [Id(11)] public string? ReversedBy { get; init; }

    /// <summary>Events of <see cref="From"/> brought into <see cref="Into"/> when merged.</summary>
    [Id(12)] public int EventsMoved { get; init; }

    /// <summary>When the event that caused the merge happened (null: a record from before it was kept).</summary>
    [Id(13)] public DateTimeOffset? EventAt { get; init; }
}

public static class MergeStatus
{
    public const string Merging = "merging";
    public const string Merged = "merged";
    public const string Reversed = "reversed";

    /// <summary>Never carried out: one side was erased after the merge was decided (answered by AbsorbAsync, never stored).</summary>
    public const string Erased = "erased";
}

/// <summary>An identifier shown by a profile while it belonged to another person, and not merged.</summary>
[GenerateSerializer, Immutable, Alias("pg.identity-conflict")]
public sealed record IdentityConflict(
    [property: Id(0)] string Identifier,
    [property: Id(1)] string HeldBy,
    [property: Id(2)] string ShownBy,
    [property: Id(3)] string EventId,
    [property: Id(4)] DateTimeOffset At,
    [property: Id(5)] string Reason);

/// <summary>A profile's place in the identity graph, as GET /v1/tenants/{t}/identity/{user} shows it.</summary>
[GenerateSerializer, Immutable, Alias("pg.identity-view")]
public sealed record IdentityView
{
    [Id(0)] public required string Tenant { get; init; }
    [Id(1)] public required string UserId { get; init; }

    /// <summary>The canonical profile this one is merged into; null when it is canonical itself.</summary>
    [Id(2)] public string? MergedInto { get; init; }

    /// <summary>Identifiers the profile showed ("kind:value"; email and phone as hashes).</summary>
    [Id(3)] public string[] Identifiers { get; init; } = [];

    /// <summary>Profiles merged into this one, now.</summary>
    [Id(4)] public string[] Members { get; init; } = [];

    /// <summary>Every merge this profile took part in, either side, reversed ones included, oldest first.</summary>
    [Id(5)] public MergeRecord[] Merges { get; init; } = [];

    /// <summary>Identifiers it showed that belonged to someone else, most recent last (bounded).</summary>
    [Id(6)] public IdentityConflict[] Conflicts { get; init; } = [];

    /// <summary>
    /// For a visitor's <c>anon:</c> id that a login linked before the visitor sent anything (so nothing is merged yet):
    /// the person the login named, whom reads of the id answer as. Set by the API's read; null otherwise.
    /// </summary>
    [Id(7)] public string? LinkedTo { get; init; }
}

/// <summary>
/// One identifier of a tenant (key: ProfileKey(tenant, "kind:value")): which profile it belongs to. The gateway claims it
/// for the profile of each event that shows it; one grain per identifier, so no tenant-wide grain is on the ingest path.
/// </summary>
public interface IIdentifierGrain : IGrainWithStringKey
{
    /// <summary>Links the identifier to the claiming profile, merging or recording a conflict by the rules. Idempotent.</summary>
    Task<ClaimOutcome> ClaimAsync(IdentityClaim claim);

    /// <summary>An unmerge: the identifier no longer links <paramref name="userId"/>, and that pairing is not made again.</summary>
    Task ReleaseAsync(string mergeId, string userId);

    /// <summary>The profile the identifier belongs to, if any.</summary>
    [AlwaysInterleave]
    Task<string?> OwnerAsync();

    /// <summary>
    /// An unmerge took <paramref name="reversed"/>'s profile out of the person it joined through this identifier (owned by
    /// the profile the unmerge set apart, or by another that joined through it): the profile joins <paramref name="into"/>,
    /// the profile set apart, as it would have had that one never merged (a merge of its own, decided, written and carried
    /// out as a claim's is). Nothing when an operator unmerged the pair before; refused while the identifier has a merge
    /// of its own in progress (the unmerge is asked again).
    /// </summary>
    Task RehomeAsync(MergeRecord reversed, string into);

    /// <summary>A merge this identifier decided and has not carried out yet (other than <paramref name="except"/>), or null.</summary>
    Task<string?> MergeInProgressAsync(string except);

    /// <summary>
    /// Carries out a merge a claim decided (the claim answered before it), or one of a login linked to an anonymous
    /// profile that had no history then, which now has its first record (its record replays once merged). Nothing when
    /// there is neither.
    /// </summary>
    [OneWay]
    Task EnsureMergedAsync();

    /// <summary>
    /// Carries out the merge <paramref name="mergeId"/> if it is still pending here (asked by a log partition that counted
    /// it before a restart). Answers whether it is still pending afterwards: false when done, dropped or never pending here.
    /// </summary>
    Task<bool> ResumeMergeAsync(string mergeId);

    /// <summary>
    /// The merge <paramref name="mergeId"/>, carried out by this activation, has its pushes stored: it is no longer
    /// pending here nor at its log partition. Called by the grain itself, after waiting off its turn.
    /// </summary>
    Task SettleAsync(string mergeId);

    /// <summary>
    /// Erasure (docs/privacy.md): forgets the identifier when one of <paramref name="userIds"/> owns it (its stored record
    /// deleted), else drops their names from what it keeps about others. Answers whether the record was deleted.
    /// </summary>
    Task<bool> EraseAsync(string[] userIds);

    /// <summary>
    /// The users who showed the identifier while another owned it (a shared phone, an anonymous id seen with a second
    /// user): the conflicts naming its owner are on their identity records, which an erasure of the owner must find.
    /// </summary>
    Task<string[]> SharedWithAsync();
}

/// <summary>
/// A profile's identity (key: the profile key "tenant/user"): its identifiers, where it is merged, what is merged into it.
/// Merges into one canonical profile go through its identity grain one at a time.
/// </summary>
public interface IIdentityGrain : IGrainWithStringKey
{
    [AlwaysInterleave]
    Task<IdentityView> GetAsync();

    /// <summary>
    /// <see cref="GetAsync"/> once a merge into this profile under way has finished (not interleaved with one): an
    /// erasure reads the person with it, after its ledger entry makes any merge not yet under way refuse.
    /// </summary>
    Task<IdentityView> GetSettledAsync();

    /// <summary>The profile's canonical profile: the one it is merged into, or itself.</summary>
    [AlwaysInterleave]
    Task<string> CanonicalAsync();

    /// <summary>Records an identifier the profile showed (and the merge or conflict it led to).</summary>
    Task NoteAsync(string identifier, string? mergeId, IdentityConflict? conflict);

    /// <summary>
    /// Merges the profile <paramref name="record"/>.From into this (canonical) one, exactly once per merge id: marks the
    /// other profile merged (its new events are forwarded here) and brings its history in. Null (and nothing done) when
    /// the rules refuse: this profile is merged itself, or the other has profiles merged into it or is merged elsewhere;
    /// the record with status <see cref="MergeStatus.Erased"/> (nothing done) when either side was erased after the merge
    /// was decided.
    /// </summary>
    Task<MergeRecord?> AbsorbAsync(MergeRecord record);

    /// <summary>Reverses a merge into this profile: rebuilt as if it had never happened; the other profile stands alone again.</summary>
    Task<MergeRecord?> ReleaseAsync(string mergeId, string by);

    /// <summary>Rebuilds this canonical profile from its own events and its members' (a backfill from the lake asks for it).</summary>
    [OneWay]
    Task RebuildAsync();

    /// <summary>Called on the merged-away side: it is merged into <paramref name="into"/> (null: no longer).</summary>
    Task SetMergedIntoAsync(string? into, string mergeId);

    /// <summary>Erasure: deletes the profile's identity record; answers the identifiers and merge ids it held, for their own erasure.</summary>
    Task<(string[] Identifiers, string[] MergeIds)> EraseAsync();

    /// <summary>Erasure of other profiles: drops the conflicts that name any of <paramref name="userIds"/>; answers how many.</summary>
    Task<int> ForgetConflictsWithAsync(string[] userIds);
}

/// <summary>Where a merge is recorded (key: ProfileKey(tenant, merge id)): so that an unmerge by id finds its canonical profile.</summary>
public interface IMergeIndexGrain : IGrainWithStringKey
{
    Task SetAsync(MergeRecord record);

    [AlwaysInterleave]
    Task<MergeRecord?> GetAsync();

    /// <summary>Erasure: deletes the record.</summary>
    Task EraseAsync();
}

/// <summary>The identity side of a profile grain (same grain and key as IUserProfileGrain): merging and forwarding.</summary>
public interface IProfileMergeGrain : IGrainWithStringKey
{
    /// <summary>
    /// Marks the profile merged into <paramref name="canonicalUserId"/> (null: stands alone again). While merged it still
    /// applies its own events (so that an unmerge finds it as if never merged), forwards each to the canonical profile,
    /// and leaves segments, feature shards and stats (the canonical profile counts for both).
    /// </summary>
    /// <returns>Whether the profile holds any history (records applied) that the canonical profile must bring in.</returns>
    Task<bool> SetMergedIntoAsync(string? canonicalUserId);

    /// <summary>
    /// Whether the profile has applied anything or is merged. Not interleaved: it answers after a record being applied,
    /// which is what lets a login link a visitor without history cheaply (docs/identity.md).
    /// </summary>
    Task<bool> HasHistoryAsync();

    /// <summary>
    /// Brings a merged profile's history into this canonical one: applied once (a second call for the same profile
    /// changes nothing); <paramref name="end"/> is the last position of <paramref name="fromUserId"/>'s log partition read,
    /// so that forwarded records at or before it are skipped.
    /// </summary>
    Task<int> AbsorbAsync(string fromUserId, Events.EventBatch events, long end);

    /// <summary>
    /// A record of a merged profile's log, forwarded by it: applied and written before this returns. False when the
    /// merge has not brought that profile's history in yet (the record is replayed later).
    /// </summary>
    Task<bool> ApplyForwardedAsync(string fromUserId, Events.EventBatch batch, long position);

    /// <summary>
    /// Waits until what the profile last pushed to its write-behind shards is in their written state (45 s at most by
    /// default, three quarters of the ingest's StuckAfter; never fails): a merged profile reports a forwarded record
    /// written only then, since no report of this profile's own covers it.
    /// </summary>
    [AlwaysInterleave, ResponseTimeout("00:01:30")]
    Task UntilPushesWrittenAsync();

    /// <summary>
    /// Resets the profile to its own events and its current members' (<paramref name="memberEnds"/>: each member's log
    /// end read), keeping attributes and preferences set directly. False (nothing changed) when it already holds later
    /// records than were read, of its own partition or forwarded: read again.
    /// </summary>
    Task<bool> RebuildWithMembersAsync(Events.EventBatch events, long logEnd, Dictionary<string, long> memberEnds);

    /// <summary>
    /// A direct write (attributes, preferences) made to the id of <paramref name="fromUserId"/>, merged into this profile:
    /// applied here and kept as that member's, so that a rebuild without the member (an unmerge) leaves it out. Past this
    /// profile's bounds it is refused whole (ProfileLimitException). Answers this profile's view.
    /// </summary>
    Task<Profiles.ProfileView> ApplyMemberWriteAsync(string fromUserId, Events.DemographicsUpdate? attributes, Events.PreferenceUpdate? preferences);
}
