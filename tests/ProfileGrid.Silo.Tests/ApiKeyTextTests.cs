using Microsoft.Extensions.Configuration;
using ProfileGrid.Silo.Access;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>The key format and the Auth settings, without a silo.</summary>
public sealed class ApiKeyTextTests
{
    [Fact]
    public void A_new_key_carries_its_id_and_hashes_to_what_is_stored()
    {
        var (id, text) = ApiKeyText.NewKey();
        Assert.Matches("^pgk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$", text);
        Assert.True(ApiKeyText.TryParseId(text, out var parsed));
        Assert.Equal(id, parsed);
        Assert.Equal(64, ApiKeyText.Hash(text).Length);
        Assert.DoesNotContain(text[21..], ApiKeyText.Hash(text));
        Assert.NotEqual(text, ApiKeyText.NewKey().Text);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Bearer pgk_0123456789abcdef_x")]
    [InlineData("pgk_0123456789ABCDEF_secret")]
    [InlineData("pgk_0123456789abcde_secret")]
    [InlineData("pgk_0123456789abcdef")]
    [InlineData("pgk_0123456789abcdefXsecret")]
    public void Text_that_cannot_be_a_key_has_no_id(string? text) => Assert.False(ApiKeyText.TryParseId(text, out _));

    [Fact]
    public void Auth_settings_are_checked_at_start_up()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ProfileGrid:Auth:Enable"] = "false",
            ["ProfileGrid:Auth:CacheFor"] = "00:10:00",
            ["ProfileGrid:Auth:Burst"] = "0",
        }).Build();
        var problems = SettingsCheck.Problems(configuration);
        Assert.Contains(problems, p => p.Contains("ProfileGrid:Auth:Enable is not a setting", StringComparison.Ordinal) && p.Contains("ProfileGrid:Auth:Enabled", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ProfileGrid:Auth:CacheFor", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("ProfileGrid:Auth:Burst", StringComparison.Ordinal));
    }
}
