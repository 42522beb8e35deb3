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
        Assert.Equal(["AUD", "BRL", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "MXN", "NOK", "PLN", "SEK", "USD"], options.ExchangeRates.Keys.Order());
        Assert.Equal(1.16m, options.RateToReporting("eur"));
    }

    [Fact]
    public void Forgotten_owned_items_may_take_at_most_half_of_the_items_bytes()
    {
        Assert.Equal(5_000, new ProfileOptions().MaxForgottenOwned);
        Assert.Empty(new ProfileOptions { MaxForgottenOwned = 0 }.Validate());
        var problem = Assert.Single(new ProfileOptions { ItemsMaxBytes = 20_000, MaxForgottenOwned = 5_000 }.Validate());
        Assert.Equal("ProfileGrid:Profile:MaxForgottenOwned must be between 0 and 1666 (its hashes take at most half of ItemsMaxBytes, 6 bytes each; is 5000).", problem);
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
    public void A_reporting_currency_without_a_rate_of_one_is_rejected()
    {
        var options = new ProfileOptions { ReportingCurrency = "BRL" };

        Assert.Contains(options.Validate(), p => p.Contains("BRL", StringComparison.Ordinal));
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
