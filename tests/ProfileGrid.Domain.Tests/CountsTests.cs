using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class CountsTests
{
    [Fact]
    public void Counts_events_by_kind_and_stamps_the_profile()
    {
        var user = new ProfileUnderTest();

        var result = user.Apply(PageView(Now.AddMinutes(-3)), PageView(Now.AddMinutes(-2)), Search(Now.AddMinutes(-1)));

        Assert.Equal(new ApplyResult(3, 0), result);
        Assert.Equal(2, user.Profile.Behavior.EventCounts[EventKind.PageView]);
        Assert.Equal(1, user.Profile.Behavior.EventCounts[EventKind.Search]);
        Assert.Equal(3, user.Profile.EventsApplied);
        Assert.Equal(Now, user.Profile.CreatedAt);
        Assert.Equal(Now, user.Profile.UpdatedAt);
        Assert.Equal(2, user.Document().Behavior.EventCounts["page_view"]);
    }

    [Fact]
    public void First_and_last_seen_are_the_earliest_and_latest_event_times_whatever_the_arrival_order()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Now.AddDays(-1)));
        user.Apply(PageView(Now.AddDays(-5)));
        user.Apply(PageView(Now.AddDays(-3)));

        Assert.Equal(Now.AddDays(-5), user.Profile.Behavior.FirstSeen);
        Assert.Equal(Now.AddDays(-1), user.Profile.Behavior.LastSeen);
    }

    [Fact]
    public void Created_at_stays_at_the_first_change_while_updated_at_follows_the_latest()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Now));

        user.Now = Now.AddHours(5);
        user.Apply(PageView(Now.AddHours(4)));

        Assert.Equal(Now, user.Profile.CreatedAt);
        Assert.Equal(Now.AddHours(5), user.Profile.UpdatedAt);
    }

    [Fact]
    public void Cart_counters_sum_quantities_and_searches_count_queries()
    {
        var user = new ProfileUnderTest();

        user.Apply(AddToCart(Now, "shoes", quantity: 2), AddToCart(Now, "hats"), RemoveFromCart(Now, "shoes"), Search(Now), Search(Now));

        Assert.Equal(3, user.Profile.Behavior.CartAdds);
        Assert.Equal(1, user.Profile.Behavior.CartRemoves);
        Assert.Equal(2, user.Profile.Behavior.Searches);
    }

    [Fact]
    public void Anonymous_ids_are_recorded_once_and_the_least_recently_seen_is_dropped_at_the_bound()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { MaxAnonymousIds = 3 } };

        foreach (var anonymousId in new[] { "a", "b", "a", "c", "d" })
        {
            user.Apply(Of(EventKind.PageView, Now, anonymousId: anonymousId));
        }

        Assert.Equal(["a", "c", "d"], user.Profile.AnonymousIds);
    }

    [Fact]
    public void A_fresh_profile_takes_tenant_and_user_from_its_events()
    {
        var profile = new UserProfile();

        ProfileUpdater.Apply(profile, [PageView(Now)], new ProfileOptions(), Now);

        Assert.Equal((Tenant, User), (profile.Tenant, profile.UserId));
    }

    [Fact]
    public void An_empty_batch_changes_nothing()
    {
        var user = new ProfileUnderTest();

        var result = user.Apply();

        Assert.False(result.Changed);
        Assert.Equal(default, user.Profile.UpdatedAt);
    }
}
