using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class TwoProportionZTestTests
{
    [Fact]
    public void Ten_against_twelve_percent_of_a_thousand_users_each_is_not_significant()
    {
        // By hand: pooled p = 220/2000 = 0.11, SE = sqrt(0.11 * 0.89 * 2/1000) = 0.0139929, z = 0.02 / SE = 1.42930,
        // p = erfc(z / sqrt 2) = 0.152918; unpooled SE = sqrt(0.1*0.9/1000 + 0.12*0.88/1000) = 0.0139857,
        // interval 0.02 -/+ 1.959964 * 0.0139857 = [-0.0074115, 0.0474115].
        var result = TwoProportionZTest.Compare(new BinomialCounts(100, 1000), new BinomialCounts(120, 1000));

        Assert.Equal(0.10, result.ControlRate, 12);
        Assert.Equal(0.12, result.TreatmentRate, 12);
        Assert.Equal(0.02, result.Difference, 12);
        Assert.Equal(0.2, result.RelativeLift!.Value, 12);
        Assert.Equal(1.4293008, result.ZStatistic, 6);
        Assert.Equal(0.1529178, result.PValue, 6);
        Assert.Equal(-0.0074115, result.Interval.Lower, 1e-7);
        Assert.Equal(0.0474115, result.Interval.Upper, 1e-7);
        Assert.Equal(0.95, result.Interval.Level, 12);
        Assert.False(result.IsSignificant);
        Assert.Null(result.Caveat);
    }

    [Fact]
    public void Ten_against_thirteen_percent_of_ten_thousand_users_each_is_significant_and_the_interval_excludes_zero()
    {
        var result = TwoProportionZTest.Compare(new BinomialCounts(1000, 10_000), new BinomialCounts(1300, 10_000));

        Assert.True(result.IsSignificant);
        Assert.True(result.PValue < 1e-9, $"p = {result.PValue}");
        Assert.True(result.Interval.Lower > 0);
        Assert.True(result.Interval.Contains(0.03));
    }

    [Fact]
    public void A_smaller_alpha_widens_the_interval()
    {
        var at95 = TwoProportionZTest.Compare(new BinomialCounts(100, 1000), new BinomialCounts(120, 1000), alpha: 0.05);
        var at99 = TwoProportionZTest.Compare(new BinomialCounts(100, 1000), new BinomialCounts(120, 1000), alpha: 0.01);

        Assert.True(at99.Interval.Width > at95.Interval.Width);
        Assert.Equal(0.99, at99.Interval.Level, 12);
        Assert.Equal(at95.PValue, at99.PValue);
    }

    [Fact]
    public void Zero_conversions_in_both_variants_give_no_difference_and_no_nan()
    {
        var result = TwoProportionZTest.Compare(new BinomialCounts(0, 1000), new BinomialCounts(0, 1200));

        Assert.Equal(0, result.ZStatistic);
        Assert.Equal(1, result.PValue);
        Assert.Equal(new ConfidenceInterval(0, 0, 0.95), result.Interval);
        Assert.Null(result.RelativeLift);
        Assert.NotNull(result.Caveat);
    }

    [Fact]
    public void Every_user_converting_in_both_variants_gives_no_difference_and_no_nan()
    {
        var result = TwoProportionZTest.Compare(new BinomialCounts(500, 500), new BinomialCounts(700, 700));

        Assert.Equal(0, result.ZStatistic);
        Assert.Equal(1, result.PValue);
        Assert.Equal(0.0, result.RelativeLift);
        Assert.Equal(0, result.Interval.Width);
    }

    [Fact]
    public void Zero_against_all_conversions_is_decisive_though_the_wald_interval_has_no_width()
    {
        var result = TwoProportionZTest.Compare(new BinomialCounts(0, 100), new BinomialCounts(100, 100));

        Assert.True(result.IsSignificant);
        Assert.Equal(1, result.Difference);
        Assert.Equal(new ConfidenceInterval(1, 1, 0.95), result.Interval);
        Assert.False(double.IsNaN(result.ZStatistic));
    }

    [Fact]
    public void A_variant_without_users_says_nothing_rather_than_nan()
    {
        var result = TwoProportionZTest.Compare(new BinomialCounts(0, 0), new BinomialCounts(3, 10));

        Assert.Equal(1, result.PValue);
        Assert.Equal(ConfidenceInterval.Unbounded(0.95), result.Interval);
        Assert.Null(result.RelativeLift);
        Assert.NotNull(result.Caveat);
    }

    [Fact]
    public void A_variant_with_one_user_gives_finite_figures()
    {
        var result = TwoProportionZTest.Compare(new BinomialCounts(1, 1), new BinomialCounts(30, 100));

        Assert.All(new[] { result.ZStatistic, result.PValue, result.Interval.Lower, result.Interval.Upper }, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void Invalid_counts_throw_naming_the_parameter()
    {
        Assert.Equal("successes", Assert.ThrowsAny<ArgumentException>(() => new BinomialCounts(11, 10)).ParamName);
        Assert.Equal("successes", Assert.ThrowsAny<ArgumentException>(() => new BinomialCounts(-1, 10)).ParamName);
        Assert.Equal("trials", Assert.ThrowsAny<ArgumentException>(() => new BinomialCounts(0, -5)).ParamName);
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(() => TwoProportionZTest.Compare(default, default, alpha: 0)).ParamName);
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(() => TwoProportionZTest.Compare(default, default, alpha: double.NaN)).ParamName);
    }
}
