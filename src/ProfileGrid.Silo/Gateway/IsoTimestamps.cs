using System.Globalization;
using System.Text.RegularExpressions;

namespace ProfileGrid.Silo.Gateway;

/// <summary>What to say of an ISO-8601 timestamp that .NET could not read.</summary>
public static partial class IsoTimestamps
{
    /// <summary>Why such a timestamp is refused, after its quoted value.</summary>
    public const string OutOfRange = "lies outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z once moved to UTC";

    /// <summary>
    /// True for a well-formed timestamp whose instant .NET cannot hold (year 1 with a positive offset, year 9999 with
    /// a negative one): it is ISO-8601, so "not ISO-8601" would mislead.
    /// </summary>
    public static bool IsOutOfRange(string value)
    {
        var match = DateAndOffset().Match(value);
        return match.Success
            && DateTime.TryParse(match.Groups["local"].Value, CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
    }

    [GeneratedRegex(@"^\s*(?<local>\d{4}-\d{2}-\d{2}T[0-9:.,]+)(?:[Zz]|[+-]\d{2}(?::?\d{2})?)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex DateAndOffset();
}
