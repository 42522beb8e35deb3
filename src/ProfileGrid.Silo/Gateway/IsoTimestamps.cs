using System.Globalization;
using System.Text.RegularExpressions;

namespace ProfileGrid.Silo.Gateway;

/// <summary>What to say of an ISO-8601 timestamp that .NET could not read.</summary>
public static partial class IsoTimestamps
{
    /// <summary>Why such a timestamp is refused, after its quoted value.</summary>
    public const string OutOfRange = "lies outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once moved to UTC";

    /// <summary>
    /// Whether <paramref name="value"/> starts as an ISO-8601 date and time does (<c>2026-12-05T</c>, white space before
    /// it allowed): .NET's general parser also reads RFC 1123 and long English dates ("Sat, 05 Dec 2026 00:00:00 GMT"),
    /// which the API does not promise and whose weekday it checks against the date.
    /// </summary>
    public static bool HasIsoShape(string value)
    {
        var text = value.AsSpan().TrimStart();
        return text.Length > 10
            && char.IsAsciiDigit(text[0]) && char.IsAsciiDigit(text[1]) && char.IsAsciiDigit(text[2]) && char.IsAsciiDigit(text[3])
            && text[4] == '-' && char.IsAsciiDigit(text[5]) && char.IsAsciiDigit(text[6])
            && text[7] == '-' && char.IsAsciiDigit(text[8]) && char.IsAsciiDigit(text[9])
            && text[10] is 'T' or 't';
    }

    /// <summary>
    /// Why a timestamp that is ISO-8601 in shape was not read, after its quoted value: an offset beyond ±14:00 (no
    /// zone has one), or an instant .NET cannot hold (year 1 with a positive offset, year 9999 with a negative one);
    /// null when it is not ISO-8601 in shape, which the caller says in its own words.
    /// </summary>
    public static string? WhyUnreadable(string value)
    {
        if (LeapSecond().IsMatch(value))
        {
            // Valid ISO-8601, and a real instant (2016-12-31T23:59:60Z), but no clock here can hold it (probe60).
            return "is a leap second (second 60), which this API cannot hold: send second 59 (e.g. 23:59:59.999Z) or the next second";
        }

        var match = DateAndOffset().Match(value);
        if (!match.Success || !DateTime.TryParse(match.Groups["local"].Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            return null;
        }

        var offset = match.Groups["offset"];
        if (offset.Success)
        {
            var hours = int.Parse(offset.ValueSpan[1..3], NumberStyles.None, CultureInfo.InvariantCulture);
            var minutes = offset.Length > 3 ? int.Parse(offset.ValueSpan[^2..], NumberStyles.None, CultureInfo.InvariantCulture) : 0;
            if (hours > 14 || minutes > 59 || (hours == 14 && minutes > 0))
            {
                return $"has the UTC offset {offset.Value}; offsets run from -14:00 to +14:00";
            }
        }

        return OutOfRange;
    }

    [GeneratedRegex(@"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:60(?:[.,][0-9]+)?(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex LeapSecond();

    // ASCII digits only: \d takes any script's digits, which the parse of the offset would throw on.
    [GeneratedRegex(@"^\s*(?<local>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.,]+)(?:[Zz]|(?<offset>[+-][0-9]{2}(?::?[0-9]{2})?))\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex DateAndOffset();
}
