using MathNet.Numerics;

namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// The density and both tails of a Beta(a, b) posterior, accurate to about 1e-13 relative for the parameters of a large
/// experiment. Written here because MathNet's versions lose digits exactly there: Beta.PDF divides gamma functions
/// (overflowing past 171 users), and PDFLn and BetaRegularized add log-gamma terms of 1e6 that cancel to 1e1, an error
/// of 1e-10 that the expected loss, a small difference of two tails, magnifies past 1e-9.
/// </summary>
internal readonly struct BetaTails
{
    // The continued fraction converges in O(sqrt(max(a, b))) steps; this bound is for a + b far beyond any experiment.
    private const int MaximumIterations = 100_000;
    private const double Tiny = 1e-300;

    private readonly double _a;
    private readonly double _b;
    private readonly double _mean;
    private readonly double _logConstant;

    public BetaTails(BetaPosterior posterior)
    {
        _a = posterior.Alpha;
        _b = posterior.Beta;
        _mean = posterior.Mean;
        // The density is exp(K + (a - 1) ln(u / c) + (b - 1) ln((1 - u) / (1 - c))) around the mean c = a / (a + b), where
        // those ratios are close to 1 and their logarithms exact to rounding. With Stirling's lnG(z) = (z - 1/2) ln z - z
        // + ln(2 pi)/2 + D(z), K = (a - 1) ln c + (b - 1) ln(1 - c) - ln B(a, b) = ln(s^3 / (a b)) / 2 - ln(2 pi)/2 - D(a) -
        // D(b) + D(s), s = a + b: no large terms left to cancel.
        var total = _a + _b;
        _logConstant = 0.5 * Math.Log(total / _a * (total / _b) * total) - 0.5 * Math.Log(2 * Math.PI)
            - StirlingCorrection(_a) - StirlingCorrection(_b) + StirlingCorrection(total);
    }

    /// <summary>The density at u, with v = 1 - u given separately (exact where u is within rounding of 1).</summary>
    public double Density(double u, double v) => Math.Exp(LogDensity(u, v));

    /// <summary>The logarithm of the density at u, with v = 1 - u; for u and v positive.</summary>
    public double LogDensity(double u, double v) => _logConstant + (_a - 1) * LogRatio(u, _mean) + (_b - 1) * LogRatio(v, 1 - _mean);

    /// <summary>The logarithm of the density at u = exp(<paramref name="logU"/>), which may be too small to represent.</summary>
    public double LogDensityNearZero(double logU, double v) =>
        _logConstant + (_a - 1) * (logU - Math.Log(_mean)) + (_b - 1) * LogRatio(v, 1 - _mean);

    /// <summary>The logarithm of the density at 1 - v, v = exp(<paramref name="logV"/>), which may be too small to represent.</summary>
    public double LogDensityNearOne(double u, double logV) =>
        _logConstant + (_a - 1) * LogRatio(u, _mean) + (_b - 1) * (logV - Math.Log(1 - _mean));

    /// <summary>P(X &lt;= u), with v = 1 - u.</summary>
    public double Below(double u, double v)
    {
        if (u <= 0)
        {
            return 0;
        }

        return v <= 0 ? 1 : UseDirectFraction(u) ? LowerTail(u, v) : 1 - UpperTail(u, v);
    }

    /// <summary>P(X &gt; u), with v = 1 - u.</summary>
    public double Above(double u, double v)
    {
        if (v <= 0)
        {
            return 0;
        }

        return u <= 0 ? 1 : UseDirectFraction(u) ? 1 - LowerTail(u, v) : UpperTail(u, v);
    }

    // The continued fraction for I_u(a, b) converges fast below (a + 1) / (a + b + 2); above it the one for
    // I_v(b, a) does (Numerical Recipes, 3rd ed., section 6.4). Each gives its own tail to full relative precision.
    private bool UseDirectFraction(double u) => u < (_a + 1) / (_a + _b + 2);

    // x^a (1 - x)^b / B(a, b), the prefactor of both fractions, is the density times u v, multiplied in logarithms: for
    // a weak prior near 0 the density alone (u^-0.99) can overflow where the product does not.
    private double Prefactor(double u, double v) => Math.Exp(LogDensity(u, v) + Math.Log(u) + Math.Log(v));

    private double LowerTail(double u, double v) => Prefactor(u, v) * ContinuedFraction(_a, _b, u) / _a;

    private double UpperTail(double u, double v) => Prefactor(u, v) * ContinuedFraction(_b, _a, v) / _b;

    // Lentz's evaluation of the continued fraction of the incomplete beta function (Numerical Recipes' betacf).
    private static double ContinuedFraction(double a, double b, double x)
    {
        double sum = a + b, up = a + 1, down = a - 1;
        var c = 1.0;
        var d = 1 - sum * x / up;
        d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
        var h = d;
        for (var m = 1; m <= MaximumIterations; m++)
        {
            var twice = 2 * m;
            var term = m * (b - m) * x / ((down + twice) * (a + twice));
            d = 1 + term * d;
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = 1 + term / c;
            c = Math.Abs(c) < Tiny ? Tiny : c;
            h *= d * c;
            term = -(a + m) * (sum + m) * x / ((a + twice) * (up + twice));
            d = 1 + term * d;
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = 1 + term / c;
            c = Math.Abs(c) < Tiny ? Tiny : c;
            var step = d * c;
            h *= step;
            if (Math.Abs(step - 1) < 1e-15)
            {
                break;
            }
        }

        return h;
    }

    /// <summary>D(z) = lnG(z) - ((z - 1/2) ln z - z + ln(2 pi)/2), the remainder of Stirling's formula.</summary>
    private static double StirlingCorrection(double z)
    {
        if (z < 10)
        {
            // Small arguments: every term is small, so MathNet's log-gamma loses nothing here.
            return SpecialFunctions.GammaLn(z) - ((z - 0.5) * Math.Log(z) - z + 0.5 * Math.Log(2 * Math.PI));
        }

        // The asymptotic series 1/(12z) - 1/(360z^3) + 1/(1260z^5) - 1/(1680z^7) + 1/(1188z^9); the next term is below
        // 2e-14 at z = 10 and shrinks as z^-11.
        var inverse = 1 / z;
        var square = inverse * inverse;
        return inverse * (1.0 / 12 - square * (1.0 / 360 - square * (1.0 / 1260 - square * (1.0 / 1680 - square / 1188))));
    }

    /// <summary>ln(value / reference), computed as log1p of the relative gap when the two are close.</summary>
    private static double LogRatio(double value, double reference)
    {
        var ratio = value / reference;
        if (ratio < 0.5 || ratio > 2)
        {
            return Math.Log(ratio);
        }

        // log1p(x) = ln(w) * x / (w - 1) with w = 1 + x rounded (Goldberg 1991, theorem 4): exact to a few ulps, where
        // Math.Log(1 + x) would lose the digits of x that the rounding of 1 + x drops.
        var gap = (value - reference) / reference;
        var w = 1 + gap;
        return w == 1 ? gap : Math.Log(w) * gap / (w - 1);
    }
}
