using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// Packs sessions into ingest requests the way client SDKs flush them: a session goes whole into one request when
/// it fits, so a request carries several consecutive events per user.
/// </summary>
public static class IngestBatcher
{
    /// <summary>The batch size used when none is given.</summary>
    public const int DefaultMaxEventsPerRequest = 500;

    /// <summary>
    /// Packs <paramref name="sessions"/> in order into requests of at most <paramref name="maxEventsPerRequest"/>
    /// events. A session that does not fit into the open request starts a new one; a session larger than a whole
    /// request is split across consecutive requests. No event is lost, duplicated or reordered.
    /// </summary>
    public static IEnumerable<IngestEventsRequest> Pack(IEnumerable<UserSession> sessions, string tenant, int maxEventsPerRequest = DefaultMaxEventsPerRequest)
    {
        ArgumentNullException.ThrowIfNull(sessions);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventsPerRequest, 1);
        return PackIterator(sessions, tenant, maxEventsPerRequest);
    }

    private static IEnumerable<IngestEventsRequest> PackIterator(IEnumerable<UserSession> sessions, string tenant, int maxEventsPerRequest)
    {
        var request = new IngestEventsRequest { Tenant = tenant };
        foreach (var session in sessions)
        {
            if (request.Events.Count > 0 && request.Events.Count + session.Events.Count > maxEventsPerRequest)
            {
                yield return request;
                request = new IngestEventsRequest { Tenant = tenant };
            }

            foreach (var @event in session.Events)
            {
                if (request.Events.Count == maxEventsPerRequest)
                {
                    yield return request;
                    request = new IngestEventsRequest { Tenant = tenant };
                }

                request.Events.Add(@event);
            }
        }

        if (request.Events.Count > 0)
        {
            yield return request;
        }
    }
}
