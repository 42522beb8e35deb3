namespace ProfileGrid.Experiments.Statistics;

/// <summary>One variant's per-user metric and the same users' pre-experiment covariate (e.g. revenue in the 28 days
/// before exposure), in the same order.</summary>
public sealed record CupedSample
{
    /// <exception cref="ArgumentException">The lists differ in length or hold a value that is not finite.</exception>
    public CupedSample(IReadOnlyList<double> values, IReadOnlyList<double> covariates)
    {
        Guard.AllFinite(values, nameof(values));
        Guard.AllFinite(covariates, nameof(covariates));
        if (values.Count != covariates.Count)
        {
            throw new ArgumentException($"Every user needs a value and a covariate: {values.Count} values, {covariates.Count} covariates.", nameof(covariates));
        }

        Values = values;
        Covariates = covariates;
    }

    /// <summary>The experiment-period metric per user.</summary>
    public IReadOnlyList<double> Values { get; }

    /// <summary>The pre-period covariate per user.</summary>
    public IReadOnlyList<double> Covariates { get; }
}

/// <summary>
/// The CUPED-adjusted comparison of a per-user mean: the same figures as Welch's test on the adjusted values, the
/// unadjusted test beside it, theta and how much of the variance the covariate removed.
/// </summary>
/// <param name="Adjusted">Welch's test on the adjusted per-user values: the figures to show.</param>
/// <param name="Unadjusted">Welch's test on the raw values, for comparison.</param>
/// <param name="Theta">cov(Y, X) / var(X) over both variants' users.</param>
/// <param name="CovariateMean">Mean covariate over both variants' users, the centre of the adjustment.</param>
/// <param name="VarianceReduction">1 - Var(adjusted difference) / Var(raw difference): the share of the variance
/// removed (0.4 means the interval is about 23% narrower, as if the experiment had 1.67 times the users).</param>
/// <param name="Assumptions">What the figures assume.</param>
/// <param name="Caveat">Why the adjustment did nothing, or null.</param>
public sealed record CupedResult(
    WelchResult Adjusted,
    WelchResult Unadjusted,
    double Theta,
    double CovariateMean,
    double VarianceReduction,
    string Assumptions,
    string? Caveat);

/// <summary>
/// CUPED (Deng, Xu, Kohavi and Walker 2013, "Improving the sensitivity of online controlled experiments by utilizing
/// pre-experiment data"): Y' = Y - theta (X - mean X) with theta = cov(Y, X) / var(X) estimated on both variants
/// together, then Welch's test on Y'. The covariate predates exposure, so the adjustment removes noise, not effect.
/// </summary>
public static class Cuped
{
    public const string Assumptions =
        "The covariate is measured before exposure, so the variant cannot change it; theta is estimated on both variants " +
        "pooled (sample covariance over sample variance); then Welch's assumptions on the adjusted values.";

    /// <summary>Compares the CUPED-adjusted means of two variants.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not between 0 and 1.</exception>
    public static CupedResult Compare(CupedSample control, CupedSample treatment, double alpha = 0.05)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(treatment);
        Guard.SignificanceLevel(alpha, nameof(alpha));

        var values = control.Values.Concat(treatment.Values).ToArray();
        var covariates = control.Covariates.Concat(treatment.Covariates).ToArray();
        var n = values.Length;
        double theta = 0, covariateMean = n == 0 ? 0 : covariates.Average();
        string? caveat = null;
        if (n >= 2)
        {
            var valueMean = values.Average();
            double covariance = 0, covariateSpread = 0;
            for (var i = 0; i < n; i++)
            {
                var dx = covariates[i] - covariateMean;
                covariance += (values[i] - valueMean) * dx;
                covariateSpread += dx * dx;
            }

            if (covariateSpread > 0)
            {
                theta = covariance / covariateSpread;
            }
            else
            {
                caveat = "The covariate is the same for every user: it explains nothing, so nothing was adjusted.";
            }
        }

        var unadjusted = WelchTTest.Compare(control.Values, treatment.Values, alpha);
        var adjusted = WelchTTest.Compare(Adjust(control, theta, covariateMean), Adjust(treatment, theta, covariateMean), alpha);
        var rawVariance = unadjusted.StandardError * unadjusted.StandardError;
        var adjustedVariance = adjusted.StandardError * adjusted.StandardError;
        var reduction = rawVariance > 0 && double.IsFinite(rawVariance) ? 1 - adjustedVariance / rawVariance : 0;
        return new CupedResult(adjusted, unadjusted, theta, covariateMean, reduction, Assumptions, caveat);
    }

    private static double[] Adjust(CupedSample sample, double theta, double covariateMean)
    {
        var adjusted = new double[sample.Values.Count];
        for (var i = 0; i < adjusted.Length; i++)
        {
            adjusted[i] = sample.Values[i] - theta * (sample.Covariates[i] - covariateMean);
        }

        return adjusted;
    }
}
