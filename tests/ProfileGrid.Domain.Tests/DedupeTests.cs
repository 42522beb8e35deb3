using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class DedupeTests
{
    private static UserEvent[] MixedBatch() =>
    [
        SessionStart(Now.AddMinutes(-30)),
        PageView(Now.AddMinutes(-29)),
        ProductView(Now.AddMinutes(-28), "shoes"),
        AddToCart(Now.AddMinutes(-27), "shoes", 2),
        Purchase(Now.AddMinutes(-20), "EUR", 80m),
        Identify(Now.AddMinutes(-19), new DemographicsUpdate { Country = "DE", BirthYear = 1990 }),
        Preference(Now.AddMinutes(-18), new PreferenceUpdate { Key = "size", Value = "42", EmailOptIn = true }),
        Of(EventKind.Custom, Now.AddMinutes(-17), device: DeviceType.Mobile, anonymousId: "anon-1") with { Custom = new CustomInfo { Name = "quiz" } },
    ];

    [Fact]
    public void Replaying_the_same_batch_changes_nothing()
    {
        var user = new ProfileUnderTest();
        var batch = MixedBatch();
        user.Apply(batch);
        var before = user.Json();
        var stateBefore = StateJson.Of(user.Profile);

        user.Now = Now.AddMinutes(5);
        var result = user.Apply(batch);

        user.Now = Now;
        Assert.Equal(new ApplyResult(0, batch.Length), result);
        Assert.Equal(before, user.Json());
        Assert.Equal(stateBefore, StateJson.Of(user.Profile));
    }

    [Fact]
    public void A_duplicate_inside_one_batch_is_applied_once()
    {
        var user = new ProfileUnderTest();
        var purchase = Purchase(Now, "USD", 10m);

        var result = user.Apply(purchase, purchase, purchase);

        Assert.Equal(new ApplyResult(1, 2), result);
        Assert.Equal(1, user.Profile.Behavior.Orders);
        Assert.Equal(10m, ProfileMetrics.Monetary(user.Profile, user.Options).Amount);
    }

    [Fact]
    public void The_dedupe_window_remembers_the_configured_number_of_recent_ids()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { DedupeWindow = 100 } };
        var events = Enumerable.Range(0, 150).Select(i => PageView(Now.AddSeconds(i))).ToArray();
        user.Apply(events);

        Assert.Equal(100, user.Profile.RecentEventIds.Count);
        Assert.Equal(events[^100..].Select(e => EventIdWindow.Hash(e.EventId)), user.Profile.RecentEventIds.Hashes);
        Assert.Equal(0, user.Apply(events[^100..]).Applied);
        // An id that fell out of the window is no longer recognised: the documented limit of the window.
        Assert.Equal(1, user.Apply(events[0]).Applied);
    }
}
