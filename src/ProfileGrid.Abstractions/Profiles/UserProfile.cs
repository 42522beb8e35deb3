namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// One user's layered profile: the grain's persistent state. Reads get a <see cref="ProfileView"/> built from it.
/// </summary>
/// <remarks>
/// Persisted by the grain storage and never handed out: every layer is a plain mutable class with public get/set
/// properties, parameterless constructors and concrete collections, changed in place by the updater.
/// Every collection is bounded by <c>ProfileOptions</c>, so the stored row stays small however many
/// events the user sends. Derived figures (age band, windows, completeness, staleness) are not stored:
/// they are computed as of a time into the <see cref="ProfileView"/> by <c>ProfileGrid.Domain.ProfileViews</c>. All times are UTC.
/// Update it only through <c>ProfileGrid.Domain.ProfileUpdater</c>, which keeps the layers consistent.
/// </remarks>
[GenerateSerializer, Alias("pg.profile")]
public sealed class UserProfile
{
    [Id(0)] public string Tenant { get; set; } = "";

    [Id(1)] public string UserId { get; set; } = "";

    /// <summary>Anonymous ids seen for this user, least recently seen first; bounded.</summary>
    [Id(2)] public List<string> AnonymousIds { get; set; } = [];

    /// <summary>When the profile first changed (processing time); default until then.</summary>
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the profile last changed (processing time).</summary>
    [Id(4)] public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Distinct events applied; replays of a remembered event id are not counted.</summary>
    [Id(5)] public long EventsApplied { get; set; }

    [Id(6)] public DemographicsState Demographics { get; set; } = new();

    [Id(7)] public BehaviorState Behavior { get; set; } = new();

    [Id(8)] public PreferencesState Preferences { get; set; } = new();

    [Id(9)] public ContextState Context { get; set; } = new();

    /// <summary>The ids of the most recent events applied: the dedupe window that makes replays harmless.</summary>
    [Id(10)] public EventIdWindow RecentEventIds { get; set; } = new();

    /// <summary>
    /// The order ids of the most recent purchases applied: the same order reported again under another event id (web
    /// and CRM) is a duplicate, so its amount counts once.
    /// </summary>
    [Id(11)] public EventIdWindow RecentOrderIds { get; set; } = new();

    /// <summary>Recommendation lists shown and clicked, and the conversions attributed to them.</summary>
    [Id(12)] public FeedbackState Feedback { get; set; } = new();

    /// <summary>
    /// The most recent parts (order id and part number) of orders sent in parts, <see cref="PurchaseInfo.MaxParts"/> of
    /// them, at least every part of the latest such order: apart from <see cref="RecentOrderIds"/>, so that an order of
    /// many parts takes one place among the orders remembered, not one per part (probe54: the 1,000 parts of one order
    /// pushed its own "sent in parts" mark out).
    /// </summary>
    [Id(13)] public EventIdWindow RecentOrderParts { get; set; } = new();
}
