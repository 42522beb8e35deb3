namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// The per-user sufficient statistics of a ratio metric in one variant, such as CTR = clicks / impressions summed over
/// users when users (not impressions) are randomised: the means, variances and covariance of the per-user numerator
/// and denominator, the input of the delta method.
/// </summary>
public sealed record RatioSummary
{
    /// <param name="count">Users.</param>
    /// <param name="numeratorMean">Mean numerator per user (clicks per user).</param>
    /// <param name="denominatorMean">Mean denominator per user (impressions per user).</param>
    /// <param name="numeratorVariance">Sample variance of the numerator (n - 1 denominator).</param>
    /// <param name="denominatorVariance">Sample variance of the denominator (n - 1 denominator).</param>
    /// <param name="covariance">Sample covariance of numerator and denominator (n - 1 denominator).</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative count or variance, or a value that is not finite.</exception>
    public RatioSummary(long count, double numeratorMean, double denominatorMean, double numeratorVariance, double denominatorVariance, double covariance)
    {
        Guard.NotNegative(count, nameof(count));
        Guard.Finite(numeratorMean, nameof(numeratorMean));
        Guard.Finite(denominatorMean, nameof(denominatorMean));
        Guard.Finite(numeratorVariance, nameof(numeratorVariance));
        Guard.Finite(denominatorVariance, nameof(denominatorVariance));
        Guard.Finite(covariance, nameof(covariance));
        if (numeratorVariance < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numeratorVariance), numeratorVariance, "A variance cannot be negative.");
        }

        if (denominatorVariance < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(denominatorVariance), denominatorVariance, "A variance cannot be negative.");
        }

        Count = count;
        NumeratorMean = count == 0 ? 0 : numeratorMean;
        DenominatorMean = count == 0 ? 0 : denominatorMean;
        var known = count >= 2;
        NumeratorVariance = known ? numeratorVariance : 0;
        DenominatorVariance = known ? denominatorVariance : 0;
        Covariance = known ? covariance : 0;
    }

    /// <summary>Users.</summary>
    public long Count { get; }

    /// <summary>Mean numerator per user.</summary>
    public double NumeratorMean { get; }

    /// <summary>Mean denominator per user.</summary>
    public double DenominatorMean { get; }

    /// <summary>Sample variance of the per-user numerator.</summary>
    public double NumeratorVariance { get; }

    /// <summary>Sample variance of the per-user denominator.</summary>
    public double DenominatorVariance { get; }

    /// <summary>Sample covariance of the per-user numerator and denominator.</summary>
    public double Covariance { get; }

    /// <summary>The ratio of sums (total clicks / total impressions); 0 when there is no denominator yet.</summary>
    public double Ratio => DenominatorMean == 0 ? 0 : NumeratorMean / DenominatorMean;

    /// <summary>
    /// The summary of per-user (numerator, denominator) pairs, e.g. each user's clicks and impressions, in two passes.
    /// </summary>
    /// <exception cref="ArgumentException">The lists differ in length, or a value is not finite.</exception>
    public static RatioSummary FromPairs(IReadOnlyList<double> numerators, IReadOnlyList<double> denominators)
    {
        Guard.AllFinite(numerators, nameof(numerators));
        Guard.AllFinite(denominators, nameof(denominators));
        if (numerators.Count != denominators.Count)
        {
            throw new ArgumentException(
                $"Every user needs a numerator and a denominator: {numerators.Count} numerators, {denominators.Count} denominators.",
                nameof(denominators));
        }

        var n = numerators.Count;
        if (n == 0)
        {
            return new RatioSummary(0, 0, 0, 0, 0, 0);
        }

        double sumX = 0, sumY = 0;
        for (var i = 0; i < n; i++)
        {
            sumX += numerators[i];
            sumY += denominators[i];
        }

        double meanX = sumX / n, meanY = sumY / n, xx = 0, yy = 0, xy = 0;
        for (var i = 0; i < n; i++)
        {
            var dx = numerators[i] - meanX;
            var dy = denominators[i] - meanY;
            xx += dx * dx;
            yy += dy * dy;
            xy += dx * dy;
        }

        return n < 2
            ? new RatioSummary(n, meanX, meanY, 0, 0, 0)
            : new RatioSummary(n, meanX, meanY, xx / (n - 1), yy / (n - 1), xy / (n - 1));
    }

    /// <summary>The summary from running totals, as a sharded counter keeps them.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, or a total that is not finite.</exception>
    public static RatioSummary FromSums(
        long count, double numeratorSum, double denominatorSum, double numeratorSumOfSquares, double denominatorSumOfSquares, double crossProductSum)
    {
        Guard.NotNegative(count, nameof(count));
        Guard.Finite(numeratorSum, nameof(numeratorSum));
        Guard.Finite(denominatorSum, nameof(denominatorSum));
        Guard.Finite(numeratorSumOfSquares, nameof(numeratorSumOfSquares));
        Guard.Finite(denominatorSumOfSquares, nameof(denominatorSumOfSquares));
        Guard.Finite(crossProductSum, nameof(crossProductSum));
        if (count == 0)
        {
            return new RatioSummary(0, 0, 0, 0, 0, 0);
        }

        double meanX = numeratorSum / count, meanY = denominatorSum / count;
        if (count < 2)
        {
            return new RatioSummary(count, meanX, meanY, 0, 0, 0);
        }

        return new RatioSummary(
            count,
            meanX,
            meanY,
            Math.Max(0, (numeratorSumOfSquares - numeratorSum * meanX) / (count - 1)),
            Math.Max(0, (denominatorSumOfSquares - denominatorSum * meanY) / (count - 1)),
            (crossProductSum - numeratorSum * meanY) / (count - 1));
    }
}
