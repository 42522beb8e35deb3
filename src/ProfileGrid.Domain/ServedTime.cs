using System.Globalization;

namespace ProfileGrid.Domain;

/// <summary>
/// When a list was served, read from its recommendation id: the engine's ids are <c>rec-</c> and a UUID v7, whose first
/// 12 hex digits are the serving instant in Unix milliseconds. Feedback on a list cannot have happened before it was
/// served, so an impression or click dated earlier (a device clock that is wrong, a backfill that shifted its times) is
/// taken at the serving time.
/// </summary>
public static class ServedTime
{
    /// <summary>"rec-" and a GUID's 32 hex digits: the ids the recommendation engine makes.</summary>
    private const int ServedIdLength = 36;

    /// <summary>The serving instant of a list the engine made; null for any other id (a client's own lists), which says nothing.</summary>
    public static DateTimeOffset? Read(string recommendationId)
    {
        var id = recommendationId.AsSpan();
        // The 13th hex digit is the UUID's version: 7 for the time-ordered ids the engine makes.
        if (id.Length < ServedIdLength || !id.StartsWith("rec-", StringComparison.Ordinal) || id[4..ServedIdLength].ContainsAnyExcept("0123456789abcdef")
            || id[4 + 12] != '7' || (id.Length > ServedIdLength && id[ServedIdLength] != '-'))
        {
            return null;
        }

        var milliseconds = long.Parse(id[4..16], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        return milliseconds <= DateTimeOffset.MaxValue.ToUnixTimeMilliseconds() ? DateTimeOffset.FromUnixTimeMilliseconds(milliseconds) : null;
    }

    /// <summary>
    /// How far before the serving an event's time is taken as sent: a device clock a few minutes behind the grid's (as much
    /// as the gateway accepts ahead) dates the impression, click and purchase alike, and moving the first two alone to
    /// the serving would put the purchase before its click and leave it uncredited.
    /// </summary>
    public static readonly TimeSpan ClockBehindTolerance = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <paramref name="occurredAt"/>, or the list's serving time when the event is dated more than
    /// <see cref="ClockBehindTolerance"/> before it: what the user met cannot precede the list.
    /// </summary>
    public static DateTimeOffset NotBeforeServed(string recommendationId, DateTimeOffset occurredAt) =>
        Read(recommendationId) is { } served && served - occurredAt > ClockBehindTolerance ? served : occurredAt;
}
