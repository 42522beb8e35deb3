using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class WelchTTestTests
{
    [Fact]
    public void A_small_revenue_example_worked_by_hand()
    {
        // Control 1, 2, 3, 4: mean 2.5, variance 5/3. Treatment 2, 4, 6, 8: mean 5, variance 20/3.
        // Var(diff) = 5/12 + 20/12 = 25/12, t = 2.5 / sqrt(25/12) = sqrt 3,
        // df = (25/12)^2 / ((5/12)^2/3 + (20/12)^2/3) = 75/17 = 4.41176.
        // Integrating the t density numerically: p = 0.151581, t_0.975(75/17) = 2.677174, so the interval is
        // 2.5 -/+ 2.677174 * sqrt(25/12) = [-1.364167, 6.364167].
        var result = WelchTTest.Compare([1.0, 2, 3, 4], [2.0, 4, 6, 8]);

        Assert.Equal(2.5, result.ControlMean, 12);
        Assert.Equal(5, result.TreatmentMean, 12);
        Assert.Equal(2.5, result.Difference, 12);
        Assert.Equal(1, result.RelativeLift!.Value, 12);
        Assert.Equal(Math.Sqrt(3), result.TStatistic, 12);
        Assert.Equal(75.0 / 17, result.DegreesOfFreedom, 12);
        Assert.Equal(0.151581, result.PValue, 5);
        Assert.Equal(-1.364167, result.Interval.Lower, 5);
        Assert.Equal(6.364167, result.Interval.Upper, 5);
        Assert.False(result.IsSignificant);
    }

    [Fact]
    public void The_sufficient_statistics_a_counter_keeps_give_the_same_answer_as_the_values()
    {
        double[] control = [0, 0, 12.5, 3, 0, 40, 7.25, 0, 0, 19.99];
        double[] treatment = [5, 0, 0, 22, 13.5, 0, 0, 0, 61, 8, 4.5];

        var fromValues = WelchTTest.Compare(control, treatment);
        var fromSums = WelchTTest.Compare(
            SampleSummary.FromSums(control.Length, control.Sum(), control.Sum(v => v * v)),
            SampleSummary.FromSums(treatment.Length, treatment.Sum(), treatment.Sum(v => v * v)));

        Assert.Equal(fromValues.PValue, fromSums.PValue, 10);
        Assert.Equal(fromValues.Interval.Lower, fromSums.Interval.Lower, 10);
        Assert.Equal(fromValues.Interval.Upper, fromSums.Interval.Upper, 10);
        Assert.Equal(fromValues.DegreesOfFreedom, fromSums.DegreesOfFreedom, 10);
    }

    [Fact]
    public void A_variant_with_one_user_has_an_unknown_spread_so_nothing_is_concluded()
    {
        var result = WelchTTest.Compare([42.0], [1.0, 2, 3]);

        Assert.Equal(1, result.PValue);
        Assert.Equal(0, result.TStatistic);
        Assert.Equal(0, result.DegreesOfFreedom);
        Assert.Equal(ConfidenceInterval.Unbounded(0.95), result.Interval);
        Assert.Equal(-40, result.Difference, 12);
        Assert.NotNull(result.Caveat);
    }

    [Fact]
    public void No_users_at_all_gives_defined_figures()
    {
        var result = WelchTTest.Compare(Array.Empty<double>(), Array.Empty<double>());

        Assert.Equal(1, result.PValue);
        Assert.Equal(0, result.Difference);
        Assert.Null(result.RelativeLift);
    }

    [Fact]
    public void Zero_variance_with_equal_means_is_no_difference()
    {
        var result = WelchTTest.Compare([0.1, 0.1, 0.1], [0.1, 0.1]);

        Assert.Equal(0, result.TStatistic);
        Assert.Equal(1, result.PValue);
        Assert.Equal(new ConfidenceInterval(0, 0, 0.95), result.Interval);
        Assert.Equal(3, result.DegreesOfFreedom);
    }

    [Fact]
    public void Zero_variance_with_different_means_is_an_exact_difference()
    {
        var result = WelchTTest.Compare([5.0, 5, 5], [7.0, 7, 7, 7]);

        Assert.Equal(double.PositiveInfinity, result.TStatistic);
        Assert.Equal(0, result.PValue);
        Assert.Equal(new ConfidenceInterval(2, 2, 0.95), result.Interval);
        Assert.True(result.IsSignificant);
    }

    [Fact]
    public void One_variant_without_spread_leaves_the_other_to_carry_the_degrees_of_freedom()
    {
        var result = WelchTTest.Compare([5.0, 5, 5, 5], [4.0, 6, 5, 7, 3]);

        Assert.Equal(4, result.DegreesOfFreedom, 12);
        Assert.True(double.IsFinite(result.PValue));
    }

    [Fact]
    public void Invalid_input_throws_naming_the_parameter()
    {
        Assert.Equal("control", Assert.ThrowsAny<ArgumentException>(() => WelchTTest.Compare([double.NaN, 1], [1.0, 2])).ParamName);
        Assert.Equal("treatment", Assert.ThrowsAny<ArgumentException>(() => WelchTTest.Compare([1.0, 2], [double.PositiveInfinity])).ParamName);
        Assert.Equal("variance", Assert.ThrowsAny<ArgumentException>(() => new SampleSummary(10, 1, -1)).ParamName);
        Assert.Equal("count", Assert.ThrowsAny<ArgumentException>(() => SampleSummary.FromSums(-1, 0, 0)).ParamName);
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(() => WelchTTest.Compare([1.0, 2], [1.0, 2], alpha: 1)).ParamName);
    }
}
