using MathNet.Numerics.Integration;
using BetaDistribution = MathNet.Numerics.Distributions.Beta;

namespace ProfileGrid.Experiments.Statistics;

/// <summary>The Beta(alpha, beta) prior of a conversion rate; Beta(1, 1), uniform, unless configured.</summary>
public sealed record BetaPrior
{
    /// <summary>The uniform prior Beta(1, 1): every rate equally likely before any data.</summary>
    public static BetaPrior Uniform { get; } = new(1, 1);

    /// <param name="alpha">Prior successes plus one's worth of weight; must be positive.</param>
    /// <param name="beta">Prior failures' weight; must be positive.</param>
    /// <exception cref="ArgumentOutOfRangeException">A parameter is not a positive finite number.</exception>
    public BetaPrior(double alpha, double beta)
    {
        if (!(alpha > 0 && double.IsFinite(alpha)))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "A Beta prior's alpha must be a positive finite number (1 for uniform).");
        }

        if (!(beta > 0 && double.IsFinite(beta)))
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "A Beta prior's beta must be a positive finite number (1 for uniform).");
        }

        Alpha = alpha;
        Beta = beta;
    }

    /// <summary>The alpha (successes) parameter.</summary>
    public double Alpha { get; }

    /// <summary>The beta (failures) parameter.</summary>
    public double Beta { get; }

    /// <summary>The posterior after <paramref name="counts"/>: Beta(alpha + successes, beta + failures).</summary>
    public BetaPosterior Update(BinomialCounts counts) => new(Alpha + counts.Successes, Beta + counts.Failures);
}

/// <summary>The posterior Beta(alpha, beta) of one variant's conversion rate.</summary>
/// <param name="Alpha">Prior alpha plus successes.</param>
/// <param name="Beta">Prior beta plus failures.</param>
public readonly record struct BetaPosterior(double Alpha, double Beta)
{
    /// <summary>The posterior mean rate, alpha / (alpha + beta).</summary>
    public double Mean => Alpha / (Alpha + Beta);

    /// <summary>The equal-tailed credible interval holding <paramref name="level"/> of the posterior.</summary>
    public ConfidenceInterval CredibleInterval(double level)
    {
        if (!(level > 0 && level < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "A credible level lies strictly between 0 and 1.");
        }

        var tail = (1 - level) / 2;
        return new ConfidenceInterval(Quantile(tail), Quantile(1 - tail), level);
    }

    private double Quantile(double p)
    {
        var x = BetaDistribution.InvCDF(Alpha, Beta, p);
        var tails = new BetaTails(this);

        // MathNet brackets this quantile only to 1e-8 absolute, a relative error of 1e-5 for a rate near 0.1%; Newton steps
        // on the distribution function (quadratic convergence) bring it to double precision.
        for (var step = 0; step < 8; step++)
        {
            var slope = tails.Density(x, 1 - x);
            if (!(slope > 0 && double.IsFinite(slope)))
            {
                break;
            }

            var next = x - (tails.Below(x, 1 - x) - p) / slope;
            if (!(next > 0 && next < 1))
            {
                break;
            }

            var converged = Math.Abs(next - x) <= 1e-15 * x;
            x = next;
            if (converged)
            {
                break;
            }
        }

        return x;
    }
}

/// <summary>
/// The Bayesian reading of an experiment on a rate: each variant's posterior, the probability that treatment's true
/// rate beats control's, and the expected loss (in rate units) of shipping either, the rate given up on average if
/// the choice is wrong.
/// </summary>
/// <param name="Control">Control's posterior.</param>
/// <param name="Treatment">Treatment's posterior.</param>
/// <param name="ControlInterval">Control's equal-tailed credible interval.</param>
/// <param name="TreatmentInterval">Treatment's equal-tailed credible interval.</param>
/// <param name="ProbabilityTreatmentBeatsControl">P(treatment's rate &gt; control's rate | data).</param>
/// <param name="ExpectedLossChoosingTreatment">E[max(control rate - treatment rate, 0) | data].</param>
/// <param name="ExpectedLossChoosingControl">E[max(treatment rate - control rate, 0) | data].</param>
/// <param name="Prior">The prior both variants started from.</param>
/// <param name="Assumptions">What the figures assume.</param>
public sealed record BayesianComparison(
    BetaPosterior Control,
    BetaPosterior Treatment,
    ConfidenceInterval ControlInterval,
    ConfidenceInterval TreatmentInterval,
    double ProbabilityTreatmentBeatsControl,
    double ExpectedLossChoosingTreatment,
    double ExpectedLossChoosingControl,
    BetaPrior Prior,
    string Assumptions)
{
    /// <summary>Posterior mean difference, treatment minus control.</summary>
    public double Difference => Treatment.Mean - Control.Mean;
}

/// <summary>
/// Beta-binomial comparison of two conversion rates: posterior Beta(a0 + successes, b0 + failures) per variant, the
/// probability to beat control and the expected loss, computed by adaptive Gauss-Kronrod integration (MathNet) to about
/// 1e-11 relative, not by Monte Carlo, so that the figures are repeatable.
/// </summary>
public static class BetaBinomialTest
{
    public const string Assumptions =
        "Users are independent and each converts at most once with the variant's unknown rate; both rates share the Beta " +
        "prior and are independent a posteriori; probabilities and losses are exact integrals of the posteriors.";

    // Relative to the whole integral. The integrand carries rounding noise of about 1e-13, so a tighter target would
    // only subdivide noise; the results come out within about 1e-11 of scipy's.
    private const double TargetRelativeError = 1e-11;

    // The target for panels holding a negligible share of the integral.
    private const double LooseTarget = 1e-3;

    // Probabilities are exact to 1e-11 relative or 1e-16 absolute, whichever is larger; losses to 1e-11 relative or
    // 1e-14 times the other variant's mean rate (the rounding noise of their integrand, see ExpectedShortfall).
    private const double ProbabilityTolerance = 1e-16;
    private const double LossTolerance = 1e-14;

    // Panel edges at the posterior mean plus and minus these many standard deviations.
    private static readonly double[] CutDeviations = [0, 1, 2, 3, 4, 6, 8, 12, 16, 24, 40];

    /// <summary>Compares two variants' conversions under <paramref name="prior"/> (uniform when null).</summary>
    /// <param name="credibleLevel">Level of the per-variant credible intervals.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="credibleLevel"/> is not between 0 and 1.</exception>
    public static BayesianComparison Compare(BinomialCounts control, BinomialCounts treatment, BetaPrior? prior = null, double credibleLevel = 0.95)
    {
        if (!(credibleLevel > 0 && credibleLevel < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(credibleLevel), credibleLevel, "A credible level lies strictly between 0 and 1.");
        }

        prior ??= BetaPrior.Uniform;
        var c = prior.Update(control);
        var t = prior.Update(treatment);
        // Identical posteriors (identical data, no users at all) give 1/2 by symmetry: the integral's rounding said
        // 0.5000000000000004 (probe67), where the statistics doc promises exactly 0.5.
        var beats = c == t ? 0.5 : ProbabilityGreater(t, c);

        var lossTreatment = ExpectedShortfall(c, t);
        var lossControl = ExpectedShortfall(t, c);
        return new BayesianComparison(
            c,
            t,
            c.CredibleInterval(credibleLevel),
            t.CredibleInterval(credibleLevel),
            beats,
            Math.Max(0, lossTreatment),
            Math.Max(0, lossControl),
            prior,
            Assumptions);
    }

    /// <summary>P(X &gt; Y) for independent X ~ <paramref name="x"/> and Y ~ <paramref name="y"/>: the integral over
    /// (0, 1) of X's density times Y's distribution function.</summary>
    internal static double ProbabilityGreater(BetaPosterior x, BetaPosterior y)
    {
        var distribution = new BetaTails(y);
        return Math.Clamp(IntegrateAgainst(x, y, (u, v) => distribution.Below(u, v), ProbabilityTolerance), 0, 1);
    }

    /// <summary>
    /// E[max(W - X, 0)] for independent W ~ <paramref name="winner"/> and X ~ <paramref name="chosen"/>: the rate given up
    /// by choosing X when W is better. The integral of X's density times E[(W - x)+] = mu_W P(W+ &gt; x) - x P(W &gt; x),
    /// where W+ ~ Beta(alpha + 1, beta), since w f_{a,b}(w) = a / (a + b) f_{a+1,b}(w). One integral rather than a
    /// difference of two probabilities, which would cancel to a small loss and lose its digits.
    /// </summary>
    internal static double ExpectedShortfall(BetaPosterior winner, BetaPosterior chosen)
    {
        var raised = new BetaTails(winner with { Alpha = winner.Alpha + 1 });
        var plain = new BetaTails(winner);
        var mean = winner.Mean;
        // Where x is above W's mass the two terms nearly cancel and leave rounding noise; asking for more than 1e-14 mu_W
        // absolute would subdivide that noise to the maximum depth (seconds at a million users instead of milliseconds).
        var loss = IntegrateAgainst(chosen, winner, (u, v) => Math.Max(0, mean * raised.Above(u, v) - u * plain.Above(u, v)), LossTolerance * mean);
        return Math.Max(0, loss);
    }

    /// <summary>
    /// The integral over (0, 1) of X's density times a bounded <paramref name="factor"/>(u, 1 - u); <paramref name="other"/>
    /// is the posterior the factor comes from, whose mass also needs panel edges.
    /// </summary>
    private static double IntegrateAgainst(BetaPosterior x, BetaPosterior other, Func<double, double, double> factor, double absoluteTolerance)
    {
        var density = new BetaTails(x);

        // The integrand from the logarithm of density times Jacobian, so that near 0 the density of a weak prior (u^-0.99)
        // and a substitution's Jacobian (s^199) do not overflow and underflow apart. u and 1 - u travel separately so that
        // neither end of (0, 1) loses digits; u may underflow to 0 where its logarithm is still finite, and the factor is
        // then taken at its limit.
        double Integrand(double logDensityTimesJacobian, double u, double v)
        {
            var f = Math.Exp(logDensityTimesJacobian);
            return f == 0 || double.IsNaN(f) ? 0 : f * factor(u, v);
        }

        // A posterior after 100k users is a spike a few thousandths wide: one adaptive rule over (0, 1) could step over it,
        // so the range is cut at points around both posteriors' mass, each panel integrated adaptively on its own.
        // With a shape parameter below 2 (a prior weaker than uniform and no conversions, or every user converting) the
        // density behaves like u^(a - 1) at 0 or (1 - u)^(b - 1) at 1, singular or not smooth, which Gauss-Kronrod
        // converges on slowly; a power substitution u = c s^m (or 1 - u = c s^m) on the end panel makes it smooth.
        var cuts = PanelCuts(x, other);
        var headPower = Math.Max(1, 2 / x.Alpha);
        var tailPower = Math.Max(1, 2 / x.Beta);
        var panels = new List<(Func<double, double> Integrand, double From, double To)>(cuts.Count);
        for (var i = 1; i < cuts.Count; i++)
        {
            double from = cuts[i - 1], to = cuts[i];
            if (i == 1 && headPower > 1)
            {
                var logScale = Math.Log(to);
                var logJacobian = Math.Log(to * headPower);
                panels.Add((s =>
                {
                    var logU = logScale + headPower * Math.Log(s);
                    var u = Math.Exp(logU);
                    return Integrand(density.LogDensityNearZero(logU, 1 - u) + logJacobian + (headPower - 1) * Math.Log(s), u, 1 - u);
                }, 0, 1));
            }
            else if (i == cuts.Count - 1 && tailPower > 1)
            {
                var logScale = Math.Log(1 - from);
                var logJacobian = Math.Log((1 - from) * tailPower);
                panels.Add((s =>
                {
                    var logV = logScale + tailPower * Math.Log(s);
                    var v = Math.Exp(logV);
                    return Integrand(density.LogDensityNearOne(1 - v, logV) + logJacobian + (tailPower - 1) * Math.Log(s), 1 - v, v);
                }, 0, 1));
            }
            else
            {
                panels.Add((u => Integrand(density.LogDensity(u, 1 - u), u, 1 - u), from, to));
            }
        }

        // Each panel's error target is relative to the whole integral (or the absolute tolerance), not to the panel: a
        // far-tail panel holding 1e-30 of the mass needs no 11 digits of its own, and chasing them in the rounding noise of
        // its tiny integrand would subdivide it to the maximum depth. A first unrefined pass estimates every panel's share.
        var rough = panels.Select(p => Panel(p.Integrand, p.From, p.To, TargetRelativeError, maximumDepth: 0)).ToArray();
        var total = rough.Sum(Math.Abs);
        if (total == 0)
        {
            return 0;
        }

        var allowedError = Math.Max(TargetRelativeError * total, absoluteTolerance);
        double sum = 0;
        for (var i = 0; i < panels.Count; i++)
        {
            var magnitude = Math.Abs(rough[i]);
            var target = magnitude == 0 ? LooseTarget : Math.Clamp(allowedError / magnitude, TargetRelativeError, LooseTarget);
            sum += Panel(panels[i].Integrand, panels[i].From, panels[i].To, target, maximumDepth: 10);
        }

        return sum;
    }

    private static double Panel(Func<double, double> integrand, double from, double to, double target, int maximumDepth) =>
        GaussKronrodRule.Integrate(integrand, from, to, out _, out _, target, maximumDepth, order: 21);

    private static List<double> PanelCuts(BetaPosterior x, BetaPosterior y)
    {
        var cuts = new SortedSet<double> { 0, 1 };
        foreach (var posterior in new[] { x, y })
        {
            var mean = posterior.Mean;
            var total = posterior.Alpha + posterior.Beta;
            var deviation = Math.Sqrt(posterior.Alpha * posterior.Beta / (total * total * (total + 1)));
            foreach (var k in CutDeviations)
            {
                AddInside(cuts, mean - k * deviation);
                AddInside(cuts, mean + k * deviation);
            }
        }

        return [.. cuts];
    }

    private static void AddInside(SortedSet<double> cuts, double point)
    {
        if (point > 0 && point < 1)
        {
            cuts.Add(point);
        }
    }
}
