using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// A tenant's privacy ledger (key: the tenant): the users erased (as salted hashes of their ids, with the instant
/// each was erased), the users who withdrew personalization consent (hashed likewise), and the erasures still under
/// way (the only place a user id is held in clear, until its erasure completes). Read rarely (log partitions and
/// archivers cache it per silo); written on erasure and consent changes. See docs/privacy.md.
/// </summary>
public interface ITenantPrivacyGrain : IGrainWithStringKey
{
    /// <summary>What every reader of the log must honour: the erased users' hashes and cut-offs, the opted-out users' hashes.</summary>
    Task<PrivacyFilterView> GetFilterAsync();

    /// <summary>
    /// Changes whenever the ledger does (an erasure, a consent): a reader that holds a filter read under the same version
    /// holds the current one, without reading the whole filter again.
    /// </summary>
    [Orleans.Concurrency.AlwaysInterleave]
    Task<string> GetVersionAsync();

    /// <summary>
    /// Records the erasure of <paramref name="userIds"/> (the user, then its linked anonymous profiles, as profile user
    /// ids such as "anon:abc") durably before it returns: from then on no event of theirs that happened at or before the
    /// answered cut-off is applied, archived or rebuilt again. A second call for a pending erasure adds its ids and keeps
    /// its cut-off moving forward.
    /// </summary>
    Task<ErasureStart> BeginErasureAsync(string[] userIds);

    /// <summary>Marks the erasure of <paramref name="userId"/> complete: its ids in clear are dropped from the ledger.</summary>
    Task CompleteErasureAsync(string userId);

    /// <summary>Erasures begun and not completed (a silo died, a store failed): what a retry, or the ledger's reminder, finishes.</summary>
    Task<ErasureStart[]> GetPendingAsync();

    /// <summary>
    /// Records changes of users' personalization consent (false: opted out), for the lake's archivers, in one write.
    /// Each silo sends its profiles' changes together (ConsentReporter), so the ledger is written per batch, not per user.
    /// </summary>
    Task SetPersonalizationConsentsAsync(ConsentChange[] changes);
}

/// <summary>
/// A user's personalization consent as their profile now holds it (false: opted out), and when it was given or
/// withdrawn (the event's time, as the profile orders consent). The ledger keeps the newest change per user, so changes
/// that arrive out of order (a profile that moved between silos) and changes from before an erasure are ignored.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.consent-change")]
public sealed record ConsentChange([property: Id(0)] string UserId, [property: Id(1)] bool OptedIn, [property: Id(2)] DateTimeOffset ChangedAt);

/// <summary>A ledger's filter: a salt, the erased users' hashes with their cut-offs, the opted-out users' hashes.</summary>
[GenerateSerializer, Immutable, Alias("pg.privacy-filter")]
public sealed record PrivacyFilterView(
    [property: Id(0)] byte[] Salt,
    [property: Id(1)] Dictionary<string, DateTimeOffset> Erased,
    [property: Id(2)] string[] OptedOut);

/// <summary>An erasure as the ledger holds it: the user, its linked profiles' user ids, the cut-off, when it began.</summary>
[GenerateSerializer, Immutable, Alias("pg.erasure-start")]
public sealed record ErasureStart(
    [property: Id(0)] string UserId,
    [property: Id(1)] string[] UserIds,
    [property: Id(2)] DateTimeOffset Cutoff,
    [property: Id(3)] DateTimeOffset StartedAt);

/// <summary>What erasing one profile found and removed.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-erasure")]
public sealed record ProfileErasure(
    [property: Id(0)] bool Existed,
    [property: Id(1)] long EventsApplied,
    [property: Id(2)] string[] AnonymousIds,
    [property: Id(3)] string[] RecommendationIds);

/// <summary>What a log partition did for an erasure: lake files rewritten and rows removed, log segments sealed and deleted.</summary>
[GenerateSerializer, Immutable, Alias("pg.partition-erasure")]
public sealed record PartitionErasure(
    [property: Id(0)] int Partition,
    [property: Id(1)] int LakeFilesRewritten,
    [property: Id(2)] long LakeRowsRemoved,
    [property: Id(3)] int SnapshotRowsRemoved,
    [property: Id(4)] int LogSegmentsDeleted,
    [property: Id(5)] bool LogSealed,
    [property: Id(6)] int SetAsideRecordsRemoved);
