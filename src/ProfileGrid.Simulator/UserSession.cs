using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// The events one source flushes together for one user: a web or app session (a <c>session_start</c> and what
/// followed it), or a single CRM contact record (one <c>identify</c> event, no <c>session_start</c>).
/// </summary>
public sealed class UserSession
{
    /// <summary>Creates a session; <paramref name="events"/> are in time order.</summary>
    public UserSession(string userId, UserType userType, string source, string sessionId, DateTimeOffset startedAt, IReadOnlyList<Event> events)
    {
        UserId = userId;
        UserType = userType;
        Source = source;
        SessionId = sessionId;
        StartedAt = startedAt;
        Events = events;
    }

    /// <summary>The user every event belongs to.</summary>
    public string UserId { get; }

    /// <summary>The planted behavior type of the user.</summary>
    public UserType UserType { get; }

    /// <summary><c>web</c>, <c>app</c> or <c>crm</c>.</summary>
    public string Source { get; }

    /// <summary>The session id carried in each event's context; empty for CRM records.</summary>
    public string SessionId { get; }

    /// <summary>Time of the first event.</summary>
    public DateTimeOffset StartedAt { get; }

    /// <summary>The events, oldest first.</summary>
    public IReadOnlyList<Event> Events { get; }
}
