using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator.Tests;

/// <summary>One 500-user stream, generated once and shared by the tests that only read it.</summary>
internal static class SampleStream
{
    public static readonly DateTimeOffset AsOf = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);

    public static readonly SimulationOptions Options = new() { Seed = 7, Users = 500, AsOf = AsOf };

    private static readonly Lazy<(SyntheticStream Stream, IReadOnlyList<UserSession> Sessions)> Generated = new(() =>
    {
        var stream = new SyntheticStream(Options);
        return (stream, stream.Sessions().ToList());
    });

    public static SyntheticStream Stream => Generated.Value.Stream;

    public static IReadOnlyList<UserSession> Sessions => Generated.Value.Sessions;

    public static IEnumerable<Event> Events => Sessions.SelectMany(session => session.Events);

    /// <summary>The sessions packed the way a load generator sends them, 500 events a request.</summary>
    public static IReadOnlyList<IngestEventsRequest> Requests => PackedRequests.Value;

    private static readonly Lazy<IReadOnlyList<IngestEventsRequest>> PackedRequests = new(() =>
        IngestBatcher.Pack(Sessions, Options.Tenant, 500).ToList());

    public static ILookup<UserType, SimulatedUser> UsersByType => Stream.Users.ToLookup(user => user.Type);

    public static DateTimeOffset OccurredAt(Event @event) => DateTimeOffset.Parse(@event.OccurredAt, System.Globalization.CultureInfo.InvariantCulture);
}
