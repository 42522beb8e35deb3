using FsCheck.Xunit;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator.Tests;

public class IngestBatcherTests
{
    [Fact]
    public void The_stream_packs_into_requests_of_at_most_500_events_without_losing_or_repeating_one()
    {
        var requests = SampleStream.Requests;
        var sent = requests.SelectMany(request => request.Events).Select(@event => @event.EventId).ToList();

        Assert.All(requests, request =>
        {
            Assert.InRange(request.Events.Count, 1, 500);
            Assert.Equal(SampleStream.Options.Tenant, request.Tenant);
        });
        Assert.Equal(SampleStream.Events.Select(@event => @event.EventId), sent);
        // Whole sessions of up to 31 events fill a request to nearly its limit.
        Assert.True(requests.SkipLast(1).All(request => request.Events.Count > 500 - 31));
    }

    [Fact]
    public void A_request_holds_several_consecutive_events_per_user()
    {
        var eventsPerUserPerRequest = SampleStream.Requests.Average(request =>
            (double)request.Events.Count / request.Events.Select(@event => @event.UserId).Distinct().Count());

        Assert.True(eventsPerUserPerRequest > 3, $"{eventsPerUserPerRequest:F2} events per user per request");
    }

    [Property(MaxTest = 100)]
    public void Packing_keeps_every_event_once_in_order_and_whole_sessions_together_when_they_fit(int limitSeed, int[] sizeSeeds)
    {
        var maxEvents = 1 + (int)((uint)limitSeed % 40);
        var sessions = (sizeSeeds ?? []).Select((sizeSeed, index) => FakeSession(index, 1 + (int)((uint)sizeSeed % 35))).ToList();

        var requests = IngestBatcher.Pack(sessions, "t", maxEvents).ToList();

        Assert.All(requests, request => Assert.InRange(request.Events.Count, 1, maxEvents));
        Assert.Equal(
            sessions.SelectMany(session => session.Events).Select(@event => @event.EventId),
            requests.SelectMany(request => request.Events).Select(@event => @event.EventId));
        var requestOfEvent = requests.SelectMany((request, index) => request.Events.Select(@event => (@event.EventId, index)))
            .ToDictionary(entry => entry.EventId, entry => entry.index);
        Assert.All(sessions.Where(session => session.Events.Count <= maxEvents), session =>
            Assert.Single(session.Events.Select(@event => requestOfEvent[@event.EventId]).Distinct()));
    }

    [Fact]
    public void A_limit_below_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => IngestBatcher.Pack([], "t", 0));
    }

    private static UserSession FakeSession(int index, int size) => new(
        $"u-{index}", UserType.Casual, "web", $"s-{index}", DateTimeOffset.UnixEpoch.AddMinutes(index),
        Enumerable.Range(1, size).Select(n => new Event { EventId = $"evt-{index}-{n}", UserId = $"u-{index}" }).ToList());
}
