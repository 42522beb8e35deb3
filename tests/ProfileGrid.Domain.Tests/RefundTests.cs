using FsCheck.Xunit;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>Refunds (cancellations, returns) reduce revenue, never below zero, once per refund, in any arrival order.</summary>
public class RefundTests
{
    private static UserEvent Refund(DateTimeOffset at, string currency, decimal amount, string refundId, string? orderId = null, string? id = null) =>
        Of(EventKind.Refund, at, id) with
        {
            Refund = new RefundInfo
            {
                RefundId = refundId,
                OrderId = orderId,
                Currency = currency,
                Lines = [new PurchaseLine { ProductId = "p-0", Quantity = 1, UnitPrice = amount }],
            },
        };

    [Fact]
    public void Refunds_add_no_engagement_velocity_but_still_move_last_seen()
    {
        // probe69: twelve refunds of 1.00 booked for an order export read as heavy activity, and the customer moved into
        // the top spenders' segment on engagement velocity alone.
        var (withRefunds, without) = (new ProfileUnderTest(), new ProfileUnderTest());
        var orders = new[] { Purchase(Now.AddDays(-60), "USD", 100m, id: "buy-1"), Purchase(Now.AddDays(-30), "USD", 50m, id: "buy-2") };
        without.Apply(orders);
        withRefunds.Apply(orders);
        withRefunds.Apply([.. Enumerable.Range(0, 12).Select(i => Refund(Now.AddDays(-2).AddHours(i), "USD", 1m, $"C-{i}", "o-buy-1"))]);

        Assert.Equal(ProfileMetrics.EngagementVelocity(without.Profile, without.Options, Now), ProfileMetrics.EngagementVelocity(withRefunds.Profile, withRefunds.Options, Now));
        Assert.Equal(Now.AddDays(-2).AddHours(11), withRefunds.Profile.Behavior.LastSeen);
        Assert.Equal(new Money(138m, "USD"), withRefunds.Document().Behavior.Monetary);
    }

    [Fact]
    public void A_partial_return_reduces_revenue_and_average_order_value_but_not_the_order_count()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-3), "USD", 100m, id: "buy-1"), Purchase(Now.AddDays(-2), "USD", 50m), Refund(Now.AddDays(-1), "USD", 30m, "C-1", "o-buy-1"));

        var behavior = user.Document().Behavior;
        Assert.Equal(2, behavior.Orders);
        Assert.Equal(new Money(120m, "USD"), behavior.Monetary);
        Assert.Equal(new Money(60m, "USD"), behavior.AverageOrderValue);
        Assert.Equal([new Money(120m, "USD")], behavior.MonetaryByCurrency);
        Assert.Equal((2, 120m), (user.Window("30d").Orders, user.Window("30d").Revenue.Amount));
        Assert.Equal(1, behavior.EventCounts["refund"]);
    }

    [Fact]
    public void A_refund_is_not_a_visit_from_any_channel()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Purchase(Now.AddDays(-3), "USD", 100m, id: "buy-1"),
            Refund(Now.AddDays(-2), "USD", 30m, "C-1", "o-buy-1", id: "web-refund") with { Source = Channel.Web },
            Refund(Now.AddDays(-1), "USD", 20m, "C-2", "o-buy-1", id: "app-refund") with { Source = Channel.App });

        Assert.Equal(1, user.Profile.Behavior.Sessions);
        Assert.Equal(1, user.Window("30d").Sessions);
        Assert.Equal(new Money(50m, "USD"), user.Document().Behavior.Monetary);
    }

    [Fact]
    public void A_refund_of_an_order_from_before_the_history_leaves_revenue_at_zero_not_below()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-2), "USD", 10m), Refund(Now.AddDays(-1), "USD", 25m, "C-9", "older-order"));

        Assert.Equal(new Money(0m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));
        Assert.Equal(0m, user.Window("30d").Revenue.Amount);
        Assert.Equal(1, user.Profile.Behavior.Orders);
    }

    [Fact]
    public void The_same_refund_under_another_event_id_gives_back_once()
    {
        var user = new ProfileUnderTest();

        var result = user.Apply(Purchase(Now.AddDays(-2), "USD", 100m), Refund(Now, "USD", 40m, "C-1", id: "web-1"), Refund(Now, "USD", 40m, "C-1", id: "crm-1"));

        Assert.Equal((2, 1), (result.Applied, result.Duplicates));
        Assert.Equal(new Money(60m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));
    }

    [Fact]
    public void A_refund_in_a_currency_the_user_never_paid_in_changes_neither_the_all_time_nor_any_windows_revenue()
    {
        // Paid in EUR, refunded in GBP: nothing the profile holds was paid in GBP. The windows took it off the EUR revenue
        // while the all-time revenue (per currency, at least zero) did not, so the 30-day revenue was below the all-time one
        // with a single recent order.
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-2), "EUR", 100m, id: "buy-1"));
        var before = (ProfileMetrics.Monetary(user.Profile, user.Options), user.Window("30d").Revenue, user.Window("365d").Revenue);

        user.Apply(Refund(Now.AddDays(-1), "GBP", 30m, "C-1", "o-buy-1"));

        var paid = new Money(116m, "USD"); // 100 EUR at 1.16
        Assert.Equal(paid, ProfileMetrics.Monetary(user.Profile, user.Options));
        Assert.Equal(paid, user.Window("30d").Revenue);
        Assert.Equal(paid, user.Window("365d").Revenue);
        Assert.Equal(before, (ProfileMetrics.Monetary(user.Profile, user.Options), user.Window("30d").Revenue, user.Window("365d").Revenue));
        Assert.Equal([new Money(100m, "EUR")], user.Document().Behavior.MonetaryByCurrency); // no revenue line of 0.00 GBP (a black-box finding)
    }

    [Fact]
    public void A_refund_before_its_order_shows_no_revenue_line_until_the_order_comes_and_then_the_net()
    {
        var user = new ProfileUnderTest();
        user.Apply(Refund(Now.AddDays(-1), "USD", 30m, "C-1", "o-buy-1"));
        Assert.Empty(user.Document().Behavior.MonetaryByCurrency);

        user.Apply(Purchase(Now.AddDays(-2), "USD", 100m, id: "buy-1"));
        Assert.Equal([new Money(70m, "USD")], user.Document().Behavior.MonetaryByCurrency);
    }

    [Fact]
    public void A_refund_beyond_what_was_paid_in_its_currency_gives_back_what_was_paid_in_every_window_too()
    {
        // 10 USD paid, 25 USD refunded (an order from before the history), 100 EUR paid: the all-time revenue keeps the
        // EUR and gives back the 10 USD; the windows did likewise only for the USD paid, and took the other 15 off the EUR.
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-3), "USD", 10m), Purchase(Now.AddDays(-2), "EUR", 100m), Refund(Now.AddDays(-1), "USD", 25m, "C-9", "older-order"));

        Assert.Equal(new Money(116m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));
        Assert.Equal(new Money(116m, "USD"), user.Window("30d").Revenue);
    }

    [Fact]
    public void A_windows_refund_of_an_order_from_before_it_leaves_the_windows_other_currency_alone()
    {
        // probe60: 100 EUR paid on 1 October and refunded on 20 November, then 50 USD paid on 25 November. As of 30
        // November the 30-day window holds the EUR refund and the USD order, but no EUR payment: it showed 0.00, the
        // refund taken off the dollars.
        var asOf = new DateTimeOffset(2024, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var user = new ProfileUnderTest();
        user.Apply(
            Purchase(new DateTimeOffset(2024, 10, 1, 10, 0, 0, TimeSpan.Zero), "EUR", 100m, id: "A"),
            Refund(new DateTimeOffset(2024, 11, 20, 10, 0, 0, TimeSpan.Zero), "EUR", 100m, "R-A", "o-A"),
            Purchase(new DateTimeOffset(2024, 11, 25, 10, 0, 0, TimeSpan.Zero), "USD", 50m, id: "B"));

        var windows = ProfileMetrics.Windows(user.Profile, user.Options, asOf).ToDictionary(w => w.Window);
        Assert.Equal(new Money(50m, "USD"), windows["30d"].Revenue);
        Assert.Equal(new Money(50m, "USD"), windows["90d"].Revenue); // 116 paid, 116 given back, 50 paid
        Assert.Equal(new Money(50m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));

        // Within one currency a window still nets the refunds of its days against its payments, floored at zero.
        user.Apply(Purchase(new DateTimeOffset(2024, 11, 26, 10, 0, 0, TimeSpan.Zero), "EUR", 30m, id: "C"));
        windows = ProfileMetrics.Windows(user.Profile, user.Options, asOf).ToDictionary(w => w.Window);
        Assert.Equal(new Money(50m, "USD"), windows["30d"].Revenue); // 30 EUR paid, 100 EUR refunded: nothing in euros
    }

    [Fact]
    public void A_refund_from_before_the_history_leaves_a_later_windows_purchases_alone()
    {
        // probe50, Online Retail's shape: a December 2009 cancellation of an invoice the export does not hold, and a
        // purchase in October 2011. The all-time revenue gives the refund back against what was paid (0.00); the 365-day
        // window as of 2011-12-10 holds the purchase and not the refund. It was capped at the all-time revenue (0.00).
        var asOf = new DateTimeOffset(2011, 12, 10, 0, 0, 0, TimeSpan.Zero);
        var user = new ProfileUnderTest();
        user.Apply(
            Refund(new DateTimeOffset(2009, 12, 4, 9, 45, 0, TimeSpan.Zero), "USD", 12.60m, "C1", "before-the-history"),
            Purchase(new DateTimeOffset(2011, 10, 7, 17, 19, 0, TimeSpan.Zero), "USD", 10.20m));

        Assert.Equal(0m, ProfileMetrics.Monetary(user.Profile, user.Options).Amount);
        var windows = ProfileMetrics.Windows(user.Profile, user.Options, asOf).ToDictionary(w => w.Window);
        Assert.Equal(10.20m, windows["90d"].Revenue.Amount);
        Assert.Equal(10.20m, windows["365d"].Revenue.Amount);
        Assert.Equal(0m, windows["30d"].Revenue.Amount);
    }

    [Property(MaxTest = 200)]
    public void No_revenue_is_negative_and_a_window_shows_no_more_than_was_paid_with_refunds_in_any_currency(int seed)
    {
        var random = new Random(seed);
        var user = new ProfileUnderTest();
        string[] currencies = ["USD", "EUR", "GBP", "ZAR"];
        for (var i = 0; i < random.Next(1, 30); i++)
        {
            var at = Now.AddDays(-random.Next(0, 500)).AddMinutes(-random.Next(0, 1000));
            var currency = currencies[random.Next(currencies.Length)];
            var amount = random.Next(1, 10_000) / 100m;
            user.Apply(random.Next(3) == 0 ? Refund(at, currency, amount, $"C-{seed}-{i}") : Purchase(at, currency, amount));
        }

        var allTime = ProfileMetrics.Monetary(user.Profile, user.Options).Amount;
        Assert.True(allTime >= 0);
        var paid = user.Profile.Behavior.MonetaryByCurrency.Sum(p => p.Value.Amount * (user.Options.RateToReporting(p.Key) ?? 0m));
        foreach (var window in ProfileMetrics.Windows(user.Profile, user.Options, Now))
        {
            Assert.True(window.Revenue.Amount >= 0, $"{window.Window}: {window.Revenue.Amount}");
            Assert.True(window.Revenue.Amount <= Math.Round(paid, 2) + 0.01m, $"{window.Window}: {window.Revenue.Amount} above all paid {paid}");
        }
    }

    [Property(MaxTest = 200)]
    public void Revenue_is_purchases_less_refunds_floored_at_zero_per_currency_in_any_order_and_replays_change_nothing(int seed)
    {
        var random = new Random(seed);
        var events = new List<UserEvent>();
        decimal bought = 0, refunded = 0;
        for (var i = 0; i < random.Next(1, 30); i++)
        {
            var amount = random.Next(0, 10_000) / 100m;
            var at = Now.AddDays(-random.Next(0, 20)).AddMinutes(-random.Next(0, 1000));
            if (random.Next(3) == 0)
            {
                events.Add(Refund(at, "USD", amount, $"C-{seed}-{i}"));
                refunded += amount;
            }
            else
            {
                events.Add(Purchase(at, "USD", amount));
                bought += amount;
            }
        }

        var inOrder = new ProfileUnderTest();
        inOrder.Apply([.. events]);
        var shuffled = new ProfileUnderTest();
        foreach (var e in events.OrderBy(_ => random.Next()))
        {
            shuffled.Apply(e);
        }

        shuffled.Apply([.. events]); // every event again: all replays

        var expected = Math.Max(0m, bought - refunded);
        Assert.Equal(new Money(expected, "USD"), ProfileMetrics.Monetary(inOrder.Profile, inOrder.Options));
        Assert.Equal(ProfileMetrics.Monetary(inOrder.Profile, inOrder.Options), ProfileMetrics.Monetary(shuffled.Profile, shuffled.Options));
        Assert.Equal(inOrder.Window("30d"), shuffled.Window("30d"));
        Assert.Equal(events.Count(e => e.Kind == EventKind.Purchase), shuffled.Profile.Behavior.Orders);
        Assert.True(shuffled.Window("30d").Revenue.Amount >= 0);
    }
}
