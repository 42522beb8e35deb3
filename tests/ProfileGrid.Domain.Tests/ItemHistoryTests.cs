using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>What a profile remembers per item for the recommender: counts by kind, the latest rating, bounded.</summary>
public class ItemHistoryTests
{
    private static UserEvent View(DateTimeOffset at, string productId) =>
        Of(EventKind.ProductView, at) with { Product = new ProductInfo { ProductId = productId, Category = "shoes" } };

    private static UserEvent Cart(DateTimeOffset at, string productId) =>
        Of(EventKind.AddToCart, at) with { Product = new ProductInfo { ProductId = productId, Category = "shoes", Quantity = 3, UnitPrice = new Money(10, "EUR") } };

    private static UserEvent Rate(DateTimeOffset at, string productId, double value) =>
        Of(EventKind.Rating, at) with { Product = new ProductInfo { ProductId = productId }, Rating = value };

    private static UserEvent Order(DateTimeOffset at, params string[] productIds) => Of(EventKind.Purchase, at) with
    {
        Purchase = new PurchaseInfo
        {
            OrderId = "o-" + NextId(),
            Currency = "EUR",
            Lines = productIds.Select(id => new PurchaseLine { ProductId = id, Category = "shoes", Quantity = 2, UnitPrice = 5 }).ToArray(),
        },
    };

    [Fact]
    public void Views_cart_adds_and_orders_are_counted_per_item_with_the_latest_time()
    {
        var user = new ProfileUnderTest();

        user.Apply(View(Now.AddDays(-3), "p-1"), View(Now.AddDays(-2), "p-1"), Cart(Now.AddDays(-2), "p-1"), Order(Now.AddDays(-1), "p-1", "p-2"));

        var items = user.Profile.Behavior.Items;
        Assert.Equal(2, items["p-1"].Views);
        Assert.Equal(1, items["p-1"].CartAdds);
        Assert.Equal(1, items["p-1"].Purchases);
        Assert.Equal(Now.AddDays(-1), items["p-1"].LastAt);
        Assert.Equal(0, items["p-2"].Views);
        Assert.Equal(1, items["p-2"].Purchases);
    }

    [Fact]
    public void An_order_naming_an_item_on_two_lines_counts_one_purchase_of_it()
    {
        var user = new ProfileUnderTest();

        user.Apply(Order(Now.AddHours(-1), "p-1", "p-1", "p-3"));

        Assert.Equal(1, user.Profile.Behavior.Items["p-1"].Purchases);
    }

    [Fact]
    public void The_rating_kept_is_the_latest_by_event_time_whatever_the_arrival_order()
    {
        var user = new ProfileUnderTest();

        user.Apply(Rate(Now.AddDays(-1), "m-1", 4.5));
        user.Apply(Rate(Now.AddDays(-5), "m-1", 1));

        var stats = user.Profile.Behavior.Items["m-1"];
        Assert.Equal(4.5, stats.Rating);
        Assert.Equal(Now.AddDays(-1), stats.LastAt);
        Assert.Equal(2, user.Profile.Behavior.EventCounts[EventKind.Rating]);
    }

    [Fact]
    public void A_rating_shows_in_the_recent_actions_with_what_was_rated_and_the_value()
    {
        var user = new ProfileUnderTest();

        user.Apply(Of(EventKind.Rating, Now.AddDays(-1)) with { Product = new ProductInfo { ProductId = "m-7", Category = "drama" }, Rating = 3.5 });

        var action = Assert.Single(user.Profile.Behavior.RecentActions);
        Assert.Equal((EventKind.Rating, "m-7", "drama", "3.5"), (action.Kind, action.ProductId, action.Category, action.Detail));
    }

    [Fact]
    public void A_replayed_event_changes_no_item_count()
    {
        var user = new ProfileUnderTest();
        var view = View(Now.AddHours(-2), "p-1");

        user.Apply(view);
        user.Apply(view);

        Assert.Equal(1, user.Profile.Behavior.Items["p-1"].Views);
    }

    [Fact]
    public void Beyond_the_bound_the_item_interacted_with_longest_ago_is_forgotten()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { MaxItemsRemembered = 3 } };

        user.Apply(View(Now.AddDays(-4), "old"), View(Now.AddDays(-3), "b"), View(Now.AddDays(-2), "c"));
        user.Apply(View(Now.AddDays(-1), "new"));
        // Older than everything remembered: not recorded, rather than pushing out something newer.
        user.Apply(View(Now.AddDays(-10), "ancient"));

        Assert.Equal(["b", "c", "new"], user.Profile.Behavior.Items.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(2, user.Profile.Behavior.ItemsForgotten); // "old", and "ancient", which was never recorded
    }

    [Fact]
    public void Items_bought_or_rated_that_the_bound_forgets_are_kept_by_hash_and_those_only_viewed_are_not()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { MaxItemsRemembered = 2, MaxForgottenOwned = 2 } };

        user.Apply(Order(Now.AddDays(-9), "bought"), Rate(Now.AddDays(-8), "rated", 4), View(Now.AddDays(-7), "viewed"));
        user.Apply(View(Now.AddDays(-6), "a"), View(Now.AddDays(-5), "b"));
        // Rated long ago, older than all the profile remembers: not recorded, yet the user has it.
        user.Apply(Rate(Now.AddDays(-30), "ancient", 5));

        Assert.Equal(["a", "b"], user.Profile.Behavior.Items.Keys.Order(StringComparer.Ordinal));
        // At most two, the oldest go: "ancient", rated before "bought", is the one beyond the bound.
        Assert.Equal([BehaviorState.OwnedHash("bought"), BehaviorState.OwnedHash("rated")], user.Profile.Behavior.ForgottenOwned);
    }

    [Fact]
    public void The_owned_items_kept_by_hash_are_the_latest_used_whatever_order_the_ratings_came_in()
    {
        // probe50: a heavy rater's ratings sent out of time order (MovieLens' file is sorted by movie): the bound let go
        // the items kept first rather than those rated longest ago, and items rated recently were recommended again.
        var options = new ProfileOptions { MaxItemsRemembered = 3, MaxForgottenOwned = 4 };
        // A minute apart: a heavy rater's evening, as in MovieLens.
        var ratings = Enumerable.Range(0, 40).Select(i => Rate(Now.AddMinutes(-40 + i), $"m-{i:00}", 4)).ToArray();
        var inOrder = new ProfileUnderTest { Options = options };
        inOrder.Apply(ratings);
        foreach (var seed in new[] { 1, 2, 3 })
        {
            var shuffled = new ProfileUnderTest { Options = options };
            var random = new Random(seed);
            foreach (var rating in ratings.OrderBy(_ => random.Next()))
            {
                shuffled.Apply(rating);
            }

            // The three latest in detail, the four before them by hash, oldest first: as in time order.
            Assert.Equal(["m-37", "m-38", "m-39"], shuffled.Profile.Behavior.Items.Keys.Order(StringComparer.Ordinal));
            Assert.Equal(new[] { "m-33", "m-34", "m-35", "m-36" }.Select(BehaviorState.OwnedHash), shuffled.Profile.Behavior.ForgottenOwned);
            Assert.Equal(inOrder.Profile.Behavior.ForgottenOwned, shuffled.Profile.Behavior.ForgottenOwned);
        }
    }

    [Fact]
    public void Owned_items_kept_before_their_days_were_count_as_the_oldest()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { MaxItemsRemembered = 1, MaxForgottenOwned = 2 } };
        user.Profile.Behavior.ForgottenOwned = [BehaviorState.OwnedHash("kept-1"), BehaviorState.OwnedHash("kept-2")]; // a state of the last release
        user.Profile.Behavior.ForgottenOwnedLastUsed = null;

        user.Apply(Rate(Now.AddDays(-400), "old", 3), Rate(Now.AddDays(-1), "new", 4));

        // "old" leaves the detail for "new" and, its time known, outranks both hashes without one: the first of them goes.
        Assert.Equal([BehaviorState.OwnedHash("kept-2"), BehaviorState.OwnedHash("old")], user.Profile.Behavior.ForgottenOwned);
        Assert.Equal(8, user.Profile.Behavior.ForgottenOwnedLastUsed!.Length);
    }

    [Fact]
    public void A_late_item_that_would_push_out_newer_ones_is_not_recorded_and_forgets_nothing()
    {
        // Room for three items of four-character ids (4 + 64 bytes each).
        var user = new ProfileUnderTest { Options = new ProfileOptions { ItemsMaxBytes = 3 * (4 + ProfileOptions.ItemOverheadBytes) } };
        user.Apply(View(Now.AddDays(-3), "p001"), View(Now.AddDays(-2), "p002"), View(Now.AddDays(-1), "p003"));

        // As long as all three together, and older than two of them: it would have to push those out.
        user.Apply(View(Now.AddDays(-2.5), new string('x', 3 * (4 + ProfileOptions.ItemOverheadBytes) - ProfileOptions.ItemOverheadBytes)));
        Assert.Equal(["p001", "p002", "p003"], user.Profile.Behavior.Items.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(1, user.Profile.Behavior.ItemsForgotten);

        // A new one of 70 characters pushes out the two oldest, as many as it needs.
        var wide = new string('w', 70);
        user.Apply(View(Now, wide));
        Assert.Equal(["p003", wide], user.Profile.Behavior.Items.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(3, user.Profile.Behavior.ItemsForgotten);
    }

    [Fact]
    public void A_heavy_rater_keeps_every_item_of_short_ids_and_long_ids_are_bounded_by_bytes()
    {
        // MovieLens 100k's heaviest user rated 737 movies; ids of a few digits.
        var heavy = new ProfileUnderTest();
        heavy.Apply([.. Enumerable.Range(1, 1000).Select(i => View(Now.AddMinutes(-3000 + i), i.ToString(System.Globalization.CultureInfo.InvariantCulture)))]);
        Assert.Equal(1000, heavy.Profile.Behavior.Items.Count);

        // 200-character ids: the bytes bound them, the newest kept.
        var options = new ProfileOptions();
        var wide = new ProfileUnderTest { Options = options };
        wide.Apply([.. Enumerable.Range(1, 1000).Select(i => View(Now.AddMinutes(-3000 + i), i.ToString("D200", System.Globalization.CultureInfo.InvariantCulture)))]);
        var kept = wide.Profile.Behavior.Items;
        Assert.Equal(options.ItemsMaxBytes / (200 + ProfileOptions.ItemOverheadBytes), kept.Count);
        Assert.Contains(1000.ToString("D200", System.Globalization.CultureInfo.InvariantCulture), kept.Keys);
        Assert.DoesNotContain(1.ToString("D200", System.Globalization.CultureInfo.InvariantCulture), kept.Keys);
    }
}
