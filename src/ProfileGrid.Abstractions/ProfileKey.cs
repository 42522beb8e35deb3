using System.Text;

namespace ProfileGrid.Abstractions;

/// <summary>
/// The key of a user's profile grain and stream: "{tenant}/{user}", each part encoded.
/// Azure Table rewrites '/', '\', '#' and '?' in keys to '_', so "x/1" and "x_1" would share a row.
/// The encoding keeps [A-Za-z0-9.-@] and writes every other UTF-8 byte as "~XX" (hex), so an encoded part
/// never holds '_' or any forbidden character and the separator '/' stays unambiguous even after Azure's rewrite.
/// </summary>
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

    private static bool IsKept(char c) =>
        c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '.' or '-' or '@';
}
