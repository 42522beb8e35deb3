using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// Counts sessions from events that may arrive in any order, by keeping the latest sessions as event-time
/// intervals. A session is a run of events with gaps no longer than the timeout; a session_start event
/// always opens a new one. Events from the CRM channel are not visits and are not passed here.
/// </summary>
/// <remarks>
/// Approximations, both confined to late events: (1) a session_start that lands inside a known session
/// splits it at its own time, since the events of the session are not kept; the count is exact, but the
/// first part's length runs up to the split rather than to its last event. (2) An event no later than
/// <see cref="BehaviorState.ForgottenSessionsEnd"/> plus the timeout is taken to belong to a session already
/// counted and changes neither the count nor the total length.
/// </remarks>
internal static class Sessionizer
{
    public static void Record(BehaviorState behavior, DateTimeOffset time, bool startsSession, ProfileOptions options, int oldestKeptDay)
    {
        var timeout = options.SessionTimeout;
        if (behavior.ForgottenSessionsEnd is { } forgotten && time <= forgotten + timeout)
        {
            return;
        }

        var sessions = behavior.RecentSessions;
        var index = LastStartingAtOrBefore(sessions, time);
        var previous = index >= 0 ? sessions[index] : null;

        if (previous is not null && time <= previous.End)
        {
            if (!startsSession)
            {
                return;
            }

            if (time == previous.Start)
            {
                previous.StartedExplicitly = true;
                return;
            }

            // Split: the session_start opens a new session covering the rest of the interval; total length is unchanged.
            sessions.Insert(index + 1, new SessionInterval { Start = time, End = previous.End, StartedExplicitly = true });
            previous.End = time;
            behavior.Sessions++;
            CountSessionStart(behavior, time, +1, oldestKeptDay);
            return;
        }

        var next = index + 1 < sessions.Count ? sessions[index + 1] : null;
        var joinsPrevious = !startsSession && previous is not null && time - previous.End <= timeout;
        var joinsNext = next is not null && !next.StartedExplicitly && next.Start - time <= timeout;

        if (joinsPrevious && joinsNext)
        {
            // The event bridges two sessions: they were one all along.
            behavior.TotalSessionDuration += next!.Start - previous!.End;
            previous.End = next.End;
            sessions.RemoveAt(index + 1);
            behavior.Sessions--;
            CountSessionStart(behavior, next.Start, -1, oldestKeptDay);
        }
        else if (joinsPrevious)
        {
            behavior.TotalSessionDuration += time - previous!.End;
            previous.End = time;
        }
        else if (joinsNext)
        {
            behavior.TotalSessionDuration += next!.Start - time;
            CountSessionStart(behavior, next.Start, -1, oldestKeptDay);
            CountSessionStart(behavior, time, +1, oldestKeptDay);
            next.Start = time;
            next.StartedExplicitly |= startsSession;
        }
        else
        {
            sessions.Insert(index + 1, new SessionInterval { Start = time, End = time, StartedExplicitly = startsSession });
            behavior.Sessions++;
            CountSessionStart(behavior, time, +1, oldestKeptDay);
        }

        while (sessions.Count > options.SessionHistoryCapacity)
        {
            var oldest = sessions[0];
            if (behavior.ForgottenSessionsEnd is null || oldest.End > behavior.ForgottenSessionsEnd)
            {
                behavior.ForgottenSessionsEnd = oldest.End;
            }

            sessions.RemoveAt(0);
        }
    }

    private static void CountSessionStart(BehaviorState behavior, DateTimeOffset start, int delta, int oldestKeptDay)
    {
        var day = UtcDay.Of(start);
        var bucket = delta > 0
            ? DailyBuckets.GetOrAdd(behavior.DailyBuckets, day, oldestKeptDay)
            : DailyBuckets.Find(behavior.DailyBuckets, day);
        if (bucket is not null)
        {
            bucket.Sessions = Math.Max(0, bucket.Sessions + delta);
        }
    }

    private static int LastStartingAtOrBefore(List<SessionInterval> sessions, DateTimeOffset time)
    {
        int low = 0, high = sessions.Count - 1, found = -1;
        while (low <= high)
        {
            var middle = low + ((high - low) >> 1);
            if (sessions[middle].Start <= time)
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return found;
    }
}
