namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// A two-sided interval for an unknown quantity (usually the treatment-minus-control difference) at a stated
/// confidence level. A bound is infinite when the data say nothing about that side (a variant with fewer than two
/// users); it is never NaN.
/// </summary>
/// <param name="Lower">Lower bound.</param>
/// <param name="Upper">Upper bound.</param>
/// <param name="Level">Confidence level, 1 - alpha (0.95 for alpha 0.05).</param>
public readonly record struct ConfidenceInterval(double Lower, double Upper, double Level)
{
    /// <summary>The interval that excludes nothing: what a test without enough data can say.</summary>
    public static ConfidenceInterval Unbounded(double level) => new(double.NegativeInfinity, double.PositiveInfinity, level);

    /// <summary>An estimate plus and minus a margin.</summary>
    public static ConfidenceInterval Around(double estimate, double margin, double level) => new(estimate - margin, estimate + margin, level);

    /// <summary>Whether <paramref name="value"/> lies inside the interval (bounds included).</summary>
    public bool Contains(double value) => Lower <= value && value <= Upper;

    /// <summary>Upper minus lower; infinite when a bound is.</summary>
    public double Width => Upper - Lower;
}
