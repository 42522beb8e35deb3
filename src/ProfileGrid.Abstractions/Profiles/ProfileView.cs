using System.Collections.Immutable;
using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// One user's profile as of <see cref="AsOf"/>, read-only: what reads return. Built by the profile grain from its
/// state (<c>ProfileGrid.Domain.ProfileViews.Build</c>) and kept until the state changes, so a read copies nothing and
/// recomputes nothing; being immutable, Orleans passes it by reference within a silo.
/// </summary>
/// <remarks>
/// Unknown values are null (or absent from a collection), never a sentinel. Figures that depend on the UTC day
/// (the windows) are computed when the view is built, for the day of <see cref="AsOf"/>; figures that change with
/// every instant (recency, staleness, dormancy, age band, engagement velocity, category affinities) are properties
/// computed from absolute times, so <see cref="At"/> moves a view to another instant of the same day for the price
/// of one small copy.
/// </remarks>
[GenerateSerializer, Immutable, Alias("pg.profile-view")]
public sealed record ProfileView
{
    [Id(0)] public string Tenant { get; init; } = "";

    [Id(1)] public string UserId { get; init; } = "";

    /// <summary>Least recently seen first.</summary>
    [Id(2)] public ImmutableArray<string> AnonymousIds { get; init; } = [];

    /// <summary>When the profile first changed (processing time); null until then.</summary>
    [Id(3)] public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When the profile last changed (processing time); null until then.</summary>
    [Id(4)] public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>The instant the derived figures are evaluated at.</summary>
    [Id(5)] public DateTimeOffset AsOf { get; init; }

    /// <summary>The UTC day (days since 1970-01-01) the windows were computed for: the day of <see cref="AsOf"/>.</summary>
    [Id(6)] public int WindowsDay { get; init; }

    /// <summary>Distinct events applied (replays excluded).</summary>
    [Id(7)] public long EventsApplied { get; init; }

    [Id(8)] public DemographicsView Demographics { get; init; } = new();

    [Id(9)] public BehaviorView Behavior { get; init; } = new();

    [Id(10)] public PreferencesView Preferences { get; init; } = new();

    [Id(11)] public ContextView Context { get; init; } = new();

    /// <summary>Share (0..1, 4 decimals) of the completeness fields that are known.</summary>
    [Id(12)] public double Completeness { get; init; }

    /// <summary>The completeness fields still unknown: what enrichment could ask for next.</summary>
    [Id(13)] public ImmutableArray<string> MissingFields { get; init; } = [];

    /// <summary>The setting the view was built with: a profile whose last event is older than this is dormant.</summary>
    [Id(14)] public TimeSpan DormantAfter { get; init; }

    /// <summary>Half-life of engagement velocity and category affinities, as configured when the view was built.</summary>
    [Id(15)] public TimeSpan EngagementHalfLife { get; init; }

    /// <summary>Recommendation lists shown and clicked, and what was credited to them.</summary>
    [Id(16)] public FeedbackView Feedback { get; init; } = new();

    /// <summary>The canonical profile this one is merged into (docs/identity.md); null when it stands on its own.</summary>
    [Id(17)] public string? MergedInto { get; init; }

    /// <summary>
    /// Days since the last event (4 decimals); 0 when it is dated at most <see cref="ClockAheadTolerance"/> after
    /// <see cref="AsOf"/>; null when there was none, or when the last event the profile knows lies later (the state
    /// keeps only the latest, so the one before is not known).
    /// </summary>
    public double? StalenessDays => DaysSince(Behavior.LastSeen);

    /// <summary>
    /// Days since the last purchase (4 decimals); 0 when it is dated at most <see cref="ClockAheadTolerance"/> after
    /// <see cref="AsOf"/>; null when there was none, or when it lies later.
    /// </summary>
    public double? RecencyDays => DaysSince(Behavior.LastPurchaseAt);

    /// <summary>
    /// True when the last event is older than <see cref="DormantAfter"/>; a profile without events, or whose last event
    /// lies after <see cref="AsOf"/>, is not dormant.
    /// </summary>
    public bool Dormant => Behavior.LastSeen is { } last && AsOf - last > DormantAfter;

    /// <summary>
    /// under_18, 18_24, 25_34, 35_44, 45_54, 55_64 or 65_plus; null when the birth year is missing or implausible.
    /// Age is the difference of calendar years, so it can be one year ahead before the birthday.
    /// </summary>
    public string? AgeBand => AgeBandOf(Demographics.BirthYear, AsOf);

    /// <summary>
    /// Exponentially weighted events per day as of <see cref="AsOf"/> (4 decimals); 0 without events; null when the
    /// score holds events dated after <see cref="AsOf"/> (beyond <see cref="ClockAheadTolerance"/>), which a decayed sum
    /// cannot take back out: absent rather than a figure that counts the future (probe57).
    /// </summary>
    public double? EngagementVelocity => Behavior.EngagementAsOf is not { } basis ? 0
        : basis - AsOf > ClockAheadTolerance ? null
        : Math.Round(Behavior.EngagementScore * Decay.Factor(AsOf - basis, EngagementHalfLife) * Decay.RatePerDay(EngagementHalfLife), 4);

    /// <summary>
    /// What the stored category scores (<see cref="BehaviorView.CategoryAffinities"/>, valued at
    /// <see cref="BehaviorView.CategoryScoresAsOf"/>) are multiplied by to value them at <see cref="AsOf"/>.
    /// </summary>
    public double AffinityFactor => Behavior.CategoryScoresAsOf is { } basis ? Decay.Factor(AsOf - basis, EngagementHalfLife) : 1d;

    /// <summary>
    /// The affinity scores as of <see cref="AsOf"/> (4 decimals), strongest first; none when the scores hold events dated
    /// after <see cref="AsOf"/> (beyond <see cref="ClockAheadTolerance"/>), as for <see cref="EngagementVelocity"/>.
    /// </summary>
    public IEnumerable<CategoryAffinity> CategoryAffinities()
    {
        if (Behavior.CategoryScoresAsOf is { } basis && basis - AsOf > ClockAheadTolerance)
        {
            yield break;
        }

        var factor = AffinityFactor;
        foreach (var affinity in Behavior.CategoryAffinities)
        {
            yield return affinity with { Score = Math.Round(affinity.Score * factor, 4) };
        }
    }

    /// <summary>True when <see cref="At"/> can move this view to <paramref name="asOf"/>: the same UTC day.</summary>
    public bool Covers(DateTimeOffset asOf) => DayOf(asOf) == WindowsDay;

    /// <summary>This view evaluated at <paramref name="asOf"/>, an instant of the same UTC day (see <see cref="Covers"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The instant falls on another UTC day, whose windows differ.</exception>
    public ProfileView At(DateTimeOffset asOf)
    {
        if (!Covers(asOf))
        {
            throw new ArgumentOutOfRangeException(nameof(asOf), asOf, $"The view's windows are for UTC day {WindowsDay}; build a new view for another day.");
        }

        return asOf == AsOf ? this : this with { AsOf = asOf };
    }

    /// <summary>Days since 1970-01-01 (UTC) of <paramref name="time"/>.</summary>
    public static int DayOf(DateTimeOffset time) => (int)Math.Floor((time.UtcDateTime - DateTime.UnixEpoch).TotalDays);

    /// <summary>The age band of <paramref name="birthYear"/> at <paramref name="asOf"/>; see <see cref="AgeBand"/>.</summary>
    public static string? AgeBandOf(int? birthYear, DateTimeOffset asOf)
    {
        if (birthYear is not { } year)
        {
            return null;
        }

        return (asOf.UtcDateTime.Year - year) switch
        {
            < 0 or > 120 => null,
            < 18 => "under_18",
            < 25 => "18_24",
            < 35 => "25_34",
            < 45 => "35_44",
            < 55 => "45_54",
            < 65 => "55_64",
            _ => "65_plus",
        };
    }

    /// <summary>
    /// How far after <see cref="AsOf"/> an event may be dated and still count as at it: a sender's clock runs ahead of
    /// the grid's by up to the gateway's default future skew, and its purchase "in 2 minutes" was made now.
    /// </summary>
    public static readonly TimeSpan ClockAheadTolerance = TimeSpan.FromMinutes(5);

    private double? DaysSince(DateTimeOffset? time) => time switch
    {
        { } t when t <= AsOf => Math.Round((AsOf - t).TotalDays, 4),
        { } t when t - AsOf <= ClockAheadTolerance => 0,
        _ => null,
    };
}

/// <summary>Who the user is. Null = unknown.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.demographics")]
public sealed record DemographicsView
{
    [Id(0)] public int? BirthYear { get; init; }

    /// <summary>Null when unknown.</summary>
    [Id(1)] public Gender? Gender { get; init; }

    /// <summary>ISO 3166-1 alpha-2.</summary>
    [Id(2)] public string? Country { get; init; }

    /// <summary>ISO 639-1.</summary>
    [Id(3)] public string? Language { get; init; }

    [Id(4)] public string? City { get; init; }

    /// <summary>CRM traits, keys in ordinal order.</summary>
    [Id(5)] public ImmutableArray<KeyValuePair<string, string>> Traits { get; init; } = [];

    [Id(6)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>What the user does: counters, sessions, money, windows, engagement, interests and recent actions.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.behavior")]
public sealed record BehaviorView
{
    /// <summary>Events by snake_case kind, every kind present, names in ordinal order.</summary>
    [Id(0)] public ImmutableArray<KeyValuePair<string, long>> EventCounts { get; init; } = [];

    [Id(1)] public DateTimeOffset? FirstSeen { get; init; }

    [Id(2)] public DateTimeOffset? LastSeen { get; init; }

    [Id(3)] public long Sessions { get; init; }

    /// <summary>Mean session length in minutes (4 decimals); null without sessions.</summary>
    [Id(4)] public double? AverageSessionMinutes { get; init; }

    [Id(5)] public long Orders { get; init; }

    /// <summary>All revenue in the reporting currency; orders in currencies without a rate add nothing.</summary>
    [Id(6)] public Money Monetary { get; init; }

    /// <summary>Revenue per priced order in the reporting currency; null without orders in a currency that has a rate.</summary>
    [Id(7)] public Money? AverageOrderValue { get; init; }

    /// <summary>Revenue as paid, one entry per currency, in ordinal order of the code.</summary>
    [Id(8)] public ImmutableArray<Money> MonetaryByCurrency { get; init; } = [];

    [Id(9)] public DateTimeOffset? FirstPurchaseAt { get; init; }

    [Id(10)] public DateTimeOffset? LastPurchaseAt { get; init; }

    /// <summary>"all", then each configured window, shortest first, ending with the UTC day <see cref="ProfileView.WindowsDay"/>.</summary>
    [Id(11)] public ImmutableArray<RfmWindow> Windows { get; init; } = [];

    /// <summary>Decayed event count, valued at <see cref="EngagementAsOf"/>; see <see cref="ProfileView.EngagementVelocity"/>.</summary>
    [Id(12)] public double EngagementScore { get; init; }

    [Id(13)] public DateTimeOffset? EngagementAsOf { get; init; }

    /// <summary>
    /// Categories with a positive score valued at <see cref="CategoryScoresAsOf"/>, strongest first (ties by name);
    /// <see cref="ProfileView.CategoryAffinities"/> values them at the view's instant (one common factor, same order).
    /// </summary>
    [Id(14)] public ImmutableArray<CategoryAffinity> CategoryAffinities { get; init; } = [];

    [Id(15)] public DateTimeOffset? CategoryScoresAsOf { get; init; }

    /// <summary>Oldest first, ordered by event time.</summary>
    [Id(16)] public ImmutableArray<RecentActionView> RecentActions { get; init; } = [];

    /// <summary>Items added to carts (sum of quantities).</summary>
    [Id(17)] public long CartAdds { get; init; }

    /// <summary>Items removed from carts (sum of quantities).</summary>
    [Id(18)] public long CartRemoves { get; init; }

    [Id(19)] public long Searches { get; init; }
}

/// <summary>Recency, frequency and monetary value over one window.</summary>
/// <param name="Window">"all", or the window length such as "30d".</param>
/// <param name="Days">The window length in UTC days (today included); null for "all".</param>
/// <param name="Revenue">In the reporting currency; orders in currencies without a rate add nothing.</param>
/// <param name="Partial">
/// The window reaches back before the daily activity the profile keeps (its longest window, back from its newest event)
/// and the user was active before then: its counts miss those days.
/// </param>
[GenerateSerializer, Immutable, Alias("pg.rfm-window")]
public sealed record RfmWindow(
    [property: Id(0)] string Window,
    [property: Id(1)] int? Days,
    [property: Id(2)] long Orders,
    [property: Id(3)] Money Revenue,
    [property: Id(4)] long Events,
    [property: Id(5)] long Sessions,
    [property: Id(6)] bool Partial = false);

/// <summary>A category and the user's decayed, weighted interest in it (higher is stronger).</summary>
[GenerateSerializer, Immutable, Alias("pg.category-affinity")]
public sealed record CategoryAffinity([property: Id(0)] string Category, [property: Id(1)] double Score);

/// <summary>One entry of the recent-actions sequence; null = the event did not carry it.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.recent-action")]
public sealed record RecentActionView(
    [property: Id(0)] string EventId,
    [property: Id(1)] EventKind Type,
    [property: Id(2)] DateTimeOffset OccurredAt,
    [property: Id(3)] string? ProductId,
    [property: Id(4)] string? Category,
    [property: Id(5)] string? Detail);

/// <summary>Explicit preferences and consent flags (null = never answered).</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.preferences")]
public sealed record PreferencesView
{
    /// <summary>Keys in ordinal order.</summary>
    [Id(0)] public ImmutableArray<KeyValuePair<string, string>> Values { get; init; } = [];

    [Id(1)] public bool? EmailOptIn { get; init; }

    [Id(2)] public bool? SmsOptIn { get; init; }

    [Id(3)] public bool? PersonalizationOptIn { get; init; }

    [Id(4)] public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>Last known device, channel and place (null = never seen), and how events spread over channels, devices and UTC hours.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.context")]
public sealed record ContextView
{
    [Id(0)] public DeviceType? LastDevice { get; init; }

    [Id(1)] public Channel? LastChannel { get; init; }

    [Id(2)] public string? LastCountry { get; init; }

    [Id(3)] public string? LastLocale { get; init; }

    [Id(4)] public string? LastUserAgent { get; init; }

    /// <summary>Events by snake_case channel, every channel present, names in ordinal order.</summary>
    [Id(5)] public ImmutableArray<KeyValuePair<string, long>> ChannelMix { get; init; } = [];

    /// <summary>Events by snake_case device type, every type present, names in ordinal order.</summary>
    [Id(6)] public ImmutableArray<KeyValuePair<string, long>> DeviceMix { get; init; } = [];

    /// <summary>Events per UTC hour of day, 24 entries.</summary>
    [Id(7)] public ImmutableArray<long> HourOfDay { get; init; } = [];
}

/// <summary>The feedback layer as a user and a marketer read it.</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.feedback")]
public sealed record FeedbackView
{
    /// <summary>Distinct lists shown.</summary>
    [Id(0)] public long Impressions { get; init; }

    [Id(1)] public long ItemsShown { get; init; }

    /// <summary>Distinct clicks (an item clicked twice in one list counts once).</summary>
    [Id(2)] public long Clicks { get; init; }

    /// <summary>Clicks per list shown (4 decimals); null before any impression.</summary>
    [Id(3)] public double? ClickThroughRate { get; init; }

    [Id(4)] public long AttributedCartAdds { get; init; }

    [Id(5)] public long AttributedPurchases { get; init; }

    /// <summary>Revenue of the attributed purchase lines per currency, ordered by code.</summary>
    [Id(6)] public ImmutableArray<Money> AttributedRevenue { get; init; } = [];

    /// <summary>Items shown most often since their last click (or ever, if never clicked), most ignored first; at most 10.</summary>
    [Id(7)] public ImmutableArray<IgnoredItem> MostIgnored { get; init; } = [];

    /// <summary>The latest lists, newest first; at most 5.</summary>
    [Id(8)] public ImmutableArray<ShownListView> RecentLists { get; init; } = [];

    /// <summary>The experiments the user was exposed to, by number, with their variant and outcome.</summary>
    [Id(9)] public ImmutableArray<ExperimentOutcomeView> Experiments { get; init; } = [];
}

/// <summary>A user's outcome in one experiment (see the profile's feedback layer).</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.experiment-outcome")]
public sealed record ExperimentOutcomeView(
    [property: Id(0)] int Experiment,
    [property: Id(1)] int Variant,
    [property: Id(2)] DateTimeOffset FirstExposedAt,
    [property: Id(3)] long Impressions,
    [property: Id(4)] long Clicks,
    [property: Id(5)] long CartAdds,
    [property: Id(6)] long Purchases,
    [property: Id(7)] Money Revenue);

[GenerateSerializer, Immutable, Alias("pg.profile-view.ignored-item")]
public sealed record IgnoredItem([property: Id(0)] string ItemId, [property: Id(1)] int ShownSinceClick, [property: Id(2)] DateTimeOffset LastShownAt);

[GenerateSerializer, Immutable, Alias("pg.profile-view.shown-list")]
public sealed record ShownListView(
    [property: Id(0)] string RecommendationId,
    [property: Id(1)] string? Slot,
    [property: Id(2)] DateTimeOffset? ShownAt,
    [property: Id(3)] int ItemsShown,
    [property: Id(4)] ImmutableArray<ClickView> Clicks,
    [property: Id(5)] int Conversions);

/// <summary>A click of a list: the item and its 1-based position (0: not known).</summary>
[GenerateSerializer, Immutable, Alias("pg.profile-view.click")]
public sealed record ClickView([property: Id(0)] string ItemId, [property: Id(1)] int Position, [property: Id(2)] DateTimeOffset At);
