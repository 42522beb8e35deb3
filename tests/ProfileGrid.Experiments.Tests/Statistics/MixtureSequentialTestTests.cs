using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

public sealed class MixtureSequentialTestTests(ITestOutputHelper output)
{
    private const double Alpha = 0.05;

    // 2,000 simulations estimate a false-positive rate of 0.05 with a standard error of about 0.005: two of them.
    private const double Tolerance = 0.01;

    [Fact]
    public void One_look_worked_by_hand()
    {
        // d = 0.02, s^2 = 1e-4, tau^2 = 4e-4: ratio = sqrt(1/5) exp(4e-4 * 0.02^2 / (2e-4 * 5e-4)) = 0.447214 e^1.6 = 2.215063,
        // p = 1 / 2.215063 = 0.451454; half-width = sqrt(2e-4 * 5e-4 / 4e-4 * (ln 20 + ln(5)/2)) = 0.0308239.
        var test = new MixtureSequentialTest(new SequentialTestOptions { MixingVariance = 4e-4 });

        var result = test.Look(null, new DifferenceEstimate(0.10, 0.12, 1e-4, 2000));

        Assert.Equal(1, result.Looks);
        Assert.Equal(2.215063, result.LikelihoodRatio, 5);
        Assert.Equal(0.451454, result.PValue, 5);
        Assert.Equal(0.02 - 0.0308239, result.Interval.Lower, 6);
        Assert.Equal(0.02 + 0.0308239, result.Interval.Upper, 6);
        Assert.Equal(4e-4, result.MixingVariance);
    }

    [Fact]
    public void The_default_mixing_variance_follows_the_planned_users()
    {
        // rho^2 = (2 ln 20 + ln(1 + 2 ln 20)) / 10,000 = (5.991465 + 1.944690) / 10,000; tau^2 = rho^2 n s^2.
        var test = new MixtureSequentialTest(new SequentialTestOptions());

        Assert.Equal(7.936155e-4 * 4000 * 1e-4, test.MixingVarianceFor(1e-4, 4000), 9);
    }

    [Fact]
    public void On_simulated_a_a_tests_with_twenty_looks_the_false_positive_rate_stays_at_alpha_where_a_naive_z_test_does_not()
    {
        const int simulations = 2000, looks = 20, usersPerLook = 100;
        var test = new MixtureSequentialTest(new SequentialTestOptions { Alpha = Alpha });
        int sequentialFalsePositives = 0, naiveFalsePositives = 0;
        for (var simulation = 0; simulation < simulations; simulation++)
        {
            var random = new Random(1000 + simulation);
            long controlConversions = 0, treatmentConversions = 0, users = 0;
            SequentialResult? state = null;
            var naiveRejected = false;
            for (var look = 0; look < looks; look++)
            {
                for (var i = 0; i < usersPerLook; i++)
                {
                    controlConversions += random.NextDouble() < 0.1 ? 1 : 0;
                    treatmentConversions += random.NextDouble() < 0.1 ? 1 : 0;
                }

                users += usersPerLook;
                var control = new BinomialCounts(controlConversions, users);
                var treatment = new BinomialCounts(treatmentConversions, users);
                state = test.Look(state, control, treatment);
                naiveRejected |= TwoProportionZTest.Compare(control, treatment, Alpha).IsSignificant;
            }

            sequentialFalsePositives += state!.IsSignificant ? 1 : 0;
            naiveFalsePositives += naiveRejected ? 1 : 0;
        }

        var sequentialRate = (double)sequentialFalsePositives / simulations;
        var naiveRate = (double)naiveFalsePositives / simulations;
        output.WriteLine($"A/A, {simulations} runs of {looks} looks: mSPRT {sequentialRate:P2}, naive z-test {naiveRate:P2}");
        Assert.True(sequentialRate <= Alpha + Tolerance, $"mSPRT false-positive rate {sequentialRate:P1} over {looks} looks");
        Assert.True(naiveRate > Alpha + 5 * Tolerance, $"naive z-test false-positive rate {naiveRate:P1} over {looks} looks");
    }

    [Fact]
    public void On_simulated_a_a_tests_of_skewed_revenue_the_false_positive_rate_stays_at_alpha_with_a_fixed_mixing_variance()
    {
        const int simulations = 1000, looks = 20, usersPerLook = 100;
        // Revenue per user: 10% buy, spending exponentially distributed with mean 50 (per-user sd about 22).
        var test = new MixtureSequentialTest(new SequentialTestOptions { Alpha = Alpha, MixingVariance = 4 });
        var falsePositives = 0;
        for (var simulation = 0; simulation < simulations; simulation++)
        {
            var random = new Random(50_000 + simulation);
            List<double> control = [], treatment = [];
            SequentialResult? state = null;
            for (var look = 0; look < looks; look++)
            {
                for (var i = 0; i < usersPerLook; i++)
                {
                    control.Add(Revenue(random));
                    treatment.Add(Revenue(random));
                }

                state = test.Look(state, SampleSummary.FromValues(control), SampleSummary.FromValues(treatment));
            }

            falsePositives += state!.IsSignificant ? 1 : 0;
        }

        var rate = (double)falsePositives / simulations;
        output.WriteLine($"A/A revenue, {simulations} runs of {looks} looks: mSPRT {rate:P2}");
        Assert.True(rate <= Alpha + 1.5 * Tolerance, $"mSPRT false-positive rate on revenue {rate:P1}");
    }

    [Fact]
    public void A_true_lift_is_found_and_the_always_valid_interval_covers_it()
    {
        const int simulations = 200, looks = 20, usersPerLook = 500;
        const double controlRate = 0.10, treatmentRate = 0.12;
        var test = new MixtureSequentialTest(new SequentialTestOptions { Alpha = Alpha });
        int detected = 0, covered = 0;
        for (var simulation = 0; simulation < simulations; simulation++)
        {
            var random = new Random(7_000 + simulation);
            long c = 0, t = 0, users = 0;
            SequentialResult? state = null;
            for (var look = 0; look < looks; look++)
            {
                for (var i = 0; i < usersPerLook; i++)
                {
                    c += random.NextDouble() < controlRate ? 1 : 0;
                    t += random.NextDouble() < treatmentRate ? 1 : 0;
                }

                users += usersPerLook;
                state = test.Look(state, new BinomialCounts(c, users), new BinomialCounts(t, users));
            }

            detected += state!.IsSignificant && state.Difference > 0 ? 1 : 0;
            covered += state.Interval.Contains(treatmentRate - controlRate) ? 1 : 0;
        }

        output.WriteLine($"true 2-point lift, {simulations} runs: detected {detected}, covered {covered}");
        Assert.True(detected >= 0.8 * simulations, $"detected the lift in {detected} of {simulations}");
        Assert.True(covered >= 0.95 * simulations, $"the interval covered the true lift in {covered} of {simulations}");
    }

    [Fact]
    public void The_p_value_never_rises_and_the_interval_never_widens_between_looks()
    {
        var test = new MixtureSequentialTest(new SequentialTestOptions());
        var random = new Random(3);
        long c = 0, t = 0, users = 0;
        var state = test.Start();
        for (var look = 0; look < 30; look++)
        {
            for (var i = 0; i < 200; i++)
            {
                c += random.NextDouble() < 0.2 ? 1 : 0;
                t += random.NextDouble() < 0.21 ? 1 : 0;
            }

            users += 200;
            var next = test.Look(state, new BinomialCounts(c, users), new BinomialCounts(t, users));
            Assert.True(next.PValue <= state.PValue);
            Assert.True(next.Interval.Lower >= state.Interval.Lower && next.Interval.Upper <= state.Interval.Upper);
            state = next;
        }

        Assert.Equal(30, state.Looks);
    }

    [Fact]
    public void Looks_without_a_known_spread_keep_the_evidence_as_it_was()
    {
        var test = new MixtureSequentialTest(new SequentialTestOptions());

        var noConversions = test.Look(null, new BinomialCounts(0, 50), new BinomialCounts(0, 50));
        var oneUser = test.Look(noConversions, SampleSummary.FromValues([3.0]), SampleSummary.FromValues([1.0, 2]));
        var noUsers = test.Look(oneUser, new BinomialCounts(0, 0), new BinomialCounts(0, 0));

        foreach (var state in new[] { noConversions, oneUser, noUsers })
        {
            Assert.Equal(1, state.PValue);
            Assert.Equal(ConfidenceInterval.Unbounded(0.95), state.Interval);
            Assert.Equal(1, state.LikelihoodRatio);
        }

        Assert.Equal(3, noUsers.Looks);
    }

    [Fact]
    public void An_overwhelming_difference_gives_a_tiny_p_value_not_an_overflow()
    {
        var test = new MixtureSequentialTest(new SequentialTestOptions());

        var result = test.Look(null, new BinomialCounts(1000, 100_000), new BinomialCounts(90_000, 100_000));

        Assert.True(result.PValue is > 0 and < 1e-100, $"p = {result.PValue}");
        Assert.True(double.IsFinite(result.LikelihoodRatio));
    }

    [Fact]
    public void Invalid_options_are_reported_together_naming_each_setting()
    {
        var options = new SequentialTestOptions { Alpha = 1.5, MixingVariance = -1, PlannedUsers = 0 };

        var problems = options.Validate();
        var exception = Assert.ThrowsAny<ArgumentException>(() => new MixtureSequentialTest(options));

        Assert.Equal(3, problems.Count);
        Assert.Equal("options", exception.ParamName);
        Assert.Contains("Alpha", exception.Message);
        Assert.Contains("MixingVariance", exception.Message);
        Assert.Contains("PlannedUsers", exception.Message);
    }

    [Fact]
    public void An_estimate_that_is_not_a_number_throws_naming_the_parameter()
    {
        var test = new MixtureSequentialTest(new SequentialTestOptions());

        Assert.Equal("estimate", Assert.ThrowsAny<ArgumentException>(() => test.Look(null, new DifferenceEstimate(double.NaN, 0.1, 1e-4, 100))).ParamName);
        Assert.Equal("estimate", Assert.ThrowsAny<ArgumentException>(() => test.Look(null, new DifferenceEstimate(0.1, 0.1, 1e-4, -1))).ParamName);
    }

    private static double Revenue(Random random) =>
        random.NextDouble() < 0.1 ? -50 * Math.Log(1 - random.NextDouble()) : 0;
}
