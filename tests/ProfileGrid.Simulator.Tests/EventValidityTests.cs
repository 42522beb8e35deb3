using System.Globalization;
using System.Text.RegularExpressions;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator.Tests;

public partial class EventValidityTests
{
    private static readonly HashSet<string> EventTypes =
    [
        "page_view", "product_view", "search", "add_to_cart", "remove_from_cart", "purchase", "session_start", "identify",
        "preference_set", "custom",
    ];

    [Fact]
    public void The_default_population_is_a_few_thousand_users_with_a_year_of_history()
    {
        var defaults = new SimulationOptions();

        Assert.Equal((42, 3000, "demo", 365), (defaults.Seed, defaults.Users, defaults.Tenant, defaults.HistoryDays));
        Assert.Equal(TimeSpan.Zero, defaults.AsOf.Offset);
        Assert.Equal(TimeSpan.Zero, defaults.AsOf.TimeOfDay);
    }

    [Fact]
    public void No_event_is_later_than_as_of_or_earlier_than_the_history()
    {
        var occurred = SampleStream.Events.Select(SampleStream.OccurredAt).ToList();

        Assert.All(occurred, at => Assert.InRange(at, SampleStream.AsOf.AddDays(-SampleStream.Options.HistoryDays - 1), SampleStream.AsOf));
    }

    [Fact]
    public void Every_event_has_a_unique_id_and_a_known_type_source_and_parseable_time()
    {
        var events = SampleStream.Events.ToList();

        Assert.All(events, @event =>
        {
            Assert.False(string.IsNullOrWhiteSpace(@event.EventId));
            Assert.Contains(@event.Type, EventTypes);
            Assert.Contains(@event.Source, new[] { "web", "app", "crm" });
            Assert.StartsWith("u-", @event.UserId);
            Assert.True(
                DateTimeOffset.TryParseExact(@event.OccurredAt, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _),
                $"{@event.EventId}: occurred_at '{@event.OccurredAt}' is not ISO-8601 UTC");
            Assert.Matches(CountryCode(), @event.Context.Country);
        });
        Assert.Equal(events.Count, events.Select(@event => @event.EventId).Distinct().Count());
    }

    [Fact]
    public void Every_event_type_and_source_occurs()
    {
        var events = SampleStream.Events.ToList();

        Assert.Equal(EventTypes.Order(), events.Select(@event => @event.Type).Distinct().Order());
        Assert.Equal(["app", "crm", "web"], events.Select(@event => @event.Source).Distinct().Order());
        Assert.Equal(["desktop", "mobile", "tablet"], events.Where(@event => @event.Source == "web").Select(@event => @event.Context.Device).Distinct().Order());
        Assert.Equal(["mobile", "tablet"], events.Where(@event => @event.Source == "app").Select(@event => @event.Context.Device).Distinct().Order());
    }

    [Fact]
    public void Purchases_carry_an_order_a_currency_and_two_decimal_prices_that_parse()
    {
        var purchases = SampleStream.Events.Where(@event => @event.Type == "purchase").ToList();

        Assert.NotEmpty(purchases);
        Assert.All(purchases, @event =>
        {
            Assert.False(string.IsNullOrEmpty(@event.Purchase.OrderId));
            Assert.Matches(CurrencyCode(), @event.Purchase.Currency);
            Assert.NotEmpty(@event.Purchase.Lines);
            Assert.All(@event.Purchase.Lines, line =>
            {
                Assert.InRange(line.Quantity, 1, 20);
                Assert.Matches(Price(), line.UnitPrice);
                Assert.True(decimal.Parse(line.UnitPrice, CultureInfo.InvariantCulture) > 0);
                Assert.Contains(line.Category, ProductCatalog.Categories);
            });
        });
        Assert.Equal(purchases.Count, purchases.Select(@event => @event.Purchase.OrderId).Distinct().Count());
    }

    [Fact]
    public void Product_actions_carry_a_catalogue_product_and_a_price_in_the_users_currency()
    {
        var currencyByUser = SampleStream.Stream.Users.ToDictionary(user => user.UserId, user => user.Currency);
        var productIds = SampleStream.Stream.Catalog.Products.Select(product => product.ProductId).ToHashSet();
        var actions = SampleStream.Events.Where(@event => @event.Product is not null).ToList();

        Assert.All(actions, @event =>
        {
            Assert.Contains(@event.Product.ProductId, productIds);
            Assert.Matches(Price(), @event.Product.UnitPrice);
            Assert.Equal(currencyByUser[@event.UserId], @event.Product.Currency);
        });
    }

    [Fact]
    public void Crm_records_are_identify_events_with_demographics()
    {
        var identifies = SampleStream.Events.Where(@event => @event.Source == "crm").ToList();

        Assert.All(identifies, @event =>
        {
            Assert.Equal("identify", @event.Type);
            Assert.InRange(@event.Identify.Demographics.BirthYear, 1940, SampleStream.AsOf.Year - 16);
            Assert.Contains(@event.Identify.Demographics.Gender, new[] { "female", "male", "non_binary", "unknown" });
            Assert.Matches(CountryCode(), @event.Identify.Demographics.Country);
            Assert.Matches("^[a-z]{2}$", @event.Identify.Demographics.Language);
            Assert.False(string.IsNullOrEmpty(@event.Identify.Demographics.City));
            Assert.True(@event.Identify.Traits.ContainsKey("loyalty_tier"));
        });

        var recordsPerUser = identifies.CountBy(@event => @event.UserId).ToList();
        Assert.All(recordsPerUser, entry => Assert.InRange(entry.Value, 1, 2));
        Assert.InRange(recordsPerUser.Count, SampleStream.Stream.Users.Count / 3, SampleStream.Stream.Users.Count - 1);
    }

    [Fact]
    public void Sessions_are_ordered_by_start_and_each_is_a_session_start_followed_by_3_to_30_events()
    {
        var sessions = SampleStream.Sessions;

        Assert.All(sessions.Zip(sessions.Skip(1)), pair => Assert.True(pair.First.StartedAt <= pair.Second.StartedAt));
        Assert.All(sessions.Where(session => session.Source != "crm"), session =>
        {
            Assert.Equal("session_start", session.Events[0].Type);
            Assert.InRange(session.Events.Count - 1, 3, 30);
            Assert.All(session.Events, @event => Assert.Equal(session.SessionId, @event.Context.SessionId));
            var times = session.Events.Select(SampleStream.OccurredAt).ToList();
            Assert.Equal(session.StartedAt, times[0]);
            Assert.Equal(times.Order(), times);
        });
    }

    [Fact]
    public void Each_users_events_are_in_time_order_and_numbered_in_that_order()
    {
        foreach (var userEvents in SampleStream.Events.GroupBy(@event => @event.UserId))
        {
            var list = userEvents.ToList();
            Assert.Equal(list.Select(SampleStream.OccurredAt).Order(), list.Select(SampleStream.OccurredAt));
            Assert.Equal(
                Enumerable.Range(1, list.Count).Select(n => $"evt-{userEvents.Key}-{n}"),
                list.Select(@event => @event.EventId));
        }
    }

    [Fact]
    public void Some_users_first_web_session_also_carries_an_anonymous_id()
    {
        var anonymous = SampleStream.Events.Where(@event => @event.AnonymousId.Length > 0).ToList();

        Assert.NotEmpty(anonymous);
        Assert.All(anonymous, @event => Assert.Equal("web", @event.Source));
        Assert.All(anonymous.GroupBy(@event => @event.UserId), events => Assert.Single(events.Select(@event => @event.AnonymousId).Distinct()));
    }

    [GeneratedRegex("^[A-Z]{2}$")]
    private static partial Regex CountryCode();

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyCode();

    [GeneratedRegex(@"^\d+\.\d{2}$")]
    private static partial Regex Price();
}
