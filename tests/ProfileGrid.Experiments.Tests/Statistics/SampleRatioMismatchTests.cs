using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class SampleRatioMismatchTests
{
    [Fact]
    public void A_fifty_fifty_split_observed_as_52_48_at_100k_users_is_flagged()
    {
        // By hand: expected 50,000 each, chi-square = 2 * 2000^2 / 50000 = 160, p = erfc(sqrt 80) = 1.13e-36.
        var result = SampleRatioMismatch.Check([52_000, 48_000], [50, 50]);

        Assert.True(result.IsMismatch);
        Assert.Equal(160, result.ChiSquare, 9);
        Assert.Equal(1, result.DegreesOfFreedom);
        Assert.Equal(1.1314837902e-36, result.PValue, 1e-44);
        Assert.Equal(new[] { 50_000.0, 50_000.0 }, result.Expected);
    }

    [Fact]
    public void A_fifty_fifty_split_observed_as_50_1_49_9_at_100k_users_is_not_flagged()
    {
        // chi-square = 2 * 100^2 / 50000 = 0.4, p = erfc(sqrt 0.2) = 0.527.
        var result = SampleRatioMismatch.Check([50_100, 49_900], [50, 50]);

        Assert.False(result.IsMismatch);
        Assert.Equal(0.4, result.ChiSquare, 9);
        Assert.Equal(0.5270892569, result.PValue, 9);
    }

    [Fact]
    public void Three_variants_with_unequal_weights_are_checked_against_their_own_shares()
    {
        var healthy = SampleRatioMismatch.Check([25_100, 24_950, 49_950], [1, 1, 2]);
        var broken = SampleRatioMismatch.Check([25_000, 25_000, 48_000], [1, 1, 2]);

        Assert.False(healthy.IsMismatch);
        Assert.Equal(2, healthy.DegreesOfFreedom);
        Assert.True(broken.IsMismatch);
    }

    [Fact]
    public void The_threshold_is_configurable()
    {
        var result = SampleRatioMismatch.Check([50_400, 49_600], [1, 1], threshold: 0.05);

        Assert.True(result.PValue is > 0.001 and < 0.05, $"p = {result.PValue}");
        Assert.True(result.IsMismatch);
        Assert.False(SampleRatioMismatch.Check([50_400, 49_600], [1, 1]).IsMismatch);
    }

    [Fact]
    public void No_users_or_one_variant_is_never_a_mismatch()
    {
        Assert.Equal(1, SampleRatioMismatch.Check([0, 0], [1, 1]).PValue);
        Assert.Equal(1, SampleRatioMismatch.Check([1234], [1]).PValue);
    }

    [Fact]
    public void Invalid_input_throws_naming_the_parameter()
    {
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([10, 10], [1, 0])).ParamName);
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([10, 10], [1, -1])).ParamName);
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([10], [double.NaN])).ParamName);
        Assert.Equal("weights", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([], [])).ParamName);
        Assert.Equal("observed", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([10, -1], [1, 1])).ParamName);
        Assert.Equal("observed", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([10, 10, 10], [1, 1])).ParamName);
        Assert.Equal("threshold", Assert.ThrowsAny<ArgumentException>(() => SampleRatioMismatch.Check([10, 10], [1, 1], threshold: 0)).ParamName);
    }
}
