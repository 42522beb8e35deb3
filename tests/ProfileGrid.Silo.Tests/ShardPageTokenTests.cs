using System.Text;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Page tokens go into URLs as they are: standard base64's '+' arrived as a space and the next page was refused, so a
/// listing stopped at 300 of 466 profiles (probe52).
/// </summary>
public sealed class ShardPageTokenTests
{
    // Keys whose standard base64 holds '+' and '/' (non-ASCII ids, as percent-encoded keys and raw ones carry).
    private static readonly string[] Keys = ["shop52c/~E3~83~A6~E3~83~BC~E3~82~B6", "t/\u00fe\u00ff\u00fe\u00ff?>>>", "t/" + new string('é', 40)];

    [Fact]
    public void A_token_is_url_safe_and_reads_back_as_written()
    {
        foreach (var key in Keys)
        {
            var token = ShardPageToken.Format(9, key);
            Assert.DoesNotMatch("[+/= ]", token);
            Assert.Equal((9, key), ShardPageToken.Parse(token));
            Assert.Equal(token, Uri.EscapeDataString(token)); // nothing to escape in a query string
        }
    }

    [Fact]
    public void A_token_of_the_earlier_form_is_still_read_even_with_its_plus_turned_into_a_space()
    {
        foreach (var key in Keys)
        {
            var earlier = Convert.ToBase64String(Encoding.UTF8.GetBytes("3\n" + key));
            Assert.Equal((3, key), ShardPageToken.Parse(earlier));
            Assert.Equal((3, key), ShardPageToken.Parse(earlier.Replace('+', ' ')));
        }

        Assert.Contains(Keys, k => Convert.ToBase64String(Encoding.UTF8.GetBytes("3\n" + k)).Contains('+'));
    }

    [Fact]
    public void Anything_else_is_not_a_token()
    {
        Assert.Null(ShardPageToken.Parse("not a token!"));
        Assert.Null(ShardPageToken.Parse(Convert.ToBase64String(Encoding.UTF8.GetBytes("no shard"))));
        Assert.Equal((0, null), ShardPageToken.Parse(""));
    }
}
