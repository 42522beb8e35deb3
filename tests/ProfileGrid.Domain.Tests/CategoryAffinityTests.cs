using ProfileGrid.Abstractions.Events;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class CategoryAffinityTests
{
    private static double ScoreOf(ProfileUnderTest user, string category) =>
        ProfileMetrics.CategoryAffinities(user.Profile, user.Options, user.Now).SingleOrDefault(a => a.Category == category)?.Score ?? 0;

    [Fact]
    public void Views_carts_and_purchases_weigh_one_three_and_five_per_line()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            ProductView(Now, "shoes"),
            AddToCart(Now, "hats"),
            Purchase(Now, "USD", [("bags", 10m, 3), ("bags", 5m, 1), ("shoes", 1m, 1)]));

        Assert.Equal(6, ScoreOf(user, "shoes"), 9);
        Assert.Equal(3, ScoreOf(user, "hats"), 9);
        Assert.Equal(10, ScoreOf(user, "bags"), 9);
        Assert.Equal(["bags", "shoes", "hats"], ProfileMetrics.CategoryAffinities(user.Profile, user.Options, Now).Select(a => a.Category));
    }

    [Fact]
    public void A_rating_weighs_as_a_view_whatever_its_value_so_a_ratings_only_user_has_affinities()
    {
        // A MovieLens user with 4,200 ratings (each carrying its film's genre) had no affinity and completeness 0 (probe53).
        var user = new ProfileUnderTest();
        static UserEvent Rated(string movie, string genre, double value) =>
            Of(EventKind.Rating, Now) with { Product = new ProductInfo { ProductId = movie, Category = genre }, Rating = value };

        user.Apply(Rated("m-1", "drama", 5), Rated("m-2", "drama", 1), Rated("m-3", "comedy", 3), ProductView(Now, "comedy"));

        Assert.Equal(2, ScoreOf(user, "drama"), 9);
        Assert.Equal(2, ScoreOf(user, "comedy"), 9);
        Assert.DoesNotContain("category_affinity", ProfileMetrics.MissingFields(user.Profile));
    }

    [Fact]
    public void Removing_from_cart_lowers_interest_and_a_category_shows_only_while_its_interest_is_positive()
    {
        var user = new ProfileUnderTest();

        user.Apply(ProductView(Now, "shoes"), RemoveFromCart(Now, "shoes"), RemoveFromCart(Now, "shoes"), RemoveFromCart(Now, "toys"));
        Assert.Equal(0, ScoreOf(user, "shoes"));
        Assert.Equal(0, ScoreOf(user, "toys"));
        Assert.Contains("category_affinity", ProfileMetrics.MissingFields(user.Profile));

        // Interest is the sum of what the events said: two removals outweigh one view until two more views.
        user.Apply(ProductView(Now, "shoes"));
        Assert.Equal(0, ScoreOf(user, "shoes"));
        user.Apply(ProductView(Now, "shoes"));
        Assert.Equal(1, ScoreOf(user, "shoes"), 9);
    }

    [Fact]
    public void A_view_and_its_removal_give_the_same_interest_in_either_arrival_order()
    {
        // An outside probe: the removal an hour after the view left no interest in time order and 0.99 in reverse, so a
        // visitor's history merged in at login changed the person's affinities.
        var view = ProductView(Now.AddHours(-2), "shoes");
        var removal = RemoveFromCart(Now.AddHours(-1), "shoes");
        var laterView = ProductView(Now.AddHours(-1), "hats");
        var earlierRemoval = RemoveFromCart(Now.AddHours(-2), "hats");
        var inOrder = new ProfileUnderTest();
        var reversed = new ProfileUnderTest();
        foreach (var e in new[] { view, earlierRemoval, removal, laterView })
        {
            inOrder.Apply(e);
        }

        foreach (var e in new[] { laterView, removal, earlierRemoval, view })
        {
            reversed.Apply(e);
        }

        Assert.Equal(0, ScoreOf(inOrder, "shoes"));
        Assert.Equal(0, ScoreOf(reversed, "shoes"));
        // A view an hour after a removal leaves what the hour's decay took off the removal, itself decayed for the hour to now.
        var hourDecay = Math.Pow(0.5, 1.0 / (24 * 7));
        var hats = (1 - hourDecay) * hourDecay;
        Assert.Equal(hats, ScoreOf(inOrder, "hats"), 9);
        Assert.Equal(hats, ScoreOf(reversed, "hats"), 9);
    }

    [Fact]
    public void Interest_decays_with_the_half_life()
    {
        var user = new ProfileUnderTest();
        user.Apply(AddToCart(Now.AddDays(-14), "shoes"), ProductView(Now, "hats"));

        Assert.Equal(0.75, ScoreOf(user, "shoes"), 9);
        user.Now = Now.AddDays(7);
        Assert.Equal(0.375, ScoreOf(user, "shoes"), 9);
        Assert.Equal(0.5, ScoreOf(user, "hats"), 9);
    }

    [Fact]
    public void Affinities_are_bounded_and_keep_the_strongest_categories()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { MaxCategories = 5 } };
        user.Apply(Enumerable.Range(0, 5).Select(i => AddToCart(Now.AddMinutes(-10), $"strong-{i}")).ToArray());

        user.Apply(Enumerable.Range(0, 40).Select(i => ProductView(Now.AddMinutes(-5), $"weak-{i}")).ToArray());
        user.Apply(Purchase(Now, "USD", 1m, category: "newest"));

        var kept = ProfileMetrics.CategoryAffinities(user.Profile, user.Options, Now).Select(a => a.Category).ToArray();
        Assert.Equal(5, kept.Length);
        Assert.Equal("newest", kept[0]);
        Assert.Equal(4, kept.Count(c => c.StartsWith("strong-", StringComparison.Ordinal)));
    }
}
