using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class DeltaMethodTests
{
    [Fact]
    public void The_ratio_variance_of_a_small_example_worked_by_hand()
    {
        // Users (clicks, impressions): (1, 10), (0, 5), (2, 10), (1, 5). Means 1 and 7.5, R = 4/30 = 2/15.
        // var X = 2/3, var Y = 25/3, cov = (0*2.5 + -1*-2.5 + 1*2.5 + 0*-2.5) / 3 = 5/3.
        // Var(R) = (var X - 2 R cov + R^2 var Y) / (n muY^2) = (2/3 - 4/9 + 4/27) / (4 * 56.25) = (10/27) / 225.
        var summary = RatioSummary.FromPairs([1.0, 0, 2, 1], [10.0, 5, 10, 5]);

        Assert.Equal(2.0 / 15, summary.Ratio, 14);
        Assert.Equal(5.0 / 3, summary.Covariance, 14);
        Assert.Equal(10.0 / 27 / 225, DeltaMethod.VarianceOfRatio(summary), 14);
    }

    [Fact]
    public void With_one_impression_per_user_the_ratio_is_the_per_user_mean_and_its_variance_the_mean_s()
    {
        double[] clicks = [1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0];
        var ones = Enumerable.Repeat(1.0, clicks.Length).ToArray();

        var summary = RatioSummary.FromPairs(clicks, ones);
        var mean = SampleSummary.FromValues(clicks);

        Assert.Equal(mean.Mean, summary.Ratio, 14);
        Assert.Equal(mean.Variance / mean.Count, DeltaMethod.VarianceOfRatio(summary), 14);
    }

    [Fact]
    public void A_heavy_user_widens_the_interval_compared_with_a_binomial_over_impressions()
    {
        // One user with 500 impressions and 150 clicks makes most of control's clicks: the per-user variance knows the
        // clicks are not independent impressions, a binomial over the 590 impressions does not (by hand: SE 0.0387
        // against 0.0199).
        double[] impressions = [10, 10, 10, 10, 10, 10, 10, 10, 10, 500];
        var control = RatioSummary.FromPairs([0.0, 1, 0, 1, 0, 0, 1, 0, 0, 150], impressions);
        var treatment = RatioSummary.FromPairs([1.0, 1, 0, 2, 0, 1, 1, 0, 0, 20], impressions);

        var delta = DeltaMethod.Compare(control, treatment);
        var binomial = TwoProportionZTest.Compare(new BinomialCounts(153, 590), new BinomialCounts(26, 590));

        Assert.Equal(binomial.Difference, delta.Difference, 12);
        Assert.True(delta.Interval.Width > 1.8 * binomial.Interval.Width, $"{delta.Interval} against {binomial.Interval}");
        Assert.True(binomial.IsSignificant);
    }

    [Fact]
    public void Sums_from_a_counter_give_the_same_answer_as_the_pairs()
    {
        double[] clicks = [1, 0, 3, 2, 0, 1], impressions = [10, 4, 12, 9, 3, 7];
        var fromPairs = RatioSummary.FromPairs(clicks, impressions);
        var fromSums = RatioSummary.FromSums(
            clicks.Length, clicks.Sum(), impressions.Sum(), clicks.Sum(c => c * c), impressions.Sum(i => i * i), clicks.Zip(impressions, (c, i) => c * i).Sum());

        Assert.Equal(DeltaMethod.VarianceOfRatio(fromPairs), DeltaMethod.VarianceOfRatio(fromSums), 14);
        Assert.Equal(fromPairs.Ratio, fromSums.Ratio, 14);
    }

    [Fact]
    public void A_variant_without_impressions_or_with_one_user_says_nothing_rather_than_nan()
    {
        var withImpressions = RatioSummary.FromPairs([1.0, 0, 2], [5.0, 5, 6]);

        var noImpressions = DeltaMethod.Compare(RatioSummary.FromPairs([0.0, 0], [0.0, 0]), withImpressions);
        var oneUser = DeltaMethod.Compare(RatioSummary.FromPairs([1.0], [4.0]), withImpressions);

        foreach (var result in new[] { noImpressions, oneUser })
        {
            Assert.Equal(1, result.PValue);
            Assert.Equal(ConfidenceInterval.Unbounded(0.95), result.Interval);
            Assert.False(double.IsNaN(result.Difference));
            Assert.NotNull(result.Caveat);
        }
    }

    [Fact]
    public void Zero_clicks_everywhere_is_no_difference()
    {
        var result = DeltaMethod.Compare(RatioSummary.FromPairs([0.0, 0, 0], [5.0, 2, 9]), RatioSummary.FromPairs([0.0, 0], [1.0, 3]));

        Assert.Equal(1, result.PValue);
        Assert.Equal(0, result.Difference);
        Assert.Null(result.RelativeLift);
    }

    [Fact]
    public void Invalid_input_throws_naming_the_parameter()
    {
        Assert.Equal("denominators", Assert.ThrowsAny<ArgumentException>(() => RatioSummary.FromPairs([1.0, 2], [3.0])).ParamName);
        Assert.Equal("numerators", Assert.ThrowsAny<ArgumentException>(() => RatioSummary.FromPairs([double.NaN], [3.0])).ParamName);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => RatioSummary.FromSums(-2, 0, 0, 0, 0, 0)).ParamName);
    }
}
