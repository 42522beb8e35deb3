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
    public void A_half_life_halves_the_weight_once_per_half_life_of_age()
    {
        var weights = new InteractionWeights { HalfLifeDays = 30 };

        Assert.Equal(5 * Math.Log(2) / 4, weights.Weigh(new ItemInteraction("p", 0, 0, 1, null, Now.AddDays(-60)), Now), 12);
    }
}
