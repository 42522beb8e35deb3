using System.Text.Json.Serialization;
using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Results;

/// <summary>
/// One variant's sums over its exposed users, as the feedback shards tally them (per-user aggregation: a heavy user
/// counts once in every rate and mean). Revenue is attributed revenue in the reporting currency; the covariate is the
/// user's purchase revenue in the pre-period before their first exposure.
/// </summary>
public sealed record VariantFigures
{
    public required string Key { get; init; }

    public bool Control { get; init; }

    public int Weight { get; init; } = 1;

    public long Users { get; init; }

    public double Impressions { get; init; }

    public double ImpressionSquares { get; init; }

    public double Clicks { get; init; }

    public double ClickSquares { get; init; }

    public double ClicksTimesImpressions { get; init; }

    public long Clickers { get; init; }

    public long Converters { get; init; }

    public double CartAdds { get; init; }

    public double Purchases { get; init; }

    public double Revenue { get; init; }

    public double RevenueSquares { get; init; }

    public double Covariate { get; init; }

    public double CovariateSquares { get; init; }

    public double RevenueTimesCovariate { get; init; }

    public long UsersWithMismatches { get; init; }
}

/// <summary>What the sequential test remembers of the looks so far at one metric of one variant (see <see cref="SequentialResult"/>).</summary>
public sealed record SequentialState(int Looks, double PValue, double Lower, double Upper, double MixingVariance);

/// <summary>How an experiment's results are computed.</summary>
public sealed record AnalysisOptions
{
    /// <summary>Significance level of every test; intervals are at 1 - alpha.</summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>The users per variant near which the sequential test's interval is tightest (see <see cref="SequentialTestOptions.PlannedUsers"/>).</summary>
    public long PlannedUsers { get; init; } = 10_000;

    /// <summary>The p-value below which the sample-ratio check says the split is broken.</summary>
    public double SampleRatioThreshold { get; init; } = SampleRatioMismatch.DefaultThreshold;
}

/// <summary>An interval as it is shown: a bound the data do not limit is null (JSON has no infinity).</summary>
public sealed record IntervalView(
    [property: JsonPropertyName("lower")] double? Lower,
    [property: JsonPropertyName("upper")] double? Upper,
    [property: JsonPropertyName("level")] double Level)
{
    public static IntervalView Of(ConfidenceInterval interval) =>
        new(double.IsFinite(interval.Lower) ? interval.Lower : null, double.IsFinite(interval.Upper) ? interval.Upper : null, interval.Level);

    /// <summary>Whether <paramref name="value"/> lies inside (an open side contains everything).</summary>
    public bool Contains(double value) => (Lower is not { } lower || lower <= value) && (Upper is not { } upper || value <= upper);
}

/// <summary>One variant's figures per exposed user.</summary>
public sealed record VariantSummary(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("control")] bool Control,
    [property: JsonPropertyName("users")] long Users,
    [property: JsonPropertyName("expected_share")] double ExpectedShare,
    [property: JsonPropertyName("observed_share")] double ObservedShare,
    [property: JsonPropertyName("impressions")] double Impressions,
    [property: JsonPropertyName("clicks")] double Clicks,
    [property: JsonPropertyName("ctr")] double Ctr,
    [property: JsonPropertyName("clickers")] long Clickers,
    [property: JsonPropertyName("converters")] long Converters,
    [property: JsonPropertyName("conversion_rate")] double ConversionRate,
    [property: JsonPropertyName("purchases")] double Purchases,
    [property: JsonPropertyName("revenue")] double Revenue,
    [property: JsonPropertyName("revenue_per_user")] double RevenuePerUser,
    [property: JsonPropertyName("users_with_mismatches")] long UsersWithMismatches);

/// <summary>The always-valid view of a metric: what may be concluded however often the results were looked at.</summary>
public sealed record SequentialView(
    [property: JsonPropertyName("looks")] int Looks,
    [property: JsonPropertyName("p_value")] double PValue,
    [property: JsonPropertyName("interval")] IntervalView Interval,
    [property: JsonPropertyName("significant")] bool Significant);

/// <summary>Treatment against control on one metric.</summary>
/// <param name="Method">The test behind <see cref="PValue"/> and <see cref="Interval"/> (fixed horizon).</param>
/// <param name="Sequential">The mSPRT's always-valid p-value and interval, for metrics it runs on; null otherwise.</param>
public sealed record MetricComparison(
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("control")] double Control,
    [property: JsonPropertyName("treatment")] double Treatment,
    [property: JsonPropertyName("difference")] double Difference,
    [property: JsonPropertyName("relative_lift")] double? RelativeLift,
    [property: JsonPropertyName("interval")] IntervalView Interval,
    [property: JsonPropertyName("p_value")] double PValue,
    [property: JsonPropertyName("significant")] bool Significant,
    [property: JsonPropertyName("caveat")] string? Caveat,
    [property: JsonPropertyName("sequential")] SequentialView? Sequential);

/// <summary>The Bayesian view of conversion: the chance the treatment's rate is higher, and what choosing wrong would cost.</summary>
public sealed record BayesianView(
    [property: JsonPropertyName("probability_to_beat_control")] double ProbabilityToBeatControl,
    [property: JsonPropertyName("expected_loss_choosing_treatment")] double ExpectedLossChoosingTreatment,
    [property: JsonPropertyName("expected_loss_choosing_control")] double ExpectedLossChoosingControl,
    [property: JsonPropertyName("control_interval")] IntervalView ControlInterval,
    [property: JsonPropertyName("treatment_interval")] IntervalView TreatmentInterval);

/// <summary>One treatment variant against the control.</summary>
/// <param name="Verdict">One line: what the always-valid tests allow to conclude now.</param>
public sealed record VariantComparison(
    [property: JsonPropertyName("variant")] string Variant,
    [property: JsonPropertyName("conversion")] MetricComparison Conversion,
    [property: JsonPropertyName("ctr")] MetricComparison Ctr,
    [property: JsonPropertyName("revenue_per_user")] MetricComparison RevenuePerUser,
    [property: JsonPropertyName("revenue_per_user_cuped")] MetricComparison RevenuePerUserCuped,
    [property: JsonPropertyName("cuped_variance_reduction")] double CupedVarianceReduction,
    [property: JsonPropertyName("bayesian_conversion")] BayesianView BayesianConversion,
    [property: JsonPropertyName("verdict")] string Verdict);

/// <summary>The sample-ratio check: are the variants' users in the proportions of their weights?</summary>
public sealed record SampleRatioView(
    [property: JsonPropertyName("observed")] IReadOnlyList<long> Observed,
    [property: JsonPropertyName("expected")] IReadOnlyList<double> Expected,
    [property: JsonPropertyName("chi_square")] double ChiSquare,
    [property: JsonPropertyName("degrees_of_freedom")] int DegreesOfFreedom,
    [property: JsonPropertyName("p_value")] double PValue,
    [property: JsonPropertyName("threshold")] double Threshold,
    [property: JsonPropertyName("mismatch")] bool Mismatch);

/// <summary>An experiment's results: every variant, the split check, and each treatment against the control.</summary>
public sealed record ExperimentResult(
    [property: JsonPropertyName("experiment_id")] string ExperimentId,
    [property: JsonPropertyName("alpha")] double Alpha,
    [property: JsonPropertyName("variants")] IReadOnlyList<VariantSummary> Variants,
    [property: JsonPropertyName("sample_ratio")] SampleRatioView? SampleRatio,
    [property: JsonPropertyName("comparisons")] IReadOnlyList<VariantComparison> Comparisons,
    [property: JsonPropertyName("notes")] IReadOnlyList<string> Notes)
{
    /// <summary>The sequential test's state after this look, per "variant/metric": stored, and given to the next look.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, SequentialState> Sequential { get; init; } = new Dictionary<string, SequentialState>();
}

/// <summary>
/// Turns the variants' tallies into an experiment's results: conversion per exposed user by the two-proportion z-test,
/// the beta-binomial comparison and the mSPRT; CTR (clicks per list shown, per-user aggregated) by the delta method and
/// the mSPRT; revenue per exposed user by Welch's t-test, CUPED on the pre-period revenue, and the mSPRT; and the
/// sample-ratio check over every variant. Each call is one look of the sequential test, whose state the caller keeps.
/// </summary>
public static class ExperimentAnalysis
{
    public const string Conversion = "conversion";
    public const string Ctr = "ctr";
    public const string RevenuePerUser = "revenue_per_user";

    public static ExperimentResult Analyze(
        string experimentId,
        IReadOnlyList<VariantFigures> variants,
        IReadOnlyDictionary<string, SequentialState>? previousLooks,
        AnalysisOptions? options = null)
    {
        options ??= new AnalysisOptions();
        previousLooks ??= new Dictionary<string, SequentialState>();
        var notes = new List<string>();
        var totalUsers = variants.Sum(v => v.Users);
        var totalWeight = variants.Sum(v => (double)v.Weight);
        var summaries = variants.Select(v => Summarize(v, totalWeight, totalUsers)).ToList();

        SampleRatioView? sampleRatio = null;
        if (variants.Count >= 2 && totalUsers > 0)
        {
            var check = SampleRatioMismatch.Check(variants.Select(v => v.Users).ToList(), variants.Select(v => (double)v.Weight).ToList(), options.SampleRatioThreshold);
            sampleRatio = new SampleRatioView(check.Observed, check.Expected, check.ChiSquare, check.DegreesOfFreedom, check.PValue, check.Threshold, check.IsMismatch);
            if (check.IsMismatch)
            {
                notes.Add($"Sample ratio mismatch (p = {check.PValue:G3} < {check.Threshold}): the variants' users are not in the proportions of their weights, so the comparisons below are not trustworthy until the cause is found.");
            }
        }

        var control = variants.FirstOrDefault(v => v.Control);
        var comparisons = new List<VariantComparison>();
        var looks = new Dictionary<string, SequentialState>(StringComparer.Ordinal);
        if (control is null)
        {
            notes.Add("No variant is the control: nothing to compare with.");
        }
        else
        {
            var sequential = new MixtureSequentialTest(new SequentialTestOptions { Alpha = options.Alpha, PlannedUsers = options.PlannedUsers });
            foreach (var treatment in variants.Where(v => !v.Control))
            {
                comparisons.Add(Compare(control, treatment, options.Alpha, sequential, previousLooks, looks, sampleRatio is { Mismatch: true } ? sampleRatio.PValue : null));
            }
        }

        if (variants.Sum(v => v.UsersWithMismatches) is var mismatched and > 0)
        {
            // The cause is not known here: ids reused or forged, or a list served to someone else (a cached page, a shared link).
            notes.Add($"{mismatched} {(mismatched == 1 ? "user" : "users")} also met lists of another variant of this experiment, or served to someone else; counted once, under their first variant, without those events.");
        }

        return new ExperimentResult(experimentId, options.Alpha, summaries, sampleRatio, comparisons, notes) { Sequential = looks };
    }

    private static VariantSummary Summarize(VariantFigures v, double totalWeight, long totalUsers) => new(
        v.Key,
        v.Control,
        v.Users,
        totalWeight > 0 ? v.Weight / totalWeight : 0,
        totalUsers > 0 ? (double)v.Users / totalUsers : 0,
        v.Impressions,
        v.Clicks,
        v.Impressions > 0 ? v.Clicks / v.Impressions : 0,
        v.Clickers,
        v.Converters,
        v.Users > 0 ? (double)v.Converters / v.Users : 0,
        v.Purchases,
        v.Revenue,
        v.Users > 0 ? v.Revenue / v.Users : 0,
        v.UsersWithMismatches);

    private static VariantComparison Compare(
        VariantFigures control,
        VariantFigures treatment,
        double alpha,
        MixtureSequentialTest sequential,
        IReadOnlyDictionary<string, SequentialState> previousLooks,
        Dictionary<string, SequentialState> looks,
        double? sampleRatioMismatchP)
    {
        SequentialView Look(string metric, DifferenceEstimate estimate)
        {
            var key = $"{treatment.Key}/{metric}";
            var previous = previousLooks.TryGetValue(key, out var state) ? Restore(state, alpha) : null;
            var result = sequential.Look(previous, estimate);
            looks[key] = new SequentialState(result.Looks, result.PValue, result.Interval.Lower, result.Interval.Upper, result.MixingVariance);
            return new SequentialView(result.Looks, result.PValue, IntervalView.Of(result.Interval), result.IsSignificant);
        }

        var controlConversions = Counts(control);
        var treatmentConversions = Counts(treatment);
        var z = TwoProportionZTest.Compare(controlConversions, treatmentConversions, alpha);
        var conversion = new MetricComparison(Conversion, "two-proportion z-test", z.ControlRate, z.TreatmentRate, z.Difference, z.RelativeLift,
            IntervalView.Of(z.Interval), z.PValue, z.IsSignificant, z.Caveat,
            Look(Conversion, DifferenceEstimate.OfRates(controlConversions, treatmentConversions)));

        var controlCtr = CtrSummary(control);
        var treatmentCtr = CtrSummary(treatment);
        var delta = DeltaMethod.Compare(controlCtr, treatmentCtr, alpha);
        var ctr = new MetricComparison(Ctr, "delta method (clicks / lists shown, summed per user)", delta.ControlRatio, delta.TreatmentRatio, delta.Difference,
            delta.RelativeLift, IntervalView.Of(delta.Interval), delta.PValue, delta.IsSignificant, delta.Caveat,
            Look(Ctr, DifferenceEstimate.OfRatios(controlCtr, treatmentCtr)));

        var controlRevenue = SampleSummary.FromSums(control.Users, control.Revenue, control.RevenueSquares);
        var treatmentRevenue = SampleSummary.FromSums(treatment.Users, treatment.Revenue, treatment.RevenueSquares);
        var welch = WelchTTest.Compare(controlRevenue, treatmentRevenue, alpha);
        var revenue = new MetricComparison(RevenuePerUser, "Welch's t-test", welch.ControlMean, welch.TreatmentMean, welch.Difference,
            welch.RelativeLift, IntervalView.Of(welch.Interval), welch.PValue, welch.IsSignificant, welch.Caveat,
            Look(RevenuePerUser, DifferenceEstimate.OfMeans(controlRevenue, treatmentRevenue)));

        var cuped = Cuped.Compare(CupedSummaryOf(control), CupedSummaryOf(treatment), alpha);
        var adjusted = cuped.Adjusted;
        var revenueCuped = new MetricComparison(RevenuePerUser + "_cuped", "CUPED (pre-period revenue) then Welch's t-test", adjusted.ControlMean,
            adjusted.TreatmentMean, adjusted.Difference, adjusted.RelativeLift, IntervalView.Of(adjusted.Interval), adjusted.PValue,
            adjusted.IsSignificant, adjusted.Caveat ?? cuped.Caveat, null); // the test's own limit (one user, no spread) first: it is the reason

        var bayes = BetaBinomialTest.Compare(controlConversions, treatmentConversions, credibleLevel: 1 - alpha);
        var bayesian = new BayesianView(bayes.ProbabilityTreatmentBeatsControl, bayes.ExpectedLossChoosingTreatment, bayes.ExpectedLossChoosingControl,
            IntervalView.Of(bayes.ControlInterval), IntervalView.Of(bayes.TreatmentInterval));

        return new VariantComparison(treatment.Key, conversion, ctr, revenue, revenueCuped, cuped.VarianceReduction, bayesian,
            Verdict(treatment.Key, [conversion, ctr, revenue], sampleRatioMismatchP));
    }

    private static SequentialResult Restore(SequentialState state, double alpha)
    {
        var interval = new ConfidenceInterval(state.Lower, state.Upper, 1 - alpha);
        return new SequentialResult(state.Looks, 0, 0, 0, null, interval, state.PValue, 1, state.MixingVariance, alpha, MixtureSequentialTest.Assumptions);
    }

    private static BinomialCounts Counts(VariantFigures v) => new(v.Converters, v.Users);

    private static RatioSummary CtrSummary(VariantFigures v) =>
        RatioSummary.FromSums(v.Users, v.Clicks, v.Impressions, v.ClickSquares, v.ImpressionSquares, v.ClicksTimesImpressions);

    private static CupedSummary CupedSummaryOf(VariantFigures v) =>
        new(v.Users, v.Revenue, v.RevenueSquares, v.Covariate, v.CovariateSquares, v.RevenueTimesCovariate);

    /// <summary>
    /// What may be said now: only the always-valid tests decide, since results are looked at whenever people like; and
    /// nothing while the sample ratio is off, whatever they say (probe67: a variant that lost 40% of its impressions was
    /// announced the winner, +300% CTR, beside the note that the comparisons were not trustworthy).
    /// </summary>
    private static string Verdict(string variant, IReadOnlyList<MetricComparison> metrics, double? sampleRatioMismatchP)
    {
        if (sampleRatioMismatchP is { } p)
        {
            return $"{variant}: no verdict: the variants' users are not split as their weights say (sample ratio mismatch, p = {p:G3}), so no comparison can be trusted until the cause is found (lost impressions, a bot filter, an assignment bug).";
        }

        var decided = metrics.Where(m => m.Sequential is { Significant: true }).ToList();
        if (decided.Count == 0)
        {
            return $"{variant}: no difference from the control shown yet on conversion, CTR or revenue per user (always-valid tests).";
        }

        var parts = decided.Select(m => $"{(m.Difference > 0 ? "higher" : "lower")} {m.Metric.Replace('_', ' ')} ({(m.RelativeLift is { } lift ? $"{lift:+0.0%;-0.0%}" : $"{m.Difference:+0.####;-0.####}")}, always-valid p = {m.Sequential!.PValue:G3})");
        return $"{variant}: {string.Join(", ", parts)} than the control.";
    }
}
