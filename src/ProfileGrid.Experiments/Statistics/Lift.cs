namespace ProfileGrid.Experiments.Statistics;

/// <summary>Relative lift, the figure a marketer quotes ("+12%").</summary>
internal static class Lift
{
    /// <summary>
    /// (treatment - control) / |control|; null when the control estimate is zero, where a relative change is undefined
    /// (0 conversions in control), rather than an infinity or NaN.
    /// </summary>
    public static double? Relative(double control, double treatment) =>
        control == 0 ? null : (treatment - control) / Math.Abs(control);
}
