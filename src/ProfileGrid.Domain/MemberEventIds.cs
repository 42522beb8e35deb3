using System.Security.Cryptography;
using System.Text;
using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Domain;

/// <summary>
/// The ids a canonical profile recognises its members' events by. Event ids are unique per user, not per tenant (two
/// users' events may share one: app counters, CRM row numbers), so a merged member's events carry their member in their
/// <see cref="UserEvent.DedupeId"/> when the canonical profile applies them (the event id it shows stays theirs);
/// otherwise the canonical profile's own event "1" would hide the visitor's event "1" as a duplicate. The same member and
/// id always give the same qualified id, so a merge retried, forwarded or rebuilt still applies each event once.
/// </summary>
public static class MemberEventIds
{
    /// <summary><paramref name="events"/> as the canonical profile applies them for member <paramref name="memberUserId"/>.</summary>
    public static IReadOnlyList<UserEvent> Qualified(string memberUserId, IReadOnlyList<UserEvent> events)
    {
        if (events.Count == 0)
        {
            return events;
        }

        var prefix = Prefix(memberUserId);
        var qualified = new UserEvent[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            qualified[i] = events[i] with { DedupeId = prefix + events[i].EventId };
        }

        return qualified;
    }

    // "m" and 16 hex digits of SHA-256 of the member's user id, then "/": short in the profile's dedupe window whatever
    // the id's length, and not a form a client's own event id takes by accident.
    private static string Prefix(string memberUserId)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(memberUserId), hash);
        return "m" + Convert.ToHexStringLower(hash[..8]) + "/";
    }
}
