namespace ProfileGrid.Experiments.Statistics;

/// <summary>Settings of the always-valid sequential test.</summary>
public sealed record SequentialTestOptions
{
    /// <summary>Significance level, held over every look however often people look. Default 0.05.</summary>
    public double Alpha { get; init; } = 0.05;

    /// <summary>
    /// The mixing variance tau^2 of the normal mixture, in the squared unit of the difference (rate points squared for
    /// conversion rates). Null (the default) derives it at each look from <see cref="PlannedUsers"/>; set it to a prior
    /// guess of the squared effect size to use Johari et al.'s fixed-tau^2 mSPRT as published.
    /// </summary>
    public double? MixingVariance { get; init; }

    /// <summary>
    /// Total users (both variants) around which the always-valid interval should be tightest, used when
    /// <see cref="MixingVariance"/> is null. Default 10,000. The test stays valid for any value; a value near the
    /// expected final sample size gives the most power there.
    /// </summary>
    public long PlannedUsers { get; init; } = 10_000;

    /// <summary>Every problem with these settings, with the setting's name; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(Alpha > 0 && Alpha < 1))
        {
            problems.Add($"{nameof(Alpha)} must lie strictly between 0 and 1 (was {Alpha}).");
        }

        if (MixingVariance is { } tau2 && !(tau2 > 0 && double.IsFinite(tau2)))
        {
            problems.Add($"{nameof(MixingVariance)} must be a positive finite number, or unset to derive it from {nameof(PlannedUsers)} (was {tau2}).");
        }

        if (PlannedUsers < 1)
        {
            problems.Add($"{nameof(PlannedUsers)} must be at least 1 (was {PlannedUsers}).");
        }

        return problems;
    }
}

/// <summary>
/// One look's estimate of a difference between two variants: the estimates, the variance of the difference and how many
/// users it rests on. Built from the same inputs as the fixed-horizon tests.
/// </summary>
/// <param name="Control">Control's estimate (rate or mean).</param>
/// <param name="Treatment">Treatment's estimate.</param>
/// <param name="Variance">Variance of treatment minus control; infinite when a variant's spread is unknown.</param>
/// <param name="Users">Users in both variants.</param>
public readonly record struct DifferenceEstimate(double Control, double Treatment, double Variance, long Users)
{
    /// <summary>Treatment minus control.</summary>
    public double Difference => Treatment - Control;

    /// <summary>Two conversion rates, with the unpooled variance p(1 - p)/n of each.</summary>
    public static DifferenceEstimate OfRates(BinomialCounts control, BinomialCounts treatment)
    {
        if (control.Trials == 0 || treatment.Trials == 0)
        {
            return new DifferenceEstimate(control.Rate, treatment.Rate, double.PositiveInfinity, control.Trials + treatment.Trials);
        }

        double p1 = control.Rate, p2 = treatment.Rate;
        return new DifferenceEstimate(p1, p2, p1 * (1 - p1) / control.Trials + p2 * (1 - p2) / treatment.Trials, control.Trials + treatment.Trials);
    }

    /// <summary>Two per-user means, with the variance s^2/n of each.</summary>
    public static DifferenceEstimate OfMeans(SampleSummary control, SampleSummary treatment)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(treatment);
        var variance = control.HasVariance && treatment.HasVariance
            ? control.Variance / control.Count + treatment.Variance / treatment.Count
            : double.PositiveInfinity;
        return new DifferenceEstimate(control.Mean, treatment.Mean, variance, control.Count + treatment.Count);
    }

    /// <summary>Two ratio metrics, with the delta-method variance of each.</summary>
    public static DifferenceEstimate OfRatios(RatioSummary control, RatioSummary treatment)
    {
        ArgumentNullException.ThrowIfNull(control);
        ArgumentNullException.ThrowIfNull(treatment);
        var variance = control.DenominatorMean == 0 || treatment.DenominatorMean == 0
            ? double.PositiveInfinity
            : DeltaMethod.VarianceOfRatio(control) + DeltaMethod.VarianceOfRatio(treatment);
        return new DifferenceEstimate(control.Ratio, treatment.Ratio, variance, control.Count + treatment.Count);
    }
}

/// <summary>
/// The state of a sequential test after its latest look: what the dashboard shows at any time, valid however often and
/// whenever anyone looked. Pass it to the next <see cref="MixtureSequentialTest.Look"/>.
/// </summary>
/// <param name="Looks">Looks so far.</param>
/// <param name="Control">Control's estimate at the latest look.</param>
/// <param name="Treatment">Treatment's estimate at the latest look.</param>
/// <param name="Difference">Treatment minus control at the latest look.</param>
/// <param name="RelativeLift">Difference over control's estimate; null when that is 0.</param>
/// <param name="Interval">Always-valid confidence interval of the difference: the running intersection of every
/// look's confidence sequence interval. Unbounded until a look has a known spread.</param>
/// <param name="PValue">Always-valid p-value: the running minimum of 1 / likelihood ratio over the looks.</param>
/// <param name="LikelihoodRatio">The mixture likelihood ratio against "no difference" at the latest look.</param>
/// <param name="MixingVariance">The tau^2 used at the latest look (0 until a look has a known spread).</param>
/// <param name="Alpha">Significance level.</param>
/// <param name="Assumptions">What the figures assume.</param>
public sealed record SequentialResult(
    int Looks,
    double Control,
    double Treatment,
    double Difference,
    double? RelativeLift,
    ConfidenceInterval Interval,
    double PValue,
    double LikelihoodRatio,
    double MixingVariance,
    double Alpha,
    string Assumptions)
{
    /// <summary>Whether the always-valid p-value is below alpha: the experiment can stop and declare a difference.</summary>
    public bool IsSignificant => PValue < Alpha;
}

/// <summary>
/// The mixture sequential probability ratio test (mSPRT) with a normal mixture over the difference (Johari, Pekelis and
/// Walsh 2017, "Always valid inference: continuous monitoring of A/B tests"): its p-value and interval stay valid when
/// people look at the experiment as often as they like and stop when it looks good, where a repeated fixed-horizon test
/// would declare false winners far more often than alpha.
/// </summary>
/// <remarks>
/// With the difference estimate d ~ N(theta, s^2) at a look and the mixture theta ~ N(0, tau^2), the likelihood ratio
/// against theta = 0 is sqrt(s^2 / (s^2 + tau^2)) exp(tau^2 d^2 / (2 s^2 (s^2 + tau^2))); p = min over looks of 1 / ratio;
/// the interval at a look is every theta0 whose ratio stays below 1/alpha, intersected with the previous interval.
/// MathNet has no sequential tests, so these closed forms are written here.
/// </remarks>
public sealed class MixtureSequentialTest
{
    public const string Assumptions =
        "Users are independent; each look's difference estimate is approximately normal with its plug-in variance (a few " +
        "hundred users per variant before the guarantee is close); the normal mixture over the true difference has the " +
        "stated tau^2; two-sided; valid at every look, whenever the looks happen.";

    private readonly SequentialTestOptions _options;

    /// <exception cref="ArgumentException">The options are invalid; the message lists every problem.</exception>
    public MixtureSequentialTest(SequentialTestOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        _options = options;
    }

    /// <summary>The options this test runs with.</summary>
    public SequentialTestOptions Options => _options;

    /// <summary>
    /// The mixing variance for a look on <paramref name="users"/> users with a difference of variance
    /// <paramref name="variance"/>: the configured tau^2, or rho^2 n s^2 with rho^2 = (2 ln(1/alpha) + ln(1 + 2 ln(1/alpha)))
    /// / planned users, which makes the interval tightest near the planned users (Howard et al. 2021, section 3.5).
    /// </summary>
    public double MixingVarianceFor(double variance, long users)
    {
        if (_options.MixingVariance is { } tau2)
        {
            return tau2;
        }

        var logTerm = 2 * Math.Log(1 / _options.Alpha);
        var rho2 = (logTerm + Math.Log(1 + logTerm)) / _options.PlannedUsers;
        return rho2 * users * variance;
    }

    /// <summary>The mixture likelihood ratio of the estimate against a true difference of <paramref name="nullDifference"/>.</summary>
    public double LikelihoodRatio(DifferenceEstimate estimate, double nullDifference = 0)
    {
        if (!(estimate.Variance > 0 && double.IsFinite(estimate.Variance)))
        {
            return 1;
        }

        var tau2 = MixingVarianceFor(estimate.Variance, estimate.Users);
        var s2 = estimate.Variance;
        var gap = estimate.Difference - nullDifference;
        // In logs, so that a decisive look gives a large finite ratio rather than overflowing to infinity first.
        var logRatio = 0.5 * Math.Log(s2 / (s2 + tau2)) + tau2 * gap * gap / (2 * s2 * (s2 + tau2));
        return Math.Exp(Math.Min(logRatio, 700));
    }

    /// <summary>The state before the first look.</summary>
    public SequentialResult Start() =>
        new(0, 0, 0, 0, null, ConfidenceInterval.Unbounded(1 - _options.Alpha), 1, 1, 0, _options.Alpha, Assumptions);

    /// <summary>
    /// Takes one look: combines <paramref name="estimate"/> with everything seen before (<paramref name="previous"/>,
    /// or <see cref="Start"/> when null) into the always-valid p-value and interval. A look whose variance is unknown or 0
    /// (too few users, no conversions yet) updates the estimates but not the evidence.
    /// </summary>
    /// <exception cref="ArgumentException">An estimate is not a finite number, or the user count is negative.</exception>
    public SequentialResult Look(SequentialResult? previous, DifferenceEstimate estimate)
    {
        if (!double.IsFinite(estimate.Control) || !double.IsFinite(estimate.Treatment) || double.IsNaN(estimate.Variance) || estimate.Users < 0)
        {
            throw new ArgumentException($"The estimate must have finite values, a variance that is not NaN and a user count that is not negative: {estimate}.", nameof(estimate));
        }

        previous ??= Start();
        var level = 1 - _options.Alpha;
        var difference = estimate.Difference;
        var lift = Lift.Relative(estimate.Control, estimate.Treatment);
        var s2 = estimate.Variance;
        if (!(s2 > 0 && double.IsFinite(s2)))
        {
            return new SequentialResult(previous.Looks + 1, estimate.Control, estimate.Treatment, difference, lift, previous.Interval,
                previous.PValue, 1, previous.MixingVariance, _options.Alpha, Assumptions);
        }

        var tau2 = MixingVarianceFor(s2, estimate.Users);
        var ratio = LikelihoodRatio(estimate);
        var pValue = Math.Min(previous.PValue, Math.Min(1, 1 / ratio));

        // Ratio(theta0) < 1/alpha  <=>  (d - theta0)^2 < 2 s^2 (s^2 + tau^2) / tau^2 * (ln(1/alpha) + ln((s^2 + tau^2) / s^2) / 2).
        var halfWidth = Math.Sqrt(2 * s2 * (s2 + tau2) / tau2 * (Math.Log(1 / _options.Alpha) + 0.5 * Math.Log((s2 + tau2) / s2)));
        var lower = Math.Max(previous.Interval.Lower, difference - halfWidth);
        var upper = Math.Min(previous.Interval.Upper, difference + halfWidth);
        // An empty intersection happens only when the normal approximation failed at some look; the latest look's interval
        // is then the honest answer.
        var interval = lower <= upper
            ? new ConfidenceInterval(lower, upper, level)
            : ConfidenceInterval.Around(difference, halfWidth, level);
        return new SequentialResult(previous.Looks + 1, estimate.Control, estimate.Treatment, difference, lift, interval, pValue, ratio, tau2,
            _options.Alpha, Assumptions);
    }

    /// <summary>Looks at two variants' conversion counts.</summary>
    public SequentialResult Look(SequentialResult? previous, BinomialCounts control, BinomialCounts treatment) =>
        Look(previous, DifferenceEstimate.OfRates(control, treatment));

    /// <summary>Looks at two variants' per-user means.</summary>
    public SequentialResult Look(SequentialResult? previous, SampleSummary control, SampleSummary treatment) =>
        Look(previous, DifferenceEstimate.OfMeans(control, treatment));
}
