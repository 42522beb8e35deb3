using MathNet.Numerics;
using MathNet.Numerics.Distributions;

namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// Tail probabilities and quantiles of the normal, Student t and chi-square distributions, from MathNet.Numerics,
/// written so that small p-values keep their relative precision.
/// </summary>
internal static class Probability
{
    /// <summary>P(|Z| &gt;= |z|) for a standard normal Z.</summary>
    public static double TwoSidedNormal(double z) =>
        // erfc(|z|/sqrt 2) directly: 2 * (1 - Phi(|z|)) would round every p-value below 1e-16 to zero.
        SpecialFunctions.Erfc(Math.Abs(z) / Constants.Sqrt2);

    /// <summary>The standard normal quantile z with P(Z &lt;= z) = <paramref name="p"/>.</summary>
    public static double NormalQuantile(double p) => Normal.InvCDF(0, 1, p);

    /// <summary>P(|T| &gt;= |t|) for Student's t with <paramref name="degreesOfFreedom"/>.</summary>
    public static double TwoSidedStudentT(double t, double degreesOfFreedom)
    {
        if (double.IsInfinity(t))
        {
            return 0;
        }

        // The two-sided tail is the regularised incomplete beta I_x(df/2, 1/2) at x = df / (df + t^2). For |t| < 1 that x
        // rounds towards 1 and loses the information in t, so there (where p > 0.3 and a complement costs no precision)
        // I_{1-x}(1/2, df/2) is evaluated at 1 - x = t^2 / (df + t^2), computed directly rather than as 1 - x.
        var square = t * t;
        return square < 1
            ? 1 - SpecialFunctions.BetaRegularized(0.5, degreesOfFreedom / 2, square / (degreesOfFreedom + square))
            : SpecialFunctions.BetaRegularized(degreesOfFreedom / 2, 0.5, degreesOfFreedom / (degreesOfFreedom + square));
    }

    /// <summary>The Student t quantile with P(T &lt;= t) = <paramref name="p"/>, for 0.5 &lt; p &lt; 1.</summary>
    public static double StudentTQuantile(double p, double degreesOfFreedom)
    {
        var t = StudentT.InvCDF(0, 1, degreesOfFreedom, p);

        // MathNet finds this quantile by bracketing to an absolute accuracy of about 1e-8; two Newton steps on the exact
        // upper tail bring it to full double precision, which intervals checked to 1e-9 relative need.
        var tail = 1 - p;
        for (var step = 0; step < 2; step++)
        {
            var density = StudentT.PDF(0, 1, degreesOfFreedom, t);
            if (!(density > 0))
            {
                break;
            }

            t += (TwoSidedStudentT(t, degreesOfFreedom) / 2 - tail) / density;
        }

        return t;
    }

    /// <summary>P(X &gt;= <paramref name="statistic"/>) for a chi-square X with <paramref name="degreesOfFreedom"/>.</summary>
    public static double ChiSquareUpperTail(double statistic, int degreesOfFreedom) =>
        // The upper regularised gamma Q(k/2, x/2) directly: 1 - ChiSquared.CDF would be 0 for every badly broken split.
        statistic <= 0 ? 1 : SpecialFunctions.GammaUpperRegularized(degreesOfFreedom / 2.0, statistic / 2);
}
