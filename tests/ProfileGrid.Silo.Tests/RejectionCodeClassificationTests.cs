using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Gateway;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The reason codes of profilegrid.events.rejected and the stats' rejected-by-reason (<see cref="RejectionCodes"/>), read
/// from what the validator really answers: one bad event of each kind goes through the validator, so a reworded message
/// that would change its code fails here, not on a dashboard.
/// </summary>
public class RejectionCodeClassificationTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
    private readonly EventValidator _validator = new(new GatewayOptions(), new FixedClock(Now));

    private static WireEvent PageView() => new()
    {
        EventId = "e-1", Type = "page_view", UserId = "u-1", OccurredAt = "2026-11-28T11:00:00Z", Source = "web", Page = new PageView { Url = "/" },
    };

    private static WireEvent With(Action<WireEvent> change)
    {
        var wire = PageView();
        change(wire);
        return wire;
    }

    public static TheoryData<string, string> BadEvents => new()
    {
        { "no user", RejectionCodes.MissingField },
        { "no type", RejectionCodes.MissingField },
        { "no timestamp", RejectionCodes.MissingField },
        { "search without query", RejectionCodes.MissingField },
        { "long event id", RejectionCodes.TooLarge },
        { "future", RejectionCodes.InFuture },
        { "years old", RejectionCodes.TooOld },
        { "before 1970", RejectionCodes.TooOld },
        { "unknown type", RejectionCodes.InvalidValue },
        { "unknown source", RejectionCodes.InvalidValue },
        { "timestamp not ISO", RejectionCodes.InvalidValue },
        { "country not ISO", RejectionCodes.InvalidValue },
        { "control character", RejectionCodes.InvalidValue },
        { "dot user", RejectionCodes.InvalidValue },
    };

    [Theory]
    [MemberData(nameof(BadEvents))]
    public void Each_kind_of_bad_event_gets_its_code(string kind, string code)
    {
        var wire = kind switch
        {
            "no user" => With(e => e.UserId = ""),
            "no type" => With(e => e.Type = ""),
            "no timestamp" => With(e => e.OccurredAt = ""),
            "search without query" => With(e => { e.Type = "search"; e.Page = null; e.Search = new Search(); }),
            "long event id" => With(e => e.EventId = new string('x', 10_000)),
            "future" => With(e => e.OccurredAt = "2031-01-01T00:00:00Z"),
            "years old" => With(e => e.OccurredAt = "2001-01-01T00:00:00Z"),
            "before 1970" => With(e => e.OccurredAt = "1969-12-31T00:00:00Z"),
            "unknown type" => With(e => e.Type = "teleport"),
            "unknown source" => With(e => e.Source = "fax"),
            "timestamp not ISO" => With(e => e.OccurredAt = "yesterday"),
            "country not ISO" => With(e => e.Context = new Contracts.V1.EventContext { Country = "Germany" }),
            "control character" => With(e => e.UserId = "u\u0001"),
            "dot user" => With(e => e.UserId = ".."),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        Assert.False(_validator.TryValidate(wire, "shop", 0, Now, historical: false, out _, out var error));
        Assert.True(RejectionCodes.Of(error!) == code, $"{kind}: '{error}' is {RejectionCodes.Of(error!)}, expected {code}");
        Assert.Contains(code, RejectionCodes.All);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
