using Orleans.Concurrency;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One user's live, layered profile. Key: <see cref="ProfileKey"/> ("tenant/user", encoded).
/// Behavioral events arrive on the implicit stream <see cref="StreamNames.UserEventsNamespace"/>; the
/// direct calls here are for reads and for CRM and preference-centre writes.
/// </summary>
public interface IUserProfileGrain : IGrainWithStringKey
{
    /// <summary>
    /// The profile's read view as of <paramref name="asOf"/> (default: now), or null if the user is unknown. Windows,
    /// recency, staleness, dormancy, engagement and affinities are evaluated at that instant over the state as it is
    /// (windows leave out the days after it); the view is cached per state version and UTC day. Callers refuse a future
    /// <paramref name="asOf"/> (the gateway answers InvalidArgument).
    /// </summary>
    [AlwaysInterleave]
    Task<ProfileView?> GetViewAsync(DateTimeOffset? asOf = null);

    /// <summary>
    /// Applies the user's events from the log record at <paramref name="position"/> of log partition
    /// <paramref name="partition"/>; the state is written behind, and the log is told when it is durable.
    /// A record at or before the last position already applied changes nothing. When <paramref name="previous"/> is
    /// given (the position the log handed this profile before, and has not seen written), a profile that does not
    /// hold it refuses the record without applying it (its unwritten state was lost with a silo, or that call failed
    /// and may still arrive late), so that the log replays the gap in order instead.
    /// </summary>
    Task<LoggedApplyResult> ApplyLoggedAsync(EventBatch batch, int partition, long position, long? previous);

    /// <summary>
    /// Asks the profile to write what it holds unwritten now rather than at the end of its flush interval (its log
    /// partition has gone quiet). Does nothing when nothing is waiting, a write is already under way, or writes are
    /// failing (their back-off stands).
    /// </summary>
    [OneWay, AlwaysInterleave]
    Task WriteBehindNowAsync();

    /// <summary>
    /// Resets the profile's behavior to what <paramref name="events"/> (every event of the user, in log order) make of
    /// a new profile, keeping its creation time, then writes it durably. <paramref name="logEnd"/> is the last position of
    /// the user's log partition the caller has read: a profile that has already applied a later record answers false
    /// and changes nothing (the caller reads the log again). Records up to <paramref name="logEnd"/> are then skipped
    /// if the log hands them again. Attributes and preferences set directly (not by events) are kept apart and laid over
    /// the rebuilt profile; a canonical profile with merged members asks its identity grain to rebuild it from all of
    /// their events instead (docs/lake.md, docs/identity.md).
    /// </summary>
    Task<bool> RebuildAsync(Events.EventBatch events, long logEnd);

    /// <summary>Merges CRM demographics and traits; durably written before it returns the view as of now.</summary>
    Task<ProfileView> UpsertAttributesAsync(DemographicsUpdate update);

    /// <summary>Sets one explicit preference and/or consent flags; durably written before it returns the view as of now.</summary>
    Task<ProfileView> SetPreferencesAsync(PreferenceUpdate update);

    /// <summary>
    /// Sends the profile's feature vector, computed as of now, to its feature shard (through the same path as a change
    /// does), whether or not it moved: the shard asks when a windowed feature has passed the instant the profile gave
    /// for its next change (<see cref="FeatureUpdate.NextWindowChange"/>). Rare: about once per purchase day per user
    /// per year. Returns once the push is sent, not once the shard has taken it.
    /// </summary>
    Task RefreshFeaturesAsync();

    /// <summary>
    /// What the recommender's serving needs of the user: their item history, their personalization consent, the items
    /// they keep passing by, and (<paramref name="withTargeting"/>, when an experiment targets attributes) what
    /// targeting looks at.
    /// </summary>
    [AlwaysInterleave]
    Task<Recommendations.RecommendationInput> GetRecommendationInputAsync(bool withTargeting = false);

    /// <summary>
    /// Erasure: deletes the profile's stored record (not an emptied row: the row, whose key names the user, goes), drops
    /// what the activation holds and releases its log partition's checkpoint. Call only after the tenant's privacy
    /// ledger holds the erasure (<see cref="ITenantPrivacyGrain.BeginErasureAsync"/>), so that the log hands it none of
    /// the erased events again. Answers what the profile held that other stores key by (its anonymous ids, the lists
    /// it was shown).
    /// </summary>
    Task<ProfileErasure> EraseAsync();
}
