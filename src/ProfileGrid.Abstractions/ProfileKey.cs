using System.Security.Cryptography;
using System.Text;

namespace ProfileGrid.Abstractions;

/// <summary>
/// The key of a user's profile grain and stream: "{tenant}/{user}", each part encoded.
/// Azure Table rewrites '/', '\', '#' and '?' in keys to '_', so "x/1" and "x_1" would share a row.
/// The encoding keeps [A-Za-z0-9.-@] and writes every other UTF-8 byte as "~XX" (hex), so an encoded part
/// never holds '_' or any forbidden character and the separator '/' stays unambiguous even after Azure's rewrite.
/// </summary>
/// <remarks>
/// Escaping can make a key three times as long as its UTF-8 (a 256-character id of CJK text encodes to 2,304
/// characters), and stores bound their keys (Azure Table: 1 KiB, which Azurite enforces as 512 characters). The grain
/// key stays the full encoding; what is stored under it goes through <see cref="BoundStorageKey"/>, which leaves every
/// key that fits exactly as it was and replaces longer ones by a readable prefix and a SHA-256 digest.
/// </remarks>
public readonly record struct ProfileKey(string Tenant, string UserId)
{
    public const char Separator = '/';

    public override string ToString() => Encode(Tenant) + Separator + Encode(UserId);

    public static ProfileKey Parse(string key)
    {
        var separator = key.IndexOf(Separator);
        if (separator <= 0 || separator == key.Length - 1 || key.IndexOf(Separator, separator + 1) >= 0)
        {
            throw new FormatException($"'{key}' is not a profile key of the form tenant/user.");
        }

        return new ProfileKey(Decode(key[..separator]), Decode(key[(separator + 1)..]));
    }

    public static string Encode(string part)
    {
        ArgumentException.ThrowIfNullOrEmpty(part);
        if (!part.AsSpan().ContainsAnyExcept(KeptCharacters))
        {
            return part; // the common case: nothing to escape, nothing to allocate
        }

        var builder = new StringBuilder(part.Length);
        foreach (var b in Encoding.UTF8.GetBytes(part))
        {
            var c = (char)b;
            if (IsKept(c))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('~').Append(b.ToString("X2"));
            }
        }

        return builder.ToString();
    }

    public static string Decode(string encoded)
    {
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '~')
            {
                if (i + 2 >= encoded.Length)
                {
                    throw new FormatException($"'{encoded}' ends inside an escape.");
                }

                bytes.Add(Convert.ToByte(encoded.Substring(i + 1, 2), 16));
                i += 2;
            }
            else if (IsKept(encoded[i]))
            {
                bytes.Add((byte)encoded[i]);
            }
            else
            {
                throw new FormatException($"'{encoded}' holds '{encoded[i]}', which the encoding never writes.");
            }
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    /// <summary>What a hashed storage key starts its digest with; an <see cref="Encode"/>d part never holds "~~".</summary>
    public const string DigestMarker = "~~";

    /// <summary>Characters of a long key kept readable in front of its digest.</summary>
    public const int DigestPrefixLength = 64;

    /// <summary>Length of a hashed storage key: the prefix, <see cref="DigestMarker"/> and 32 hex digits (128 bits of SHA-256).</summary>
    public const int HashedKeyLength = DigestPrefixLength + 2 + 32;

    /// <summary>
    /// The key to store <paramref name="key"/> under in a store that allows keys of at most <paramref name="maxLength"/>
    /// characters: <paramref name="key"/> itself when it fits (so rows written before keys were bounded stay readable),
    /// otherwise its first <see cref="DigestPrefixLength"/> characters (with anything but [A-Za-z0-9.-@~] as '_', so the
    /// prefix holds no path separator or forbidden character), <see cref="DigestMarker"/>, and the first 128 bits of
    /// SHA-256 of the whole key's UTF-8 in hex. Two keys share a hashed form only if SHA-256 collides in 128 bits
    /// (about 2^-64 for 2^32 long keys); the profile grain also checks the ids stored in its state, so even that would
    /// be refused rather than merged.
    /// </summary>
    public static string BoundStorageKey(string key, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (maxLength < HashedKeyLength)
        {
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"a store must allow keys of at least {HashedKeyLength} characters.");
        }

        return key.Length <= maxLength ? key : HashedStorageKey(key);
    }

    /// <summary>The hashed form <see cref="BoundStorageKey"/> gives a key that does not fit (<see cref="HashedKeyLength"/> characters, no '/').</summary>
    public static string HashedStorageKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), digest);
        var builder = new StringBuilder(HashedKeyLength);
        foreach (var c in key.AsSpan(0, Math.Min(key.Length, DigestPrefixLength)))
        {
            builder.Append(IsKept(c) || c == '~' ? c : '_');
        }

        return builder.Append(DigestMarker).Append(Convert.ToHexStringLower(digest[..16])).ToString();
    }

    private static readonly System.Buffers.SearchValues<char> KeptCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-@");

    private static bool IsKept(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '-' or '@';
}
