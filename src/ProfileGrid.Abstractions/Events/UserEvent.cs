namespace ProfileGrid.Abstractions.Events;

/// <summary>
/// A validated behavioral event on its way to a profile. Immutable; <see cref="EventId"/> makes it idempotent.
/// Built by the gateway from the wire message after validation, so every field here is already well-formed.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.event")]
public sealed record UserEvent
{
    [Id(0)] public required string EventId { get; init; }
    [Id(1)] public required EventKind Kind { get; init; }
    [Id(2)] public required string Tenant { get; init; }
    /// <summary>The profile key's user part: the user id, or "anon:" + the anonymous id.</summary>
    [Id(3)] public required string UserId { get; init; }
    [Id(4)] public string? AnonymousId { get; init; }
    [Id(5)] public required DateTimeOffset OccurredAt { get; init; }
    [Id(6)] public Channel Source { get; init; }
    [Id(7)] public EventContext? Context { get; init; }
    [Id(8)] public PageInfo? Page { get; init; }
    [Id(9)] public ProductInfo? Product { get; init; }
    [Id(10)] public SearchInfo? Search { get; init; }
    [Id(11)] public PurchaseInfo? Purchase { get; init; }
    [Id(12)] public DemographicsUpdate? Identify { get; init; }
    [Id(13)] public PreferenceUpdate? Preference { get; init; }
    [Id(14)] public CustomInfo? Custom { get; init; }

    /// <summary>A rating event's value (its product is in <see cref="Product"/>); null for every other kind.</summary>
    [Id(15)] public double? Rating { get; init; }

    /// <summary>An impression's or a click's list and items; null for every other kind.</summary>
    [Id(16)] public FeedbackInfo? Feedback { get; init; }

    /// <summary>A refund's id, order, lines or amount; null for every other kind.</summary>
    [Id(17)] public RefundInfo? Refund { get; init; }

    /// <summary>
    /// An identify event's identifiers (email and phone only as keyed hashes). Read by the gateway's identity claims and
    /// taken off the event before it is recorded: neither the log, the lake nor a profile holds them.
    /// </summary>
    [Id(18)] public EventIdentifiers? Identifiers { get; init; }

    /// <summary>
    /// What the profile recognises a repeat of this event by, when not its <see cref="EventId"/>: a merged member's event
    /// in its canonical profile carries its member here (event ids are unique per user, not per tenant). Set only
    /// when the event is applied for a member; never logged.
    /// </summary>
    [Id(19)] public string? DedupeId { get; init; }
}

/// <summary>The identifiers of an identify event, as the identity graph keeps them (docs/identity.md).</summary>
[GenerateSerializer, Immutable, Alias("pg.event-identifiers")]
public sealed record EventIdentifiers
{
    /// <summary>Keyed SHA-256 (hex) of the normalised email; null when none was sent.</summary>
    [Id(0)] public string? EmailHash { get; init; }

    /// <summary>Keyed SHA-256 (hex) of the normalised phone number; null when none was sent.</summary>
    [Id(1)] public string? PhoneHash { get; init; }

    /// <summary>The CRM id as sent (trimmed); null when none was sent.</summary>
    [Id(2)] public string? CrmId { get; init; }
}

/// <summary>
/// A cancellation or return: <see cref="Amount"/> when given, else the sum of <see cref="Lines"/>, in
/// <see cref="Currency"/>. <see cref="OrderId"/> names the original order when known (it may predate the history).
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.refund")]
public sealed record RefundInfo
{
    /// <summary>The refund's own id (e.g. the credit note or cancelling invoice); a second refund under it is a repeat.</summary>
    [Id(0)] public required string RefundId { get; init; }
    [Id(1)] public string? OrderId { get; init; }
    /// <summary>ISO 4217, upper case.</summary>
    [Id(2)] public required string Currency { get; init; }
    /// <summary>The lines given back, quantities positive; may be empty when <see cref="Amount"/> is set.</summary>
    [Id(3)] public IReadOnlyList<PurchaseLine> Lines { get; init; } = [];
    /// <summary>The refunded total when the source states it; null: the lines' total.</summary>
    [Id(4)] public decimal? Amount { get; init; }

    public decimal Total => Amount ?? Lines.Sum(l => l.UnitPrice * l.Quantity);
}

/// <summary>
/// Feedback on a served recommendation list: for an impression the items shown in order (position 1 first), for a
/// click the item clicked and, when the client knows it, its 1-based position.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.feedback")]
public sealed record FeedbackInfo
{
    [Id(0)] public required string RecommendationId { get; init; }
    [Id(1)] public string? Slot { get; init; }
    /// <summary>Impression: the items shown, distinct, in order. Empty for a click.</summary>
    [Id(2)] public IReadOnlyList<string> ItemIds { get; init; } = [];
    /// <summary>Click: the item clicked. Null for an impression.</summary>
    [Id(3)] public string? ItemId { get; init; }
    /// <summary>Click: the 1-based position the client reported, if any.</summary>
    [Id(4)] public int? Position { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.event-context")]
public sealed record EventContext
{
    [Id(0)] public DeviceType Device { get; init; }
    [Id(1)] public string? UserAgent { get; init; }
    /// <summary>ISO 3166-1 alpha-2, upper case.</summary>
    [Id(2)] public string? Country { get; init; }
    [Id(3)] public string? Region { get; init; }
    [Id(4)] public string? City { get; init; }
    [Id(5)] public string? Locale { get; init; }
    [Id(6)] public string? SessionId { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.page")]
public sealed record PageInfo
{
    [Id(0)] public string? Url { get; init; }
    [Id(1)] public string? Title { get; init; }
    [Id(2)] public string? Referrer { get; init; }
}

/// <summary>product_view, add_to_cart, remove_from_cart.</summary>
[GenerateSerializer, Immutable, Alias("pg.product")]
public sealed record ProductInfo
{
    [Id(0)] public required string ProductId { get; init; }
    [Id(1)] public string? Category { get; init; }
    [Id(2)] public int Quantity { get; init; } = 1;
    [Id(3)] public Money? UnitPrice { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.search")]
public sealed record SearchInfo
{
    [Id(0)] public required string Query { get; init; }
    [Id(1)] public int ResultCount { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.purchase")]
public sealed record PurchaseInfo
{
    [Id(0)] public required string OrderId { get; init; }
    /// <summary>ISO 4217, upper case.</summary>
    [Id(1)] public required string Currency { get; init; }
    [Id(2)] public required IReadOnlyList<PurchaseLine> Lines { get; init; }

    /// <summary>
    /// 0 for a whole order; N for part N of an order too large for one event (more lines than the gateway takes), every
    /// part under the order's id and an event id of its own. The first part to arrive counts the order; each part adds
    /// its lines and amount.
    /// </summary>
    [Id(3)] public int Part { get; init; }

    /// <summary>
    /// The most parts one order may be sent in (with 200 lines a part, 50,000 lines). A profile remembers this many parts,
    /// the most recent of its orders sent in parts, so every part of its latest such order is recognised when sent again.
    /// </summary>
    public const int MaxParts = 250;

    public decimal Total => Lines.Sum(l => l.UnitPrice * l.Quantity);
}

[GenerateSerializer, Immutable, Alias("pg.purchase-line")]
public sealed record PurchaseLine
{
    [Id(0)] public required string ProductId { get; init; }
    [Id(1)] public string? Category { get; init; }
    [Id(2)] public int Quantity { get; init; }
    [Id(3)] public decimal UnitPrice { get; init; }
}

/// <summary>An amount with its ISO 4217 currency.</summary>
[GenerateSerializer, Immutable, Alias("pg.money")]
public readonly record struct Money([property: Id(0)] decimal Amount, [property: Id(1)] string Currency);

/// <summary>Demographic attributes from an identify event or a CRM upsert; null fields are left unchanged.</summary>
[GenerateSerializer, Immutable, Alias("pg.demographics-update")]
public sealed record DemographicsUpdate
{
    [Id(0)] public int? BirthYear { get; init; }
    [Id(1)] public Gender? Gender { get; init; }
    [Id(2)] public string? Country { get; init; }
    [Id(3)] public string? Language { get; init; }
    [Id(4)] public string? City { get; init; }
    [Id(5)] public IReadOnlyDictionary<string, string>? Traits { get; init; }
}

/// <summary>An explicit preference from a preference centre or settings page; null consent flags are left unchanged.</summary>
[GenerateSerializer, Immutable, Alias("pg.preference-update")]
public sealed record PreferenceUpdate
{
    [Id(0)] public string? Key { get; init; }
    [Id(1)] public string? Value { get; init; }
    [Id(2)] public bool? EmailOptIn { get; init; }
    [Id(3)] public bool? SmsOptIn { get; init; }
    [Id(4)] public bool? PersonalizationOptIn { get; init; }
}

[GenerateSerializer, Immutable, Alias("pg.custom")]
public sealed record CustomInfo
{
    [Id(0)] public required string Name { get; init; }
    [Id(1)] public IReadOnlyDictionary<string, string>? Properties { get; init; }
}
