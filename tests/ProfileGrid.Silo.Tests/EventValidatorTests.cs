using ProfileGrid.Abstractions.Events;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Gateway;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

public class EventValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly EventValidator _validator = new(new GatewayOptions(), new FixedClock(Now));

    private static WireEvent Purchase() => new()
    {
        EventId = "e-1",
        Type = "purchase",
        UserId = "u-1",
        OccurredAt = "2026-11-28T11:00:00Z",
        Source = "web",
        Context = new Contracts.V1.EventContext { Device = "mobile", Country = "de", Locale = "de_de" },
        Purchase = new Contracts.V1.Purchase
        {
            OrderId = "o-1",
            Currency = "eur",
            Lines = { new Contracts.V1.PurchaseLine { ProductId = "p-1", Category = "Shoes", Quantity = 2, UnitPrice = "19.99" } },
        },
    };

    private FieldError Rejection(WireEvent wire)
    {
        Assert.False(_validator.TryValidate(wire, "shop", "events[3]", out var validated, out var error));
        Assert.Null(validated);
        return error!;
    }

    [Fact]
    public void A_valid_purchase_is_normalised()
    {
        Assert.True(_validator.TryValidate(Purchase(), "shop", "events[0]", out var validated, out var error), error?.ToString());

        Assert.Equal("shop", validated!.Tenant);
        Assert.Equal(EventKind.Purchase, validated.Kind);
        Assert.Equal(Channel.Web, validated.Source);
        Assert.Equal(DeviceType.Mobile, validated.Context!.Device);
        Assert.Equal("DE", validated.Context.Country);
        Assert.Equal("de-DE", validated.Context.Locale);
        Assert.Equal("EUR", validated.Purchase!.Currency);
        Assert.Equal("shoes", validated.Purchase.Lines[0].Category);
        Assert.Equal(39.98m, validated.Purchase.Total);
        Assert.Equal(TimeSpan.Zero, validated.OccurredAt.Offset);
    }

    [Fact]
    public void Offsets_are_converted_to_utc()
    {
        var wire = Purchase();
        wire.OccurredAt = "2026-11-28T12:30:00+02:00";

        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out var validated, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 10, 30, 0, TimeSpan.Zero), validated!.OccurredAt);
    }

    [Theory]
    [InlineData("2031-01-01T00:00:00Z", "is in the future")]
    [InlineData("yesterday", "is not an ISO-8601 timestamp")]
    [InlineData("2026-13-01T00:00:00Z", "is not an ISO-8601 timestamp")]
    [InlineData("", "is required")]
    [InlineData("2001-01-01T00:00:00Z", "is older than")]
    public void Bad_timestamps_name_the_field(string occurredAt, string reason)
    {
        var wire = Purchase();
        wire.OccurredAt = occurredAt;

        var error = Rejection(wire);

        Assert.Equal("events[3].occurred_at", error.Field);
        Assert.Contains(reason, error.Reason);
    }

    [Fact]
    public void A_little_clock_skew_is_tolerated()
    {
        var wire = Purchase();
        wire.OccurredAt = Now.AddMinutes(2).ToString("O");

        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out _, out _));
    }

    [Theory]
    [InlineData("type", "click")]
    [InlineData("source", "fax")]
    [InlineData("context.device", "toaster")]
    [InlineData("context.country", "XX")]
    [InlineData("context.locale", "klingon")]
    [InlineData("purchase.currency", "EURO")]
    public void Unknown_codes_are_rejected_with_the_allowed_values(string field, string value)
    {
        var wire = Purchase();
        switch (field)
        {
            case "type": wire.Type = value; break;
            case "source": wire.Source = value; break;
            case "context.device": wire.Context.Device = value; break;
            case "context.country": wire.Context.Country = value; break;
            case "context.locale": wire.Context.Locale = value; break;
            case "purchase.currency": wire.Purchase.Currency = value; break;
        }

        var error = Rejection(wire);

        Assert.Equal($"events[3].{field}", error.Field);
        Assert.Contains(value, error.Reason);
    }

    [Fact]
    public void Unknown_gender_in_an_identify_event_is_rejected()
    {
        var wire = new WireEvent
        {
            EventId = "e-2", Type = "identify", UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z", Source = "crm",
            Identify = new Identify { Demographics = new Demographics { Gender = "robot" } },
        };

        var error = Rejection(wire);

        Assert.Equal("events[3].identify.demographics.gender", error.Field);
        Assert.Contains("female", error.Reason);
    }

    [Theory]
    [InlineData("event_id")]
    [InlineData("user_id")]
    public void Missing_ids_are_rejected(string field)
    {
        var wire = Purchase();
        if (field == "event_id") wire.EventId = "";
        else wire.UserId = "";

        var error = Rejection(wire);

        Assert.Equal($"events[3].{field}", error.Field);
        Assert.Contains("required", error.Reason);
    }

    [Fact]
    public void A_missing_tenant_says_where_to_put_it()
    {
        Assert.False(_validator.TryValidate(Purchase(), "", "events[0]", out _, out var error));

        Assert.Equal("events[0].tenant", error!.Field);
        Assert.Contains("on the request, or on each event", error.Reason);
    }

    [Fact]
    public void An_anonymous_visitor_gets_a_profile_of_its_own()
    {
        var wire = Purchase();
        wire.UserId = "";
        wire.AnonymousId = "cookie-42";

        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out var validated, out _));
        Assert.Equal("anon:cookie-42", validated!.UserId);
        Assert.Equal("cookie-42", validated.AnonymousId);
    }

    [Theory]
    [InlineData("-1.00")]
    [InlineData("1,5")]
    [InlineData("abc")]
    public void Prices_must_be_non_negative_decimal_strings(string price)
    {
        var wire = Purchase();
        wire.Purchase.Lines[0].UnitPrice = price;

        Assert.Equal("events[3].purchase.lines[0].unit_price", Rejection(wire).Field);
    }

    [Fact]
    public void A_purchase_without_lines_is_rejected()
    {
        var wire = Purchase();
        wire.Purchase.Lines.Clear();

        Assert.Equal("events[3].purchase.lines", Rejection(wire).Field);
    }

    [Fact]
    public void A_payload_missing_for_its_type_is_rejected()
    {
        var wire = Purchase();
        wire.Type = "add_to_cart";

        Assert.Equal("events[3].product", Rejection(wire).Field);
    }

    [Fact]
    public void Custom_properties_are_bounded()
    {
        var wire = new WireEvent
        {
            EventId = "e-3", Type = "custom", UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z",
            Custom = new CustomEvent { Name = "newsletter_click" },
        };
        for (var i = 0; i < 33; i++)
        {
            wire.Custom.Properties[$"k{i}"] = "v";
        }

        var error = Rejection(wire);

        Assert.Equal("events[3].custom.properties", error.Field);
        Assert.Contains("limit is 32", error.Reason);
    }

    [Fact]
    public void Overlong_strings_are_rejected()
    {
        var wire = Purchase();
        wire.EventId = new string('x', 300);

        var error = Rejection(wire);

        Assert.Equal("events[3].event_id", error.Field);
        Assert.Contains("limit is 256", error.Reason);
    }

    [Fact]
    public void Implausible_birth_years_are_rejected()
    {
        Assert.False(_validator.TryValidateDemographics(new Demographics { BirthYear = 1800 }, new Dictionary<string, string>(), out _, out var error));
        Assert.Equal("demographics.birth_year", error!.Field);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
