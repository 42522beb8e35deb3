namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// The result of comparing a per-user mean (revenue per user) between two variants: each mean, the difference with
/// its confidence interval, the relative lift, Welch's t, its degrees of freedom and the two-sided p-value.
/// </summary>
/// <param name="ControlMean">Control's mean per user.</param>
/// <param name="TreatmentMean">Treatment's mean per user.</param>
/// <param name="Difference">Treatment mean minus control mean.</param>
/// <param name="RelativeLift">Difference over control's mean; null when control's mean is 0.</param>
/// <param name="Interval">Confidence interval of the difference at 1 - <paramref name="Alpha"/>.</param>
/// <param name="TStatistic">Difference over its standard error.</param>
/// <param name="DegreesOfFreedom">Welch-Satterthwaite degrees of freedom.</param>
/// <param name="PValue">Two-sided p-value.</param>
/// <param name="StandardError">Standard error of the difference (infinite when a variant has fewer than two users).</param>
/// <param name="Alpha">Significance level.</param>
/// <param name="Assumptions">What the figures assume.</param>
/// <param name="Caveat">Why a figure is degenerate, or null.</param>
public sealed record WelchResult(
    double ControlMean,
    double TreatmentMean,
    double Difference,
    double? RelativeLift,
    ConfidenceInterval Interval,
    double TStatistic,
    double DegreesOfFreedom,
    double PValue,
    double StandardError,
    double Alpha,
    string Assumptions,
    string? Caveat)
{
    /// <summary>Whether the p-value is below alpha.</summary>
    public bool IsSignificant => PValue < Alpha;
}

/// <summary>
/// Welch's unequal-variance t-test for a per-user mean, from per-user values or from sufficient statistics, with the
/// Welch-Satterthwaite degrees of freedom and a confidence interval of the difference.
/// </summary>
public static class WelchTTest
{
    public const string Assumptions =
        "Users are independent; each variant's mean is approximately normal (by the central limit theorem: hundreds of users " +
        "for skewed metrics such as revenue); variances may differ (Welch-Satterthwaite degrees of freedom); two-sided.";

    /// <summary>Compares the per-user values of two variants.</summary>
    /// <exception cref="ArgumentException">A value is not finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not between 0 and 1.</exception>
    public static WelchResult Compare(IReadOnlyList<double> control, IReadOnlyList<double> treatment, double alpha = 0.05)
    {
        Guard.AllFinite(control, nameof(control));
        Guard.AllFinite(treatment, nameof(treatment));
        return Compare(SampleSummary.FromValues(control), SampleSummary.FromValues(treatment), alpha);
    }

    /// <summary>Compares two variants from their sufficient statistics.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not between 0 and 1.</exception>
    public static WelchResult Compare(SampleSummary control, SampleSummary treatment, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(treatment);
        Guard.SignificanceLevel(alpha, nameof(alpha));
        var level = 1 - alpha;
        var difference = treatment.Mean - control.Mean;
        var lift = Lift.Relative(control.Mean, treatment.Mean);

        // One user's variance is unknown, so the difference's standard error is unbounded: the limit of Welch's test as
        // that variance grows is t = 0, p = 1, an infinite interval and n - 1 = 0 degrees of freedom.
        if (!control.HasVariance || !treatment.HasVariance)
        {
            return new WelchResult(control.Mean, treatment.Mean, difference, lift, ConfidenceInterval.Unbounded(level), 0, 0, 1,
                double.PositiveInfinity, alpha, Assumptions, "A variant has fewer than two users: its spread, and so the test, is unknown.");
        }

        var controlShare = control.Variance / control.Count;
        var treatmentShare = treatment.Variance / treatment.Count;
        var variance = controlShare + treatmentShare;
        if (variance == 0)
        {
            // Every user in each variant has the same value: the observed difference is all there is.
            var pooledFreedom = control.Count + treatment.Count - 2;
            var t = difference == 0 ? 0 : Math.CopySign(double.PositiveInfinity, difference);
            return new WelchResult(control.Mean, treatment.Mean, difference, lift, new ConfidenceInterval(difference, difference, level), t,
                pooledFreedom, difference == 0 ? 1 : 0, 0, alpha, Assumptions, "No spread in either variant: the difference is exact.");
        }

        var freedom = variance * variance /
            (controlShare * controlShare / (control.Count - 1) + treatmentShare * treatmentShare / (treatment.Count - 1));
        var error = Math.Sqrt(variance);
        var statistic = difference / error;
        var margin = Probability.StudentTQuantile(1 - alpha / 2, freedom) * error;
        return new WelchResult(control.Mean, treatment.Mean, difference, lift, ConfidenceInterval.Around(difference, margin, level), statistic,
            freedom, Probability.TwoSidedStudentT(statistic, freedom), error, alpha, Assumptions, null);
    }
}
