using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// The requests one measurement sends, materialised before the clock starts (generating the stream is not what is
/// measured), with the totals a correct system must end up with.
/// </summary>
public sealed class Workload
{
    private Workload(IReadOnlyList<IngestEventsRequest> requests, string tenant)
    {
        Requests = requests;
        Tenant = tenant;
        Expected = ExpectedTotals.From(requests.SelectMany(r => r.Events));
        Events = requests.Sum(r => (long)r.Events.Count);
        UserIds = Expected.Users.Keys.Order(StringComparer.Ordinal).ToArray();

        // A request carries sessions of many users; what a profile (or a Redis pipeline) gets per request is this.
        long userBatches = 0;
        foreach (var request in requests)
        {
            userBatches += request.Events.Select(UserOf).Distinct(StringComparer.Ordinal).Count();
        }

        EventsPerUserPerRequest = userBatches == 0 ? 0 : (double)Events / userBatches;
        UserBatches = userBatches;
    }

    public IReadOnlyList<IngestEventsRequest> Requests { get; }

    public string Tenant { get; }

    public ExpectedTotals Expected { get; }

    public long Events { get; }

    public IReadOnlyList<string> UserIds { get; }

    /// <summary>Distinct (request, user) pairs: the stream items / grain deliveries the requests turn into at least.</summary>
    public long UserBatches { get; }

    public double EventsPerUserPerRequest { get; }

    /// <summary>True when this is a prefix of the whole stream (the stream path's cap).</summary>
    public bool Capped { get; private init; }

    public static Workload Whole(IReadOnlyList<IngestEventsRequest> requests, string tenant) => new(requests, tenant);

    /// <summary>The longest prefix of whole requests with at most <paramref name="maxEvents"/> events.</summary>
    public static Workload Prefix(IReadOnlyList<IngestEventsRequest> requests, string tenant, int maxEvents)
    {
        var prefix = new List<IngestEventsRequest>();
        long events = 0;
        foreach (var request in requests)
        {
            if (events + request.Events.Count > maxEvents)
            {
                break;
            }

            prefix.Add(request);
            events += request.Events.Count;
        }

        return new Workload(prefix, tenant) { Capped = prefix.Count < requests.Count };
    }

    public static string UserOf(Event e) => string.IsNullOrEmpty(e.UserId) ? e.AnonymousId : e.UserId;
}
