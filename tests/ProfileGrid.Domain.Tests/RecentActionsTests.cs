using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class RecentActionsTests
{
    [Fact]
    public void Recent_actions_keep_the_latest_by_event_time_and_insert_late_events_in_place()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { RecentActionsCapacity = 3 } };
        var at = Enumerable.Range(0, 5).Select(i => Now.AddMinutes(i)).ToArray();

        user.Apply(PageView(at[0], "e0"), PageView(at[2], "e2"), PageView(at[4], "e4"));
        user.Apply(PageView(at[3], "e3"));
        user.Apply(PageView(at[1], "e1"));

        Assert.Equal(["e2", "e3", "e4"], user.Profile.Behavior.RecentActions.Select(a => a.EventId));
    }

    [Fact]
    public void Recent_actions_carry_product_category_and_a_short_detail_without_url_queries()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            PageView(Now, url: "https://shop.example/p/42?email=someone@example.com#top"),
            ProductView(Now.AddSeconds(1), "shoes", "sku-9"),
            Search(Now.AddSeconds(2), "red boots"));

        var actions = user.Document().Behavior.RecentActions;
        Assert.Equal("https://shop.example/p/42", actions[0].Detail);
        Assert.Equal(EventKind.PageView, actions[0].Type);
        Assert.Equal(("sku-9", "shoes"), (actions[1].ProductId, actions[1].Category));
        Assert.Equal("red boots", actions[2].Detail);
    }
}
