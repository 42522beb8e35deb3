using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class CupedTests
{
    [Fact]
    public void A_small_example_worked_by_hand()
    {
        // Pooled users (x, y): (1, 2), (2, 3), (3, 5) in control and (1, 3), (2, 4), (3, 6) in treatment.
        // mean x = 2 and (x - 2) is -1, 0, 1 in each variant, so cov(y, x) = sum (x - 2) y / 5 = (-2 + 5 - 3 + 6) / 5 = 6/5
        // and var x = 4/5: theta = 1.5.
        // Adjusted y' = y - 1.5 (x - 2): control 3.5, 3, 3.5 and treatment 4.5, 4, 4.5; the difference stays 1.
        var control = new CupedSample([2.0, 3, 5], [1.0, 2, 3]);
        var treatment = new CupedSample([3.0, 4, 6], [1.0, 2, 3]);

        var result = Cuped.Compare(control, treatment);

        Assert.Equal(1.5, result.Theta, 12);
        Assert.Equal(2, result.CovariateMean, 12);
        Assert.Equal(1, result.Adjusted.Difference, 12);
        Assert.Equal(1, result.Unadjusted.Difference, 12);
        // Var of the adjusted difference: 2 * (1/12) / 3 = 1/18 against 2 * (7/3) / 3 = 14/9 raw: 1 - (1/18)/(14/9) = 27/28.
        Assert.Equal(27.0 / 28, result.VarianceReduction, 12);
        Assert.True(result.Adjusted.Interval.Width < result.Unadjusted.Interval.Width);
    }

    [Fact]
    public void A_covariate_that_predicts_the_metric_narrows_the_interval_without_moving_the_effect()
    {
        var random = new Random(11);
        (CupedSample Sample, double[] Pre) Variant(double effect, int users)
        {
            var pre = new double[users];
            var post = new double[users];
            for (var i = 0; i < users; i++)
            {
                pre[i] = 20 + 10 * Gaussian(random);
                post[i] = 0.9 * pre[i] + 2 + effect + 4 * Gaussian(random);
            }

            return (new CupedSample(post, pre), pre);
        }

        var (control, _) = Variant(0, 3000);
        var (treatment, _) = Variant(1, 3000);

        var result = Cuped.Compare(control, treatment);

        // Corr(pre, post)^2 = 81 / (81 + 16) = 0.835: about that share of the variance goes.
        Assert.InRange(result.Theta, 0.85, 0.95);
        Assert.InRange(result.VarianceReduction, 0.80, 0.87);
        Assert.InRange(result.Adjusted.Difference, 1 - 4 * result.Adjusted.StandardError, 1 + 4 * result.Adjusted.StandardError);
        Assert.True(result.Adjusted.IsSignificant);
        Assert.InRange(result.Adjusted.Interval.Width / result.Unadjusted.Interval.Width, 0.35, 0.45);
    }

    [Fact]
    public void The_running_sums_a_counter_keeps_give_the_values_answer()
    {
        var random = new Random(5);
        CupedSample Variant(double effect, int users)
        {
            var pre = Enumerable.Range(0, users).Select(_ => random.NextDouble() < 0.4 ? 30 * random.NextDouble() : 0).ToArray();
            var post = pre.Select(x => Math.Round(0.7 * x + effect + 20 * random.NextDouble(), 2)).ToArray();
            return new CupedSample(post, pre);
        }

        var control = Variant(0, 1500);
        var treatment = Variant(0.8, 1700);

        var fromValues = Cuped.Compare(control, treatment);
        var fromSums = Cuped.Compare(CupedSummary.Of(control), CupedSummary.Of(treatment));

        foreach (var (name, expected, actual) in new[]
        {
            ("theta", fromValues.Theta, fromSums.Theta),
            ("reduction", fromValues.VarianceReduction, fromSums.VarianceReduction),
            ("p", fromValues.Adjusted.PValue, fromSums.Adjusted.PValue),
            ("lower", fromValues.Adjusted.Interval.Lower, fromSums.Adjusted.Interval.Lower),
            ("upper", fromValues.Adjusted.Interval.Upper, fromSums.Adjusted.Interval.Upper),
            ("difference", fromValues.Adjusted.Difference, fromSums.Adjusted.Difference),
        })
        {
            Assert.True(Math.Abs(actual - expected) <= 1e-9 * Math.Abs(expected), $"{name}: {actual:R} from sums, {expected:R} from values");
        }
    }

    [Fact]
    public void A_covariate_without_spread_adjusts_nothing()
    {
        var control = new CupedSample([2.0, 3, 5, 1], [0.0, 0, 0, 0]);
        var treatment = new CupedSample([3.0, 4, 6], [0.0, 0, 0]);

        var result = Cuped.Compare(control, treatment);

        Assert.Equal(0, result.Theta);
        Assert.Equal(0, result.VarianceReduction);
        Assert.Equal(result.Unadjusted.PValue, result.Adjusted.PValue);
        Assert.NotNull(result.Caveat);
    }

    [Fact]
    public void A_variant_with_one_user_gives_defined_figures()
    {
        var result = Cuped.Compare(new CupedSample([2.0], [1.0]), new CupedSample([3.0, 4, 6], [1.0, 2, 3]));

        Assert.Equal(1, result.Adjusted.PValue);
        Assert.Equal(0, result.VarianceReduction);
        Assert.False(double.IsNaN(result.Theta));
    }

    [Fact]
    public void Invalid_input_throws_naming_the_parameter()
    {
        Assert.Equal("covariates", Assert.ThrowsAny<ArgumentException>(() => new CupedSample([1.0, 2], [1.0])).ParamName);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => new CupedSummary(-1, 0, 0, 0, 0, 0)).ParamName);
        Assert.Equal("sumProducts", Assert.ThrowsAny<ArgumentException>(() => new CupedSummary(3, 0, 0, 0, 0, double.NaN)).ParamName);
        Assert.Equal("values", Assert.ThrowsAny<ArgumentException>(() => new CupedSample([double.NaN], [1.0])).ParamName);
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(
            () => Cuped.Compare(new CupedSample([1.0, 2], [1.0, 2]), new CupedSample([1.0, 2], [1.0, 2]), alpha: -0.1)).ParamName);
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
