using System.Text.Json;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Lake;

/// <summary>Turns lake rows back into the events they were made from (for rebuilds and replays).</summary>
public static class LakeEventMapping
{
    /// <summary>The event this row was archived from, field for field.</summary>
    public static UserEvent ToEvent(this LakeEventRow row)
    {
        JsonElement? properties = row.Properties is { } json ? JsonDocument.Parse(json).RootElement : null;
        var kind = Parse<EventKind>(row.Type);
        var hasContext = row.Device is not null || row.Country is not null || row.Region is not null || row.City is not null
            || row.Locale is not null || row.SessionId is not null || row.UserAgent is not null;
        var title = Text(properties, "page_title");
        return new UserEvent
        {
            EventId = row.EventId,
            Kind = kind,
            Tenant = row.Tenant,
            UserId = row.UserId,
            AnonymousId = row.AnonymousId,
            OccurredAt = row.OccurredAtTicks > 0
                ? new DateTimeOffset(row.OccurredAtTicks, TimeSpan.Zero)
                : new DateTimeOffset(DateTime.SpecifyKind(row.OccurredAt, DateTimeKind.Utc)),
            Source = row.Source is null ? Channel.Unknown : Parse<Channel>(row.Source),
            Context = hasContext
                ? new EventContext
                {
                    Device = row.Device is null ? DeviceType.Unknown : Parse<DeviceType>(row.Device),
                    Country = row.Country,
                    Region = row.Region,
                    City = row.City,
                    Locale = row.Locale,
                    SessionId = row.SessionId,
                    UserAgent = row.UserAgent,
                }
                : null,
            Page = row.PageUrl is not null || row.Referrer is not null || title is not null ? new PageInfo { Url = row.PageUrl, Referrer = row.Referrer, Title = title } : null,
            Product = row.OrderId is null && row.RefundId is null && row.ProductId is not null
                ? new ProductInfo
                {
                    ProductId = row.ProductId,
                    Category = row.Category,
                    Quantity = row.Quantity ?? 1,
                    UnitPrice = row.UnitPrice is { } price ? new Money(price, row.Currency ?? "") : null,
                }
                : null,
            Search = row.Query is not null ? new SearchInfo { Query = row.Query, ResultCount = row.ResultCount ?? 0 } : null,
            Purchase = row.OrderId is not null && row.RefundId is null
                ? new PurchaseInfo
                {
                    OrderId = row.OrderId,
                    Currency = row.Currency ?? "",
                    Lines = [.. (row.Lines ?? []).Select(l => new PurchaseLine { ProductId = l.ProductId ?? "", Category = l.Category, Quantity = l.Quantity, UnitPrice = l.UnitPrice })],
                    Part = row.OrderPart ?? 0,
                }
                : null,
            Identify = properties is { } p1 && p1.TryGetProperty("identify", out var identify) ? Identify(identify) : null,
            Preference = properties is { } p2 && p2.TryGetProperty("preference", out var preference) ? Preference(preference) : null,
            Custom = Text(properties, "custom_name") is { } name
                ? new CustomInfo { Name = name, Properties = properties!.Value.TryGetProperty("custom", out var custom) ? Strings(custom) : null }
                : null,
            Refund = row.RefundId is not null
                ? new RefundInfo
                {
                    RefundId = row.RefundId,
                    OrderId = row.OrderId,
                    Currency = row.Currency ?? "",
                    Amount = row.RefundAmount,
                    Lines = [.. (row.Lines ?? []).Select(l => new PurchaseLine { ProductId = l.ProductId ?? "", Category = l.Category, Quantity = l.Quantity, UnitPrice = l.UnitPrice })],
                }
                : null,
            Rating = row.Rating,
            Feedback = properties is { } p3 && p3.TryGetProperty("feedback", out var feedback) ? Feedback(feedback) : null,
        };
    }

    private static DemographicsUpdate Identify(JsonElement e) => new()
    {
        BirthYear = Int(e, "birth_year"),
        Gender = Text(e, "gender") is { } gender ? Parse<Gender>(gender) : null,
        Country = Text(e, "country"),
        Language = Text(e, "language"),
        City = Text(e, "city"),
        Traits = e.TryGetProperty("traits", out var traits) ? Strings(traits) : null,
    };

    private static PreferenceUpdate Preference(JsonElement e) => new()
    {
        Key = Text(e, "key"),
        Value = Text(e, "value"),
        EmailOptIn = Bool(e, "email_opt_in"),
        SmsOptIn = Bool(e, "sms_opt_in"),
        PersonalizationOptIn = Bool(e, "personalization_opt_in"),
    };

    private static FeedbackInfo Feedback(JsonElement e) => new()
    {
        RecommendationId = Text(e, "recommendation_id") ?? "",
        Slot = Text(e, "slot"),
        ItemIds = e.TryGetProperty("item_ids", out var items) && items.ValueKind == JsonValueKind.Array ? [.. items.EnumerateArray().Select(i => i.GetString()!)] : [],
        ItemId = Text(e, "item_id"),
        Position = Int(e, "position"),
    };

    // Absent and null are the same: rows written by this release leave nulls out, a hand-written file may not.
    private static int? Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : null;

    private static bool? Bool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    private static Dictionary<string, string>? Strings(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal) : null;

    private static string? Text(JsonElement? e, string name) =>
        e is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static TEnum Parse<TEnum>(string wire) where TEnum : struct, Enum =>
        Enum.GetValues<TEnum>().FirstOrDefault(v => WireNames.Of(v) == wire) is var value && WireNames.Of(value) == wire
            ? value
            : throw new InvalidDataException($"'{wire}' is not a {typeof(TEnum).Name} this release knows.");
}
