using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class DemographicsAndPreferencesTests
{
    [Fact]
    public void Identify_merges_only_the_fields_it_carries()
    {
        var user = new ProfileUnderTest();

        user.Apply(Identify(Now.AddMinutes(-2), new DemographicsUpdate { BirthYear = 1985, Country = "gb", Traits = new Dictionary<string, string> { ["tier"] = "gold" } }));
        user.Apply(Identify(Now.AddMinutes(-1), new DemographicsUpdate { City = "Leeds", Traits = new Dictionary<string, string> { ["team"] = "red" } }));

        var demographics = user.Profile.Demographics;
        Assert.Equal((1985, "GB", "Leeds"), (demographics.BirthYear, demographics.Country, demographics.City));
        Assert.Equal(new Dictionary<string, string> { ["tier"] = "gold", ["team"] = "red" }, demographics.Traits);
        Assert.Equal(Now.AddMinutes(-1), demographics.UpdatedAt);
        Assert.Equal("35_44", user.Document().Demographics.AgeBand);
    }

    [Fact]
    public void Updates_of_one_instant_leave_the_same_values_in_every_arrival_order()
    {
        // probe58: two preference_set events at 10:00:00, emailOptIn true and false, left whichever arrived last; so did
        // two identify events' countries. A fixed order of values picks one: text by ordinal, a refusal of consent over
        // an agreement (the safe reading of a tie), the value set over its removal.
        var at = Now.AddHours(-2);
        UserEvent[] updates =
        [
            Preference(at, new PreferenceUpdate { EmailOptIn = true, Key = "newsletter", Value = "weekly" }),
            Preference(at, new PreferenceUpdate { EmailOptIn = false, PersonalizationOptIn = true, Key = "newsletter", Value = "daily" }),
            Preference(at, new PreferenceUpdate { PersonalizationOptIn = false, Key = "newsletter", Value = null }),
            Identify(at, new DemographicsUpdate { Country = "DE", City = "Lyon", BirthYear = 1990, Gender = Gender.Female, Traits = new Dictionary<string, string> { ["tier"] = "gold" } }),
            Identify(at, new DemographicsUpdate { Country = "FR", City = "Berlin", BirthYear = 1985, Gender = Gender.Male, Traits = new Dictionary<string, string> { ["tier"] = "silver" } }),
        ];

        string? first = null;
        foreach (var order in Permutations(Enumerable.Range(0, updates.Length).ToArray()))
        {
            var user = new ProfileUnderTest();
            foreach (var index in order)
            {
                user.Apply(updates[index]);
            }

            var (preferences, demographics) = (user.Profile.Preferences, user.Profile.Demographics);
            var seen = $"{preferences.EmailOptIn} {preferences.PersonalizationOptIn} {string.Join(",", preferences.Values)} " +
                $"{demographics.Country} {demographics.City} {demographics.BirthYear} {demographics.Gender} {string.Join(",", demographics.Traits)}";
            first ??= seen;
            Assert.Equal(first, seen);
        }

        Assert.Equal("False False [newsletter, weekly] FR Lyon 1990 Male [tier, silver]", first);
    }

    private static IEnumerable<int[]> Permutations(int[] items)
    {
        if (items.Length <= 1)
        {
            yield return items;
            yield break;
        }

        for (var i = 0; i < items.Length; i++)
        {
            foreach (var rest in Permutations([.. items[..i], .. items[(i + 1)..]]))
            {
                yield return [items[i], .. rest];
            }
        }
    }

    [Fact]
    public void An_empty_trait_value_removes_the_trait_as_an_empty_preference_value_does()
    {
        // probe58: a trait set to "" was kept as "", and no trait could be removed.
        var user = new ProfileUnderTest();
        user.Apply(Identify(Now.AddHours(-2), new DemographicsUpdate { Traits = new Dictionary<string, string> { ["tier"] = "gold", ["team"] = "red" } }));

        ProfileUpdater.ApplyAttributes(user.Profile, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["tier"] = "" } }, Now, user.Options);

        Assert.Equal(new Dictionary<string, string> { ["team"] = "red" }, user.Profile.Demographics.Traits);
        Assert.DoesNotContain("tier", user.Json());

        // An empty value for a trait never set adds nothing.
        ProfileUpdater.ApplyAttributes(user.Profile, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["other"] = "" } }, Now, user.Options);
        Assert.Equal(["team"], user.Profile.Demographics.Traits.Keys);
    }

    [Fact]
    public void A_removal_stands_against_an_older_value_arriving_later_and_is_laid_over_a_rebuild()
    {
        // review59: the removal dropped the field's time, so a value dated before it and arriving after it came back, and
        // a rebuild from events (an unmerge, a backfill) brought an event's trait back over the direct removal.
        var user = new ProfileUnderTest();
        var set = Identify(Now.AddHours(-2), new DemographicsUpdate { Traits = new Dictionary<string, string> { ["tier"] = "gold" } });
        var pref = Preference(Now.AddHours(-2), new PreferenceUpdate { Key = "newsletter", Value = "weekly" });
        user.Apply(set, pref);
        var direct = new UserProfile();
        foreach (var target in new[] { user.Profile, direct })
        {
            ProfileUpdater.ApplyAttributes(target, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["tier"] = "" } }, Now.AddHours(-1), user.Options);
            ProfileUpdater.ApplyPreferences(target, new PreferenceUpdate { Key = "newsletter", Value = null }, Now.AddHours(-1), user.Options);
        }

        user.Apply(
            Identify(Now.AddHours(-3), new DemographicsUpdate { Traits = new Dictionary<string, string> { ["tier"] = "silver" } }),
            Preference(Now.AddHours(-3), new PreferenceUpdate { Key = "newsletter", Value = "daily" }));
        Assert.Empty(user.Profile.Demographics.Traits);
        Assert.Empty(user.Profile.Preferences.Values);

        var rebuilt = new ProfileUnderTest();
        rebuilt.Apply(set, pref);
        DirectWrites.Overlay(rebuilt.Profile, direct, rebuilt.Options);
        Assert.Empty(rebuilt.Profile.Demographics.Traits);
        Assert.Empty(rebuilt.Profile.Preferences.Values);

        // A later value still sets it again.
        user.Apply(Identify(Now, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["tier"] = "bronze" } }));
        Assert.Equal("bronze", user.Profile.Demographics.Traits["tier"]);
    }

    [Fact]
    public void Keys_added_and_removed_forever_keep_a_bounded_number_of_removal_marks()
    {
        var user = new ProfileUnderTest();
        for (var i = 0; i < 500; i++)
        {
            ProfileUpdater.ApplyPreferences(user.Profile, new PreferenceUpdate { Key = $"k{i}", Value = "v" }, Now.AddMinutes(i), user.Options);
            ProfileUpdater.ApplyPreferences(user.Profile, new PreferenceUpdate { Key = $"k{i}", Value = null }, Now.AddMinutes(i).AddSeconds(1), user.Options);
        }

        Assert.Empty(user.Profile.Preferences.Values);
        Assert.Equal(user.Options.MaxPreferences, user.Profile.Preferences.FieldUpdatedAt.Count);
        Assert.Contains("values.k499", user.Profile.Preferences.FieldUpdatedAt.Keys);
    }

    [Fact]
    public void An_older_identify_arriving_late_does_not_overwrite_newer_values()
    {
        var user = new ProfileUnderTest();

        user.Apply(Identify(Now, new DemographicsUpdate { Country = "FR" }));
        user.Apply(Identify(Now.AddDays(-30), new DemographicsUpdate { Country = "DE", Language = "de" }));

        Assert.Equal("FR", user.Profile.Demographics.Country);
        Assert.Equal("de", user.Profile.Demographics.Language);
    }

    [Fact]
    public void Crm_attributes_are_merged_at_call_time()
    {
        var user = new ProfileUnderTest();
        user.Apply(Identify(Now.AddHours(-1), new DemographicsUpdate { Gender = Gender.Male, City = "Oslo" }));

        ProfileUpdater.ApplyAttributes(user.Profile, new DemographicsUpdate { Gender = Gender.NonBinary }, Now.AddHours(1), user.Options);

        Assert.Equal(Gender.NonBinary, user.Profile.Demographics.Gender);
        Assert.Equal("Oslo", user.Profile.Demographics.City);
        Assert.Equal(Now.AddHours(1), user.Profile.UpdatedAt);
        Assert.Contains("\"gender\":\"non_binary\"", user.Json());
    }

    [Fact]
    public void Traits_are_bounded_and_existing_traits_still_update()
    {
        var options = new ProfileOptions { MaxTraits = 2 };
        var profile = new UserProfile();

        ProfileUpdater.ApplyAttributes(profile, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["a"] = "1", ["b"] = "1", ["c"] = "1" } }, Now, options);
        ProfileUpdater.ApplyAttributes(profile, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["a"] = "2", ["d"] = "2" } }, Now.AddMinutes(1), options);

        Assert.Equal(new Dictionary<string, string> { ["a"] = "2", ["b"] = "1" }, profile.Demographics.Traits);
        Assert.Equal(2, profile.Demographics.FieldUpdatedAt.Keys.Count(k => k.StartsWith("traits.", StringComparison.Ordinal)));
    }

    [Fact]
    public void Preference_events_set_values_and_consent_flags()
    {
        var user = new ProfileUnderTest();

        user.Apply(Preference(Now, new PreferenceUpdate { Key = "size", Value = "M", SmsOptIn = false }));

        var preferences = user.Profile.Preferences;
        Assert.Equal("M", preferences.Values["size"]);
        Assert.False(preferences.SmsOptIn);
        Assert.Null(preferences.EmailOptIn);
        Assert.Equal(Now, preferences.UpdatedAt);
    }

    [Fact]
    public void A_preference_centre_write_changes_consent_and_a_null_value_removes_a_preference()
    {
        var user = new ProfileUnderTest();
        user.Apply(Preference(Now.AddDays(-1), new PreferenceUpdate { Key = "size", Value = "M", EmailOptIn = true }));

        ProfileUpdater.ApplyPreferences(user.Profile, new PreferenceUpdate { Key = "size", EmailOptIn = false }, Now, user.Options);

        Assert.Empty(user.Profile.Preferences.Values);
        Assert.False(user.Profile.Preferences.EmailOptIn);
        Assert.Equal(Now, user.Profile.UpdatedAt);
    }

    [Fact]
    public void A_late_opt_in_does_not_undo_a_newer_opt_out()
    {
        var user = new ProfileUnderTest();
        ProfileUpdater.ApplyPreferences(user.Profile, new PreferenceUpdate { EmailOptIn = false }, Now, user.Options);

        user.Apply(Preference(Now.AddMinutes(-10), new PreferenceUpdate { EmailOptIn = true }));

        Assert.False(user.Profile.Preferences.EmailOptIn);
    }

    [Fact]
    public void Preferences_are_bounded()
    {
        var options = new ProfileOptions { MaxPreferences = 3 };
        var profile = new UserProfile();

        for (var i = 0; i < 10; i++)
        {
            ProfileUpdater.ApplyPreferences(profile, new PreferenceUpdate { Key = $"k{i}", Value = "v" }, Now, options);
        }

        Assert.Equal(["k0", "k1", "k2"], profile.Preferences.Values.Keys.Order());
    }
}
