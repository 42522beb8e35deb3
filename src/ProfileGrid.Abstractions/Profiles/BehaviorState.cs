using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Profiles;

/// <summary>What the user does: counters, sessions, purchases, daily activity, engagement and interests.</summary>
[GenerateSerializer, Alias("pg.behavior")]
public sealed class BehaviorState
{
    /// <summary>Events applied, by kind.</summary>
    [Id(0)] public Dictionary<EventKind, long> EventCounts { get; set; } = [];

    /// <summary>Earliest event time seen.</summary>
    [Id(1)] public DateTimeOffset? FirstSeen { get; set; }

    /// <summary>Latest event time seen.</summary>
    [Id(2)] public DateTimeOffset? LastSeen { get; set; }

    /// <summary>Sessions ever counted, including those no longer in <see cref="RecentSessions"/>.</summary>
    [Id(3)] public long Sessions { get; set; }

    /// <summary>Sum of session lengths (first to last event of each session) over all <see cref="Sessions"/>.</summary>
    [Id(4)] public TimeSpan TotalSessionDuration { get; set; }

    /// <summary>The latest sessions as intervals of event time, ordered by start; bounded.</summary>
    [Id(5)] public List<SessionInterval> RecentSessions { get; set; } = [];

    /// <summary>
    /// The end of the newest session dropped from <see cref="RecentSessions"/>. Events at or before it
    /// (plus the session timeout) are taken to belong to sessions already counted.
    /// </summary>
    [Id(6)] public DateTimeOffset? ForgottenSessionsEnd { get; set; }

    /// <summary>Purchase events, whatever their currency.</summary>
    [Id(7)] public long Orders { get; set; }

    /// <summary>Order totals and counts per ISO 4217 currency, as paid.</summary>
    [Id(8)] public Dictionary<string, CurrencyTotal> MonetaryByCurrency { get; set; } = [];

    [Id(9)] public DateTimeOffset? FirstPurchaseAt { get; set; }

    [Id(10)] public DateTimeOffset? LastPurchaseAt { get; set; }

    /// <summary>Activity per UTC day, ordered by day, covering only the largest reporting window.</summary>
    [Id(11)] public List<DailyBucket> DailyBuckets { get; set; } = [];

    /// <summary>Exponentially decayed count of events, valued at <see cref="EngagementAsOf"/>.</summary>
    [Id(12)] public double EngagementScore { get; set; }

    /// <summary>The latest event time folded into <see cref="EngagementScore"/>.</summary>
    [Id(13)] public DateTimeOffset? EngagementAsOf { get; set; }

    /// <summary>Decayed, weighted interest per category, valued at <see cref="CategoryScoresAsOf"/>; bounded.</summary>
    [Id(14)] public Dictionary<string, double> CategoryScores { get; set; } = [];

    /// <summary>The latest event time folded into <see cref="CategoryScores"/>.</summary>
    [Id(15)] public DateTimeOffset? CategoryScoresAsOf { get; set; }

    /// <summary>
    /// The recent actions as objects, as rows written before <see cref="RecentActions"/> packed them hold them; empty once
    /// migrated (reading either property moves them into the log, so a row is never written back with them). An empty
    /// list rather than null, so that a silo of the previous release reading a new row sees no actions rather than a null.
    /// </summary>
    [Id(16)]
    public List<RecentAction> LegacyRecentActions
    {
        get
        {
            MigrateRecentActions();
            return _legacyRecentActions;
        }
        set => _legacyRecentActions = value ?? [];
    }

    /// <summary>The latest actions, ordered by event time (oldest first), packed; bounded.</summary>
    [Id(20)]
    public RecentActionLog RecentActions
    {
        get
        {
            MigrateRecentActions();
            return _recentActions;
        }
        set => _recentActions = value ?? new();
    }

    [NonSerialized] private List<RecentAction> _legacyRecentActions = [];
    [NonSerialized] private RecentActionLog _recentActions = new();

    /// <summary>Items added to carts (sum of quantities).</summary>
    [Id(17)] public long CartAdds { get; set; }

    /// <summary>Items removed from carts (sum of quantities).</summary>
    [Id(18)] public long CartRemoves { get; set; }

    [Id(19)] public long Searches { get; set; }

    /// <summary>
    /// What the user did with each item (product views, cart adds, purchased units' orders, their latest rating), keyed
    /// by product id; bounded in count and bytes (ProfileOptions.MaxItemsRemembered, ItemsMaxBytes; the items interacted with longest ago leave first).
    /// What the recommender trains on and filters by.
    /// </summary>
    [Id(21)] public Dictionary<string, ItemStats> Items { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Items forgotten from <see cref="Items"/> at its bound, and interactions with items older than every item there that
    /// were never recorded: what the recommender does not train on.
    /// </summary>
    [Id(22)] public long ItemsForgotten { get; set; }

    /// <summary>
    /// 32-bit hashes (<see cref="OwnedHash"/>) of the ids of items bought or rated that <see cref="Items"/> forgot, and of
    /// items given back by a refund without a purchase in <see cref="Items"/>, oldest first by
    /// <see cref="ForgottenOwnedLastUsed"/>; bounded (ProfileOptions.MaxForgottenOwned). Null when none. The recommender does
    /// not offer them again.
    /// </summary>
    [Id(23)] public List<uint>? ForgottenOwned { get; set; }

    /// <summary>
    /// When each item of <see cref="ForgottenOwned"/> was last used (Unix seconds, clamped to 0..uint.MaxValue, the year
    /// 2106; little-endian, four bytes each), in the same order, so that the bound lets the items used longest ago go
    /// whatever order the events came in. Null, or of another length, in a state written before it was kept: those items
    /// count as the oldest, in the order they were kept.
    /// </summary>
    [Id(24)] public byte[]? ForgottenOwnedLastUsed { get; set; }

    /// <summary>
    /// The currency <see cref="DailyBucket.Revenue"/> is kept in, as paid: that of the user's first order. Null in a state
    /// written before it was kept, whose buckets hold revenue converted to the reporting currency of the time (taken to be
    /// today's: <see cref="BucketRevenueCurrencyOr"/>); such a state names that currency at its next order.
    /// </summary>
    [Id(25)] public string? BucketRevenueCurrency { get; set; }

    /// <summary>The currency the daily buckets' <see cref="DailyBucket.Revenue"/> is in.</summary>
    public string BucketRevenueCurrencyOr(string reportingCurrency) => BucketRevenueCurrency ?? reportingCurrency;

    /// <summary>The hash an item id is kept by in <see cref="ForgottenOwned"/>.</summary>
    public static uint OwnedHash(string itemId) => (uint)EventIdWindow.Hash(itemId);

    private void MigrateRecentActions()
    {
        if (_legacyRecentActions.Count == 0)
        {
            return;
        }

        var legacy = _legacyRecentActions;
        _legacyRecentActions = [];
        foreach (var action in legacy)
        {
            _recentActions.Insert(action, int.MaxValue);
        }

        _recentActions.TrimExcess();
    }
}

/// <summary>One session: the event-time span from its first to its last event.</summary>
[GenerateSerializer, Alias("pg.session")]
public sealed class SessionInterval
{
    [Id(0)] public DateTimeOffset Start { get; set; }

    [Id(1)] public DateTimeOffset End { get; set; }

    /// <summary>True when a session_start event opened it: earlier events may then not join it.</summary>
    [Id(2)] public bool StartedExplicitly { get; set; }
}

/// <summary>What the user spent in one currency.</summary>
[GenerateSerializer, Alias("pg.currency-total")]
public sealed class CurrencyTotal
{
    [Id(0)] public decimal Amount { get; set; }

    [Id(1)] public long Orders { get; set; }

    /// <summary>Refunds (cancellations, returns) in this currency; the user's revenue is Amount less this, at least zero.</summary>
    [Id(2)] public decimal Refunded { get; set; }

    /// <summary>What the user spent net of refunds, never below zero (a refund may name an order from before the history).</summary>
    public decimal Net => Math.Max(0m, Amount - Refunded);
}

/// <summary>Activity of one UTC day: the building block of the sliding 30/90/365-day windows.</summary>
[GenerateSerializer, Alias("pg.day")]
public sealed class DailyBucket
{
    /// <summary>Days since 1970-01-01 (UTC).</summary>
    [Id(0)] public int Day { get; set; }

    [Id(1)] public long Events { get; set; }

    [Id(2)] public long Orders { get; set; }

    /// <summary>
    /// Revenue of the day's orders in <see cref="BehaviorState.BucketRevenueCurrency"/>, as paid (converted when read, as the
    /// all-time revenue is, so that a change of reporting currency or rates moves both alike).
    /// </summary>
    [Id(3)] public decimal Revenue { get; set; }

    /// <summary>Sessions that started on this day.</summary>
    [Id(4)] public long Sessions { get; set; }

    /// <summary>
    /// Refunds of this day in the reporting currency, converted when the refund was applied: written by releases before
    /// <see cref="RefundedByCurrency"/>, and taken off the windows as they are (such days leave the longest window
    /// within a year).
    /// </summary>
    [Id(5)] public decimal Refunded { get; set; }

    /// <summary>
    /// Refunds of this day per currency, as refunded (null on days without refunds). A window takes off the share of
    /// them that matches money the user paid in that currency, as the all-time revenue does (ProfileMetrics.Windows).
    /// </summary>
    [Id(6)] public Dictionary<string, decimal>? RefundedByCurrency { get; set; }

    /// <summary>Revenue of the day's orders in currencies other than <see cref="BehaviorState.BucketRevenueCurrency"/>, as paid (null on most days).</summary>
    [Id(7)] public Dictionary<string, decimal>? RevenueByCurrency { get; set; }
}

/// <summary>A user's interactions with one item, as counts: weighed by the recommender's training, not here.</summary>
[GenerateSerializer, Alias("pg.item-stats")]
public sealed class ItemStats
{
    [Id(0)] public int Views { get; set; }

    [Id(1)] public int CartAdds { get; set; }

    /// <summary>Orders that contained the item (not units).</summary>
    [Id(2)] public int Purchases { get; set; }

    /// <summary>The latest explicit rating (by event time), or null.</summary>
    [Id(3)] public double? Rating { get; set; }

    /// <summary>The event time of the latest interaction of any kind.</summary>
    [Id(4)] public DateTimeOffset LastAt { get; set; }

    /// <summary>The event time of <see cref="Rating"/>, so that a late-arriving older rating does not replace a newer one.</summary>
    [Id(5)] public DateTimeOffset? RatedAt { get; set; }
}

/// <summary>One entry of the recent-actions sequence (stored packed in a <see cref="RecentActionLog"/>, which decodes it into this).</summary>
[GenerateSerializer, Alias("pg.recent-action")]
public sealed class RecentAction
{
    [Id(0)] public string EventId { get; set; } = "";

    [Id(1)] public EventKind Kind { get; set; }

    [Id(2)] public DateTimeOffset OccurredAt { get; set; }

    [Id(3)] public string? ProductId { get; set; }

    [Id(4)] public string? Category { get; set; }

    /// <summary>
    /// A short, kind-specific detail: the page URL without query or fragment, the search query, the order id,
    /// the preference key or the custom event name. Truncated to a bounded length.
    /// </summary>
    [Id(5)] public string? Detail { get; set; }

}
