using System.Diagnostics;
using MathNet.Numerics;
using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class BetaBinomialTestTests
{
    [Fact]
    public void One_conversion_from_one_user_against_nothing_worked_by_hand()
    {
        // Uniform prior: control (no users) stays Beta(1, 1), treatment (1 of 1) becomes Beta(2, 1) with density 2x.
        // P(T > C) = integral of 2x * x = 2/3. Loss of choosing T = E[max(C - T, 0)] = integral 2t (1 - t)^2 / 2 = 1/12;
        // loss of choosing C = E[T - C] + 1/12 = 1/6 + 1/12 = 1/4.
        var result = BetaBinomialTest.Compare(new BinomialCounts(0, 0), new BinomialCounts(1, 1));

        Assert.Equal(new BetaPosterior(1, 1), result.Control);
        Assert.Equal(new BetaPosterior(2, 1), result.Treatment);
        Assert.Equal(2.0 / 3, result.ProbabilityTreatmentBeatsControl, 12);
        Assert.Equal(1.0 / 12, result.ExpectedLossChoosingTreatment, 12);
        Assert.Equal(1.0 / 4, result.ExpectedLossChoosingControl, 12);
    }

    [Theory]
    [InlineData(12, 100, 18, 110)]
    [InlineData(0, 40, 3, 45)]
    [InlineData(230, 2000, 262, 2050)]
    public void The_probability_to_beat_control_matches_the_exact_sum_for_whole_number_posteriors(int controlConversions, int controlUsers,
        int treatmentConversions, int treatmentUsers)
    {
        var result = BetaBinomialTest.Compare(new BinomialCounts(controlConversions, controlUsers), new BinomialCounts(treatmentConversions, treatmentUsers));

        // Evan Miller's closed form (2015) for integer parameters:
        // P(B > A) = sum_{i < aB} B(aA + i, bA + bB) / ((bB + i) B(1 + i, bB) B(aA, bA)).
        double aA = result.Control.Alpha, bA = result.Control.Beta, aB = result.Treatment.Alpha, bB = result.Treatment.Beta;
        double exact = 0;
        for (var i = 0; i < aB; i++)
        {
            exact += Math.Exp(SpecialFunctions.BetaLn(aA + i, bA + bB) - Math.Log(bB + i) - SpecialFunctions.BetaLn(1 + i, bB) - SpecialFunctions.BetaLn(aA, bA));
        }

        Assert.Equal(exact, result.ProbabilityTreatmentBeatsControl, 10);
    }

    [Fact]
    public void The_two_losses_differ_by_the_difference_of_the_posterior_means()
    {
        var result = BetaBinomialTest.Compare(new BinomialCounts(480, 5000), new BinomialCounts(530, 5000));

        // E[max(T - C, 0)] - E[max(C - T, 0)] = E[T - C].
        Assert.Equal(result.Difference, result.ExpectedLossChoosingControl - result.ExpectedLossChoosingTreatment, 12);
        Assert.True(result.ExpectedLossChoosingTreatment < result.ExpectedLossChoosingControl);
        Assert.InRange(result.ProbabilityTreatmentBeatsControl, 0.94, 0.96);
    }

    [Fact]
    public void A_hundred_thousand_users_per_variant_are_integrated_accurately_and_quickly()
    {
        var clock = Stopwatch.StartNew();
        var forward = BetaBinomialTest.Compare(new BinomialCounts(5000, 100_000), new BinomialCounts(5150, 100_000));
        var backward = BetaBinomialTest.Compare(new BinomialCounts(5150, 100_000), new BinomialCounts(5000, 100_000));
        clock.Stop();

        Assert.Equal(1, forward.ProbabilityTreatmentBeatsControl + backward.ProbabilityTreatmentBeatsControl, 10);
        Assert.Equal(forward.ExpectedLossChoosingTreatment, backward.ExpectedLossChoosingControl, 12);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Identical_results_are_a_coin_toss_at_the_extremes_too()
    {
        foreach (var counts in new[] { new BinomialCounts(0, 1000), new BinomialCounts(1000, 1000), new BinomialCounts(0, 0), new BinomialCounts(1, 1) })
        {
            var result = BetaBinomialTest.Compare(counts, counts);

            Assert.Equal(0.5, result.ProbabilityTreatmentBeatsControl); // exactly (probe67: 0.5000000000000004 with no users)
            Assert.Equal(result.ExpectedLossChoosingControl, result.ExpectedLossChoosingTreatment, 12);
        }
    }

    [Fact]
    public void Zero_and_full_conversions_and_a_sharp_prior_give_finite_figures()
    {
        var cases = new[]
        {
            BetaBinomialTest.Compare(new BinomialCounts(0, 100_000), new BinomialCounts(3, 100_000)),
            BetaBinomialTest.Compare(new BinomialCounts(100_000, 100_000), new BinomialCounts(99_990, 100_000)),
            BetaBinomialTest.Compare(new BinomialCounts(0, 20), new BinomialCounts(0, 30), new BetaPrior(0.01, 0.01)),
            BetaBinomialTest.Compare(new BinomialCounts(0, 1), new BinomialCounts(1, 1), new BetaPrior(0.5, 0.5)),
        };

        foreach (var result in cases)
        {
            Assert.InRange(result.ProbabilityTreatmentBeatsControl, 0, 1);
            Assert.InRange(result.ExpectedLossChoosingTreatment, 0, 1);
            Assert.InRange(result.ExpectedLossChoosingControl, 0, 1);
            Assert.True(double.IsFinite(result.TreatmentInterval.Lower) && double.IsFinite(result.TreatmentInterval.Upper));
        }

        Assert.True(cases[0].ProbabilityTreatmentBeatsControl > 0.9);
        Assert.True(cases[1].ProbabilityTreatmentBeatsControl < 0.01);
        Assert.InRange(cases[2].ProbabilityTreatmentBeatsControl, 0.45, 0.55);
        foreach (var result in cases)
        {
            Assert.Equal(result.Difference, result.ExpectedLossChoosingControl - result.ExpectedLossChoosingTreatment, 9);
        }
    }

    [Fact]
    public void The_credible_interval_holds_the_posterior_mass_it_claims()
    {
        var result = BetaBinomialTest.Compare(new BinomialCounts(40, 400), new BinomialCounts(55, 400), credibleLevel: 0.9);

        var interval = result.TreatmentInterval;
        var mass = MathNet.Numerics.Distributions.Beta.CDF(result.Treatment.Alpha, result.Treatment.Beta, interval.Upper)
            - MathNet.Numerics.Distributions.Beta.CDF(result.Treatment.Alpha, result.Treatment.Beta, interval.Lower);
        Assert.Equal(0.9, mass, 9);
        Assert.True(interval.Contains(result.Treatment.Mean));
    }

    [Fact]
    public void Invalid_priors_throw_naming_the_parameter()
    {
        Assert.Equal("alpha", Assert.ThrowsAny<ArgumentException>(() => new BetaPrior(0, 1)).ParamName);
        Assert.Equal("beta", Assert.ThrowsAny<ArgumentException>(() => new BetaPrior(1, -2)).ParamName);
        Assert.Equal("beta", Assert.ThrowsAny<ArgumentException>(() => new BetaPrior(1, double.PositiveInfinity)).ParamName);
        Assert.Equal("credibleLevel", Assert.ThrowsAny<ArgumentException>(() => BetaBinomialTest.Compare(default, default, credibleLevel: 1)).ParamName);
    }
}
