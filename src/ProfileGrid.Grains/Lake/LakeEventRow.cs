using System.Text.Json;
using System.Text.Json.Serialization;
using Parquet.Serialization.Attributes;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// One row of the lake's events table: one accepted event as the log holds it (docs/lake.md lists the columns).
/// (<see cref="LogPartition"/>, <see cref="LogPosition"/>, <see cref="EventIndex"/>) identifies a row: the same log record
/// archived twice gives the same triple, which is how compaction merges without doubling.
/// </summary>
public sealed class LakeEventRow
{
    [JsonPropertyName("event_id"), ParquetRequired] public string EventId { get; set; } = "";
    [JsonPropertyName("tenant"), ParquetRequired] public string Tenant { get; set; } = "";

    /// <summary>The profile's user part: the user id, or "anon:" + the anonymous id for an anonymous visitor.</summary>
    [JsonPropertyName("user_id"), ParquetRequired] public string UserId { get; set; } = "";
    [JsonPropertyName("anonymous_id")] public string? AnonymousId { get; set; }
    [JsonPropertyName("type"), ParquetRequired] public string Type { get; set; } = "";

    [JsonPropertyName("occurred_at"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, useLogicalTimestamp: true, isAdjustedToUTC: true)]
    public DateTime OccurredAt { get; set; }

    /// <summary>The exact instant in .NET ticks (100 ns, UTC): Parquet timestamps stop at microseconds, and replays need the instant the profile saw.</summary>
    [JsonPropertyName("occurred_at_ticks")] public long OccurredAtTicks { get; set; }

    [JsonPropertyName("source")] public string? Source { get; set; }
    [JsonPropertyName("device")] public string? Device { get; set; }
    [JsonPropertyName("country")] public string? Country { get; set; }
    [JsonPropertyName("region")] public string? Region { get; set; }
    [JsonPropertyName("city")] public string? City { get; set; }
    [JsonPropertyName("locale")] public string? Locale { get; set; }
    [JsonPropertyName("session_id")] public string? SessionId { get; set; }
    [JsonPropertyName("user_agent")] public string? UserAgent { get; set; }
    [JsonPropertyName("page_url")] public string? PageUrl { get; set; }
    [JsonPropertyName("referrer")] public string? Referrer { get; set; }
    [JsonPropertyName("product_id")] public string? ProductId { get; set; }
    [JsonPropertyName("category")] public string? Category { get; set; }
    [JsonPropertyName("quantity")] public int? Quantity { get; set; }
    [JsonPropertyName("unit_price"), ParquetDecimal(38, 6)] public decimal? UnitPrice { get; set; }
    [JsonPropertyName("currency")] public string? Currency { get; set; }
    [JsonPropertyName("order_id")] public string? OrderId { get; set; }

    /// <summary>
    /// Part N of an order sent in parts (its order id is the order's; the first part counts the order, every part adds its
    /// lines); null for a whole order, and in files written before parts existed.
    /// </summary>
    [JsonPropertyName("order_part")] public int? OrderPart { get; set; }

    /// <summary>A purchase's total in its currency (sum of quantity x unit price over its lines).</summary>
    [JsonPropertyName("order_total"), ParquetDecimal(38, 6)] public decimal? OrderTotal { get; set; }

    /// <summary>A purchase's lines, nested: one row stays one event, so counts of events need no DISTINCT.</summary>
    [JsonPropertyName("lines")] public List<LakePurchaseLine>? Lines { get; set; }

    /// <summary>A refund's own id (its order, when known, is in <see cref="OrderId"/>, its lines in <see cref="Lines"/>, its total in <see cref="OrderTotal"/>).</summary>
    [JsonPropertyName("refund_id")] public string? RefundId { get; set; }

    /// <summary>A refund's stated amount, when the source gave one instead of (or besides) lines.</summary>
    [JsonPropertyName("refund_amount"), ParquetDecimal(38, 6)] public decimal? RefundAmount { get; set; }

    [JsonPropertyName("query")] public string? Query { get; set; }
    [JsonPropertyName("result_count")] public int? ResultCount { get; set; }
    [JsonPropertyName("rating")] public double? Rating { get; set; }

    /// <summary>Everything else the event carried (custom name and properties, identify traits, preference, feedback), as a JSON object.</summary>
    [JsonPropertyName("properties")] public string? Properties { get; set; }

    [JsonPropertyName("log_partition")] public int LogPartition { get; set; }
    [JsonPropertyName("log_position")] public long LogPosition { get; set; }

    /// <summary>The event's ordinal within its log record (records hold many requests' events).</summary>
    [JsonPropertyName("event_index")] public int EventIndex { get; set; }

    [JsonPropertyName("archived_at"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, useLogicalTimestamp: true, isAdjustedToUTC: true)]
    public DateTime ArchivedAt { get; set; }

    /// <summary>The UTC day of <see cref="OccurredAt"/>: the date partition.</summary>
    public DateOnly Day() => DateOnly.FromDateTime(OccurredAt);

    /// <summary>The instant the event happened, to the tick.</summary>
    public DateTimeOffset Instant() => new(OccurredAtTicks > 0 ? OccurredAtTicks : OccurredAt.Ticks, TimeSpan.Zero);

    /// <summary>
    /// Leaves out what a user without personalization consent keeps out of the lake (docs/privacy.md): where they were
    /// (region, city), what identifies their browser and visit (user agent, session, page, referrer), what they typed
    /// (search queries) and free-form properties (traits, custom properties), except a preference event's own record
    /// of the consent.
    /// </summary>
    public void StripWithoutConsent()
    {
        (Region, City, SessionId, UserAgent, PageUrl, Referrer, Query) = (null, null, null, null, null, null, null);
        if (Type != "preference_set")
        {
            Properties = null;
        }
    }

    private static readonly JsonSerializerOptions PropertiesJson = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The object without its null members, at every depth: a field the event did not carry is absent from properties.</summary>
    private static Dictionary<string, object?> WithoutNulls(Dictionary<string, object?> values) =>
        values.Where(pair => pair.Value is not null)
            .ToDictionary(pair => pair.Key, pair => pair.Value is Dictionary<string, object?> nested ? WithoutNulls(nested) : pair.Value, StringComparer.Ordinal);

    /// <summary>The row of one logged event.</summary>
    public static LakeEventRow From(UserEvent e, int partition, long position, int index, DateTimeOffset archivedAt)
    {
        var row = new LakeEventRow
        {
            EventId = e.EventId,
            Tenant = e.Tenant,
            UserId = e.UserId,
            AnonymousId = e.AnonymousId,
            Type = WireNames.Of(e.Kind),
            OccurredAt = e.OccurredAt.UtcDateTime,
            OccurredAtTicks = e.OccurredAt.UtcTicks,
            Source = e.Source == Channel.Unknown ? null : WireNames.Of(e.Source),
            Device = e.Context is { Device: not DeviceType.Unknown } c ? WireNames.Of(c.Device) : null,
            Country = e.Context?.Country,
            Region = e.Context?.Region,
            City = e.Context?.City,
            Locale = e.Context?.Locale,
            SessionId = e.Context?.SessionId,
            UserAgent = e.Context?.UserAgent,
            PageUrl = e.Page?.Url,
            Referrer = e.Page?.Referrer,
            Query = e.Search?.Query,
            ResultCount = e.Search?.ResultCount,
            Rating = e.Rating,
            LogPartition = partition,
            LogPosition = position,
            EventIndex = index,
            ArchivedAt = archivedAt.UtcDateTime,
        };

        if (e.Product is { } product)
        {
            row.ProductId = product.ProductId;
            row.Category = product.Category;
            row.Quantity = product.Quantity;
            row.UnitPrice = product.UnitPrice?.Amount;
            row.Currency = product.UnitPrice?.Currency;
        }

        if (e.Purchase is { } purchase)
        {
            row.OrderId = purchase.OrderId;
            row.OrderPart = purchase.Part > 0 ? purchase.Part : null;
            row.Currency = purchase.Currency;
            row.OrderTotal = purchase.Total;
            row.Quantity = purchase.Lines.Sum(l => l.Quantity);
            row.Lines = [.. purchase.Lines.Select(l => new LakePurchaseLine { ProductId = l.ProductId, Category = l.Category, Quantity = l.Quantity, UnitPrice = l.UnitPrice })];
        }

        if (e.Refund is { } refund)
        {
            row.RefundId = refund.RefundId;
            row.RefundAmount = refund.Amount;
            row.OrderId = refund.OrderId;
            row.Currency = refund.Currency;
            row.OrderTotal = refund.Total;
            row.Quantity = refund.Lines.Sum(l => l.Quantity);
            row.Lines = [.. refund.Lines.Select(l => new LakePurchaseLine { ProductId = l.ProductId, Category = l.Category, Quantity = l.Quantity, UnitPrice = l.UnitPrice })];
        }

        var properties = new Dictionary<string, object?>();
        if (e.Page?.Title is { } title)
        {
            properties["page_title"] = title;
        }

        if (e.Custom is { } custom)
        {
            properties["custom_name"] = custom.Name;
            properties["custom"] = custom.Properties;
        }

        if (e.Identify is { } identify)
        {
            properties["identify"] = new Dictionary<string, object?>
            {
                ["birth_year"] = identify.BirthYear,
                ["gender"] = identify.Gender is { } g ? WireNames.Of(g) : null,
                ["country"] = identify.Country,
                ["language"] = identify.Language,
                ["city"] = identify.City,
                ["traits"] = identify.Traits,
            };
        }

        if (e.Preference is { } preference)
        {
            properties["preference"] = new Dictionary<string, object?>
            {
                ["key"] = preference.Key,
                ["value"] = preference.Value,
                ["email_opt_in"] = preference.EmailOptIn,
                ["sms_opt_in"] = preference.SmsOptIn,
                ["personalization_opt_in"] = preference.PersonalizationOptIn,
            };
        }

        if (e.Feedback is { } feedback)
        {
            properties["feedback"] = new Dictionary<string, object?>
            {
                ["recommendation_id"] = feedback.RecommendationId,
                ["slot"] = feedback.Slot,
                ["item_ids"] = feedback.ItemIds.Count > 0 ? feedback.ItemIds : null,
                ["item_id"] = feedback.ItemId,
                ["position"] = feedback.Position,
            };
        }

        row.Properties = properties.Count == 0 ? null : JsonSerializer.Serialize(WithoutNulls(properties), PropertiesJson);
        return row;
    }
}

/// <summary>One line of a purchase, nested in its event's row.</summary>
public sealed class LakePurchaseLine
{
    [JsonPropertyName("product_id")] public string? ProductId { get; set; }
    [JsonPropertyName("category")] public string? Category { get; set; }
    [JsonPropertyName("quantity")] public int Quantity { get; set; }
    [JsonPropertyName("unit_price"), ParquetDecimal(38, 6)] public decimal UnitPrice { get; set; }
}
