using FsCheck.Xunit;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>Identifier normalisation and hashing (docs/identity.md): the same person's address matches, nothing else does.</summary>
public class IdentifiersTests
{
    [Theory]
    [InlineData(" Jane.Doe@Example.COM ", "jane.doe@example.com")]
    [InlineData("jane.doe+shop@example.co.uk", "jane.doe+shop@example.co.uk")]
    [InlineData("ÄNNE@bücher.de", "änne@xn--bcher-kva.de")]
    [InlineData("jane@example.com.", "jane@example.com")]
    public void Emails_are_trimmed_and_lower_cased(string raw, string normalised) =>
        Assert.Equal(normalised, Identifiers.NormaliseEmail(raw, out _));

    [Theory]
    [InlineData("René@xn--bcher-kva.de")]          // the domain as DNS spells it
    [InlineData(" RENÉ@BÜCHER.DE. ")]
    public void One_address_in_any_case_or_domain_spelling_is_one_address(string raw) =>
        Assert.Equal(Identifiers.NormaliseEmail("rené@bücher.de", out _), Identifiers.NormaliseEmail(raw, out _));

    [Theory]
    [InlineData("jane")]
    [InlineData("@example.com")]
    [InlineData("jane@")]
    [InlineData("jane@example")]
    [InlineData("jane@@example.com")]
    [InlineData("ja ne@example.com")]
    public void What_is_not_an_address_is_refused_with_a_reason_that_does_not_repeat_it(string raw)
    {
        Assert.Null(Identifiers.NormaliseEmail(raw, out var reason));
        Assert.NotNull(reason);
        Assert.DoesNotContain(raw.Trim(), reason);
    }

    [Theory]
    [InlineData("+49 30 1234567", "+49301234567")]
    [InlineData("0049 (30) 123-4567", "+49301234567")]
    [InlineData("+1 (555) 013.3377", "+15550133377")]
    [InlineData("030/1234567", "0301234567")]
    public void Phones_keep_digits_and_the_international_plus(string raw, string normalised) =>
        Assert.Equal(normalised, Identifiers.NormalisePhone(raw, out _));

    [Theory]
    [InlineData("12345")]
    [InlineData("+1234567890123456")]
    [InlineData("call me")]
    [InlineData("+49+30")]
    public void What_is_not_a_phone_number_is_refused(string raw)
    {
        Assert.Null(Identifiers.NormalisePhone(raw, out var reason));
        Assert.NotNull(reason);
    }

    [Fact]
    public void A_hash_is_stable_per_tenant_and_secret_and_differs_across_them()
    {
        var hash = Identifiers.Hash("shop", "email", "jane@example.com");
        Assert.Equal(64, hash.Length);
        Assert.Equal(hash, Identifiers.Hash("shop", "email", "jane@example.com"));
        Assert.NotEqual(hash, Identifiers.Hash("other-shop", "email", "jane@example.com"));
        Assert.NotEqual(hash, Identifiers.Hash("shop", "email", "jane@example.com", "a secret"));
        Assert.NotEqual(hash, Identifiers.Hash("shop", "phone", "jane@example.com"));
        Assert.DoesNotContain("jane", hash);
    }

    [Property]
    public bool Normalising_twice_changes_nothing(string local, string domain)
    {
        var raw = $"{local}@{domain}.com";
        var once = Identifiers.NormaliseEmail(raw, out _);
        return once is null || Identifiers.NormaliseEmail(once, out _) == once;
    }
}

/// <summary>Direct writes laid over a profile rebuilt from events: per field, the later write wins, as it did before the rebuild.</summary>
public class DirectWritesTests
{
    private static readonly ProfileOptions Options = new();

    [Fact]
    public void A_rebuilt_profile_with_the_direct_writes_laid_over_equals_the_profile_before()
    {
        var events = new[]
        {
            Identify(Now.AddDays(-3), new DemographicsUpdate { City = "Leeds", Country = "GB", Traits = new Dictionary<string, string> { ["tier"] = "silver" } }),
            Identify(Now.AddDays(-1), new DemographicsUpdate { Language = "en", Traits = new Dictionary<string, string> { ["team"] = "red" } }),
        };
        var direct = new UserProfile();
        var before = new UserProfile();
        ProfileUpdater.Apply(before, [events[0]], Options, Now);
        foreach (var profile in new[] { before, direct })
        {
            ProfileUpdater.ApplyAttributes(profile, new DemographicsUpdate { City = "York", BirthYear = 1980, Traits = new Dictionary<string, string> { ["tier"] = "gold" } }, Now.AddDays(-2), Options);
            ProfileUpdater.ApplyPreferences(profile, new PreferenceUpdate { Key = "newsletter", Value = "weekly", EmailOptIn = true }, Now.AddDays(-2), Options);
        }

        ProfileUpdater.Apply(before, [events[1]], Options, Now);

        var rebuilt = new UserProfile();
        ProfileUpdater.Apply(rebuilt, events, Options, Now);
        DirectWrites.Overlay(rebuilt, direct, Options);

        Assert.Equal((before.Demographics.City, before.Demographics.BirthYear, before.Demographics.Language), (rebuilt.Demographics.City, rebuilt.Demographics.BirthYear, rebuilt.Demographics.Language));
        Assert.Equal("York", rebuilt.Demographics.City);
        Assert.Equal(before.Demographics.Traits, rebuilt.Demographics.Traits);
        Assert.Equal(before.Preferences.Values, rebuilt.Preferences.Values);
        Assert.Equal(before.Preferences.EmailOptIn, rebuilt.Preferences.EmailOptIn);
    }

    [Fact]
    public void A_later_event_beats_an_earlier_direct_write()
    {
        var direct = new UserProfile();
        ProfileUpdater.ApplyAttributes(direct, new DemographicsUpdate { City = "York" }, Now.AddDays(-5), Options);
        var rebuilt = new UserProfile();
        ProfileUpdater.Apply(rebuilt, [Identify(Now.AddDays(-1), new DemographicsUpdate { City = "Leeds" })], Options, Now);
        DirectWrites.Overlay(rebuilt, direct, Options);
        Assert.Equal("Leeds", rebuilt.Demographics.City);
    }
}
