namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// One user's layered profile: the grain's persistent state and the snapshot it returns.
/// </summary>
/// <remarks>
/// Persisted as JSON by the grain storage (Newtonsoft) and copied by Orleans, so every layer is a plain
/// mutable class with public get/set properties, parameterless constructors and concrete collections.
/// Every collection is bounded by <c>ProfileOptions</c>, so the stored row stays small however many
/// events the user sends. Derived views (age band, windows, completeness, staleness) are not stored:
/// they are computed as of a time by <c>ProfileGrid.Domain.ProfileMetrics</c>. All times are UTC.
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

    /// <summary>A copy that shares no mutable object with this profile, safe to hand to callers.</summary>
    public UserProfile DeepCopy() => DeepCopy(includeRecentEventIds: true);

    /// <summary>
    /// A copy that shares nothing with this profile. Readers leave out the dedupe windows (event and order ids): they
    /// are bookkeeping, the largest part of the state, and would only make every snapshot sent between silos heavier.
    /// </summary>
    public UserProfile DeepCopy(bool includeRecentEventIds) => new()
    {
        Tenant = Tenant,
        UserId = UserId,
        AnonymousIds = [.. AnonymousIds],
        CreatedAt = CreatedAt,
        UpdatedAt = UpdatedAt,
        EventsApplied = EventsApplied,
        Demographics = Demographics.DeepCopy(),
        Behavior = Behavior.DeepCopy(),
        Preferences = Preferences.DeepCopy(),
        Context = Context.DeepCopy(),
        RecentEventIds = includeRecentEventIds ? RecentEventIds.DeepCopy() : new EventIdWindow(),
        RecentOrderIds = includeRecentEventIds ? RecentOrderIds.DeepCopy() : new EventIdWindow(),
    };
}
