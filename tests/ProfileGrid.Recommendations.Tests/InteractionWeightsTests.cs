namespace ProfileGrid.Recommendations.Tests;

/// <summary>How raw interactions become one weight: damped counts, a rating's share of its scale, decay.</summary>
public class InteractionWeightsTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Counts_are_damped_by_log1p_and_summed_over_kinds()
    {
        var weights = new InteractionWeights();

        // 1·ln(1+3) + 3·ln(1+1) + 5·ln(1+1) = 1.386 + 2.079 + 3.466
        Assert.Equal(Math.Log(4) + 3 * Math.Log(2) + 5 * Math.Log(2), weights.Weigh(new ItemInteraction("p", 3, 1, 1, null, Now), Now), 12);
    }

    [Fact]
    public void A_rating_weighs_its_share_of_the_scale_and_a_rating_beyond_the_scale_no_more_than_a_top_one()
    {
        var weights = new InteractionWeights();

        Assert.Equal(5 * 3 / 5.0, weights.Weigh(new ItemInteraction("m", 0, 0, 0, 3, Now), Now), 12);
        Assert.Equal(5.0, weights.Weigh(new ItemInteraction("m", 0, 0, 0, 5, Now), Now), 12);
        Assert.Equal(5.0, weights.Weigh(new ItemInteraction("m", 0, 0, 0, 99, Now), Now), 12);
    }

    [Fact]
    public void A_rating_below_the_minimum_positive_one_makes_the_pair_weigh_nothing_whatever_else_the_user_did()
    {
        var weights = new InteractionWeights { MinPositiveRating = 2.5 };

        // 1 and 2 stars: dislikes, even bought and viewed (0, not 5·1/5 + 5·ln 2 + 1·ln 3).
        Assert.Equal(0.0, weights.Weigh(new ItemInteraction("m", 0, 0, 0, 1, Now), Now));
        Assert.Equal(0.0, weights.Weigh(new ItemInteraction("m", 2, 0, 1, 2, Now), Now));
        // At or above the minimum: weighed as before (2.5 of 5 is half the rating weight 5; 3 stars plus an order).
        Assert.Equal(5 * 2.5 / 5, weights.Weigh(new ItemInteraction("m", 0, 0, 0, 2.5, Now), Now), 12);
        Assert.Equal(5 * 3 / 5.0 + 5 * Math.Log(2), weights.Weigh(new ItemInteraction("m", 0, 0, 1, 3, Now), Now), 12);
        // No rating: nothing to dislike.
        Assert.Equal(5 * Math.Log(2), weights.Weigh(new ItemInteraction("p", 0, 0, 1, null, Now), Now), 12);
        // The library's default (0) keeps every rating positive: a 1-star rating weighs a fifth of a 5-star one.
        Assert.Equal(1.0, new InteractionWeights().Weigh(new ItemInteraction("m", 0, 0, 0, 1, Now), Now), 12);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(5.5)]
    [InlineData(double.NaN)]
    public void A_minimum_positive_rating_outside_the_scale_is_refused_by_name(double minimum)
    {
        var problem = Assert.Single(new InteractionWeights { MinPositiveRating = minimum }.Validate());

        Assert.StartsWith("weights.min_positive_rating must be between 0 (every rating positive) and rating_scale (5)", problem);
    }

    [Fact]
    public void A_half_life_halves_the_weight_once_per_half_life_of_age()
    {
        var weights = new InteractionWeights { HalfLifeDays = 30 };

        Assert.Equal(5 * Math.Log(2) / 4, weights.Weigh(new ItemInteraction("p", 0, 0, 1, null, Now.AddDays(-60)), Now), 12);
    }
}
