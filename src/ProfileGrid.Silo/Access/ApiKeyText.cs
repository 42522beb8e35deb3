using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace ProfileGrid.Silo.Access;

/// <summary>
/// The text of an API key, "pgk_{id}_{secret}": a 16-hex-digit public id (so a key is found without scanning, and lists and
/// logs can name it) and 32 random bytes in base64url. Only SHA-256 of the whole text is stored: with 256 bits of entropy
/// no guess can be tested against a stolen hash, so a slow password hash or a pepper would add cost, not safety.
/// </summary>
public static class ApiKeyText
{
    public const string Prefix = "pgk_";
    private const int IdLength = 16;

    /// <summary>A new key's id and text.</summary>
    public static (string Id, string Text) NewKey()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdLength / 2));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, $"{Prefix}{id}_{secret}");
    }

    /// <summary>The id inside <paramref name="text"/>; false when the text cannot be a key of this format.</summary>
    public static bool TryParseId(string? text, [NotNullWhen(true)] out string? id)
    {
        id = null;
        if (text is null || text.Length < Prefix.Length + IdLength + 2 || text.Length > 200
            || !text.StartsWith(Prefix, StringComparison.Ordinal) || text[Prefix.Length + IdLength] != '_')
        {
            return false;
        }

        var candidate = text.Substring(Prefix.Length, IdLength);
        if (!candidate.All(char.IsAsciiHexDigitLower))
        {
            return false;
        }

        id = candidate;
        return true;
    }

    /// <summary>Lower-case hex SHA-256 of the key's text.</summary>
    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Compares two hashes in constant time.</summary>
    public static bool HashesEqual(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));
}
