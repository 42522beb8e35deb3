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
    public void The_windows_follow_a_change_of_reporting_currency_as_the_all_time_revenue_does()
    {
        // probe57: a retail export imported under GBP, then read under USD, had its windows in pounds labelled as dollars.
        var pounds = new ProfileOptions { ReportingCurrency = "GBP" };
        var user = new ProfileUnderTest { Options = pounds };
        user.Apply(Purchase(Now.AddDays(-40), "GBP", 100m), Purchase(Now.AddDays(-2), "GBP", 50m), Purchase(Now.AddDays(-1), "EUR", 20m));
        var gbpPerEur = pounds.RateToReporting("EUR")!.Value;
        Assert.Equal(RoundMoney(150m + 20m * gbpPerEur), user.Window("365d").Revenue.Amount);

        var dollars = new ProfileOptions { ReportingCurrency = "USD" };
        user.Options = dollars;
        var (usdPerGbp, usdPerEur) = (dollars.RateToReporting("GBP")!.Value, dollars.RateToReporting("EUR")!.Value);
        Assert.Equal(ProfileMetrics.Monetary(user.Profile, dollars), user.Window("365d").Revenue);
        Assert.Equal(new Money(RoundMoney(50m * usdPerGbp + 20m * usdPerEur), "USD"), user.Window("30d").Revenue);

        // New rates move the windows too: every figure reads at the rates of the day.
        var ratesChanged = new ProfileOptions { ReportingCurrency = "USD", ExchangeRates = new(StringComparer.OrdinalIgnoreCase) { ["GBP"] = 1.25m, ["EUR"] = 1m } };
        user.Options = ratesChanged;
        Assert.Equal(new Money(50m * 1.25m + 20m, "USD"), user.Window("30d").Revenue);
        Assert.Equal(ProfileMetrics.Monetary(user.Profile, ratesChanged), user.Window("365d").Revenue);
    }

    [Fact]
    public void Days_written_before_revenue_was_kept_as_paid_still_read_in_the_reporting_currency()
    {
        // A state of an earlier release: the day's revenue converted to the reporting currency (USD), no currency named.
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-3), "EUR", 100m));
        var day = Assert.Single(user.Profile.Behavior.DailyBuckets, bucket => bucket.Orders > 0);
        (day.Revenue, user.Profile.Behavior.BucketRevenueCurrency) = (100m * 1.16m, null);
        Assert.Equal(116m, user.Window("30d").Revenue.Amount);

        // Its next event of any kind names the currency those days are in; an order is kept as paid beside them.
        user.Apply(PageView(Now.AddDays(-2)));
        Assert.Equal("USD", user.Profile.Behavior.BucketRevenueCurrency);
        user.Apply(Purchase(Now.AddDays(-1), "EUR", 10m));
        Assert.Equal(116m + 11.6m, user.Window("30d").Revenue.Amount);

        // Named, the old days follow a change of reporting currency as the new ones do.
        user.Options = new ProfileOptions { ReportingCurrency = "EUR" };
        Assert.Equal(RoundMoney((116m * user.Options.RateToReporting("USD")!.Value) + 10m), user.Window("30d").Revenue.Amount);
    }

    private static decimal RoundMoney(decimal amount) => Math.Round(amount, 2, MidpointRounding.ToEven);

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
