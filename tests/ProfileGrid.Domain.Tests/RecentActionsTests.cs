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

    [Theory]
    [InlineData("https://user:secret@shop.example/b", "https://shop.example/b")]
    [InlineData("https://a@b:pw@shop.example/b?x=1", "https://shop.example/b")]
    [InlineData("https://shop.example/cart;jsessionid=ABC123", "https://shop.example/cart")]
    [InlineData("https://shop.example/p%3Ftoken=abc", "https://shop.example/p")]
    [InlineData("https://shop.example/p%23frag", "https://shop.example/p")]
    [InlineData("https://shop.example/u/me@example.com/orders", "https://shop.example/u/me@example.com/orders")]
    [InlineData("/p/42?q=1", "/p/42")]
    [InlineData("https://bob:se;cret@shop.example/p", "https://shop.example/p")]
    [InlineData("https://alice;auth=x@h.example/p", "https://h.example/p")]
    [InlineData("/a//b@c/d", "/a//b@c/d")]
    [InlineData("//user@cdn.example/x", "//cdn.example/x")]
    public void A_pages_url_keeps_no_credentials_session_ids_or_encoded_queries(string url, string kept)
    {
        // probe58: credentials before the host, ";jsessionid=" and an encoded query were kept in recent actions.
        Assert.Equal(kept, RecentActions.PathOf(url));
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

    [Fact]
    public void A_profile_stored_with_recent_actions_as_objects_reads_the_same_actions_and_is_written_back_packed()
    {
        var stored = StoredState.Deserialize(Convert.FromBase64String(LegacyRows.ObjectRecentActions));
        var now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        var day = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
        (string EventId, EventKind Kind, DateTimeOffset At, string? Product, string? Category, string? Detail)[] expected =
        [
            ("s-1", EventKind.SessionStart, day, null, null, null),
            ("p-1", EventKind.PageView, day.AddMinutes(1), null, null, "https://shop.example/c/shoes"),
            ("v-1", EventKind.ProductView, day.AddMinutes(2), "sku-9", "shoes", null),
            ("q-1", EventKind.Search, day.AddDays(1), null, null, "rote Stiefel 靴"),
            ("o-evt-1", EventKind.Purchase, day.AddDays(2), "p-0", "shoes", "o-o-evt-1"),
        ];

        Assert.Equal(expected, stored.Behavior.RecentActions.Select(a => (a.EventId, a.Kind, a.OccurredAt, a.ProductId, a.Category, a.Detail)));
        Assert.Equal(5, stored.EventsApplied);

        // Its replays and its order are still recognised, and a new event lands after the stored actions.
        var crm = Purchase(now.AddMinutes(-30), "EUR", 89.90m, id: "crm-1") with { Purchase = new PurchaseInfo { OrderId = "o-o-evt-1", Currency = "EUR", Lines = [new PurchaseLine { ProductId = "p-0", Category = "shoes", Quantity = 1, UnitPrice = 89.90m }] } };
        Assert.Equal(new ApplyResult(0, 2), ProfileUpdater.Apply(stored, [PageView(day.AddMinutes(1), "p-1"), crm], new ProfileOptions(), now));
        Assert.Equal(new ApplyResult(1, 0), ProfileUpdater.Apply(stored, [Search(now.AddMinutes(-5), "boots") with { EventId = "q-2" }], new ProfileOptions(), now));

        var rewritten = StoredState.Deserialize(StoredState.Serialize(stored));
        Assert.Empty(rewritten.Behavior.LegacyRecentActions);
        Assert.Equal([.. expected.Select(e => e.EventId), "q-2"], rewritten.Behavior.RecentActions.Select(a => a.EventId));
        Assert.Equal(expected[3], rewritten.Behavior.RecentActions.Select(a => (a.EventId, a.Kind, a.OccurredAt, a.ProductId, a.Category, a.Detail)).ElementAt(3));
        Assert.Equal((1L, 89.90m, 6L), (rewritten.Behavior.Orders, rewritten.Behavior.MonetaryByCurrency["EUR"].Amount, rewritten.EventsApplied));
    }

    [Fact]
    public void The_packed_log_keeps_at_most_its_capacity_and_drops_an_action_older_than_all_of_a_full_log()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { RecentActionsCapacity = 4 } };

        user.Apply([.. Enumerable.Range(0, 10).Select(i => PageView(Now.AddMinutes(i), $"e{i}"))]);
        user.Apply(PageView(Now.AddMinutes(-1), "late"));

        Assert.Equal(["e6", "e7", "e8", "e9"], user.Profile.Behavior.RecentActions.Select(a => a.EventId));
        Assert.Equal(4, user.Profile.Behavior.RecentActions.Count);
    }

    [Fact]
    public void Actions_at_the_same_instant_are_ordered_by_event_id_whatever_the_arrival_order()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Now, "b"), PageView(Now, "d"));
        user.Apply(PageView(Now, "c"), PageView(Now, "a"), PageView(Now.AddSeconds(-1), "z"));

        Assert.Equal(["z", "a", "b", "c", "d"], user.Profile.Behavior.RecentActions.Select(a => a.EventId));
    }

    [Fact]
    public void Text_that_is_not_valid_unicode_and_long_non_latin_text_come_back_exactly()
    {
        var user = new ProfileUnderTest();
        var loneSurrogate = "id-\uD800-x";
        var long_ = new string('靴', 256);

        user.Apply(ProductView(Now, long_, loneSurrogate) with { EventId = loneSurrogate }, Search(Now.AddSeconds(1), "\uDC00" + long_[..100]));
        var rewritten = StoredState.Deserialize(StoredState.Serialize(user.Profile));

        var actions = rewritten.Behavior.RecentActions.ToArray();
        Assert.Equal((loneSurrogate, loneSurrogate, long_), (actions[0].EventId, actions[0].ProductId, actions[0].Category));
        Assert.Equal("\uDC00" + long_[..100], actions[1].Detail);
        Assert.Equal(new ApplyResult(0, 1), ProfileUpdater.Apply(rewritten, [PageView(Now, loneSurrogate)], user.Options, Now));
    }

    [Fact]
    public void Trimming_gives_back_spare_capacity_and_changes_nothing_a_reader_sees()
    {
        var user = new ProfileUnderTest();
        user.Apply([.. Enumerable.Range(0, 30).Select(i => ProductView(Now.AddMinutes(i), "shoes", $"sku-{i}"))]);
        var before = user.Json();

        ProfileUpdater.TrimExcess(user.Profile);

        Assert.Equal(before, user.Json());
        Assert.Equal(user.Profile.Behavior.RecentActions.Packed.Length, user.Profile.Behavior.RecentActions.Capacity);
        Assert.Equal(30, user.Profile.RecentEventIds.Hashes.Capacity);
    }
}
