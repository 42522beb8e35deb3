using System.Globalization;

namespace ProfileGrid.Simulator.Tests;

public class ExpectedTotalsTests
{
    [Fact]
    public void Totals_equal_a_straightforward_recount_of_the_events()
    {
        var totals = ExpectedTotals.From(SampleStream.Events);
        var events = SampleStream.Events.ToList();

        Assert.Equal(events.Count, totals.Events);
        Assert.Equal(events.Count(@event => @event.Type == "purchase"), totals.Purchases);
        Assert.Equal(events.Count(@event => @event.Type == "session_start"), totals.Sessions);
        Assert.Equal(
            events.GroupBy(@event => @event.Type).ToDictionary(group => group.Key, group => (long)group.Count()),
            totals.CountByType);
        Assert.Equal(
            events.Where(@event => @event.Type == "purchase")
                .GroupBy(@event => @event.Purchase.Currency)
                .ToDictionary(group => group.Key, group => group.Sum(@event => @event.Purchase.Lines.Sum(line => line.Quantity * decimal.Parse(line.UnitPrice, CultureInfo.InvariantCulture)))),
            totals.RevenueByCurrency);

        foreach (var userEvents in events.GroupBy(@event => @event.UserId))
        {
            var user = totals.Users[userEvents.Key];
            var times = userEvents.Select(SampleStream.OccurredAt).ToList();
            Assert.Equal(userEvents.Count(), user.Events);
            Assert.Equal(userEvents.Count(@event => @event.Type == "purchase"), user.Purchases);
            Assert.Equal(userEvents.Count(@event => @event.Type == "add_to_cart"), user.CountOf("add_to_cart"));
            Assert.Equal(times.Min(), user.FirstEventAt);
            Assert.Equal(times.Max(), user.LastEventAt);
            Assert.Equal(
                userEvents.Where(@event => @event.Product is not null).Select(@event => @event.Product.Category)
                    .Concat(userEvents.Where(@event => @event.Purchase is not null).SelectMany(@event => @event.Purchase.Lines.Select(line => line.Category)))
                    .ToHashSet(),
                user.Categories.ToHashSet());
        }

        Assert.Equal(SampleStream.Stream.Users.Count, totals.Users.Count);
        Assert.Equal(events.Min(SampleStream.OccurredAt), totals.FirstEventAt);
        Assert.Equal(events.Max(SampleStream.OccurredAt), totals.LastEventAt);
    }

    [Fact]
    public void A_stream_computes_the_totals_of_its_own_events()
    {
        var stream = new SyntheticStream(SampleStream.Options with { Users = 40 });

        var totals = stream.ComputeExpectedTotals();

        Assert.Equal(stream.Events().Count(), totals.Events);
        Assert.Equal(stream.Users.Select(user => user.UserId).Order(), totals.Users.Keys.Order());
    }

    [Fact]
    public void Totals_of_no_events_are_empty()
    {
        var totals = ExpectedTotals.From([]);

        Assert.Equal(0, totals.Events);
        Assert.Empty(totals.Users);
        Assert.Null(totals.LastEventAt);
        Assert.Equal(0, totals.CountOf("purchase"));
    }
}
