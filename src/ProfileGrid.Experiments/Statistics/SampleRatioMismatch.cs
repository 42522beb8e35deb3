namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// Whether the observed split of exposed users matches the configured weights. A mismatch means assignment or
/// logging is broken (a variant that crashes, bots in one arm, a redirect that loses users), and every other figure of
/// the experiment is then suspect.
/// </summary>
/// <param name="Observed">Exposed users per variant, in the order of the weights.</param>
/// <param name="Expected">Users each variant should have had: the total split by the weights.</param>
/// <param name="ChiSquare">Pearson's chi-square goodness-of-fit statistic.</param>
/// <param name="DegreesOfFreedom">Variants minus one.</param>
/// <param name="PValue">Probability of a split at least this uneven if assignment works.</param>
/// <param name="Threshold">The p-value below which the split is flagged.</param>
/// <param name="Assumptions">What the check assumes.</param>
public sealed record SampleRatioResult(
    IReadOnlyList<long> Observed,
    IReadOnlyList<double> Expected,
    double ChiSquare,
    int DegreesOfFreedom,
    double PValue,
    double Threshold,
    string Assumptions)
{
    /// <summary>Whether the split is broken: p below <see cref="Threshold"/>. Do not read the experiment's results.</summary>
    public bool IsMismatch => PValue < Threshold;
}

/// <summary>
/// The sample-ratio-mismatch check: Pearson's chi-square goodness of fit of the exposed users per variant against the
/// configured weights, for any number of variants, flagged at p &lt; 0.001 by default (strict, because it runs on every
/// experiment and every look).
/// </summary>
public static class SampleRatioMismatch
{
    /// <summary>The default threshold: flag a split whose p-value is below 0.001.</summary>
    public const double DefaultThreshold = 0.001;

    public const string Assumptions =
        "Each user is assigned independently with the configured probabilities; the chi-square approximation (a few users " +
        "expected per variant) holds; the check cannot say which variant is wrong, only that the split is.";

    /// <summary>Checks the observed users per variant against the configured weights (any positive numbers).</summary>
    /// <param name="observed">Exposed users per variant.</param>
    /// <param name="weights">Configured weights in the same order; normalised here, so 50/50 and 1/1 are the same.</param>
    /// <param name="threshold">Flag when the p-value is below this.</param>
    /// <exception cref="ArgumentException">No variants, the lists differ in length, a negative count, or a weight that
    /// is not positive and finite.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="threshold"/> is not between 0 and 1.</exception>
    public static SampleRatioResult Check(IReadOnlyList<long> observed, IReadOnlyList<double> weights, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(observed);
        ArgumentNullException.ThrowIfNull(weights);
        Guard.SignificanceLevel(threshold, nameof(threshold));
        if (weights.Count == 0)
        {
            throw new ArgumentException("An experiment has at least one variant.", nameof(weights));
        }

        if (observed.Count != weights.Count)
        {
            throw new ArgumentException($"One count per variant: {observed.Count} counts for {weights.Count} weights.", nameof(observed));
        }

        double weightSum = 0;
        long total = 0;
        for (var i = 0; i < weights.Count; i++)
        {
            if (!(weights[i] > 0 && double.IsFinite(weights[i])))
            {
                throw new ArgumentException($"weights[{i}] is {weights[i]}; every weight must be a positive finite number.", nameof(weights));
            }

            if (observed[i] < 0)
            {
                throw new ArgumentException($"observed[{i}] is {observed[i]}; a count of users cannot be negative.", nameof(observed));
            }

            weightSum += weights[i];
            total += observed[i];
        }

        var expected = new double[weights.Count];
        double statistic = 0;
        for (var i = 0; i < weights.Count; i++)
        {
            expected[i] = total * (weights[i] / weightSum);
            if (expected[i] > 0)
            {
                var gap = observed[i] - expected[i];
                statistic += gap * gap / expected[i];
            }
        }

        // One variant, or no users yet: the split cannot be wrong.
        var freedom = weights.Count - 1;
        var p = freedom == 0 || total == 0 ? 1 : Probability.ChiSquareUpperTail(statistic, freedom);
        return new SampleRatioResult([.. observed], expected, statistic, freedom, p, threshold, Assumptions);
    }
}
