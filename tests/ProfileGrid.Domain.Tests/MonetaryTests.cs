using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class MonetaryTests
{
    [Fact]
    public void Average_order_value_is_monetary_divided_by_orders()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-2), "USD", 30m), Purchase(Now.AddDays(-1), "USD", [("shoes", 25m, 2), ("hats", 20m, 1)]));

        Assert.Equal(2, user.Profile.Behavior.Orders);
        Assert.Equal(new Money(100m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));
        Assert.Equal(new Money(50m, "USD"), ProfileMetrics.AverageOrderValue(user.Profile, user.Options));
    }

    [Fact]
    public void A_half_cent_rounds_to_even_as_pandas_and_python_round_it()
    {
        // 2,205.90 over 12 orders is 183.825: Python's decimal, round() and pandas give 183.82 (a black-box check against
        // pandas found the grid's 183.83, rounded half away from zero).
        var user = new ProfileUnderTest();
        user.Apply([.. Enumerable.Range(0, 11).Select(i => Purchase(Now.AddDays(-20 + i), "USD", 183.8m)), Purchase(Now.AddDays(-1), "USD", 2205.90m - (11 * 183.8m))]);

        Assert.Equal(new Money(2205.90m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));
        Assert.Equal(new Money(183.82m, "USD"), ProfileMetrics.AverageOrderValue(user.Profile, user.Options));
    }

    [Fact]
    public void Orders_in_other_currencies_are_converted_to_the_reporting_currency_and_kept_as_paid()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-1), "EUR", 100m), Purchase(Now, "USD", 50m), Purchase(Now, "eur", 10m));

        var document = user.Document().Behavior;
        Assert.Equal(new Money(50m + 110m * 1.16m, "USD"), document.Monetary);
        Assert.Equal([new Money(110m, "EUR"), new Money(50m, "USD")], document.MonetaryByCurrency);
        Assert.Equal(Math.Round((50m + 110m * 1.16m) / 3, 2), document.AverageOrderValue!.Value.Amount);
        Assert.Equal(50m + 110m * 1.16m, user.Window("30d").Revenue.Amount);
    }

    [Fact]
    public void A_currency_without_a_rate_counts_as_an_order_but_adds_nothing_to_reporting_revenue()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now, "USD", 40m), Purchase(Now, "ZAR", 500m));

        var document = user.Document().Behavior;
        Assert.Equal(2, document.Orders);
        Assert.Equal(new Money(40m, "USD"), document.Monetary);
        Assert.Equal(new Money(40m, "USD"), document.AverageOrderValue);
        Assert.Contains(new Money(500m, "ZAR"), document.MonetaryByCurrency);
        Assert.Equal((2, 40m), (user.Window("30d").Orders, user.Window("30d").Revenue.Amount));
    }

    [Fact]
    public void The_reporting_currency_and_rates_are_configurable()
    {
        var options = new ProfileOptions
        {
            ReportingCurrency = "EUR",
            ExchangeRates = new(StringComparer.OrdinalIgnoreCase) { ["EUR"] = 1m, ["USD"] = 0.5m },
        };
        var user = new ProfileUnderTest { Options = options };

        user.Apply(Purchase(Now, "USD", 100m), Purchase(Now, "EUR", 10m));

        Assert.Equal(new Money(60m, "EUR"), ProfileMetrics.Monetary(user.Profile, options));
        Assert.Equal(new Money(30m, "EUR"), ProfileMetrics.AverageOrderValue(user.Profile, options));
    }

    [Fact]
    public void First_and_last_purchase_and_recency_follow_event_time()
    {
        var user = new ProfileUnderTest();
        Assert.Null(ProfileMetrics.RecencyDays(user.Profile, Now));

        user.Apply(Purchase(Now.AddDays(-3), "USD", 1m));
        user.Apply(Purchase(Now.AddDays(-10), "USD", 1m));

        Assert.Equal(Now.AddDays(-10), user.Profile.Behavior.FirstPurchaseAt);
        Assert.Equal(Now.AddDays(-3), user.Profile.Behavior.LastPurchaseAt);
        Assert.Equal(3, ProfileMetrics.RecencyDays(user.Profile, Now)!.Value, 6);
    }

    [Fact]
    public void No_orders_means_zero_monetary_and_no_average_order_value()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Now));

        Assert.Equal(new Money(0m, "USD"), ProfileMetrics.Monetary(user.Profile, user.Options));
        Assert.Null(ProfileMetrics.AverageOrderValue(user.Profile, user.Options));
        var document = user.Document().Behavior;
        Assert.Null(document.AverageOrderValue);
        Assert.Null(document.RecencyDays);
        Assert.DoesNotContain("averageOrderValue", user.Json());
        Assert.DoesNotContain("recencyDays", user.Json());
    }
}
