using System.Globalization;

namespace ProfileGrid.Domain;

/// <summary>
/// The segment a list was served under, carried in its recommendation id: <c>rec-{32 hex digits}-s{segment id}</c>, before
/// any experiment tag (<see cref="ExperimentTag"/>). Impressions and clicks quote the id, so the profile learns the segment
/// the user was in when the list was served, whenever and in whatever order the feedback arrives: what the fairness
/// audit groups users by, since a purchase the list led to may move them to another segment since.
/// </summary>
public static class ServedSegment
{
    /// <summary>"rec-" and a GUID's 32 hex digits: the ids the recommendation engine makes.</summary>
    private const int ServedIdLength = 36;

    public static string Tag(int segmentId) => string.Create(CultureInfo.InvariantCulture, $"-s{segmentId}");

    /// <summary>What <see cref="Read"/> answers for a list the engine served to a user without a segment.</summary>
    public const int None = -1;

    /// <summary>
    /// The segment id a list was served under; <see cref="None"/> for a list the engine served without one (no model yet,
    /// or no features for the user); null for an id the engine did not make (a client's own lists), which says nothing.
    /// </summary>
    public static int? Read(string recommendationId)
    {
        var id = recommendationId.AsSpan();
        if (id.Length < ServedIdLength || !id.StartsWith("rec-", StringComparison.Ordinal) || id[4..ServedIdLength].ContainsAnyExcept("0123456789abcdef"))
        {
            return null;
        }

        if (id.Length < ServedIdLength + 3 || id[ServedIdLength] != '-' || id[ServedIdLength + 1] != 's')
        {
            return id.Length == ServedIdLength || id[ServedIdLength..].StartsWith("-x", StringComparison.Ordinal) ? None : null;
        }

        var rest = id[(ServedIdLength + 2)..];
        var end = rest.IndexOf('-');
        var digits = end < 0 ? rest : rest[..end];
        return digits.Length is > 0 and <= 9
            && !digits.ContainsAnyExcept("0123456789")
            && int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var segmentId)
                ? segmentId
                : null;
    }
}
