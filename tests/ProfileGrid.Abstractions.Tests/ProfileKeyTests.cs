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

    /// <summary>The longest ids the gateway accepts (256 UTF-16 characters each, its default limit), and longer.</summary>
    public static TheoryData<string> LongIds() => new()
    {
        new string('中', 256),                                         // 3 UTF-8 bytes each: the longest encoding, 2,304 characters
        string.Concat(Enumerable.Repeat("\U0001F600", 128)),          // 4-byte UTF-8 (surrogate pairs): 256 UTF-16 characters
        string.Concat(Enumerable.Repeat("\U0001F600", 256)),          // 256 code points of 4-byte UTF-8, should the limit count those
        new string('%', 256),
        new string('/', 256),
    };

    [Theory]
    [MemberData(nameof(LongIds))]
    public void The_longest_ids_are_stored_under_a_bounded_key_that_is_distinct_per_user(string id)
    {
        var key = new ProfileKey(id, id).ToString();
        var otherUser = new ProfileKey(id, id[..^1] + "x").ToString();
        var otherTenant = new ProfileKey(id[..^1] + "x", id).ToString();

        var stored = ProfileKey.BoundStorageKey(key, 400);

        Assert.True(key.Length > 400, $"the encoding is {key.Length} characters");
        Assert.Equal(ProfileKey.HashedKeyLength, stored.Length);
        Assert.Contains(ProfileKey.DigestMarker, stored);
        Assert.All(stored, c => Assert.True(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '@' or '~' or '_', $"'{c}' in {stored}"));
        Assert.Equal(stored, ProfileKey.BoundStorageKey(key, 400));
        Assert.NotEqual(stored, ProfileKey.BoundStorageKey(otherUser, 400));
        Assert.NotEqual(stored, ProfileKey.BoundStorageKey(otherTenant, 400));
        Assert.Equal(new ProfileKey(id, id), ProfileKey.Parse(key));
    }

    [Property]
    public void Keys_that_fit_are_stored_exactly_as_before(FsCheck.NonEmptyString tenant, FsCheck.NonEmptyString user)
    {
        var key = new ProfileKey(tenant.Get, user.Get).ToString();

        var stored = ProfileKey.BoundStorageKey(key, 400);

        Assert.Equal(key.Length <= 400, stored == key);
        Assert.True(stored.Length <= 400);
    }

    [Fact]
    public void A_hashed_key_never_equals_a_key_stored_as_is()
    {
        // An encoded part escapes '~' as "~7E", so "~~" (which every hashed key holds) never occurs in an encoded key.
        Assert.DoesNotContain(ProfileKey.DigestMarker, new ProfileKey("a~~b", "~~").ToString());
        // The tenant stays readable in front of the digest; the separator becomes '_' so the hashed key has no path segments.
        Assert.StartsWith("shop_uuu", ProfileKey.BoundStorageKey(new ProfileKey("shop", new string('u', 500)).ToString(), 400));
    }
}
