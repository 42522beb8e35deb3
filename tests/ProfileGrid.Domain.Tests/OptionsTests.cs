using Microsoft.Extensions.Configuration;

namespace ProfileGrid.Domain.Tests;

public class OptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_documented_values()
    {
        var options = new ProfileOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromMinutes(30), options.SessionTimeout);
        Assert.Equal(TimeSpan.FromDays(90), options.DormantAfter);
        Assert.Equal(TimeSpan.FromDays(7), options.EngagementHalfLife);
        Assert.Equal([30, 90, 365], options.Windows());
        Assert.Equal("ProfileGrid:Profile", ProfileOptions.SectionName);
        Assert.Empty(options.ExchangeRates);
        Assert.Equal(["AUD", "BRL", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "MXN", "NOK", "PLN", "SEK", "USD"], ProfileOptions.DemoRatesToUsd.Keys.Order());
        Assert.Equal(1.16m, options.RateToReporting("eur"));
        Assert.Equal(1m, options.RateToReporting("USD"));
        Assert.Null(options.RateToReporting("ZAR"));
    }

    [Fact]
    public void Forgotten_owned_items_may_take_at_most_half_of_the_items_bytes()
    {
        Assert.Equal(4_000, new ProfileOptions().MaxForgottenOwned);
        Assert.Empty(new ProfileOptions { MaxForgottenOwned = 0 }.Validate());
        var problem = Assert.Single(new ProfileOptions { ItemsMaxBytes = 20_000, MaxForgottenOwned = 5_000 }.Validate());
        Assert.Equal("ProfileGrid:Profile:MaxForgottenOwned must be between 0 and 1000 (its hashes and times take at most half of ItemsMaxBytes, 10 bytes each; is 5000).", problem);
    }

    [Fact]
    public void Configuration_replaces_the_default_windows_and_adds_exchange_rates()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ProfileGrid:Profile:WindowDays:0"] = "7",
            ["ProfileGrid:Profile:WindowDays:1"] = "28",
            ["ProfileGrid:Profile:SessionTimeout"] = "00:20:00",
            ["ProfileGrid:Profile:ExchangeRates:BRL"] = "0.18",
        }).Build();
        var options = new ProfileOptions();

        configuration.GetSection(ProfileOptions.SectionName).Bind(options);

        Assert.Equal([7, 28], options.Windows());
        Assert.Equal(TimeSpan.FromMinutes(20), options.SessionTimeout);
        Assert.Equal(0.18m, options.RateToReporting("BRL"));
        Assert.Equal(1.16m, options.RateToReporting("EUR"));
        Assert.Empty(options.Validate());
    }

    [Fact]
    public void Validation_names_every_unusable_setting()
    {
        var options = new ProfileOptions
        {
            SessionTimeout = TimeSpan.Zero,
            DedupeWindow = 0,
            MaxCategories = -1,
            ReportingCurrency = "usd",
            WindowDays = [],
        };

        var problems = options.Validate();

        Assert.Equal(5, problems.Count);
        Assert.Contains(problems, p => p.Contains("SessionTimeout", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("DedupeWindow", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("MaxCategories", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ReportingCurrency", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("WindowDays", StringComparison.Ordinal));
    }

    [Fact]
    public void A_reporting_currency_listed_at_another_rate_than_one_is_rejected()
    {
        var options = new ProfileOptions { ReportingCurrency = "BRL", ExchangeRates = new(StringComparer.OrdinalIgnoreCase) { ["BRL"] = 0.19m } };

        Assert.Equal("ProfileGrid:Profile:ExchangeRates:BRL must be 1 (it is the reporting currency; is 0.19).", Assert.Single(options.Validate()));
    }

    [Fact]
    public void Another_reporting_currency_converts_the_demo_rates_to_it_and_keeps_the_rates_configured()
    {
        // An outside probe: reporting in BRL with BRL=1 set, the demo table's USD=1 and EUR=1.16 stayed as they were, so
        // 100 USD and 100 EUR read as 216 BRL.
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ProfileGrid:Profile:ReportingCurrency"] = "BRL",
            ["ProfileGrid:Profile:ExchangeRates:BRL"] = "1",
            ["ProfileGrid:Profile:ExchangeRates:ARS"] = "0.0058",
        }).Build();
        var options = new ProfileOptions();
        configuration.GetSection(ProfileOptions.SectionName).Bind(options);

        Assert.Empty(options.Validate());
        Assert.Equal(1m, options.RateToReporting("BRL"));
        Assert.Equal(0.0058m, options.RateToReporting("ARS"));
        Assert.Equal(1m / 0.19m, options.RateToReporting("USD"));
        Assert.Equal(1.16m / 0.19m, options.RateToReporting("EUR"));

        var user = new ProfileUnderTest { Options = options };
        user.Apply(TestEvents.Purchase(TestEvents.Now, "USD", 100m), TestEvents.Purchase(TestEvents.Now, "EUR", 100m));
        Assert.Equal(new Money(1136.84m, "BRL"), ProfileMetrics.Monetary(user.Profile, options));

        // A reporting currency the demo table does not know gets no demo rates: only what is configured converts.
        var rupees = new ProfileOptions { ReportingCurrency = "INR" };
        Assert.Empty(rupees.Validate());
        Assert.Equal(1m, rupees.RateToReporting("INR"));
        Assert.Null(rupees.RateToReporting("USD"));
    }

    [Fact]
    public void Bad_exchange_rates_are_rejected()
    {
        var options = new ProfileOptions();
        options.ExchangeRates["EUR"] = 0m;
        options.ExchangeRates["euro"] = 1m;

        Assert.Equal(2, options.Validate().Count);
    }
}
