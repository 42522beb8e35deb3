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
    public void A_purchase_part_is_carried_and_one_beyond_the_limit_is_refused_naming_it()
    {
        var part = Purchase();
        part.Purchase.Part = 3;
        Assert.True(_validator.TryValidate(part, "shop", "events[0]", out var validated, out var error), error?.ToString());
        Assert.Equal(3, validated!.Purchase!.Part);
        Assert.Equal(0, (_validator.TryValidate(Purchase(), "shop", "events[0]", out var whole, out _) ? whole : null)!.Purchase!.Part);

        part.Purchase.Part = EventValidator.MaxOrderParts + 1;
        Assert.Equal("events[3].purchase.part", Rejection(part).Field);
        Assert.Equal(EventValidator.MaxOrderParts, ProfileGrid.Cli.BulkImport.ImportPlanner.MaxOrderParts); // the importer rejects larger orders whole

        // Part 0 named explicitly (a client numbering from 0) is refused; absent is the whole order.
        part.Purchase.Part = 0;
        Assert.True(part.Purchase.HasPart);
        Assert.Equal(("events[3].purchase.part", "is 0; parts are numbered from 1 (leave it out for an order sent whole)"), (Rejection(part).Field, Rejection(part).Reason));
        part.Purchase.ClearPart();
        Assert.True(_validator.TryValidate(part, "shop", "events[0]", out var cleared, out _));
        Assert.Equal(0, cleared!.Purchase!.Part);
    }

    [Fact]
    public void A_session_start_landing_page_is_checked_like_a_page_view_and_kept()
    {
        // An outside probe (probe45): a session_start's page.url of 2,049 characters was accepted unchecked, then dropped.
        WireEvent SessionStart(string url) => new()
        {
            EventId = "s-1", Type = "session_start", UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z", Source = "web",
            Page = new PageView { Url = url },
        };

        Assert.Equal("events[3].page.url", Rejection(SessionStart(new string('a', 2049))).Field);
        Assert.True(_validator.TryValidate(SessionStart("https://shop.example/landing"), "shop", "events[0]", out var validated, out var error), error?.ToString());
        Assert.Equal("https://shop.example/landing", validated!.Page!.Url);
    }

    [Fact]
    public void A_nul_character_in_text_is_refused_naming_the_field_while_tabs_and_line_breaks_stay()
    {
        // An outside probe (probe45): U+0000 in titles, categories and queries was stored and exported as it came.
        var wire = Purchase();
        wire.Purchase.Lines[0].Category = "sho\0es";
        var rejection = Rejection(wire);
        Assert.Equal("events[3].purchase.lines[0].category", rejection.Field);
        Assert.Equal("holds a NUL character (U+0000) at position 3", rejection.Reason);

        var page = new WireEvent
        {
            EventId = "p-1", Type = "page_view", UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z", Source = "web",
            Page = new PageView { Url = "/", Title = "Spring\tsale\r\nup to 50%" },
        };
        Assert.True(_validator.TryValidate(page, "shop", "events[0]", out var validated, out var error), error?.ToString());
        Assert.Equal("Spring\tsale\r\nup to 50%", validated!.Page!.Title);
    }

    [Fact]
    public void A_category_with_tabs_or_line_breaks_is_one_spaced_and_other_control_characters_are_refused()
    {
        // Categories are matched exactly by rules and against the catalog, which refuses control characters in one:
        // "Home\tGarden" from a messy export is the catalog's "home garden", and U+0001 names nothing.
        var wire = Purchase();
        wire.Purchase.Lines[0].Category = " Home\t\tGarden\r\nTools ";
        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out var validated, out var error), error?.ToString());
        Assert.Equal("home garden tools", validated!.Purchase!.Lines[0].Category);
        wire.Purchase.Lines[0].Category = "Home  Garden";
        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out validated, out error), error?.ToString());
        Assert.Equal("home garden", validated!.Purchase!.Lines[0].Category);

        wire.Purchase.Lines[0].Category = "sho\u0001es";
        var rejection = Rejection(wire);
        Assert.Equal(("events[3].purchase.lines[0].category", "contains control characters"), (rejection.Field, rejection.Reason));
    }

    private static WireEvent Refund() => new()
    {
        EventId = "e-r",
        Type = "refund",
        UserId = "u-1",
        OccurredAt = "2026-11-28T11:00:00Z",
        Source = "crm",
        Refund = new Contracts.V1.Refund
        {
            RefundId = "C536379",
            OrderId = "536365",
            Currency = "gbp",
            Lines = { new Contracts.V1.PurchaseLine { ProductId = "85123A", Quantity = 2, UnitPrice = "2.55" } },
        },
    };

    [Theory]
    [InlineData("purchase", " o-1", "events[3].purchase.order_id")]
    [InlineData("purchase", "o-1 ", "events[3].purchase.order_id")]
    [InlineData("purchase", "o-1\u00a0", "events[3].purchase.order_id")]
    [InlineData("refund", " C536379", "events[3].refund.refund_id")]
    [InlineData("refund-order", "536365 ", "events[3].refund.order_id")]
    public void An_order_or_refund_id_with_white_space_around_it_is_refused(string type, string id, string field)
    {
        // probe58: "o-1", "o-1 " and " o-1" from three systems counted as three orders, the revenue tripled.
        var wire = type == "purchase" ? Purchase() : Refund();
        switch (type)
        {
            case "purchase": wire.Purchase.OrderId = id; break;
            case "refund": wire.Refund.RefundId = id; break;
            default: wire.Refund.OrderId = id; break;
        }

        var error = Rejection(wire);
        Assert.Equal(field, error.Field);
        Assert.Contains("white space at its start or end", error.Reason);
    }

    [Fact]
    public void A_refund_with_lines_or_an_amount_is_accepted_and_its_total_is_the_amount_when_given()
    {
        Assert.True(_validator.TryValidate(Refund(), "shop", "events[0]", out var validated, out var error), error?.ToString());
        Assert.Equal(EventKind.Refund, validated!.Kind);
        Assert.Equal(("C536379", "536365", "GBP", 5.10m), (validated.Refund!.RefundId, validated.Refund.OrderId, validated.Refund.Currency, validated.Refund.Total));

        var byAmount = Refund();
        byAmount.Refund.Lines.Clear();
        byAmount.Refund.OrderId = "";
        byAmount.Refund.Amount = "12.50";
        Assert.True(_validator.TryValidate(byAmount, "shop", "events[0]", out var amount, out error), error?.ToString());
        Assert.Equal((12.50m, (string?)null), (amount!.Refund!.Total, amount.Refund.OrderId));
    }

    [Fact]
    public void A_refund_without_lines_or_amount_or_with_a_negative_quantity_is_rejected_by_field()
    {
        var empty = Refund();
        empty.Refund.Lines.Clear();
        Assert.Equal("events[3].refund", Rejection(empty).Field);

        var negative = Refund();
        negative.Refund.Lines[0].Quantity = -2;
        Assert.Equal("events[3].refund.lines[0].quantity", Rejection(negative).Field);

        var missing = Refund();
        missing.Refund = null;
        Assert.Contains("required for a refund", Rejection(missing).Reason);

        // A partial return's lines with the whole order's amount: which to give back is not the grid's guess.
        var both = Refund();
        both.Refund.Amount = "12.50";
        var rejection = Rejection(both);
        Assert.Equal("events[3].refund.amount", rejection.Field);
        Assert.Contains("either lines", rejection.Reason);
    }

    [Fact]
    public void Offsets_are_converted_to_utc()
    {
        var wire = Purchase();
        wire.OccurredAt = "2026-11-28T12:30:00+02:00";

        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out var validated, out _));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 10, 30, 0, TimeSpan.Zero), validated!.OccurredAt);
    }

    /// <summary>
    /// The strict ISO-8601 shape is read by a fast path; every spelling must land on the instant the general .NET
    /// parser gives (what the gateway accepted before the fast path), and shapes it does not take still parse.
    /// </summary>
    [Theory]
    [InlineData("2026-11-28T11:00:00Z")]
    [InlineData("2026-11-28T11:00:00")]
    [InlineData("2026-11-28T11:00:00.5Z")]
    [InlineData("2026-11-28T11:00:00.1234567Z")]
    [InlineData("2026-11-28T11:00:00.12345678Z")]
    [InlineData("2026-11-28T11:00:00.123+05:30")]
    [InlineData("2026-11-28T09:00:00-01:45")]
    [InlineData("2024-02-29T23:59:59.9999999+14:00")]
    [InlineData("2026-11-28T11:00:00+0100")]
    [InlineData("2026-11-28T11:00Z")]
    [InlineData(" 2026-11-28T11:00:00Z ")]
    [InlineData("2026-11-28T11:00:00z")]
    public void Timestamps_mean_what_the_general_iso_parser_says(string occurredAt)
    {
        var wire = Purchase();
        wire.OccurredAt = occurredAt;
        var expected = DateTimeOffset.Parse(occurredAt, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AllowWhiteSpaces).ToUniversalTime();

        Assert.True(_validator.TryValidate(wire, "shop", 0, Now, out var validated, out var error), error?.ToString());

        Assert.Equal(expected, validated!.OccurredAt);
        Assert.Equal(expected.UtcTicks, validated.OccurredAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, validated.OccurredAt.Offset);
    }

    [Theory]
    [InlineData("2026-02-29T11:00:00Z")]
    [InlineData("2026-11-28T24:00:00Z")]
    [InlineData("2026-11-28T11:60:00Z")]
    [InlineData("2026-11-28T11:00:00.Z")]
    [InlineData("2026-11-28 11:00:00Z")]
    public void Impossible_timestamps_are_still_refused(string occurredAt)
    {
        var wire = Purchase();
        wire.OccurredAt = occurredAt;

        Assert.False(_validator.TryValidate(wire, "shop", 7, Now, out _, out var error));
        Assert.Equal("events[7].occurred_at", error!.Field);
    }

    /// <summary>An instant .NET cannot hold once moved to UTC is still ISO-8601: the answer says it is out of range.</summary>
    [Theory]
    [InlineData("0001-01-01T00:00:00+14:00")]
    [InlineData("9999-12-31T23:59:59-14:00")]
    [InlineData("0001-01-01T00:00:00.5+0100")]
    public void Timestamps_beyond_what_dotnet_holds_are_said_to_be_out_of_range(string occurredAt)
    {
        var wire = Purchase();
        wire.OccurredAt = occurredAt;

        Assert.False(_validator.TryValidate(wire, "shop", 7, Now, out _, out var error));
        Assert.Equal("events[7].occurred_at", error!.Field);
        Assert.Equal($"'{occurredAt}' lies outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once moved to UTC", error.Reason);
    }

    [Theory]
    [InlineData("not-a-date")]
    [InlineData("0000-01-01T00:00:00+01:00")]
    [InlineData("2026-02-30T00:00:00+01:00")]
    [InlineData("2026-06-01T12:00:00+٠٥:٠٠")] // digits of another script: refused, never an exception
    // An outside probe: .NET's general parser read these (the 'T' of "GMT" passed the old check); the API promises ISO-8601.
    [InlineData("Sat, 05 Dec 2026 00:00:00 GMT")]
    [InlineData("05 Dec 2026 00:00:00 GMT")]
    [InlineData("Saturday, December 5, 2026 00:00:00 GMT")]
    public void Malformed_timestamps_are_still_said_to_be_malformed(string occurredAt)
    {
        var wire = Purchase();
        wire.OccurredAt = occurredAt;

        Assert.False(_validator.TryValidate(wire, "shop", 7, Now, out _, out var error));
        Assert.Contains("is not an ISO-8601 timestamp", error!.Reason);
    }

    [Fact]
    public void An_as_of_given_as_a_date_is_the_start_of_that_utc_day()
    {
        // probe57: "2011-12-10", valid ISO 8601, was refused.
        Assert.True(AsOfParameter.TryParse("2011-12-10", Now, out var asOf, out var reason), reason);
        Assert.Equal(new DateTimeOffset(2011, 12, 10, 0, 0, 0, TimeSpan.Zero), asOf);
    }

    [Fact]
    public void An_offset_no_zone_has_is_named_as_the_offset()
    {
        var wire = Purchase();
        wire.OccurredAt = "2026-11-28T12:30:00+25:00";

        Assert.False(_validator.TryValidate(wire, "shop", 7, Now, out _, out var error));
        Assert.Equal("events[7].occurred_at", error!.Field);
        Assert.Equal("'2026-11-28T12:30:00+25:00' has the UTC offset +25:00; offsets run from -14:00 to +14:00", error.Reason);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00+14:00", "'0001-01-01T00:00:00+14:00' lies outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once moved to UTC")]
    [InlineData("2026-13-01T00:00:00Z", "'2026-13-01T00:00:00Z' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)")]
    [InlineData("2026-06-01T12:00:00+25:00", "'2026-06-01T12:00:00+25:00' has the UTC offset +25:00; offsets run from -14:00 to +14:00")]
    [InlineData("2026-06-01T12:00:00-1430", "'2026-06-01T12:00:00-1430' has the UTC offset -1430; offsets run from -14:00 to +14:00")]
    [InlineData("2026-06-01T12:00:00+٠٥:٠٠", "'2026-06-01T12:00:00+٠٥:٠٠' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)")]
    [InlineData("２０２６-06-01T12:00:00Z", "'２０２６-06-01T12:00:00Z' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)")]
    [InlineData("Sat, 05 Dec 2026 00:00:00 GMT", "'Sat, 05 Dec 2026 00:00:00 GMT' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)")]
    [InlineData("2011-12-10T00:00:00 00:00", "'2011-12-10T00:00:00 00:00' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z); a '+' in a URL query reads as a space: write the offset's '+' as %2B, or give the time in UTC with Z")]
    [InlineData("2011-13-10", "'2011-13-10' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)")]
    public void An_as_of_that_cannot_be_read_says_why(string value, string reason)
    {
        Assert.False(AsOfParameter.TryParse(value, Now, out var asOf, out var actual));
        Assert.Null(asOf);
        Assert.Equal(reason, actual);
    }

    [Fact]
    public void A_leap_second_and_an_amount_too_large_say_what_they_are_rather_than_not_a_timestamp_or_not_a_number()
    {
        // probe60: "2016-12-31T23:59:60Z" is ISO-8601 (a real leap second) and was refused as not one; an amount of 30 digits
        // was "not a non-negative decimal".
        var leap = Purchase();
        leap.OccurredAt = "2016-12-31T23:59:60Z";
        Assert.False(_validator.TryValidate(leap, "shop", 0, Now, out _, out var error));
        Assert.Equal("'2016-12-31T23:59:60Z' is a leap second (second 60), which this API cannot hold: send second 59 (e.g. 23:59:59.999Z) or the next second", error!.Reason);
        Assert.False(AsOfParameter.TryParse("2016-12-31T23:59:60.5+01:00", Now, out _, out var asOfReason));
        Assert.Contains("is a leap second", asOfReason);

        var huge = Purchase();
        huge.Purchase.Lines[0].UnitPrice = "123456789012345678901234567890";
        Assert.False(_validator.TryValidate(huge, "shop", 0, Now, out _, out error));
        Assert.Equal("events[0].purchase.lines[0].unit_price", error!.Field);
        Assert.StartsWith("'123456789012345678901234567890' exceeds the limit of ", error.Reason, StringComparison.Ordinal);

        var word = Purchase();
        word.Purchase.Lines[0].UnitPrice = "12.5.1";
        Assert.False(_validator.TryValidate(word, "shop", 0, Now, out _, out error));
        Assert.Equal("'12.5.1' is not a non-negative decimal (e.g. \"19.99\")", error!.Reason);
    }

    [Fact]
    public void A_request_event_is_named_by_its_index()
    {
        var wire = Purchase();
        wire.Purchase.Lines[0].Quantity = 0;

        Assert.False(_validator.TryValidate(wire, "shop", 12, Now, out _, out var error));
        Assert.Equal("events[12].purchase.lines[0].quantity", error!.Field);
        Assert.Equal("is required: a whole number 1..100000 (absent or 0 is no quantity)", error.Reason); // not "0 is outside 1..100000"
        Assert.Equal(RejectionCodes.MissingField, RejectionCodes.Of(error));
    }

    [Theory]
    [InlineData("de", "de")]
    [InlineData("de-DE", "de-DE")]
    [InlineData("de_de", "de-DE")]
    [InlineData("DE-de", "de-DE")]
    [InlineData("zh-Hant-TW", "zh-Hant-TW")]
    public void Locales_are_normalised(string locale, string expected)
    {
        var wire = Purchase();
        wire.Context.Locale = locale;

        Assert.True(_validator.TryValidate(wire, "shop", 0, Now, out var validated, out var error), error?.ToString());
        Assert.Equal(expected, validated!.Context!.Locale);
    }

    [Theory]
    [InlineData("xx-DE")]
    [InlineData("xx")]
    public void A_locale_of_an_unknown_language_is_refused(string locale)
    {
        var wire = Purchase();
        wire.Context.Locale = locale;

        Assert.False(_validator.TryValidate(wire, "shop", 0, Now, out _, out var error));
        Assert.Equal("events[0].context.locale", error!.Field);
    }

    [Theory]
    [InlineData("e\u0001")]
    [InlineData("e\u007f")]
    [InlineData("e\u0085x")]
    [InlineData("\u009f")]
    public void Ids_with_control_characters_are_refused(string escaped)
    {
        var wire = Purchase();
        wire.EventId = System.Text.RegularExpressions.Regex.Unescape(escaped);

        Assert.False(_validator.TryValidate(wire, "shop", 0, Now, out _, out var error));
        Assert.Equal("events[0].event_id", error!.Field);
        Assert.Contains("control characters", error.Reason);
    }

    [Theory]
    [InlineData("a/./b", false)]
    [InlineData("..", false)]
    [InlineData("a\\..", false)]
    [InlineData("a/..b/c.", true)]
    [InlineData("...", true)]
    public void Tenant_segments_are_read_between_slashes_and_backslashes(string tenant, bool accepted)
    {
        Assert.Equal(accepted, _validator.TryValidate(Purchase(), tenant, 0, Now, out _, out var error));
        Assert.Equal(accepted ? null : "events[0].tenant", error?.Field);
    }

    [Theory]
    [InlineData("2031-01-01T00:00:00Z", "is in the future")]
    [InlineData("yesterday", "is not an ISO-8601 timestamp")]
    [InlineData("2026-13-01T00:00:00Z", "is not an ISO-8601 timestamp")]
    [InlineData("", "is required")]
    [InlineData("2001-01-01T00:00:00Z", "is older than the accepted 1095 days (an import of past history marks its request historical: true")]
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
    [InlineData("type", "tap")]
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
        if (field == "event_id")
        {
            wire.EventId = "";
        }
        else
        {
            wire.UserId = "";
        }

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
    [InlineData("10000000.0000000000000000000001")] // over the limit by less than a decimal keeps: it would round to the limit
    [InlineData("0.00000000000000000000000000001")] // past a decimal's 28 places: it would round to 0
    public void Prices_must_be_non_negative_decimal_strings(string price)
    {
        var wire = Purchase();
        wire.Purchase.Lines[0].UnitPrice = price;

        Assert.Equal("events[3].purchase.lines[0].unit_price", Rejection(wire).Field);
    }

    [Theory]
    [InlineData("10000000", "10000000")]
    [InlineData("10000000.000000000000000000000", "10000000")]
    [InlineData("19.990000000000000000000000000000000", "19.99")]
    [InlineData("0.0000000000000000000000000001", "0.0000000000000000000000000001")]
    public void Prices_that_a_decimal_holds_exactly_pass_whatever_their_trailing_zeros(string price, string expected)
    {
        var wire = Purchase();
        wire.Purchase.Lines[0].UnitPrice = price;

        Assert.True(_validator.TryValidate(wire, "shop", "events[3]", out var validated, out var error), error?.ToString());
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), validated!.Purchase!.Lines[0].UnitPrice);
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
            EventId = "e-3", Type = "custom", UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z", Source = "web",
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

    private static WireEvent Event(string type, Action<WireEvent> fill)
    {
        var wire = new WireEvent { EventId = "e-9", Type = type, UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z", Source = "web" };
        fill(wire);
        return wire;
    }

    private static ProductAction Product(string? category = "shoes", string? price = "19.99") => new()
    {
        ProductId = "p-1", Category = category ?? "", UnitPrice = price ?? "", Currency = price is null ? "" : "EUR",
    };

    /// <summary>One event per type with exactly the fields the README lists as required for it.</summary>
    public static TheoryData<string> EventTypes => ["page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "purchase", "session_start", "identify", "preference_set", "custom", "rating", "impression", "click"];

    private static WireEvent Minimal(string type) => type switch
    {
        "product_view" => Event(type, e => e.Product = new ProductAction { ProductId = "p-1" }),
        "add_to_cart" => Event(type, e => e.Product = new ProductAction { ProductId = "p-1", UnitPrice = "19.99", Currency = "EUR" }),
        "remove_from_cart" => Event(type, e => e.Product = new ProductAction { ProductId = "p-1", Category = "shoes" }),
        "search" => Event(type, e => e.Search = new Contracts.V1.Search { Query = "boots" }),
        "purchase" => Event(type, e => e.Purchase = new Contracts.V1.Purchase
        {
            OrderId = "o-1", Currency = "EUR", Lines = { new Contracts.V1.PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 1, UnitPrice = "19.99" } },
        }),
        "identify" => Event(type, e => e.Identify = new Identify { Traits = { ["tier"] = "gold" } }),
        "preference_set" => Event(type, e => e.Preference = new PreferenceSet { Key = "newsletter", Value = "weekly" }),
        "custom" => Event(type, e => e.Custom = new CustomEvent { Name = "coupon_applied" }),
        "rating" => Event(type, e => e.Rating = new Rating { ProductId = "m-1", Value = 4.5 }),
        "impression" => Event(type, e => e.Feedback = new Feedback { RecommendationId = "rec-1", ItemIds = { "p-1", "p-2" } }),
        "click" => Event(type, e => e.Feedback = new Feedback { RecommendationId = "rec-1", ItemId = "p-2" }),
        _ => Event(type, _ => { }),
    };

    [Theory]
    [MemberData(nameof(EventTypes))]
    public void Each_event_type_is_accepted_with_its_required_fields_and_refused_without_its_source(string type)
    {
        Assert.True(_validator.TryValidate(Minimal(type), "shop", "events[0]", out _, out var error), error?.ToString());

        var withoutSource = Minimal(type);
        withoutSource.Source = "";
        var rejection = Rejection(withoutSource);
        Assert.Equal("events[3].source", rejection.Field);
        Assert.Contains("web, app, crm", rejection.Reason);
    }

    [Theory]
    [InlineData("add_to_cart", "events[3].product.unit_price")]
    [InlineData("remove_from_cart", "events[3].product.category")]
    public void Cart_events_name_their_missing_field(string type, string field)
    {
        var wire = Event(type, e => e.Product = type == "add_to_cart" ? Product(price: null) : Product(category: null));

        var error = Rejection(wire);

        Assert.Equal(field, error.Field);
        Assert.Contains($"required for a{(type == "add_to_cart" ? "n" : "")} {type} event", error.Reason);
    }

    [Fact]
    public void An_impression_carries_its_list_in_order_and_a_click_its_item_and_position()
    {
        Assert.True(_validator.TryValidate(Event("impression", e => e.Feedback = new Feedback { RecommendationId = "rec-1", Slot = " home ", ItemIds = { "p-3", "p-1" } }), "shop", "events[0]", out var shown, out var error), error?.ToString());
        Assert.True(_validator.TryValidate(Event("click", e => e.Feedback = new Feedback { RecommendationId = "rec-1", ItemId = "p-1", Position = 2 }), "shop", "events[1]", out var clicked, out error), error?.ToString());

        Assert.Equal(EventKind.Impression, shown!.Kind);
        Assert.Equal(["p-3", "p-1"], shown.Feedback!.ItemIds);
        Assert.Equal("home", shown.Feedback.Slot);
        Assert.Equal(EventKind.Click, clicked!.Kind);
        Assert.Equal(("p-1", 2), (clicked.Feedback!.ItemId, clicked.Feedback.Position));
        Assert.Null(clicked.Feedback.Slot);
    }

    public static TheoryData<string, string, string, string> BadFeedback => new()
    {
        { "impression", "none", "events[3].feedback", "required for an impression event" },
        { "impression", "no recommendation id", "events[3].feedback.recommendation_id", "required" },
        { "impression", "no items", "events[3].feedback.item_ids", "required: the items shown" },
        { "impression", "an item twice", "events[3].feedback.item_ids[2]", "listed twice" },
        { "impression", "a blank item", "events[3].feedback.item_ids[1]", "is blank" },
        { "impression", "an item with spaces around", "events[3].feedback.item_ids[0]", "white space" },
        { "impression", "101 items", "events[3].feedback.item_ids", "holds 101 items; the limit is 100" },
        { "impression", "a clicked item", "events[3].feedback.item_id", "belongs to a click" },
        { "click", "none", "events[3].feedback", "required for a click event" },
        { "click", "no item", "events[3].feedback.item_id", "required" },
        { "click", "items", "events[3].feedback.item_ids", "belongs to an impression" },
        { "click", "a negative position", "events[3].feedback.position", "between 1 and 100" },
        { "click", "position 101", "events[3].feedback.position", "between 1 and 100" },
    };

    [Theory]
    [MemberData(nameof(BadFeedback))]
    public void Feedback_that_cannot_be_attributed_is_refused_naming_the_field(string type, string problem, string field, string reason)
    {
        var error = Rejection(Event(type, e =>
        {
            if (problem == "none")
            {
                return;
            }

            e.Feedback = type == "impression"
                ? new Feedback { RecommendationId = "rec-1", ItemIds = { "p-1", "p-2" } }
                : new Feedback { RecommendationId = "rec-1", ItemId = "p-1" };
            switch (problem)
            {
                case "no recommendation id": e.Feedback.RecommendationId = ""; break;
                case "no items": e.Feedback.ItemIds.Clear(); break;
                case "an item twice": e.Feedback.ItemIds.Add("p-1"); break;
                case "a blank item": e.Feedback.ItemIds[1] = " "; break;
                case "an item with spaces around": e.Feedback.ItemIds[0] = " p-1"; break;
                case "101 items": e.Feedback.ItemIds.Clear(); e.Feedback.ItemIds.AddRange(Enumerable.Range(0, 101).Select(i => $"p-{i}")); break;
                case "a clicked item": e.Feedback.ItemId = "p-1"; break;
                case "no item": e.Feedback.ItemId = ""; break;
                case "items": e.Feedback.ItemIds.Add("p-1"); break;
                case "a negative position": e.Feedback.Position = -1; break;
                case "position 101": e.Feedback.Position = 101; break;
            }
        }));

        Assert.Equal(field, error.Field);
        Assert.Contains(reason, error.Reason);
    }

    [Fact]
    public void A_rating_carries_its_product_and_value()
    {
        Assert.True(_validator.TryValidate(Event("rating", e => e.Rating = new Rating { ProductId = "m-1", Category = "Drama", Value = 0 }), "shop", "events[0]", out var validated, out var error), error?.ToString());

        Assert.Equal(EventKind.Rating, validated!.Kind);
        Assert.Equal("m-1", validated.Product!.ProductId);
        Assert.Equal("drama", validated.Product.Category);
        Assert.Equal(0, validated.Rating);
    }

    [Theory]
    [InlineData(null, "events[3].rating.value", "required")]
    [InlineData(-1.0, "events[3].rating.value", "between 0 and 100 (-1)")]
    [InlineData(101.0, "events[3].rating.value", "between 0 and 100 (101)")]
    [InlineData(double.NaN, "events[3].rating.value", "between 0 and 100 (NaN)")]
    public void A_rating_without_a_usable_value_names_it(double? value, string field, string reason)
    {
        var error = Rejection(Event("rating", e =>
        {
            e.Rating = new Rating { ProductId = "m-1" };
            if (value is { } v)
            {
                e.Rating.Value = v;
            }
        }));

        Assert.Equal(field, error.Field);
        Assert.Contains(reason, error.Reason);
    }

    [Fact]
    public void A_rating_event_without_its_part_or_product_is_refused()
    {
        Assert.Equal("events[3].rating", Rejection(Event("rating", _ => { })).Field);
        Assert.Equal("events[3].rating.product_id", Rejection(Event("rating", e => e.Rating = new Rating { Value = 3 })).Field);
    }

    [Fact]
    public void A_product_view_needs_neither_price_nor_category()
    {
        Assert.True(_validator.TryValidate(Event("product_view", e => e.Product = Product(category: null, price: null)), "shop", "events[0]", out var validated, out _));
        Assert.Null(validated!.Product!.UnitPrice);
    }

    [Fact]
    public void A_preference_set_event_needs_a_value_for_its_key()
    {
        var error = Rejection(Event("preference_set", e => e.Preference = new PreferenceSet { Key = "newsletter" }));

        Assert.Equal("events[3].preference.value", error.Field);
        Assert.Contains("required", error.Reason);
    }

    [Fact]
    public void A_preference_set_event_may_carry_only_a_consent_flag()
    {
        Assert.True(_validator.TryValidate(Event("preference_set", e => e.Preference = new PreferenceSet { EmailOptIn = false }), "shop", "events[0]", out _, out var error), error?.ToString());
    }

    [Fact]
    public void A_value_without_a_key_is_refused()
    {
        var error = Rejection(Event("preference_set", e => e.Preference = new PreferenceSet { Value = "weekly", SmsOptIn = true }));

        Assert.Equal("events[3].preference.key", error.Field);
    }

    [Fact]
    public void The_preference_write_removes_a_preference_only_with_an_empty_value_sent_as_such()
    {
        Assert.True(_validator.TryValidatePreference(new PreferenceSet { Key = "newsletter", Value = "" }, out var update, out var error), error?.ToString());
        Assert.Null(update!.Value);

        Assert.False(_validator.TryValidatePreference(new PreferenceSet { Key = "newsletter" }, out _, out error));
        Assert.Equal("preference.value", error!.Field);
    }

    [Fact]
    public void A_purchase_line_needs_a_category()
    {
        var wire = Purchase();
        wire.Purchase.Lines[0].Category = "";

        Assert.Equal("events[3].purchase.lines[0].category", Rejection(wire).Field);
    }

    [Fact]
    public void An_empty_identify_is_refused()
    {
        var error = Rejection(Event("identify", e => e.Identify = new Identify { Demographics = new Demographics() }));

        Assert.Equal("events[3].identify", error.Field);
    }

    [Fact]
    public void A_user_id_cannot_take_the_anonymous_namespace()
    {
        var wire = Purchase();
        wire.UserId = "anon:bob";

        var error = Rejection(wire);

        Assert.Equal("events[3].user_id", error.Field);
        Assert.Contains("anonymous_id", error.Reason);

        wire.UserId = "";
        wire.AnonymousId = "anon:bob";
        Assert.True(_validator.TryValidate(wire, "shop", "events[0]", out var anonymous, out _));
        Assert.Equal("anon:anon:bob", anonymous!.UserId);
    }

    [Theory]
    [InlineData(" ")]
    [InlineData("\t \u00A0")]
    public void A_user_id_of_only_white_space_is_called_blank_not_missing(string userId)
    {
        var wire = Purchase();
        wire.UserId = userId;

        var error = Rejection(wire);

        Assert.Equal("events[3].user_id", error.Field);
        Assert.StartsWith("is blank", error.Reason);
        Assert.Equal(RejectionCodes.InvalidValue, RejectionCodes.Of(error));
        Assert.False(_validator.TryValidateKey("shop", userId, out var readError));
        Assert.Equal("user_id", readError!.Field);
        Assert.StartsWith("is blank", readError.Reason);
    }

    [Theory]
    [InlineData("anon:")]
    [InlineData("anon:   ")]
    public void A_visitor_profile_name_without_its_anonymous_id_is_refused_on_reads_and_erasures(string userId)
    {
        // probe68: DELETE users/anon%3A was answered 200 and written to the privacy ledger; no event can make that profile.
        Assert.False(_validator.TryValidateKey("shop", userId, out var error));
        Assert.Equal(("user_id", "'anon:' names a visitor's profile by the anonymous id after it, and none follows"), (error!.Field, error.Reason));
        Assert.True(_validator.TryValidateKey("shop", "anon:v-1", out _));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public void Dot_segment_user_ids_are_refused(string userId)
    {
        var wire = Purchase();
        wire.UserId = userId;

        var error = Rejection(wire);

        Assert.Equal("events[3].user_id", error.Field);
        Assert.Contains("dot segment", error.Reason);
        Assert.False(_validator.TryValidateKey("shop", userId, out _));
        Assert.True(_validator.TryValidateKey("shop", "..." , out _));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../../")]
    [InlineData("a/./b")]
    [InlineData("..\\x")]
    public void Tenants_with_dot_segments_are_refused(string tenant)
    {
        Assert.False(_validator.TryValidateKey(tenant, "u-1", out var error));
        Assert.Equal("tenant", error!.Field);
        Assert.True(_validator.TryValidateKey("t/1", "u-1", out _));
    }

    [Fact]
    public void Every_event_of_the_simulated_stream_passes()
    {
        var options = new Simulator.SimulationOptions { Seed = 11, Users = 300 };
        var validator = new EventValidator(new GatewayOptions(), new FixedClock(options.AsOf.AddMinutes(1)));
        var rejected = new Simulator.SyntheticStream(options).Sessions()
            .SelectMany(session => session.Events)
            .Select(e => validator.TryValidate(e, options.Tenant, "events[0]", out _, out var error) ? null : $"{e.EventId} ({e.Type}): {error}")
            .OfType<string>()
            .Take(5)
            .ToList();

        Assert.Empty(rejected);
    }

    [Fact]
    public void Every_event_of_responding_users_passes_and_their_purchases_are_credited_to_the_lists_they_answer()
    {
        var asOf = new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);
        var stream = new Simulator.SyntheticStream(new Simulator.SimulationOptions { Seed = 11, Users = 300, AsOf = asOf });
        var simulator = new Simulator.ResponseSimulator(stream);
        var validator = new EventValidator(new GatewayOptions(), new FixedClock(asOf));
        var products = stream.Catalog.Products.Select(product => product.ProductId).ToArray();
        var random = new Random(11);
        var rejected = new List<string>();
        var (impressions, clicks, carts, purchases, credited) = (0, 0, 0, 0, 0);

        foreach (var user in stream.Users)
        {
            // Lists of the user's taste and of anything, a day apart (purchases come within a day of their click).
            var events = Enumerable.Range(0, 6).SelectMany(n =>
            {
                var items = (n % 2 == 0 ? user.PreferredItems.Order(StringComparer.Ordinal).ToArray() : products.ToArray());
                random.Shuffle(items);
                var list = new Simulator.ServedList($"rec-{user.UserId}-{n}", n % 3 == 0 ? "home" : "product_page", items.Take(10).ToList(), asOf.AddDays(-2 - n).AddHours(random.Next(24)));
                return simulator.Respond(user.UserId, list);
            }).ToList();

            var validated = new List<UserEvent>();
            foreach (var wire in events)
            {
                if (validator.TryValidate(wire, "demo", "events[0]", out var userEvent, out var error))
                {
                    validated.Add(userEvent!);
                }
                else
                {
                    rejected.Add($"{wire.EventId} ({wire.Type}): {error}");
                }
            }

            var profile = new Abstractions.Profiles.UserProfile { Tenant = "demo", UserId = user.UserId };
            Domain.ProfileUpdater.Apply(profile, validated, new Domain.ProfileOptions(), asOf);
            var bought = events.Where(e => e.Type == "purchase").ToList();
            impressions += events.Count(e => e.Type == "impression");
            clicks += events.Count(e => e.Type == "click");
            carts += events.Count(e => e.Type == "add_to_cart");
            purchases += bought.Count;
            credited += (int)profile.Feedback.AttributedPurchases;

            Assert.Equal(6, profile.Feedback.Impressions);
            Assert.Equal(events.Count(e => e.Type == "click"), profile.Feedback.Clicks);
            Assert.Equal(events.Count(e => e.Type == "add_to_cart"), profile.Feedback.AttributedCartAdds);
            Assert.Equal(bought.Count, profile.Feedback.AttributedPurchases);
            var revenue = bought.Sum(e => decimal.Parse(e.Purchase.Lines[0].UnitPrice, System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(revenue, profile.Feedback.AttributedRevenue.GetValueOrDefault(user.Currency));
        }

        Assert.Empty(rejected.Take(5));
        Assert.True(clicks > 100 && carts > 10 && purchases > 10, $"{impressions} impressions, {clicks} clicks, {carts} carts, {purchases} purchases");
        Assert.Equal(purchases, credited);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
