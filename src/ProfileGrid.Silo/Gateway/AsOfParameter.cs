using System.Globalization;

namespace ProfileGrid.Silo.Gateway;

/// <summary>The <c>as_of</c> of a profile read: an ISO-8601 instant, not in the future; empty means now.</summary>
public static class AsOfParameter
{
    /// <summary>
    /// Parses <paramref name="value"/>: null for empty (now), the UTC instant otherwise. False, with a reason a user
    /// can act on, when it is not an ISO-8601 timestamp or lies after <paramref name="now"/> (a future instant would
    /// give an answer that later events could still change).
    /// </summary>
    public static bool TryParse(string? value, DateTimeOffset now, out DateTimeOffset? asOf, out string? reason)
    {
        asOf = null;
        reason = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        if (value.Length == 10 && DateTimeOffset.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var day))
        {
            // An ISO-8601 date: the start of that UTC day, as pandas reads Timestamp("2011-12-10").
            value = day.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        }

        if (!IsoTimestamps.HasIsoShape(value) ||
            !DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var parsed))
        {
            var shown = value.Length > 64 ? value[..64] + "..." : value;
            reason = IsoTimestamps.WhyUnreadable(value) is { } why
                ? $"'{shown}' {why}"
                : $"'{shown}' is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)";
            if (System.Text.RegularExpressions.Regex.IsMatch(value, @"T\d{2}:\d{2}(:\d{2}(\.\d+)?)? \d{2}:?\d{2}$"))
            {
                // "+00:00" unencoded in a URL's query arrives as " 00:00".
                reason += "; a '+' in a URL query reads as a space: write the offset's '+' as %2B, or give the time in UTC with Z";
            }
            return false;
        }

        var utc = parsed.ToUniversalTime();
        if (utc > now)
        {
            reason = $"{utc:yyyy-MM-ddTHH:mm:ssZ} is in the future (server time {now.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ})";
            return false;
        }

        asOf = utc;
        return true;
    }
}
