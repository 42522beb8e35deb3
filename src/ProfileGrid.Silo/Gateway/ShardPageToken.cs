using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The page token of a listing that walks a tenant's feature shards one after the other in key order: the shard and
/// the last profile key returned, so a page costs its own size wherever it starts. Written in base64url, which a URL
/// carries as it is: standard base64's <c>+</c>, pasted into a query string, arrives as a space (probe52). Tokens of
/// earlier releases (standard base64) are still read, a space taken for the <c>+</c> it was.
/// </summary>
public static class ShardPageToken
{
    public static string Format(int shard, string lastProfileKey) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes($"{shard.ToString(CultureInfo.InvariantCulture)}\n{lastProfileKey}"));

    /// <summary>The shard and key to go on after; (0, null) for an empty token; null when the token is not one of ours.</summary>
    public static (int Shard, string? After)? Parse(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (0, null);
        }

        try
        {
            var bytes = token.AsSpan().IndexOfAny("+/= ") >= 0
                ? Convert.FromBase64String(token.Replace(' ', '+'))
                : Base64Url.DecodeFromChars(token);
            var text = Encoding.UTF8.GetString(bytes);
            var newline = text.IndexOf('\n');
            if (newline > 0 && int.TryParse(text.AsSpan(0, newline), NumberStyles.None, CultureInfo.InvariantCulture, out var shard))
            {
                return (shard, text[(newline + 1)..]);
            }
        }
        catch (FormatException)
        {
        }

        return null;
    }
}
