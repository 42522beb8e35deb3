using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

// The JSON document view of a profile (see ProfileJson). It mirrors profilegrid.v1.Profile field for field and is
// built from the same ProfileView, so the REST view, the protobuf view and exports agree. Null = unknown, and the
// serializer leaves nulls out: a field that is not there is not known.

/// <summary>The whole profile as a document, derived fields evaluated as of <see cref="AsOf"/>.</summary>
public sealed record ProfileDocument
{
    public required string Tenant { get; init; }
    public required string UserId { get; init; }
    public required IReadOnlyList<string> AnonymousIds { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    public required DateTimeOffset AsOf { get; init; }
    /// <summary>Distinct events applied (replays excluded).</summary>
    public required long EventsApplied { get; init; }
    public required DemographicsDocument Demographics { get; init; }
    public required BehaviorDocument Behavior { get; init; }
    public required PreferencesDocument Preferences { get; init; }
    public required ContextDocument Context { get; init; }
    /// <summary>Recommendation lists shown and clicked; null (left out) until the first impression or click.</summary>
    public FeedbackView? Feedback { get; init; }
    /// <summary>Share (0..1) of <see cref="ProfileMetrics.CompletenessFields"/> that are known.</summary>
    public required double Completeness { get; init; }
    /// <summary>The completeness fields still unknown.</summary>
    public required IReadOnlyList<string> MissingFields { get; init; }
    /// <summary>Days since the last event; null when there was none.</summary>
    public double? StalenessDays { get; init; }
    public required bool Dormant { get; init; }
}

/// <summary>Who the user is, with the age band derived from the birth year.</summary>
public sealed record DemographicsDocument
{
    /// <summary>under_18, 18_24, 25_34, 35_44, 45_54, 55_64 or 65_plus; null when the birth year is unknown.</summary>
    public string? AgeBand { get; init; }
    public int? BirthYear { get; init; }
    public Gender? Gender { get; init; }
    public string? Country { get; init; }
    public string? Language { get; init; }
    public string? City { get; init; }
    public required IReadOnlyDictionary<string, string> Traits { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>What the user does: counters, sessions, RFM over windows, engagement, interests and recent actions.</summary>
public sealed record BehaviorDocument
{
    /// <summary>Events by snake_case kind, every kind present.</summary>
    public required IReadOnlyDictionary<string, long> EventCounts { get; init; }
    public DateTimeOffset? FirstSeen { get; init; }
    public DateTimeOffset? LastSeen { get; init; }
    public required long Sessions { get; init; }
    /// <summary>Null without sessions.</summary>
    public double? AverageSessionMinutes { get; init; }
    public required long Orders { get; init; }
    /// <summary>All revenue in the reporting currency.</summary>
    public required Money Monetary { get; init; }
    /// <summary>Null without orders in a currency that has a rate.</summary>
    public Money? AverageOrderValue { get; init; }
    /// <summary>Revenue as paid, one entry per currency.</summary>
    public required IReadOnlyList<Money> MonetaryByCurrency { get; init; }
    public DateTimeOffset? FirstPurchaseAt { get; init; }
    public DateTimeOffset? LastPurchaseAt { get; init; }
    /// <summary>Days since the last purchase; null when there was none.</summary>
    public double? RecencyDays { get; init; }
    /// <summary>"all", then each window (e.g. 30d, 90d, 365d).</summary>
    public required IReadOnlyList<RfmWindow> Windows { get; init; }
    /// <summary>Exponentially weighted events per day; null as of an instant before events the score holds.</summary>
    public required double? EngagementVelocity { get; init; }
    /// <summary>Strongest first.</summary>
    public required IReadOnlyList<CategoryAffinity> CategoryAffinities { get; init; }
    /// <summary>Oldest first, ordered by event time.</summary>
    public required IReadOnlyList<RecentActionDocument> RecentActions { get; init; }
    /// <summary>Items added to carts (sum of quantities).</summary>
    public required long CartAdds { get; init; }
    /// <summary>Items removed from carts (sum of quantities).</summary>
    public required long CartRemoves { get; init; }
    public required long Searches { get; init; }
}

/// <summary>One entry of the recent-actions sequence.</summary>
public sealed record RecentActionDocument(
    string EventId,
    EventKind Type,
    DateTimeOffset OccurredAt,
    string? ProductId,
    string? Category,
    string? Detail);

/// <summary>Explicit preferences and consent flags (null = never answered).</summary>
public sealed record PreferencesDocument
{
    public required IReadOnlyDictionary<string, string> Values { get; init; }
    public bool? EmailOptIn { get; init; }
    public bool? SmsOptIn { get; init; }
    public bool? PersonalizationOptIn { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>Last known device, channel and place, and how the user's events spread over channels, devices and UTC hours.</summary>
public sealed record ContextDocument
{
    public DeviceType? LastDevice { get; init; }
    public Channel? LastChannel { get; init; }
    public string? LastCountry { get; init; }
    public string? LastLocale { get; init; }
    public string? LastUserAgent { get; init; }
    /// <summary>Events by snake_case channel, every channel present.</summary>
    public required IReadOnlyDictionary<string, long> ChannelMix { get; init; }
    /// <summary>Events by snake_case device type, every type present.</summary>
    public required IReadOnlyDictionary<string, long> DeviceMix { get; init; }
    /// <summary>Events per UTC hour of day, 24 entries.</summary>
    public required IReadOnlyList<long> HourOfDay { get; init; }
}
