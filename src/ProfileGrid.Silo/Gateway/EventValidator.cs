using ProfileGrid.Abstractions;
using System.Globalization;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Contracts.V1;
using EventContext = ProfileGrid.Abstractions.Events.EventContext;
using Money = ProfileGrid.Abstractions.Events.Money;
using WireEvent = ProfileGrid.Contracts.V1.Event;
using WireEventContext = ProfileGrid.Contracts.V1.EventContext;
using TextChecks = ProfileGrid.Recommendations.Rules.TextChecks;

namespace ProfileGrid.Silo.Gateway;

/// <summary>A field of an incoming message that failed validation, named the way the client wrote it.</summary>
public sealed record FieldError(string Field, string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>
/// Turns wire messages into validated domain values, or says which field is wrong and why.
/// Everything a profile relies on is checked here, at the edge, so grains only ever see well-formed input.
/// </summary>
public sealed class EventValidator(GatewayOptions limits, TimeProvider clock, string? identitySecret = null)
{
    /// <summary>
    /// The user part of an anonymous visitor's profile key is this prefix and the anonymous id. A user id may not start
    /// with it, so that user "anon:bob" and anonymous visitor "bob" can never share a profile; reads may name an
    /// anonymous profile as "anon:&lt;id&gt;".
    /// </summary>

    private static readonly Dictionary<string, EventKind> Kinds = new(StringComparer.Ordinal)
    {
        ["page_view"] = EventKind.PageView,
        ["product_view"] = EventKind.ProductView,
        ["search"] = EventKind.Search,
        ["add_to_cart"] = EventKind.AddToCart,
        ["remove_from_cart"] = EventKind.RemoveFromCart,
        ["purchase"] = EventKind.Purchase,
        ["session_start"] = EventKind.SessionStart,
        ["identify"] = EventKind.Identify,
        ["preference_set"] = EventKind.PreferenceSet,
        ["custom"] = EventKind.Custom,
        ["rating"] = EventKind.Rating,
        ["impression"] = EventKind.Impression,
        ["click"] = EventKind.Click,
        ["refund"] = EventKind.Refund,
    };

    private static readonly Dictionary<string, Channel> Channels = new(StringComparer.Ordinal)
    {
        ["web"] = Channel.Web,
        ["app"] = Channel.App,
        ["crm"] = Channel.Crm,
    };

    private static readonly Dictionary<string, DeviceType> Devices = new(StringComparer.Ordinal)
    {
        ["desktop"] = DeviceType.Desktop,
        ["mobile"] = DeviceType.Mobile,
        ["tablet"] = DeviceType.Tablet,
        ["tv"] = DeviceType.Tv,
        ["other"] = DeviceType.Other,
    };

    private static readonly Dictionary<string, Gender> Genders = new(StringComparer.Ordinal)
    {
        ["female"] = Gender.Female,
        ["male"] = Gender.Male,
        ["non_binary"] = Gender.NonBinary,
        ["unknown"] = Gender.Unknown,
    };

    /// <summary>Validates one event of a batch; <paramref name="path"/> is its position, e.g. "events[3]".</summary>
    public bool TryValidate(WireEvent wire, string defaultTenant, string path, out UserEvent? validated, out FieldError? error) =>
        TryValidate(wire, defaultTenant, new Checker(path), clock.GetUtcNow(), out validated, out error);

    /// <summary>
    /// Validates event <paramref name="index"/> of a request against <paramref name="now"/> (one instant per request);
    /// its field names ("events[3].type") are only built for an error.
    /// </summary>
    public bool TryValidate(WireEvent wire, string defaultTenant, int index, DateTimeOffset now, out UserEvent? validated, out FieldError? error) =>
        TryValidate(wire, defaultTenant, new Checker(index), now, out validated, out error);

    /// <summary>As above, for an import of past history (<paramref name="historical"/>: no maximum event age).</summary>
    public bool TryValidate(WireEvent wire, string defaultTenant, int index, DateTimeOffset now, bool historical, out UserEvent? validated, out FieldError? error) =>
        TryValidate(wire, defaultTenant, new Checker(index) { Historical = historical }, now, out validated, out error);

    private bool TryValidate(WireEvent wire, string defaultTenant, Checker check, DateTimeOffset now, out UserEvent? validated, out FieldError? error)
    {
        validated = null;

        var eventId = check.Id(wire.EventId, "event_id", limits.MaxStringLength);
        var kind = check.Code(wire.Type, "type", Kinds);
        string? tenant = null;
        if (string.IsNullOrEmpty(wire.Tenant) && string.IsNullOrEmpty(defaultTenant))
        {
            check.Fail("tenant", "is required: set tenant on the request, or on each event");
        }
        else
        {
            tenant = check.Tenant(string.IsNullOrEmpty(wire.Tenant) ? defaultTenant : wire.Tenant, "tenant", limits.MaxStringLength);
        }

        string? userKey = null;
        if (!string.IsNullOrEmpty(wire.UserId))
        {
            userKey = check.UserId(wire.UserId, "user_id", limits.MaxStringLength);
            if (userKey is not null && AnonymousProfiles.IsAnonymous(userKey))
            {
                check.Fail("user_id", $"'{AnonymousProfiles.Prefix}' starts the ids of anonymous visitors' profiles and cannot start a user id; send the visitor's id as anonymous_id instead");
                userKey = null;
            }
        }
        else if (!string.IsNullOrEmpty(wire.AnonymousId))
        {
            var anonymous = check.Id(wire.AnonymousId, "anonymous_id", limits.MaxStringLength);
            userKey = anonymous is null ? null : AnonymousProfiles.Prefix + anonymous;
        }
        else
        {
            check.Fail("user_id", "is required (or anonymous_id for a visitor who is not known yet)");
        }

        if (!string.IsNullOrEmpty(wire.AnonymousId))
        {
            check.Id(wire.AnonymousId, "anonymous_id", limits.MaxStringLength);
        }

        var occurredAt = check.Timestamp(wire.OccurredAt, "occurred_at", now, limits);
        var source = check.Code(wire.Source, "source", Channels);
        var context = wire.Context is null ? null : Context(wire.Context, check);

        if (check.Error is not null || kind is null)
        {
            error = check.Error;
            return false;
        }

        // Each type's part is validated first and the event built once (a `with` per event would copy it).
        PageInfo? page = null;
        ProductInfo? product = null;
        SearchInfo? search = null;
        PurchaseInfo? purchase = null;
        DemographicsUpdate? identify = null;
        EventIdentifiers? identifiers = null;
        PreferenceUpdate? preference = null;
        CustomInfo? custom = null;
        double? rating = null;
        FeedbackInfo? feedback = null;
        RefundInfo? refund = null;
        switch (kind.Value)
        {
            case EventKind.PageView:
                page = Page(wire.Page, check);
                break;
            case EventKind.SessionStart when wire.Page is not null:
                // The landing page, optional: checked as a page view's, not taken unchecked and then dropped.
                page = Page(wire.Page, check);
                break;
            case EventKind.ProductView or EventKind.AddToCart or EventKind.RemoveFromCart:
                product = Product(wire.Product, kind.Value, check);
                break;
            case EventKind.Search:
                search = Search(wire.Search, check);
                break;
            case EventKind.Purchase:
                purchase = Purchase(wire.Purchase, check);
                break;
            case EventKind.Identify:
                (identify, identifiers) = Identify(wire.Identify, tenant, check);
                break;
            case EventKind.PreferenceSet:
                preference = Preference(wire.Preference, "preference", requireValue: true, check);
                break;
            case EventKind.Custom:
                custom = Custom(wire.Custom, check);
                break;
            case EventKind.Rating:
                (product, rating) = Rating(wire.Rating, check);
                break;
            case EventKind.Impression or EventKind.Click:
                feedback = Feedback(wire.Feedback, kind.Value, check);
                break;
            case EventKind.Refund:
                refund = Refund(wire.Refund, check);
                break;
        }

        var userEvent = new UserEvent
        {
            EventId = eventId!,
            Kind = kind.Value,
            Tenant = tenant!,
            UserId = userKey!,
            AnonymousId = string.IsNullOrEmpty(wire.AnonymousId) ? null : wire.AnonymousId,
            OccurredAt = occurredAt!.Value,
            Source = source ?? Channel.Unknown,
            Context = context,
            Page = page,
            Product = product,
            Search = search,
            Purchase = purchase,
            Identify = identify,
            Identifiers = identifiers,
            Preference = preference,
            Custom = custom,
            Rating = rating,
            Feedback = feedback,
            Refund = refund,
        };

        error = check.Error;
        validated = error is null ? userEvent : null;
        return error is null;
    }

    /// <summary>Validates CRM demographics outside an event (UpsertAttributes).</summary>
    public bool TryValidateDemographics(Demographics? demographics, IDictionary<string, string> traits, out DemographicsUpdate? update, out FieldError? error)
    {
        var check = new Checker(string.Empty);
        update = DemographicsOf(demographics ?? new Demographics(), traits, "demographics", "traits", check);
        error = check.Error;
        return error is null;
    }

    /// <summary>Validates a preference outside an event (SetPreferences).</summary>
    public bool TryValidatePreference(PreferenceSet? preference, out PreferenceUpdate? update, out FieldError? error)
    {
        var check = new Checker(string.Empty);
        // A direct write may remove a preference (a key with an empty value); an event must say what was set.
        update = Preference(preference, "preference", requireValue: false, check);
        error = check.Error;
        return error is null;
    }

    /// <summary>Validates an item (product) id the way event product ids are validated.</summary>
    public bool TryValidateItemId(string itemId, string field, out FieldError? error)
    {
        var check = new Checker(string.Empty);
        check.ProductId(itemId, field, limits.MaxStringLength);
        error = check.Error;
        return error is null;
    }

    public bool TryValidateTenant(string tenant, out FieldError? error)
    {
        var check = new Checker(string.Empty);
        check.Tenant(tenant, "tenant", limits.MaxStringLength);
        error = check.Error;
        return error is null;
    }

    public bool TryValidateKey(string tenant, string userId, out FieldError? error)
    {
        var check = new Checker(string.Empty);
        check.Tenant(tenant, "tenant", limits.MaxStringLength);

        // A visitor's profile is named "anon:" + the anonymous id, which events may send as long as any id.
        var anonymous = AnonymousProfiles.IsAnonymous(userId);
        check.UserId(userId, "user_id", limits.MaxStringLength + (anonymous ? AnonymousProfiles.Prefix.Length : 0));
        if (anonymous && string.IsNullOrWhiteSpace(userId[AnonymousProfiles.Prefix.Length..]))
        {
            // No event can make such a profile (an anonymous id is never blank); an erasure of it was recorded in the ledger.
            check.Fail("user_id", $"'{AnonymousProfiles.Prefix}' names a visitor's profile by the anonymous id after it, and none follows");
        }

        error = check.Error;
        return error is null;
    }

    private EventContext Context(WireEventContext wire, Checker check)
    {
        var device = string.IsNullOrEmpty(wire.Device) ? DeviceType.Unknown : check.Code(wire.Device, "context.device", Devices) ?? DeviceType.Unknown;
        return new EventContext
        {
            Device = device,
            UserAgent = check.Text(wire.UserAgent, "context.user_agent", limits.MaxLongStringLength),
            Country = check.Country(wire.Country, "context.country"),
            Region = check.Text(wire.Region, "context.region", limits.MaxStringLength),
            City = check.Text(wire.City, "context.city", limits.MaxStringLength),
            Locale = check.Locale(wire.Locale, "context.locale", limits.MaxStringLength),
            SessionId = check.Text(wire.SessionId, "context.session_id", limits.MaxStringLength),
        };
    }

    private PageInfo Page(PageView? wire, Checker check)
    {
        wire ??= new PageView();
        return new PageInfo
        {
            Url = check.Text(wire.Url, "page.url", limits.MaxLongStringLength),
            Title = check.Text(wire.Title, "page.title", limits.MaxStringLength),
            Referrer = check.Text(wire.Referrer, "page.referrer", limits.MaxLongStringLength),
        };
    }

    private FeedbackInfo? Feedback(Contracts.V1.Feedback? wire, EventKind kind, Checker check)
    {
        var impression = kind == EventKind.Impression;
        if (wire is null)
        {
            check.Fail("feedback", $"is required for {(impression ? "an impression" : "a click")} event (recommendation_id and {(impression ? "item_ids" : "item_id")})");
            return null;
        }

        var recommendationId = check.Id(wire.RecommendationId, "feedback.recommendation_id", limits.MaxStringLength);
        var slot = check.Text(wire.Slot, "feedback.slot", limits.MaxStringLength)?.Trim() is { Length: > 0 } named ? named : null;
        if (impression)
        {
            if (wire.ItemId.Length > 0 || wire.Position != 0)
            {
                check.Fail("feedback.item_id", "belongs to a click; an impression lists what was shown in item_ids");
                return null;
            }

            if (wire.ItemIds.Count == 0)
            {
                check.Fail("feedback.item_ids", "is required: the items shown, in order");
                return null;
            }

            if (wire.ItemIds.Count > limits.MaxImpressionItems)
            {
                check.Fail("feedback.item_ids", $"holds {wire.ItemIds.Count} items; the limit is {limits.MaxImpressionItems}");
                return null;
            }

            var items = new string[wire.ItemIds.Count];
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < items.Length; i++)
            {
                var field = $"feedback.item_ids[{i}]";
                if (check.ProductId(wire.ItemIds[i], field, limits.MaxStringLength) is not { } item)
                {
                    return null;
                }

                if (!seen.Add(item))
                {
                    check.Fail(field, $"'{Checker.Truncate(item)}' is listed twice: an item has one position in a list");
                    return null;
                }

                items[i] = item;
            }

            return recommendationId is null ? null : new FeedbackInfo { RecommendationId = recommendationId, Slot = slot, ItemIds = items };
        }

        if (wire.ItemIds.Count > 0)
        {
            check.Fail("feedback.item_ids", "belongs to an impression; a click names the one item in item_id");
            return null;
        }

        var clicked = check.ProductId(wire.ItemId, "feedback.item_id", limits.MaxStringLength);
        if (wire.Position < 0 || wire.Position > limits.MaxImpressionItems)
        {
            check.Fail("feedback.position", $"must be between 1 and {limits.MaxImpressionItems} (1 is the first item), or 0 when not known ({wire.Position})");
            return null;
        }

        return recommendationId is null || clicked is null
            ? null
            : new FeedbackInfo { RecommendationId = recommendationId, Slot = slot, ItemId = clicked, Position = wire.Position == 0 ? null : wire.Position };
    }

    /// <summary>The highest rating value accepted: ratings come in many scales (stars, 0-10, percentages).</summary>
    public const double MaxRating = 100;

    private (ProductInfo? Product, double? Value) Rating(Contracts.V1.Rating? wire, Checker check)
    {
        if (wire is null)
        {
            check.Fail("rating", "is required for a rating event");
            return (null, null);
        }

        var productId = check.ProductId(wire.ProductId, "rating.product_id", limits.MaxStringLength);
        var category = check.Category(wire.Category, "rating.category", limits.MaxStringLength);
        double? value = null;
        if (!wire.HasValue)
        {
            check.Fail("rating.value", $"is required (a number between 0 and {MaxRating})");
        }
        else if (!double.IsFinite(wire.Value) || wire.Value < 0 || wire.Value > MaxRating)
        {
            check.Fail("rating.value", $"must be a number between 0 and {MaxRating} ({wire.Value.ToString(CultureInfo.InvariantCulture)})");
        }
        else
        {
            value = wire.Value;
        }

        return productId is null || value is null
            ? (null, null)
            : (new ProductInfo { ProductId = productId, Category = category, Quantity = 1 }, value);
    }

    private ProductInfo? Product(ProductAction? wire, EventKind kind, Checker check)
    {
        if (wire is null)
        {
            check.Fail("product", "is required for this event type");
            return null;
        }

        var productId = check.ProductId(wire.ProductId, "product.product_id", limits.MaxStringLength);
        var quantity = wire.Quantity == 0 ? 1 : check.Quantity(wire.Quantity, "product.quantity", limits.MaxQuantity);
        var category = check.Category(wire.Category, "product.category", limits.MaxStringLength);
        if (kind == EventKind.RemoveFromCart && category is null)
        {
            // A removal lowers the category's affinity: without the category it could only be counted.
            check.Fail("product.category", "is required for a remove_from_cart event");
        }

        Money? price = null;
        if (kind == EventKind.AddToCart && string.IsNullOrEmpty(wire.UnitPrice))
        {
            check.Fail("product.unit_price", "is required for an add_to_cart event (a decimal string, e.g. \"19.99\", with product.currency)");
        }
        else if (!string.IsNullOrEmpty(wire.UnitPrice))
        {
            var amount = check.Price(wire.UnitPrice, "product.unit_price", limits.MaxUnitPrice);
            var currency = check.Currency(wire.Currency, "product.currency", required: true);
            price = amount is null || currency is null ? null : new Money(amount.Value, currency);
        }
        else if (!string.IsNullOrEmpty(wire.Currency))
        {
            check.Currency(wire.Currency, "product.currency", required: true);
        }

        return productId is null
            ? null
            : new ProductInfo
            {
                ProductId = productId,
                Category = category,
                Quantity = quantity ?? 1,
                UnitPrice = price,
            };
    }

    private SearchInfo? Search(Contracts.V1.Search? wire, Checker check)
    {
        if (wire is null || string.IsNullOrWhiteSpace(wire.Query))
        {
            check.Fail("search.query", "is required for a search event");
            return null;
        }

        if (wire.ResultCount < 0)
        {
            check.Fail("search.result_count", $"must not be negative ({wire.ResultCount})");
        }

        return new SearchInfo { Query = check.Text(wire.Query, "search.query", limits.MaxStringLength)!, ResultCount = wire.ResultCount };
    }

    /// <summary>The most parts one order may be sent in (<see cref="PurchaseInfo.MaxParts"/>).</summary>
    public const int MaxOrderParts = PurchaseInfo.MaxParts;

    private PurchaseInfo? Purchase(Contracts.V1.Purchase? wire, Checker check)
    {
        if (wire is null)
        {
            check.Fail("purchase", "is required for a purchase event");
            return null;
        }

        var orderId = check.OrderId(wire.OrderId, "purchase.order_id", limits.MaxStringLength);
        var currency = check.Currency(wire.Currency, "purchase.currency", required: true);
        if (wire.Lines.Count == 0)
        {
            check.Fail("purchase.lines", "must hold at least one line");
        }
        else if (wire.Lines.Count > limits.MaxPurchaseLines)
        {
            check.Fail("purchase.lines", $"holds {wire.Lines.Count} lines; the limit is {limits.MaxPurchaseLines}");
        }

        var lines = new List<Abstractions.Events.PurchaseLine>(wire.Lines.Count);
        for (var i = 0; i < wire.Lines.Count && check.Error is null; i++)
        {
            var line = wire.Lines[i];
            var at = $"purchase.lines[{i}]";
            var productId = check.ProductId(line.ProductId, at + ".product_id", limits.MaxStringLength);
            var quantity = check.Quantity(line.Quantity, at + ".quantity", limits.MaxQuantity);
            var price = check.Price(line.UnitPrice, at + ".unit_price", limits.MaxUnitPrice);
            var category = check.Category(line.Category, at + ".category", limits.MaxStringLength);
            if (category is null)
            {
                check.Fail(at + ".category", "is required (purchases weigh most in the category affinities)");
            }

            if (productId is not null && quantity is not null && price is not null)
            {
                lines.Add(new Abstractions.Events.PurchaseLine { ProductId = productId, Category = category, Quantity = quantity.Value, UnitPrice = price.Value });
            }
        }

        if (wire.Part > MaxOrderParts)
        {
            check.Fail("purchase.part", $"is {wire.Part}; an order has at most {MaxOrderParts} parts");
        }
        else if (wire.HasPart && wire.Part == 0)
        {
            // probe54: parts numbered from 0 made part 0 the whole order and every later part a repeat of it.
            check.Fail("purchase.part", "is 0; parts are numbered from 1 (leave it out for an order sent whole)");
        }

        return orderId is null || currency is null ? null : new PurchaseInfo { OrderId = orderId, Currency = currency, Lines = lines, Part = (int)wire.Part };
    }

    private RefundInfo? Refund(Contracts.V1.Refund? wire, Checker check)
    {
        if (wire is null)
        {
            check.Fail("refund", "is required for a refund event");
            return null;
        }

        var refundId = check.OrderId(wire.RefundId, "refund.refund_id", limits.MaxStringLength);
        var orderId = string.IsNullOrEmpty(wire.OrderId) ? null : check.OrderId(wire.OrderId, "refund.order_id", limits.MaxStringLength);
        var currency = check.Currency(wire.Currency, "refund.currency", required: true);
        decimal? amount = string.IsNullOrEmpty(wire.Amount) ? null : check.Price(wire.Amount, "refund.amount", limits.MaxUnitPrice * limits.MaxPurchaseLines);
        if (wire.Lines.Count == 0 && string.IsNullOrEmpty(wire.Amount))
        {
            check.Fail("refund", "needs lines or an amount");
        }
        else if (wire.Lines.Count > 0 && !string.IsNullOrEmpty(wire.Amount))
        {
            // Which one to believe is not ours to guess: a partial return's lines and the full order's amount disagree.
            check.Fail("refund.amount", "is sent with lines; send either lines (the amount is their total) or an amount");
        }
        else if (wire.Lines.Count > limits.MaxPurchaseLines)
        {
            check.Fail("refund.lines", $"holds {wire.Lines.Count} lines; the limit is {limits.MaxPurchaseLines}");
        }

        var lines = new List<Abstractions.Events.PurchaseLine>(wire.Lines.Count);
        for (var i = 0; i < wire.Lines.Count && check.Error is null; i++)
        {
            var line = wire.Lines[i];
            var at = $"refund.lines[{i}]";
            var productId = check.ProductId(line.ProductId, at + ".product_id", limits.MaxStringLength);
            var quantity = check.Quantity(line.Quantity, at + ".quantity", limits.MaxQuantity);
            var price = check.Price(line.UnitPrice, at + ".unit_price", limits.MaxUnitPrice);
            var category = string.IsNullOrEmpty(line.Category) ? null : check.Category(line.Category, at + ".category", limits.MaxStringLength);
            if (productId is not null && quantity is not null && price is not null)
            {
                lines.Add(new Abstractions.Events.PurchaseLine { ProductId = productId, Category = category, Quantity = quantity.Value, UnitPrice = price.Value });
            }
        }

        return refundId is null || currency is null ? null
            : new RefundInfo { RefundId = refundId, OrderId = orderId, Currency = currency, Lines = lines, Amount = amount };
    }

    private (DemographicsUpdate?, EventIdentifiers?) Identify(Contracts.V1.Identify? wire, string? tenant, Checker check)
    {
        if (wire is null)
        {
            check.Fail("identify", "is required for an identify event");
            return (null, null);
        }

        var identifiers = Identifiers(wire, tenant, check);
        var demographics = wire.Demographics ?? new Demographics();
        if (demographics.Equals(new Demographics()) && wire.Traits.Count == 0)
        {
            if (identifiers is null)
            {
                check.Fail("identify", "holds neither demographics, traits, email, phone nor crm_id");
            }

            return (null, identifiers);
        }

        return (DemographicsOf(demographics, wire.Traits, "identify.demographics", "identify.traits", check), identifiers);
    }

    /// <summary>Email and phone normalised and hashed here, so that nothing past the gateway ever sees them as sent.</summary>
    private EventIdentifiers? Identifiers(Contracts.V1.Identify wire, string? tenant, Checker check)
    {
        if (string.IsNullOrWhiteSpace(wire.Email) && string.IsNullOrWhiteSpace(wire.Phone) && string.IsNullOrWhiteSpace(wire.CrmId))
        {
            return null;
        }

        string? email = null, phone = null, crmId = null;
        if (!string.IsNullOrWhiteSpace(wire.Email))
        {
            // The reason never repeats the value: rejections are logged and returned, and the address is personal data.
            email = Domain.Identifiers.NormaliseEmail(wire.Email, out var reason);
            if (email is null)
            {
                check.Fail("identify.email", reason!);
            }
        }

        if (!string.IsNullOrWhiteSpace(wire.Phone))
        {
            phone = Domain.Identifiers.NormalisePhone(wire.Phone, out var reason);
            if (phone is null)
            {
                check.Fail("identify.phone", reason!.StartsWith("holds", StringComparison.Ordinal) ? "holds a character that is not a digit, a leading + or a separator" : reason);
            }
        }

        if (!string.IsNullOrWhiteSpace(wire.CrmId))
        {
            crmId = check.Id(wire.CrmId.Trim(), "identify.crm_id", limits.MaxStringLength);
        }

        if (tenant is null)
        {
            return null;
        }

        return new EventIdentifiers
        {
            EmailHash = email is null ? null : Domain.Identifiers.Hash(tenant, Abstractions.Identity.IdentifierKinds.Email, email, identitySecret),
            PhoneHash = phone is null ? null : Domain.Identifiers.Hash(tenant, Abstractions.Identity.IdentifierKinds.Phone, phone, identitySecret),
            CrmId = crmId,
        };
    }

    private DemographicsUpdate DemographicsOf(Demographics wire, IDictionary<string, string> traits, string at, string traitsAt, Checker check)
    {
        int? birthYear = null;
        if (wire.BirthYear != 0)
        {
            var thisYear = clock.GetUtcNow().Year;
            if (wire.BirthYear < thisYear - 120 || wire.BirthYear > thisYear)
            {
                check.Fail(at + ".birth_year", $"{wire.BirthYear} is not a plausible year of birth ({thisYear - 120}..{thisYear})");
            }
            else
            {
                birthYear = wire.BirthYear;
            }
        }

        return new DemographicsUpdate
        {
            BirthYear = birthYear,
            Gender = string.IsNullOrEmpty(wire.Gender) ? null : check.Code(wire.Gender, at + ".gender", Genders),
            Country = check.Country(wire.Country, at + ".country"),
            Language = check.Language(wire.Language, at + ".language"),
            City = check.Text(wire.City, at + ".city", limits.MaxStringLength),
            Traits = check.Properties(traits, traitsAt, limits.MaxProperties, limits.MaxStringLength),
        };
    }

    private PreferenceUpdate? Preference(PreferenceSet? wire, string at, bool requireValue, Checker check)
    {
        if (wire is null)
        {
            check.Fail(at, "is required");
            return null;
        }

        var hasConsent = wire.HasEmailOptIn || wire.HasSmsOptIn || wire.HasPersonalizationOptIn;
        if (string.IsNullOrEmpty(wire.Key) && !hasConsent)
        {
            check.Fail(at + ".key", "is required unless a consent flag is set");
        }
        else if (string.IsNullOrEmpty(wire.Key) && !string.IsNullOrEmpty(wire.Value))
        {
            check.Fail(at + ".key", "is required when a value is set");
        }
        else if (requireValue && !string.IsNullOrEmpty(wire.Key) && string.IsNullOrEmpty(wire.Value))
        {
            check.Fail(at + ".value", "is required when a key is set (a preference_set event records what was chosen)");
        }
        else if (!string.IsNullOrEmpty(wire.Key) && !wire.HasValue)
        {
            // Only an explicit "" removes: a missing or misspelt value must not delete what the user chose.
            check.Fail(at + ".value", "is required when a key is set; send \"value\": \"\" to remove the preference");
        }

        return new PreferenceUpdate
        {
            Key = check.Text(wire.Key, at + ".key", limits.MaxStringLength),
            Value = check.Text(wire.Value, at + ".value", limits.MaxStringLength),
            EmailOptIn = wire.HasEmailOptIn ? wire.EmailOptIn : null,
            SmsOptIn = wire.HasSmsOptIn ? wire.SmsOptIn : null,
            PersonalizationOptIn = wire.HasPersonalizationOptIn ? wire.PersonalizationOptIn : null,
        };
    }

    private CustomInfo? Custom(CustomEvent? wire, Checker check)
    {
        if (wire is null)
        {
            check.Fail("custom", "is required for a custom event");
            return null;
        }

        var name = check.Id(wire.Name, "custom.name", limits.MaxStringLength);
        var properties = check.Properties(wire.Properties, "custom.properties", limits.MaxProperties, limits.MaxStringLength);
        return name is null ? null : new CustomInfo { Name = name, Properties = properties };
    }

    /// <summary>Collects the first error of one event; later checks still run but cannot overwrite it.</summary>
    private sealed class Checker
    {
        private static readonly DateTimeOffset UnixEpoch = DateTimeOffset.UnixEpoch;

        /// <summary>Validating an import of past history: no maximum event age.</summary>
        public bool Historical { get; init; }

        // Characters char.IsControl accepts: U+0000..U+001F and U+007F..U+009F.
        private static readonly System.Buffers.SearchValues<char> ControlCharacters = System.Buffers.SearchValues.Create(
            string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)));

        private readonly string? _path;
        private readonly int _index = -1;

        public Checker(string path) => _path = path;

        /// <summary>Event <paramref name="index"/> of a request: its path ("events[3]") is only built for an error.</summary>
        public Checker(int index) => _index = index;

        public FieldError? Error { get; private set; }

        private string Path => _path ?? $"events[{_index}]";

        public void Fail(string field, string reason)
        {
            Error ??= new FieldError(string.IsNullOrEmpty(Path) ? field : $"{Path}.{field}", reason);
        }

        public string? Id(string? value, string field, int maxLength)
        {
            if (string.IsNullOrEmpty(value))
            {
                Fail(field, "is required");
                return null;
            }

            if (string.IsNullOrWhiteSpace(value))
            {
                Fail(field, "is blank: an id of only white space cannot name anything");
                return null;
            }

            if (value.Length > maxLength)
            {
                Fail(field, $"is {value.Length} characters long; the limit is {maxLength}");
                return null;
            }

            if (value.AsSpan().ContainsAny(ControlCharacters))
            {
                Fail(field, "contains control characters");
                return null;
            }

            return value;
        }

        /// <summary>
        /// A product (item) id: an id without white space at either end, because ids are matched exactly and the catalog
        /// refuses such ids too: " i1 " in an event would otherwise be another item than the "i1" the catalog holds. Nor
        /// "." or "..", which the catalog refuses because no REST path can name them.
        /// </summary>
        public string? ProductId(string? value, string field, int maxLength)
        {
            var id = Id(value, field, maxLength);
            if (id is not null && ProfileGrid.Recommendations.Catalog.CatalogValidator.ItemIdShapeProblem(id) is { } problem)
            {
                Fail(field, problem);
                return null;
            }

            return id;
        }

        /// <summary>
        /// An order or refund id: without white space at either end, because an order counts once by its exact id, and
        /// " o-1" from one system beside "o-1" from another would be two orders (probe58: three reports, three orders).
        /// </summary>
        public string? OrderId(string? value, string field, int maxLength)
        {
            var id = Id(value, field, maxLength);
            if (id is not null && (char.IsWhiteSpace(id[0]) || char.IsWhiteSpace(id[^1])))
            {
                Fail(field, "has white space at its start or end: orders count once by their exact id, so ' o-1' would be another order than 'o-1'; trim it");
                return null;
            }

            return id;
        }

        /// <summary>A user id: an id that can also be a URL path segment, which "." and ".." cannot.</summary>
        public string? UserId(string? value, string field, int maxLength)
        {
            var id = Id(value, field, maxLength);
            if (id is "." or "..")
            {
                Fail(field, $"'{id}' cannot be an id: URLs drop it as a dot segment, so the profile could not be read over REST");
                return null;
            }

            return id;
        }

        /// <summary>
        /// A tenant: also named in storage paths (segment models and shards), where a "." or ".." segment would be
        /// resolved away and address another tenant's data or none.
        /// </summary>
        public string? Tenant(string? value, string field, int maxLength)
        {
            var id = Id(value, field, maxLength);
            if (id is not null && HasDotSegment(id))
            {
                Fail(field, $"'{Truncate(id)}' holds a '.' or '..' path segment, which cannot name a tenant");
                return null;
            }

            return id;
        }

        private static bool HasDotSegment(string id)
        {
            var rest = id.AsSpan();
            while (true)
            {
                var end = rest.IndexOfAny('/', '\\');
                var segment = end < 0 ? rest : rest[..end];
                if (segment is "." or "..")
                {
                    return true;
                }

                if (end < 0)
                {
                    return false;
                }

                rest = rest[(end + 1)..];
            }
        }

        public string? Text(string? value, string field, int maxLength)
        {
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            if (value.Length > maxLength)
            {
                Fail(field, $"is {value.Length} characters long; the limit is {maxLength}");
                return null;
            }

            if (TextChecks.NulProblem(value) is { } nul)
            {
                Fail(field, nul);
                return null;
            }

            return value;
        }

        /// <summary>
        /// A category, trimmed and in lower case, its runs of white space (tabs and line breaks of a messy export among
        /// them) one space: categories are matched exactly, by rules and against the catalog, which refuses control
        /// characters in a category. Other control characters are refused.
        /// </summary>
        public string? Category(string? value, string field, int maxLength)
        {
            if (Text(value, field, maxLength)?.Trim() is not { Length: > 0 } category)
            {
                return null;
            }

            if (category.AsSpan().ContainsAny(ControlCharacters) && category.Any(c => char.IsControl(c) && !char.IsWhiteSpace(c)))
            {
                Fail(field, "contains control characters");
                return null;
            }

            if (category.Any(char.IsWhiteSpace))
            {
                category = string.Join(' ', category.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            }

            return category.ToLowerInvariant();
        }

        public T? Code<T>(string? value, string field, Dictionary<string, T> allowed)
            where T : struct
        {
            if (string.IsNullOrEmpty(value))
            {
                Fail(field, $"is required (one of {string.Join(", ", allowed.Keys)})");
                return null;
            }

            if (allowed.TryGetValue(value, out var code) || allowed.TryGetValue(value.ToLowerInvariant(), out code))
            {
                return code;
            }

            Fail(field, $"'{Truncate(value)}' is not one of {string.Join(", ", allowed.Keys)}");
            return null;
        }

        public DateTimeOffset? Timestamp(string? value, string field, DateTimeOffset now, GatewayOptions limits)
        {
            if (string.IsNullOrEmpty(value))
            {
                Fail(field, "is required (ISO-8601, e.g. 2026-11-28T17:20:00Z)");
                return null;
            }

            // The strict ISO-8601 shape clients send almost always is read by hand (cheaply); anything else takes the
            // general parser, which reads that shape to the same instant and accepts more spellings.
            if (!TryParseStrictIso(value, out var parsed)
                && (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out parsed)
                    || !IsoTimestamps.HasIsoShape(value)))
            {
                Fail(field, IsoTimestamps.WhyUnreadable(value) is { } why
                    ? $"'{Truncate(value)}' {why}"
                    : $"'{Truncate(value)}' is not an ISO-8601 timestamp (e.g. 2026-11-28T17:20:00Z)");
                return null;
            }

            var utc = parsed.ToUniversalTime();
            if (utc > now + limits.MaxFutureSkew)
            {
                Fail(field, $"{utc:yyyy-MM-ddTHH:mm:ssZ} is in the future (server time {now:yyyy-MM-ddTHH:mm:ssZ}, allowed skew {limits.MaxFutureSkew})");
                return null;
            }

            if (Historical && utc < UnixEpoch)
            {
                Fail(field, $"{utc:yyyy-MM-ddTHH:mm:ssZ} is before 1970; even an import of history starts there");
                return null;
            }

            if (!Historical && utc < now - limits.MaxEventAge)
            {
                Fail(field, $"{utc:yyyy-MM-ddTHH:mm:ssZ} is older than the accepted {limits.MaxEventAge.TotalDays:0} days (an import of past history marks its request historical: true, which takes events back to 1970)");
                return null;
            }

            return utc;
        }

        public string? Country(string? value, string field) =>
            IsoCode(value, field, IsoCodes.Countries, upper: true, "an ISO 3166-1 alpha-2 country code (e.g. DE)");

        public string? Language(string? value, string field) =>
            IsoCode(value, field, IsoCodes.Languages, upper: false, "an ISO 639-1 language code (e.g. de)");

        public string? Currency(string? value, string field, bool required)
        {
            if (string.IsNullOrEmpty(value))
            {
                if (required)
                {
                    Fail(field, "is required (ISO 4217, e.g. EUR)");
                }

                return null;
            }

            return IsoCode(value, field, IsoCodes.Currencies, upper: true, "an ISO 4217 currency code (e.g. EUR)");
        }

        public string? Locale(string? value, string field, int maxLength)
        {
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            if (value is [>= 'a' and <= 'z', >= 'a' and <= 'z'] or [>= 'a' and <= 'z', >= 'a' and <= 'z', '-', >= 'A' and <= 'Z', >= 'A' and <= 'Z']
                && IsoCodes.Languages.Contains(value.Length == 2 ? value : value[..2]))
            {
                return value; // already in the form the general path below would give ("de", "de-DE")
            }

            var parts = value.Replace('_', '-').Split('-');
            if (value.Length > maxLength || !IsoCodes.Languages.Contains(parts[0].ToLowerInvariant()))
            {
                Fail(field, $"'{Truncate(value)}' is not a BCP 47 locale starting with an ISO 639-1 language (e.g. de-DE)");
                return null;
            }

            return string.Join('-', parts.Select((p, i) => i == 0 ? p.ToLowerInvariant() : p.Length == 2 ? p.ToUpperInvariant() : p));
        }

        public int? Quantity(int value, string field, int max)
        {
            if (value == 0)
            {
                // proto3 cannot tell an absent number from 0: both mean the field was not given.
                Fail(field, $"is required: a whole number 1..{max} (absent or 0 is no quantity)");
                return null;
            }

            if (value < 1 || value > max)
            {
                Fail(field, $"{value} is outside 1..{max}");
                return null;
            }

            return value;
        }

        public decimal? Price(string? value, string field, decimal max)
        {
            if (string.IsNullOrEmpty(value))
            {
                Fail(field, "is required (a decimal string, e.g. \"19.99\")");
                return null;
            }

            if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                // Digits that overflow a decimal are a number all the same: say what is wrong with it (probe60).
                Fail(field, value.Length > 0 && value.All(c => char.IsAsciiDigit(c) || c == '.') && value.Count(c => c == '.') <= 1 && value != "."
                    ? $"'{Truncate(value)}' exceeds the limit of {max}"
                    : $"'{Truncate(value)}' is not a non-negative decimal (e.g. \"19.99\")");
                return null;
            }

            // A decimal keeps 28 or 29 significant digits and rounds the rest away, which would let a value just over the
            // limit ("10000000.0000000000000000000001") pass as the limit itself.
            if (value.IndexOf('.') is var dot and >= 0 && value.AsSpan(dot + 1).TrimEnd('0').Length > amount.Scale)
            {
                Fail(field, $"'{Truncate(value)}' has more digits than an amount keeps (28 significant digits)");
                return null;
            }

            if (amount > max)
            {
                Fail(field, $"{amount} exceeds the limit of {max}");
                return null;
            }

            return amount;
        }

        public Dictionary<string, string>? Properties(IDictionary<string, string> properties, string field, int maxCount, int maxLength)
        {
            if (properties.Count == 0)
            {
                return null;
            }

            if (properties.Count > maxCount)
            {
                Fail(field, $"holds {properties.Count} entries; the limit is {maxCount}");
                return null;
            }

            foreach (var (key, value) in properties)
            {
                if (key.Length == 0 || key.Length > maxLength)
                {
                    Fail(field, $"key '{Truncate(key)}' must be 1..{maxLength} characters");
                    return null;
                }

                if (value.Length > maxLength)
                {
                    Fail($"{field}[{key}]", $"is {value.Length} characters long; the limit is {maxLength}");
                    return null;
                }

                if ((TextChecks.NulProblem(key) ?? TextChecks.NulProblem(value)) is { } nul)
                {
                    Fail($"{field}[{Truncate(key.Replace('\0', ' '))}]", nul);
                    return null;
                }
            }

            return new Dictionary<string, string>(properties, StringComparer.Ordinal);
        }

        private string? IsoCode(string? value, string field, System.Collections.Frozen.FrozenSet<string> codes, bool upper, string expected)
        {
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            var normalised = upper ? value.ToUpperInvariant() : value.ToLowerInvariant();
            if (!codes.Contains(normalised))
            {
                Fail(field, $"'{Truncate(value)}' is not {expected}");
                return null;
            }

            return normalised;
        }

        /// <summary>
        /// yyyy-MM-ddTHH:mm:ss, then optionally a fraction of 1 to 7 digits, then Z, ±HH:mm or nothing (UTC assumed).
        /// False for anything else (the caller falls back to the general parser).
        /// </summary>
        internal static bool TryParseStrictIso(string value, out DateTimeOffset parsed)
        {
            parsed = default;
            var s = value.AsSpan();
            if (s.Length < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':'
                || !Digits(s, 0, 4, out var year) || !Digits(s, 5, 2, out var month) || !Digits(s, 8, 2, out var day)
                || !Digits(s, 11, 2, out var hour) || !Digits(s, 14, 2, out var minute) || !Digits(s, 17, 2, out var second)
                || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            {
                return false;
            }

            var i = 19;
            long fraction = 0;
            if (i < s.Length && s[i] == '.')
            {
                var start = ++i;
                while (i < s.Length && char.IsAsciiDigit(s[i]) && i - start < 7)
                {
                    fraction = (fraction * 10) + (s[i++] - '0');
                }

                if (i == start || (i < s.Length && char.IsAsciiDigit(s[i])))
                {
                    return false; // no digit, or more than seven
                }

                for (var scale = i - start; scale < 7; scale++)
                {
                    fraction *= 10;
                }
            }

            var offset = TimeSpan.Zero;
            if (i == s.Length - 1 && s[i] == 'Z')
            {
                i++;
            }
            else if (i == s.Length - 6 && s[i] is '+' or '-' && s[i + 3] == ':' && Digits(s, i + 1, 2, out var offsetHours)
                && Digits(s, i + 4, 2, out var offsetMinutes) && offsetHours <= 14 && offsetMinutes <= 59 && offsetHours * 60 + offsetMinutes <= 14 * 60)
            {
                offset = new TimeSpan(offsetHours, offsetMinutes, 0) * (s[i] == '-' ? -1 : 1);
                i += 6;
            }

            if (i != s.Length)
            {
                return false;
            }

            var local = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Unspecified).AddTicks(fraction);
            var utcTicks = local.Ticks - offset.Ticks;
            if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
            {
                return false;
            }

            parsed = new DateTimeOffset(local, offset);
            return true;

            static bool Digits(ReadOnlySpan<char> s, int at, int count, out int number)
            {
                number = 0;
                for (var k = at; k < at + count; k++)
                {
                    if (!char.IsAsciiDigit(s[k]))
                    {
                        return false;
                    }

                    number = (number * 10) + (s[k] - '0');
                }

                return true;
            }
        }

        internal static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "...";
    }
}
