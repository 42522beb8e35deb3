namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// The result of comparing a ratio metric (CTR = total clicks / total impressions) between two variants randomised by
/// user: each ratio, the difference with its confidence interval, the relative lift, z and the two-sided p-value.
/// </summary>
/// <param name="ControlRatio">Control's ratio of sums.</param>
/// <param name="TreatmentRatio">Treatment's ratio of sums.</param>
/// <param name="Difference">Treatment ratio minus control ratio.</param>
/// <param name="RelativeLift">Difference over control's ratio; null when control's ratio is 0.</param>
/// <param name="Interval">Confidence interval of the difference at 1 - <paramref name="Alpha"/>.</param>
/// <param name="ZStatistic">Difference over its delta-method standard error.</param>
/// <param name="PValue">Two-sided p-value.</param>
/// <param name="ControlVariance">Delta-method variance of control's ratio.</param>
/// <param name="TreatmentVariance">Delta-method variance of treatment's ratio.</param>
/// <param name="Alpha">Significance level.</param>
/// <param name="Assumptions">What the figures assume.</param>
/// <param name="Caveat">Why a figure is degenerate, or null.</param>
public sealed record RatioResult(
    double ControlRatio,
    double TreatmentRatio,
    double Difference,
    double? RelativeLift,
    ConfidenceInterval Interval,
    double ZStatistic,
    double PValue,
    double ControlVariance,
    double TreatmentVariance,
    double Alpha,
    string Assumptions,
    string? Caveat)
{
    /// <summary>Whether the p-value is below alpha.</summary>
    public bool IsSignificant => PValue < Alpha;
}

/// <summary>
/// The delta method for a ratio of per-user means (Deng, Knoblich and Lu 2018, "Applying the Delta Method in Metric
/// Analytics"): impressions of one user are correlated, so the ratio's variance comes from the per-user numerator and
/// denominator, not from a binomial over impressions.
/// </summary>
public static class DeltaMethod
{
    public const string Assumptions =
        "Users (not impressions) are randomised and independent; a user's impressions and clicks may be correlated; the " +
        "ratio of the two per-user means is approximately normal (first-order Taylor expansion, hundreds of users); " +
        "sample (n - 1) variances; two-sided.";

    /// <summary>
    /// Var(mean X / mean Y) ~ (1/n) (var X / muY^2 - 2 muX cov(X, Y) / muY^3 + muX^2 var Y / muY^4); 0 when there is
    /// no denominator, infinite when fewer than two users leave the spread unknown.
    /// </summary>
    public static double VarianceOfRatio(RatioSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        if (summary.Count < 2)
        {
            return double.PositiveInfinity;
        }

        var muY = summary.DenominatorMean;
        if (muY == 0)
        {
            return 0;
        }

        var ratio = summary.NumeratorMean / muY;
        // The same quadratic form written as Var(X - R Y) / (n muY^2), which is never negative in exact arithmetic.
        var residualVariance = summary.NumeratorVariance - 2 * ratio * summary.Covariance + ratio * ratio * summary.DenominatorVariance;
        return Math.Max(0, residualVariance) / (summary.Count * muY * muY);
    }

    /// <summary>Compares the ratio of per-user (numerator, denominator) pairs of two variants.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not between 0 and 1.</exception>
    public static RatioResult Compare(RatioSummary control, RatioSummary treatment, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(treatment);
        Guard.SignificanceLevel(alpha, nameof(alpha));
        var level = 1 - alpha;
        double r1 = control.Ratio, r2 = treatment.Ratio;
        var difference = r2 - r1;
        var lift = Lift.Relative(r1, r2);
        if (control.DenominatorMean == 0 || treatment.DenominatorMean == 0)
        {
            return new RatioResult(r1, r2, difference, lift, ConfidenceInterval.Unbounded(level), 0, 1, double.PositiveInfinity,
                double.PositiveInfinity, alpha, Assumptions, "A variant has no denominator yet (no impressions): its ratio is unknown.");
        }

        double v1 = VarianceOfRatio(control), v2 = VarianceOfRatio(treatment);
        var variance = v1 + v2;
        if (double.IsPositiveInfinity(variance))
        {
            return new RatioResult(r1, r2, difference, lift, ConfidenceInterval.Unbounded(level), 0, 1, v1, v2, alpha, Assumptions,
                "A variant has fewer than two users: its spread, and so the test, is unknown.");
        }

        if (variance == 0)
        {
            var z0 = difference == 0 ? 0 : Math.CopySign(double.PositiveInfinity, difference);
            return new RatioResult(r1, r2, difference, lift, new ConfidenceInterval(difference, difference, level), z0, difference == 0 ? 1 : 0,
                v1, v2, alpha, Assumptions, "No spread in either variant: every user has the same ratio, so the difference is exact.");
        }

        var error = Math.Sqrt(variance);
        var z = difference / error;
        var margin = Probability.NormalQuantile(1 - alpha / 2) * error;
        return new RatioResult(r1, r2, difference, lift, ConfidenceInterval.Around(difference, margin, level), z, Probability.TwoSidedNormal(z),
            v1, v2, alpha, Assumptions, null);
    }
}
