using FsCheck.Fluent;
using FsCheck.Xunit;

namespace ProfileGrid.Abstractions.Tests;

public class ProfileKeyTests
{
    /// <summary>What Azure Table storage does to a row key: '/', '\', '#' and '?' become '_'.</summary>
    private static string AsAzureTableRowKey(string key) =>
        key.Replace('/', '_').Replace('\\', '_').Replace('#', '_').Replace('?', '_');

    [Theory]
    [InlineData("x/1", "x_1")]
    [InlineData("a#b", "a?b")]
    [InlineData("a\\b", "a/b")]
    [InlineData("tenant_1", "tenant/1")]
    public void Users_that_Azure_Table_would_merge_keep_separate_rows(string firstUser, string secondUser)
    {
        var first = AsAzureTableRowKey(new ProfileKey("shop", firstUser).ToString());
        var second = AsAzureTableRowKey(new ProfileKey("shop", secondUser).ToString());

        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Tenant_and_user_cannot_be_confused_across_the_separator()
    {
        Assert.NotEqual(
            AsAzureTableRowKey(new ProfileKey("a/b", "c").ToString()),
            AsAzureTableRowKey(new ProfileKey("a", "b/c").ToString()));
    }

    [Fact]
    public void Readable_ids_stay_readable()
    {
        Assert.Equal("demo/u-000123", new ProfileKey("demo", "u-000123").ToString());
        Assert.Equal("demo/jane.doe@example.com", new ProfileKey("demo", "jane.doe@example.com").ToString());
    }

    [Fact]
    public void Unicode_round_trips()
    {
        var key = new ProfileKey("müller-shop", "ユーザー/7#?");

        Assert.Equal(key, ProfileKey.Parse(key.ToString()));
    }

    [Theory]
    [InlineData("no-separator")]
    [InlineData("/user")]
    [InlineData("tenant/")]
    [InlineData("a/b/c")]
    [InlineData("a/b_c")]
    public void Malformed_keys_are_refused(string key)
    {
        Assert.Throws<FormatException>(() => ProfileKey.Parse(key));
    }

    [Property]
    public void Encoding_round_trips_and_is_injective_after_Azure_rewrites(FsCheck.NonEmptyString tenant, FsCheck.NonEmptyString user, FsCheck.NonEmptyString otherUser)
    {
        var key = new ProfileKey(tenant.Get, user.Get);
        var other = new ProfileKey(tenant.Get, otherUser.Get);

        Assert.Equal(key, ProfileKey.Parse(key.ToString()));
        Assert.Equal(user.Get == otherUser.Get, AsAzureTableRowKey(key.ToString()) == AsAzureTableRowKey(other.ToString()));
    }
}
