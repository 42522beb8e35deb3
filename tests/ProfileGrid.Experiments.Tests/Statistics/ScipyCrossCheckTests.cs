using System.Globalization;
using System.Text;
using ProfileGrid.Tests;
using System.Text.Json;
using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Tests.Statistics;

/// <summary>
/// Every statistic against scipy and numpy on the same fixed data: p-values, statistics and interval bounds within 1e-9
/// relative. The reference script is written from the textbook formulas with scipy's distributions
/// (scipy.stats.norm, ttest_ind(equal_var=False) and t.ppf, chisquare, beta with scipy.integrate.quad), not from this
/// library's code.
/// </summary>
public sealed class ScipyCrossCheckTests
{
    private const double Alpha = 0.05;
    private const double RelativeTolerance = 1e-9;

    private const string Script = """
        import json, sys, warnings
        import numpy as np
        from scipy import stats, integrate, special

        folder = sys.argv[1]
        cfg = json.load(open(folder + "/config.json"))
        alpha = cfg["alpha"]

        def variant(name):
            d = np.loadtxt(folder + "/" + name + ".csv", delimiter=",", skiprows=1, ndmin=2)
            return {"value": d[:, 0], "covariate": d[:, 1], "clicks": d[:, 2], "impressions": d[:, 3], "converted": d[:, 4]}

        c, t = variant("control"), variant("treatment")
        out = {}

        # Two-proportion z-test: pooled SE for z, unpooled for the interval.
        zq = stats.norm.ppf(1 - alpha / 2)
        for i, (x1, n1, x2, n2) in enumerate(cfg["proportions"]):
            p1, p2 = x1 / n1, x2 / n2
            pooled = (x1 + x2) / (n1 + n2)
            z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
            se = np.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
            out[f"z.{i}.z"] = z
            out[f"z.{i}.p"] = 2 * stats.norm.sf(abs(z))
            out[f"z.{i}.lower"] = p2 - p1 - zq * se
            out[f"z.{i}.upper"] = p2 - p1 + zq * se

        # Welch: scipy's test, the Welch-Satterthwaite df and t.ppf for the interval.
        def welch(name, a, b):
            res = stats.ttest_ind(b, a, equal_var=False)
            va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
            df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
            d = b.mean() - a.mean()
            m = stats.t.ppf(1 - alpha / 2, df) * np.sqrt(va + vb)
            out[name + ".t"] = res.statistic
            out[name + ".p"] = res.pvalue
            out[name + ".df"] = df
            out[name + ".lower"] = d - m
            out[name + ".upper"] = d + m
            return va + vb

        welch("welch.revenue", c["value"], t["value"])
        welch("welch.clicks", c["clicks"], t["clicks"])
        welch("welch.small", np.array(cfg["small"][0]), np.array(cfg["small"][1]))

        # Delta method (Deng et al. 2018) with numpy's sample covariance.
        def delta_var(x, y):
            n, mx, my = len(x), x.mean(), y.mean()
            s = np.cov(x, y, ddof=1)
            return (s[0, 0] / my ** 2 - 2 * mx * s[0, 1] / my ** 3 + mx ** 2 * s[1, 1] / my ** 4) / n

        rc = c["clicks"].sum() / c["impressions"].sum()
        rt = t["clicks"].sum() / t["impressions"].sum()
        v = delta_var(c["clicks"], c["impressions"]) + delta_var(t["clicks"], t["impressions"])
        z = (rt - rc) / np.sqrt(v)
        out["delta.var.control"] = delta_var(c["clicks"], c["impressions"])
        out["delta.z"] = z
        out["delta.p"] = 2 * stats.norm.sf(abs(z))
        out["delta.lower"] = rt - rc - zq * np.sqrt(v)
        out["delta.upper"] = rt - rc + zq * np.sqrt(v)

        # Beta-binomial: P(T > C), both expected losses and 95% credible intervals, as integrals of a posterior density
        # times a bounded function, by quad on panels between both posteriors' quantiles (one quad over (0, 1), even with
        # break points, can misjudge a spike of 100k users); the end panels use quad's algebraic weight (QUADPACK's
        # QAWS) for the density's x^(a-1) and (1-x)^(b-1), singular when a prior weaker than uniform meets 0 conversions.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        qs = [1e-12, 1e-8, 1e-5, 1e-3, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999, 1 - 1e-5, 1 - 1e-8]
        for i, (x1, n1, x2, n2, a0, b0) in enumerate(cfg["bayes"]):
            aC, bC, aT, bT = a0 + x1, b0 + n1 - x1, a0 + x2, b0 + n2 - x2
            edges = sorted(set(stats.beta.ppf(qs, aC, bC)) | set(stats.beta.ppf(qs, aT, bT)))
            edges = [0.0] + [e for e in edges if 0 < e < 1] + [1.0]

            def integral(a, b, h):
                q = lambda f, lo, hi, **kw: integrate.quad(f, lo, hi, epsabs=1e-17, epsrel=1e-13, limit=200, **kw)[0]
                total = 0.0
                for lo, hi in zip(edges[:-1], edges[1:]):
                    if lo == 0 and a < 1:
                        total += q(lambda x: np.exp((b - 1) * np.log1p(-x) - special.betaln(a, b)) * h(x), lo, hi, weight="alg", wvar=(a - 1, 0))
                    elif hi == 1 and b < 1:
                        total += q(lambda x: np.exp((a - 1) * np.log(x) - special.betaln(a, b)) * h(x), lo, hi, weight="alg", wvar=(0, b - 1))
                    elif lo > 0 and hi / lo > 4:
                        # Panels spanning decades near 0: in log x, where a power of x is smooth.
                        total += q(lambda y: stats.beta.pdf(np.exp(y), a, b) * h(np.exp(y)) * np.exp(y), np.log(lo), np.log(hi))
                    else:
                        total += q(lambda x: stats.beta.pdf(x, a, b) * h(x), lo, hi)
                return total

            muC, muT = aC / (aC + bC), aT / (aT + bT)
            out[f"bayes.{i}.beats"] = integral(aT, bT, lambda x: stats.beta.cdf(x, aC, bC))
            out[f"bayes.{i}.lossT"] = integral(aT, bT, lambda x: muC * stats.beta.sf(x, aC + 1, bC) - x * stats.beta.sf(x, aC, bC))
            out[f"bayes.{i}.lossC"] = integral(aC, bC, lambda x: muT * stats.beta.sf(x, aT + 1, bT) - x * stats.beta.sf(x, aT, bT))
            out[f"bayes.{i}.lowerT"], out[f"bayes.{i}.upperT"] = stats.beta.ppf([alpha / 2, 1 - alpha / 2], aT, bT)

        # Sample-ratio mismatch: scipy's chisquare against the weights' shares.
        for i, case in enumerate(cfg["srm"]):
            obs = np.array(case["observed"], dtype=float)
            w = np.array(case["weights"], dtype=float)
            res = stats.chisquare(obs, f_exp=obs.sum() * (w / w.sum()))
            out[f"srm.{i}.chi2"] = res.statistic
            out[f"srm.{i}.p"] = res.pvalue

        # mSPRT (Johari et al. 2017) with a normal mixture, running minimum p and running intersection interval.
        def sequential(prefix, estimate, tau2):
            L = 2 * np.log(1 / alpha)
            rho2 = (L + np.log(1 + L)) / cfg["planned"]
            p, lo, hi = 1.0, -np.inf, np.inf
            for k, m in enumerate(cfg["looks"]):
                a, b, s2, n = estimate(m)
                d = b - a
                tau = tau2 if tau2 is not None else rho2 * n * s2
                lam = np.sqrt(s2 / (s2 + tau)) * np.exp(tau * d * d / (2 * s2 * (s2 + tau)))
                p = min(p, 1 / lam)
                hw = np.sqrt(2 * s2 * (s2 + tau) / tau * (np.log(1 / alpha) + 0.5 * np.log((s2 + tau) / s2)))
                lo, hi = max(lo, d - hw), min(hi, d + hw)
                out[f"{prefix}.{k}.p"], out[f"{prefix}.{k}.lower"], out[f"{prefix}.{k}.upper"] = p, lo, hi

        def rates(m):
            a, b = c["converted"][:m].mean(), t["converted"][:m].mean()
            return a, b, a * (1 - a) / m + b * (1 - b) / m, 2 * m

        def means(m):
            a, b = c["value"][:m], t["value"][:m]
            return a.mean(), b.mean(), a.var(ddof=1) / m + b.var(ddof=1) / m, 2 * m

        sequential("seq.rates.default", rates, None)
        sequential("seq.rates.fixed", rates, cfg["tau2"])
        sequential("seq.means.default", means, None)

        # CUPED (Deng et al. 2013): theta from both variants pooled, then Welch on the adjusted values.
        y = np.concatenate([c["value"], t["value"]])
        x = np.concatenate([c["covariate"], t["covariate"]])
        theta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)
        raw = c["value"].var(ddof=1) / len(c["value"]) + t["value"].var(ddof=1) / len(t["value"])
        adjusted = welch("cuped", c["value"] - theta * (c["covariate"] - x.mean()), t["value"] - theta * (t["covariate"] - x.mean()))
        out["cuped.theta"] = theta
        out["cuped.reduction"] = 1 - adjusted / raw

        print(json.dumps({k: float(v) for k, v in out.items()}))
        """;

    private static readonly (long X1, long N1, long X2, long N2)[] Proportions =
        [(100, 1000, 120, 1000), (1000, 10_000, 1300, 10_000), (5, 20_000, 9, 21_000), (0, 1000, 3, 1000), (497, 500, 499, 500)];

    private static readonly (long X1, long N1, long X2, long N2, double A0, double B0)[] Bayes =
        [(120, 1000, 140, 1000, 1, 1), (12, 100, 18, 110, 0.5, 0.5), (5000, 100_000, 5150, 100_000, 1, 1), (0, 50, 2, 50, 1, 1), (480, 5000, 455, 5000, 2, 20),
         (0, 30, 0, 40, 0.5, 0.5), (0, 10, 1, 10, 0.2, 0.2), (10, 10, 9, 10, 0.5, 0.5)];

    private static readonly (long[] Observed, double[] Weights)[] Srm =
        [([52_000, 48_000], [50, 50]), ([50_100, 49_900], [50, 50]), ([25_100, 24_950, 49_950], [1, 1, 2]), ([10, 15, 30], [0.2, 0.3, 0.5])];

    private static readonly double[][] Small = [[3.2, 0, 7.5, 1.1, 9.9], [4.4, 12.0, 0.5, 8.8, 6.1, 2.2, 10.3]];

    private static readonly int[] Looks = [100, 200, 300, 400, 500, 600, 700, 800];
    private const long PlannedUsers = 5000;
    private const double FixedMixingVariance = 1e-3;

    [Fact]
    public void Every_statistic_matches_scipy_and_numpy_on_the_same_fixed_data()
    {
        var control = Users.Generate(new Random(20261202), 800, revenueLift: 0, ctrLift: 0);
        var treatment = Users.Generate(new Random(20261203), 900, revenueLift: 0.15, ctrLift: 0.2);

        var expected = ReferencePython.Run(Script, new Dictionary<string, string>
        {
            ["control.csv"] = Users.Csv(control),
            ["treatment.csv"] = Users.Csv(treatment),
            ["config.json"] = JsonSerializer.Serialize(new
            {
                alpha = Alpha,
                proportions = Proportions.Select(p => new[] { p.X1, p.N1, p.X2, p.N2 }),
                bayes = Bayes.Select(b => new[] { b.X1, b.N1, b.X2, b.N2, b.A0, b.B0 }),
                srm = Srm.Select(s => new { observed = s.Observed, weights = s.Weights }),
                small = Small,
                looks = Looks,
                planned = PlannedUsers,
                tau2 = FixedMixingVariance,
            }),
        }, "python3-scipy");

        var actual = Compute(control, treatment);

        var problems = new List<string>();
        foreach (var (name, value) in actual)
        {
            if (!expected.TryGetProperty(name, out var reference))
            {
                problems.Add($"{name}: not in the reference");
            }
            else if (!Close(value, reference.GetDouble()))
            {
                problems.Add($"{name}: {value:R} against the reference's {reference.GetDouble():R} (relative {Math.Abs(value / reference.GetDouble() - 1):E1})");
            }
        }

        problems.AddRange(expected.EnumerateObject().Where(p => !actual.ContainsKey(p.Name)).Select(p => $"{p.Name}: not computed here"));
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    private static bool Close(double actual, double expected) =>
        actual == expected || Math.Abs(actual - expected) <= RelativeTolerance * Math.Max(Math.Abs(actual), Math.Abs(expected));

    private static Dictionary<string, double> Compute(IReadOnlyList<User> control, IReadOnlyList<User> treatment)
    {
        var results = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < Proportions.Length; i++)
        {
            var (x1, n1, x2, n2) = Proportions[i];
            var z = TwoProportionZTest.Compare(new BinomialCounts(x1, n1), new BinomialCounts(x2, n2), Alpha);
            results[$"z.{i}.z"] = z.ZStatistic;
            results[$"z.{i}.p"] = z.PValue;
            results[$"z.{i}.lower"] = z.Interval.Lower;
            results[$"z.{i}.upper"] = z.Interval.Upper;
        }

        void Welch(string name, WelchResult result)
        {
            results[name + ".t"] = result.TStatistic;
            results[name + ".p"] = result.PValue;
            results[name + ".df"] = result.DegreesOfFreedom;
            results[name + ".lower"] = result.Interval.Lower;
            results[name + ".upper"] = result.Interval.Upper;
        }

        Welch("welch.revenue", WelchTTest.Compare(Column(control, u => u.Revenue), Column(treatment, u => u.Revenue), Alpha));
        Welch("welch.clicks", WelchTTest.Compare(Column(control, u => u.Clicks), Column(treatment, u => u.Clicks), Alpha));
        Welch("welch.small", WelchTTest.Compare(Small[0], Small[1], Alpha));

        var controlRatio = RatioSummary.FromPairs(Column(control, u => u.Clicks), Column(control, u => u.Impressions));
        var treatmentRatio = RatioSummary.FromPairs(Column(treatment, u => u.Clicks), Column(treatment, u => u.Impressions));
        var delta = DeltaMethod.Compare(controlRatio, treatmentRatio, Alpha);
        results["delta.var.control"] = delta.ControlVariance;
        results["delta.z"] = delta.ZStatistic;
        results["delta.p"] = delta.PValue;
        results["delta.lower"] = delta.Interval.Lower;
        results["delta.upper"] = delta.Interval.Upper;

        for (var i = 0; i < Bayes.Length; i++)
        {
            var (x1, n1, x2, n2, a0, b0) = Bayes[i];
            var bayes = BetaBinomialTest.Compare(new BinomialCounts(x1, n1), new BinomialCounts(x2, n2), new BetaPrior(a0, b0), 1 - Alpha);
            results[$"bayes.{i}.beats"] = bayes.ProbabilityTreatmentBeatsControl;
            results[$"bayes.{i}.lossT"] = bayes.ExpectedLossChoosingTreatment;
            results[$"bayes.{i}.lossC"] = bayes.ExpectedLossChoosingControl;
            results[$"bayes.{i}.lowerT"] = bayes.TreatmentInterval.Lower;
            results[$"bayes.{i}.upperT"] = bayes.TreatmentInterval.Upper;
        }

        for (var i = 0; i < Srm.Length; i++)
        {
            var srm = SampleRatioMismatch.Check(Srm[i].Observed, Srm[i].Weights);
            results[$"srm.{i}.chi2"] = srm.ChiSquare;
            results[$"srm.{i}.p"] = srm.PValue;
        }

        void Sequential(string prefix, SequentialTestOptions options, Func<int, DifferenceEstimate> estimate)
        {
            var test = new MixtureSequentialTest(options);
            SequentialResult? state = null;
            for (var k = 0; k < Looks.Length; k++)
            {
                state = test.Look(state, estimate(Looks[k]));
                results[$"{prefix}.{k}.p"] = state.PValue;
                results[$"{prefix}.{k}.lower"] = state.Interval.Lower;
                results[$"{prefix}.{k}.upper"] = state.Interval.Upper;
            }
        }

        DifferenceEstimate Rates(int m) => DifferenceEstimate.OfRates(Converted(control, m), Converted(treatment, m));
        DifferenceEstimate Means(int m) => DifferenceEstimate.OfMeans(
            SampleSummary.FromValues(Column(control.Take(m), u => u.Revenue)), SampleSummary.FromValues(Column(treatment.Take(m), u => u.Revenue)));
        Sequential("seq.rates.default", new SequentialTestOptions { Alpha = Alpha, PlannedUsers = PlannedUsers }, Rates);
        Sequential("seq.rates.fixed", new SequentialTestOptions { Alpha = Alpha, MixingVariance = FixedMixingVariance }, Rates);
        Sequential("seq.means.default", new SequentialTestOptions { Alpha = Alpha, PlannedUsers = PlannedUsers }, Means);

        var cuped = Cuped.Compare(
            new CupedSample(Column(control, u => u.Revenue), Column(control, u => u.PreRevenue)),
            new CupedSample(Column(treatment, u => u.Revenue), Column(treatment, u => u.PreRevenue)),
            Alpha);
        Welch("cuped", cuped.Adjusted);
        results["cuped.theta"] = cuped.Theta;
        results["cuped.reduction"] = cuped.VarianceReduction;
        return results;
    }

    private static double[] Column(IEnumerable<User> users, Func<User, double> pick) => users.Select(pick).ToArray();

    private static BinomialCounts Converted(IReadOnlyList<User> users, int first) =>
        new(users.Take(first).Count(u => u.Revenue > 0), first);

    private sealed record User(double Revenue, double PreRevenue, int Clicks, int Impressions);

    private static class Users
    {
        // Revenue per user with many zeros and a long tail, a pre-period revenue that predicts it, and users whose own
        // click-through rates differ (so that the delta method has something to do).
        public static User[] Generate(Random random, int count, double revenueLift, double ctrLift)
        {
            var users = new User[count];
            for (var i = 0; i < count; i++)
            {
                var pre = random.NextDouble() < 0.3 ? Math.Exp(3 + Gaussian(random)) : 0;
                var buys = random.NextDouble() < 0.25 * (1 + revenueLift);
                var revenue = Math.Round(0.6 * pre + (buys ? Math.Exp(3 + Gaussian(random)) : 0), 2);
                var impressions = 1 + random.Next(0, 15);
                var ctr = random.NextDouble() * 0.2 * (1 + ctrLift);
                var clicks = Enumerable.Range(0, impressions).Count(_ => random.NextDouble() < ctr);
                users[i] = new User(revenue, Math.Round(pre, 2), clicks, impressions);
            }

            return users;
        }

        public static string Csv(IEnumerable<User> users)
        {
            var csv = new StringBuilder("value,covariate,clicks,impressions,converted\n");
            foreach (var user in users)
            {
                csv.Append(user.Revenue.ToString("R", CultureInfo.InvariantCulture)).Append(',')
                    .Append(user.PreRevenue.ToString("R", CultureInfo.InvariantCulture)).Append(',')
                    .Append(user.Clicks).Append(',')
                    .Append(user.Impressions).Append(',')
                    .Append(user.Revenue > 0 ? 1 : 0).Append('\n');
            }

            return csv.ToString();
        }

        private static double Gaussian(Random random) =>
            Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
    }
}
