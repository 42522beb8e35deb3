using ProfileGrid.Experiments.Results;
using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Results;

/// <summary>
/// An experiment's results from the shards' running sums equal the tests run on the per-user figures themselves, the
/// sequential test's stored state carries from look to look as one continuous test would, and a broken split is said.
/// </summary>
public class ExperimentAnalysisTests
{
    private sealed record UserFigures(double Impressions, double Clicks, bool Converted, double Revenue, double PrePeriod);

    private static List<UserFigures> Users(int seed, int count, double clickRate, double conversion)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ =>
        {
            var impressions = 1 + random.Next(6);
            var clicks = Enumerable.Range(0, impressions).Count(_ => random.NextDouble() < clickRate);
            var prePeriod = random.NextDouble() < 0.3 ? Math.Round(random.NextDouble() * 200, 2) : 0;
            // Past buyers buy again more often: the pre-period revenue explains part of the revenue, as on real shops.
            var converted = random.NextDouble() < conversion * (prePeriod > 0 ? 3 : 0.2);
            var revenue = converted ? Math.Round(20 + random.NextDouble() * 80 + 0.3 * prePeriod, 2) : 0;
            return new UserFigures(impressions, clicks, converted, revenue, prePeriod);
        }).ToList();
    }

    private static VariantFigures Tally(string key, bool control, IReadOnlyList<UserFigures> users) => new()
    {
        Key = key,
        Control = control,
        Users = users.Count,
        Impressions = users.Sum(u => u.Impressions),
        ImpressionSquares = users.Sum(u => u.Impressions * u.Impressions),
        Clicks = users.Sum(u => u.Clicks),
        ClickSquares = users.Sum(u => u.Clicks * u.Clicks),
        ClicksTimesImpressions = users.Sum(u => u.Clicks * u.Impressions),
        Clickers = users.Count(u => u.Clicks > 0),
        Converters = users.Count(u => u.Converted),
        Purchases = users.Count(u => u.Converted),
        Revenue = users.Sum(u => u.Revenue),
        RevenueSquares = users.Sum(u => u.Revenue * u.Revenue),
        Covariate = users.Sum(u => u.PrePeriod),
        CovariateSquares = users.Sum(u => u.PrePeriod * u.PrePeriod),
        RevenueTimesCovariate = users.Sum(u => u.Revenue * u.PrePeriod),
    };

    [Fact]
    public void Results_from_running_sums_equal_the_tests_on_the_per_user_figures()
    {
        var control = Users(1, 4000, 0.10, 0.05);
        var treatment = Users(2, 4100, 0.12, 0.06);
        var result = ExperimentAnalysis.Analyze("e", [Tally("control", true, control), Tally("hybrid", false, treatment)], null);

        var comparison = Assert.Single(result.Comparisons);
        var z = TwoProportionZTest.Compare(new BinomialCounts(control.Count(u => u.Converted), control.Count), new BinomialCounts(treatment.Count(u => u.Converted), treatment.Count));
        Assert.Equal(z.PValue, comparison.Conversion.PValue, 1e-12);
        Assert.Equal(z.Interval.Lower, comparison.Conversion.Interval.Lower!.Value, 1e-12);

        var welch = WelchTTest.Compare(control.Select(u => u.Revenue).ToList(), treatment.Select(u => u.Revenue).ToList());
        Assert.Equal(welch.PValue, comparison.RevenuePerUser.PValue, 1e-9);
        Assert.Equal(welch.Interval.Upper, comparison.RevenuePerUser.Interval.Upper!.Value, 1e-9);

        var delta = DeltaMethod.Compare(
            RatioSummary.FromPairs(control.Select(u => u.Clicks).ToList(), control.Select(u => u.Impressions).ToList()),
            RatioSummary.FromPairs(treatment.Select(u => u.Clicks).ToList(), treatment.Select(u => u.Impressions).ToList()));
        Assert.Equal(delta.PValue, comparison.Ctr.PValue, 1e-9);
        Assert.Equal(delta.Difference, comparison.Ctr.Difference, 1e-12);

        var cuped = Cuped.Compare(
            new CupedSample(control.Select(u => u.Revenue).ToList(), control.Select(u => u.PrePeriod).ToList()),
            new CupedSample(treatment.Select(u => u.Revenue).ToList(), treatment.Select(u => u.PrePeriod).ToList()));
        Assert.Equal(cuped.Adjusted.PValue, comparison.RevenuePerUserCuped.PValue, 1e-8);
        Assert.Equal(cuped.VarianceReduction, comparison.CupedVarianceReduction, 1e-8);
        Assert.True(comparison.CupedVarianceReduction > 0.05, "revenue follows the pre-period revenue, so CUPED narrows the interval");

        var bayes = BetaBinomialTest.Compare(new BinomialCounts(control.Count(u => u.Converted), control.Count), new BinomialCounts(treatment.Count(u => u.Converted), treatment.Count));
        Assert.Equal(bayes.ProbabilityTreatmentBeatsControl, comparison.BayesianConversion.ProbabilityToBeatControl, 1e-12);

        var summary = result.Variants.Single(v => v.Key == "hybrid");
        Assert.Equal(treatment.Sum(u => u.Clicks) / treatment.Sum(u => u.Impressions), summary.Ctr, 1e-12);
        Assert.Equal((double)treatment.Count(u => u.Converted) / treatment.Count, summary.ConversionRate, 1e-12);
        Assert.False(result.SampleRatio!.Mismatch);
    }

    [Fact]
    public void The_sequential_state_stored_between_looks_gives_what_one_continuous_test_gives()
    {
        var test = new MixtureSequentialTest(new SequentialTestOptions());
        SequentialResult? continuous = null;
        IReadOnlyDictionary<string, SequentialState>? stored = null;
        ExperimentResult? last = null;
        for (var look = 1; look <= 6; look++)
        {
            var control = Users(10, 600 * look, 0.10, 0.05);
            var treatment = Users(20, 600 * look, 0.10, 0.08);
            last = ExperimentAnalysis.Analyze("e", [Tally("control", true, control), Tally("hybrid", false, treatment)], stored);
            stored = last.Sequential;
            continuous = test.Look(continuous, new BinomialCounts(control.Count(u => u.Converted), control.Count), new BinomialCounts(treatment.Count(u => u.Converted), treatment.Count));
        }

        var sequential = Assert.Single(last!.Comparisons).Conversion.Sequential!;
        Assert.Equal(6, sequential.Looks);
        Assert.Equal(continuous!.PValue, sequential.PValue, 1e-12);
        Assert.Equal(continuous.Interval.Lower, sequential.Interval.Lower!.Value, 1e-12);
        Assert.Equal(continuous.Interval.Upper, sequential.Interval.Upper!.Value, 1e-12);
        Assert.True(sequential.Significant);
        Assert.Contains("higher conversion", last.Comparisons[0].Verdict);
    }

    [Fact]
    public void A_split_observed_52_to_48_at_100k_users_is_said_to_be_broken_and_50_1_to_49_9_is_not()
    {
        static ExperimentResult Split(long control, long treatment) => ExperimentAnalysis.Analyze("e",
            [new VariantFigures { Key = "a", Control = true, Users = control }, new VariantFigures { Key = "b", Users = treatment }], null);

        var broken = Split(52_000, 48_000);
        Assert.True(broken.SampleRatio!.Mismatch);
        Assert.Contains(broken.Notes, note => note.StartsWith("Sample ratio mismatch", StringComparison.Ordinal));
        Assert.False(Split(50_100, 49_900).SampleRatio!.Mismatch);
    }

    [Fact]
    public void With_one_user_a_variant_the_cuped_caveat_names_that_not_the_covariate()
    {
        // probe67: the CUPED comparison of one user per variant said "the covariate is the same for every user", while
        // the limit is that a variant has fewer than two users (as Welch's caveat says).
        var result = ExperimentAnalysis.Analyze("e",
            [new VariantFigures { Key = "a", Control = true, Users = 1, Revenue = 10, RevenueSquares = 100 }, new VariantFigures { Key = "b", Users = 1, Revenue = 20, RevenueSquares = 400 }], null);

        var comparison = Assert.Single(result.Comparisons);
        Assert.Equal(comparison.RevenuePerUser.Caveat, comparison.RevenuePerUserCuped.Caveat);
        Assert.DoesNotContain("covariate", comparison.RevenuePerUserCuped.Caveat!);
    }

    [Fact]
    public void Under_a_sample_ratio_mismatch_the_verdict_announces_no_winner_however_large_the_difference()
    {
        // probe67: a variant that lost 40% of its impression logging read "t: higher ctr (+299.7%, always-valid p = 7.55E-06)"
        // beside the note that the comparisons were not trustworthy.
        var result = ExperimentAnalysis.Analyze("e",
            [new VariantFigures { Key = "a", Control = true, Users = 52_000, Converters = 2_600 }, new VariantFigures { Key = "b", Users = 48_000, Converters = 7_200 }], null);

        Assert.True(result.SampleRatio!.Mismatch);
        var comparison = Assert.Single(result.Comparisons);
        Assert.True(comparison.Conversion.Sequential!.Significant); // the figures are still shown as computed
        Assert.StartsWith("b: no verdict: the variants' users are not split as their weights say (sample ratio mismatch, p = ", comparison.Verdict);
        Assert.DoesNotContain("higher", comparison.Verdict);
    }

    [Fact]
    public void Users_who_met_another_variants_lists_are_counted_in_the_note_without_a_guessed_cause()
    {
        // Outside probe47: the note blamed a definition change that never happened and gave no count.
        var result = ExperimentAnalysis.Analyze("e",
            [new VariantFigures { Key = "a", Control = true, Users = 500, UsersWithMismatches = 4 }, new VariantFigures { Key = "b", Users = 500, UsersWithMismatches = 6 }], null);

        var note = Assert.Single(result.Notes, n => n.Contains("another variant", StringComparison.Ordinal));
        Assert.StartsWith("10 users also met lists of another variant", note, StringComparison.Ordinal);
        Assert.DoesNotContain("definition changed", note, StringComparison.Ordinal);
    }

    [Fact]
    public void An_experiment_nobody_has_seen_yet_gives_well_formed_results_without_infinities()
    {
        var result = ExperimentAnalysis.Analyze("e",
            [new VariantFigures { Key = "a", Control = true }, new VariantFigures { Key = "b", Weight = 3 }], null);

        Assert.Equal([0.25, 0.75], result.Variants.Select(v => v.ExpectedShare));
        var comparison = Assert.Single(result.Comparisons);
        Assert.Contains("no difference", comparison.Verdict);
        var json = System.Text.Json.JsonSerializer.Serialize(result);
        Assert.DoesNotContain("Infinity", json);
        Assert.DoesNotContain("NaN", json);
    }
}
