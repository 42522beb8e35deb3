using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class DerivedViewTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData(2010, "under_18")]
    [InlineData(2008, "18_24")]
    [InlineData(2002, "18_24")]
    [InlineData(2001, "25_34")]
    [InlineData(1992, "25_34")]
    [InlineData(1991, "35_44")]
    [InlineData(1981, "45_54")]
    [InlineData(1971, "55_64")]
    [InlineData(1961, "65_plus")]
    [InlineData(1930, "65_plus")]
    [InlineData(1800, null)]
    [InlineData(2031, null)]
    public void Age_band_from_birth_year(int? birthYear, string? expected)
    {
        Assert.Equal(expected, ProfileMetrics.AgeBand(birthYear, Now));
    }

    [Fact]
    public void An_empty_profile_is_zero_complete()
    {
        var profile = new UserProfile();

        Assert.Equal(0, ProfileMetrics.Completeness(profile));
        Assert.Equal(ProfileMetrics.CompletenessFields, ProfileMetrics.MissingFields(profile));
    }

    [Fact]
    public void A_fully_known_profile_is_fully_complete()
    {
        var user = new ProfileUnderTest();
        user.Apply(
            Identify(Now, new DemographicsUpdate { BirthYear = 1990, Gender = Gender.Female, Country = "fr", Language = "FR", City = "Lyon" }),
            Preference(Now, new PreferenceUpdate { Key = "newsletter", Value = "weekly", EmailOptIn = true, SmsOptIn = false, PersonalizationOptIn = true }),
            Of(EventKind.PageView, Now, device: DeviceType.Mobile, locale: "fr-FR"),
            Purchase(Now, "EUR", 20m));

        Assert.Equal(1, ProfileMetrics.Completeness(user.Profile));
        Assert.Empty(ProfileMetrics.MissingFields(user.Profile));
    }

    [Fact]
    public void A_partial_profile_is_the_share_of_known_fields()
    {
        var user = new ProfileUnderTest();

        user.Apply(Identify(Now, new DemographicsUpdate { Country = "DE", Language = "de" }), Preference(Now, new PreferenceUpdate { EmailOptIn = false }));

        Assert.Equal(3d / ProfileMetrics.CompletenessFields.Count, ProfileMetrics.Completeness(user.Profile), 9);
        Assert.DoesNotContain("email_opt_in", ProfileMetrics.MissingFields(user.Profile));
        Assert.Contains("birth_year", ProfileMetrics.MissingFields(user.Profile));
    }

    [Fact]
    public void The_country_an_imported_order_came_from_counts_as_the_country_known()
    {
        // An outside probe: an order export's country column arrives as the events' country, which completeness ignored
        // while the fairness audit grouped by it.
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now, "GBP", 12m) with { Context = new EventContext { Country = "GB" } });

        Assert.DoesNotContain("country", ProfileMetrics.MissingFields(user.Profile));
        Assert.Contains("city", ProfileMetrics.MissingFields(user.Profile));
    }

    [Fact]
    public void Staleness_is_days_since_the_last_event_and_a_user_silent_beyond_dormant_after_is_dormant()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Now.AddDays(-10)), PageView(Now.AddDays(-100)));

        Assert.Equal(10, ProfileMetrics.StalenessDays(user.Profile, Now)!.Value, 6);
        Assert.False(ProfileMetrics.IsDormant(user.Profile, user.Options, Now));
        Assert.False(ProfileMetrics.IsDormant(user.Profile, user.Options, Now.AddDays(79)));
        Assert.True(ProfileMetrics.IsDormant(user.Profile, user.Options, Now.AddDays(81)));
        Assert.Equal(91, ProfileMetrics.StalenessDays(user.Profile, Now.AddDays(81))!.Value, 6);
    }

    [Fact]
    public void Dormant_after_is_configurable()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { DormantAfter = TimeSpan.FromDays(7) } };
        user.Apply(PageView(Now.AddDays(-8)));

        Assert.True(user.Document().Dormant);
    }

    [Fact]
    public void A_profile_without_events_is_neither_stale_nor_dormant()
    {
        var profile = new UserProfile();

        Assert.Null(ProfileMetrics.StalenessDays(profile, Now));
        Assert.False(ProfileMetrics.IsDormant(profile, new ProfileOptions(), Now));
    }
}
