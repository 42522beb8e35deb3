namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// The sufficient statistics of a per-user metric in one variant (revenue per user, sessions per user): the input of
/// Welch's t-test. Build it from the per-user values, or from the counters a sharded aggregate keeps (count, sum, sum of
/// squares).
/// </summary>
public sealed record SampleSummary
{
    /// <param name="count">Users.</param>
    /// <param name="mean">Mean of the per-user values (0 when there are no users).</param>
    /// <param name="variance">Sample variance with n - 1 in the denominator (0 when there are fewer than two users).</param>
    /// <exception cref="ArgumentOutOfRangeException">A negative count or variance, or a value that is not finite.</exception>
    public SampleSummary(long count, double mean, double variance)
    {
        Guard.NotNegative(count, nameof(count));
        Guard.Finite(mean, nameof(mean));
        Guard.Finite(variance, nameof(variance));
        if (variance < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(variance), variance, "A variance cannot be negative.");
        }

        Count = count;
        Mean = count == 0 ? 0 : mean;
        Variance = count < 2 ? 0 : variance;
    }

    /// <summary>Users.</summary>
    public long Count { get; }

    /// <summary>Mean per user.</summary>
    public double Mean { get; }

    /// <summary>Sample variance (n - 1 denominator); 0 when <see cref="HasVariance"/> is false.</summary>
    public double Variance { get; }

    /// <summary>Whether there are at least two users, the fewest from which a spread can be estimated.</summary>
    public bool HasVariance => Count >= 2;

    /// <summary>The summary of per-user values (two passes, as numpy computes a mean and a variance).</summary>
    /// <exception cref="ArgumentException">A value is not finite.</exception>
    public static SampleSummary FromValues(IReadOnlyList<double> values)
    {
        Guard.AllFinite(values, nameof(values));
        if (values.Count == 0)
        {
            return new SampleSummary(0, 0, 0);
        }

        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var value in values)
        {
            sum += value;
            min = Math.Min(min, value);
            max = Math.Max(max, value);
        }

        // Identical values have no spread; their rounded mean could otherwise leave a variance of 1e-34.
        if (min == max)
        {
            return new SampleSummary(values.Count, min, 0);
        }

        var mean = sum / values.Count;
        double squares = 0;
        foreach (var value in values)
        {
            squares += (value - mean) * (value - mean);
        }

        return new SampleSummary(values.Count, mean, values.Count < 2 ? 0 : squares / (values.Count - 1));
    }

    /// <summary>
    /// The summary from running totals, as a sharded counter keeps them. Less precise than <see cref="FromValues"/>
    /// when the mean is large against the spread (the variance is a difference of two large sums).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative count, or a total that is not finite.</exception>
    public static SampleSummary FromSums(long count, double sum, double sumOfSquares)
    {
        Guard.NotNegative(count, nameof(count));
        Guard.Finite(sum, nameof(sum));
        Guard.Finite(sumOfSquares, nameof(sumOfSquares));
        if (count == 0)
        {
            return new SampleSummary(0, 0, 0);
        }

        var mean = sum / count;
        // Rounding can leave a tiny negative difference when every value is equal; the variance is then 0.
        var variance = count < 2 ? 0 : Math.Max(0, (sumOfSquares - sum * mean) / (count - 1));
        return new SampleSummary(count, mean, variance);
    }
}
