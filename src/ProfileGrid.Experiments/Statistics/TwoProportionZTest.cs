namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// The result of comparing two conversion rates, as a marketer reads it: each rate, the difference (treatment minus
/// control) with its confidence interval, the relative lift, z and the two-sided p-value.
/// </summary>
/// <param name="ControlRate">Control's observed rate (0 when it has no users).</param>
/// <param name="TreatmentRate">Treatment's observed rate.</param>
/// <param name="Difference">Treatment rate minus control rate (absolute, in rate units: 0.01 is one point).</param>
/// <param name="RelativeLift">Difference over control's rate; null when control's rate is 0.</param>
/// <param name="Interval">Confidence interval of the difference at 1 - <paramref name="Alpha"/> (unpooled Wald).</param>
/// <param name="ZStatistic">Difference over its pooled standard error under the null hypothesis of equal rates.</param>
/// <param name="PValue">Two-sided p-value of <paramref name="ZStatistic"/>.</param>
/// <param name="Alpha">Significance level the interval and <see cref="IsSignificant"/> use.</param>
/// <param name="Assumptions">What the figures assume, for the reader.</param>
/// <param name="Caveat">Why a figure is degenerate (no users, no spread), or null.</param>
public sealed record TwoProportionResult(
    double ControlRate,
    double TreatmentRate,
    double Difference,
    double? RelativeLift,
    ConfidenceInterval Interval,
    double ZStatistic,
    double PValue,
    double Alpha,
    string Assumptions,
    string? Caveat)
{
    /// <summary>Whether the p-value is below alpha: the rates differ at this level.</summary>
    public bool IsSignificant => PValue < Alpha;
}

/// <summary>
/// Two-proportion z-test: is treatment's conversion rate different from control's? Pooled standard error for the test
/// (both rates equal under the null hypothesis), unpooled for the interval of the difference, two-sided.
/// </summary>
public static class TwoProportionZTest
{
    public const string Assumptions =
        "Users are independent and each converts at most once; the difference of the two rates is approximately normal " +
        "(dozens of conversions and non-conversions per variant); pooled standard error for the test, unpooled (Wald) for " +
        "the interval; two-sided.";

    /// <summary>Compares <paramref name="treatment"/>'s rate with <paramref name="control"/>'s.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not between 0 and 1.</exception>
    public static TwoProportionResult Compare(BinomialCounts control, BinomialCounts treatment, double alpha = 0.05)
    {
        Guard.SignificanceLevel(alpha, nameof(alpha));
        var level = 1 - alpha;
        double p1 = control.Rate, p2 = treatment.Rate;
        var difference = p2 - p1;
        var lift = Lift.Relative(p1, p2);
        if (control.Trials == 0 || treatment.Trials == 0)
        {
            return new TwoProportionResult(p1, p2, difference, lift, ConfidenceInterval.Unbounded(level), 0, 1, alpha, Assumptions,
                "A variant has no users yet: nothing can be said about the difference.");
        }

        double n1 = control.Trials, n2 = treatment.Trials;
        var pooled = (double)(control.Successes + treatment.Successes) / (n1 + n2);
        var pooledError = Math.Sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
        var unpooledError = Math.Sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2);
        var margin = Probability.NormalQuantile(1 - alpha / 2) * unpooledError;
        var interval = ConfidenceInterval.Around(difference, margin, level);
        var caveat = unpooledError == 0
            ? "Each rate is 0% or 100%: the Wald interval has no width; read it as 'no information about the spread'."
            : null;

        // Pooled rate 0 or 1 means both variants converted nobody or everybody: the rates are equal, z is 0.
        if (pooledError == 0)
        {
            return new TwoProportionResult(p1, p2, difference, lift, interval, 0, 1, alpha, Assumptions, caveat);
        }

        var z = difference / pooledError;
        return new TwoProportionResult(p1, p2, difference, lift, interval, z, Probability.TwoSidedNormal(z), alpha, Assumptions, caveat);
    }
}
