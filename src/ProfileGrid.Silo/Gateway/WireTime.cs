using System.Globalization;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// How the gRPC services' answers (and their REST forms) write an instant: ISO-8601 in UTC with a "Z" and milliseconds
/// (2026-12-04T20:45:59.123Z), the same in profiles, segments, recommendations, rules, catalog items, experiments and
/// erasure receipts.
/// </summary>
public static class WireTime
{
    public static string Of(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
