using ProfileGrid.Experiments.Statistics;

namespace ProfileGrid.Experiments.Fairness;

/// <summary>
/// The fairness audit (issue 10, item 6): how each user group is served (exposure, CTR, conversion, revenue) with the
/// four-fifths rule flagged against the best-served group, how concentrated exposure is over items, and, for an
/// experiment, the treatment's effect within each group. Pure: the caller gathers the tallies.
/// </summary>
public static class FairnessAuditor
{
    public const string Methods =
        "Exposure per user: lists shown / known users, normal interval from per-user impressions, gap tested with Welch's t. " +
        "CTR: clicks / lists shown, delta-method interval over exposed users, gap tested with the delta method. " +
        "Item CTR: clicks / items shown, no interval. " +
        "Conversion: converters / exposed users, Wilson score interval, gap tested with the two-proportion z-test. " +
        "Revenue per exposed user: normal interval. " +
        "Four-fifths: a group's rate over the highest rate among groups with at least the minimum users (exposed users for " +
        "CTR and conversion, known users for exposure), flagged below the threshold; smaller groups are never flagged. " +
        "Experiments: treatment minus control per group, z-test for conversion and delta method for CTR; flagged when " +
        "significant and of the opposite sign to the whole dimension's effect. All tests two-sided.";

    private const string Conversion = "conversion";
    private const string ClickThrough = "ctr";

    /// <summary>Audits how every group of every dimension is served, and the item-side concentration.</summary>
    /// <exception cref="ArgumentException">The options are invalid, or a tally is inconsistent (the message lists every problem).</exception>
    public static FairnessAudit Audit(AuditInput input, FairnessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new FairnessOptions();
        ThrowIfInvalid(options);
        var problems = new List<string>();
        foreach (var (dimension, groups) in input.Groups)
        {
            foreach (var (group, tally) in groups)
            {
                CheckTally(tally, $"groups[{dimension}][{group}]", problems);
            }
        }

        ThrowIfProblems(problems, nameof(input));
        var z = Probability.NormalQuantile(1 - options.Alpha / 2);
        var dimensions = OrderDimensions(input.Groups.Keys)
            .Select(name => AuditDimension(name, input.Groups[name], options, z))
            .ToList();
        return new FairnessAudit
        {
            MinimumUsers = options.MinimumUsers,
            Threshold = options.FourFifthsThreshold,
            Alpha = options.Alpha,
            Dimensions = dimensions,
            Items = ItemExposure.Measure(input.ItemImpressions, input.CatalogSize, options),
        };
    }

    /// <summary>Audits an experiment's effect within every group of every dimension.</summary>
    /// <exception cref="ArgumentException">
    /// The options are invalid, the control variant is not named, or a tally is inconsistent (the message lists every problem).
    /// </exception>
    public static ExperimentFairnessAudit AuditExperiment(ExperimentAuditInput input, FairnessOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new FairnessOptions();
        ThrowIfInvalid(options);
        var problems = new List<string>();
        if (string.IsNullOrEmpty(input.ControlVariant) && input.Groups.Count > 0)
        {
            problems.Add("control_variant is required: every treatment is compared with it.");
        }

        foreach (var (dimension, groups) in input.Groups)
        {
            foreach (var (group, variants) in groups)
            {
                foreach (var (variant, tally) in variants)
                {
                    CheckTally(tally, $"groups[{dimension}][{group}][{variant}]", problems);
                }
            }
        }

        ThrowIfProblems(problems, nameof(input));
        var dimensions = new List<ExperimentDimensionAudit>();
        foreach (var name in OrderDimensions(input.Groups.Keys))
        {
            var groups = input.Groups[name];
            var overallTallies = new Dictionary<string, GroupTally>(StringComparer.Ordinal);
            foreach (var variants in groups.Values)
            {
                overallTallies = new Dictionary<string, GroupTally>(TallyMaps.Add(overallTallies, variants, GroupTally.Add), StringComparer.Ordinal);
            }

            var treatments = overallTallies.Keys.Where(v => v != input.ControlVariant).Order(StringComparer.Ordinal).ToList();
            var overall = treatments
                .Select(t => CompareVariants(t, overallTallies.GetValueOrDefault(input.ControlVariant), overallTallies[t], options, null))
                .ToList();
            var groupEffects = groups
                .OrderByDescending(g => g.Value.Values.Sum(t => t.ExposedUsers))
                .ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new GroupEffects(g.Key, treatments
                    .Select((t, i) => CompareVariants(t, g.Value.GetValueOrDefault(input.ControlVariant), g.Value.GetValueOrDefault(t), options, overall[i]))
                    .ToList()))
                .ToList();
            dimensions.Add(new ExperimentDimensionAudit(name, overall, groupEffects));
        }

        return new ExperimentFairnessAudit
        {
            ExperimentId = input.ExperimentId,
            ControlVariant = input.ControlVariant,
            MinimumUsers = options.MinimumUsers,
            Alpha = options.Alpha,
            Dimensions = dimensions,
        };
    }

    internal static void ThrowIfInvalid(FairnessOptions options)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }
    }

    private static void ThrowIfProblems(List<string> problems, string parameterName)
    {
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), parameterName);
        }
    }

    private static void CheckTally(GroupTally? tally, string path, List<string> problems)
    {
        if (tally is null)
        {
            problems.Add($"{path} is missing.");
            return;
        }

        if (tally.Users < 0 || tally.ExposedUsers < 0 || tally.Impressions < 0 || tally.ItemsShown < 0 || tally.Clicks < 0 ||
            tally.Clickers < 0 || tally.Converters < 0 || tally.Purchases < 0)
        {
            problems.Add($"{path} has a negative count.");
        }

        if (tally.ExposedUsers > tally.Users)
        {
            problems.Add($"{path}.exposed_users ({tally.ExposedUsers}) exceeds users ({tally.Users}).");
        }

        if (tally.Converters > tally.ExposedUsers)
        {
            problems.Add($"{path}.converters ({tally.Converters}) exceeds exposed_users ({tally.ExposedUsers}): conversions count for exposed users only.");
        }

        double[] sums = [tally.Revenue, tally.ClicksSquaredSum, tally.ImpressionsSquaredSum, tally.ClicksImpressionsSum, tally.RevenueSquaredSum];
        if (sums.Any(s => !double.IsFinite(s)))
        {
            problems.Add($"{path} has a revenue or per-user sum that is not a finite number.");
        }
    }

    private static IEnumerable<string> OrderDimensions(IEnumerable<string> names)
    {
        var all = names.ToHashSet(StringComparer.Ordinal);
        return FairnessDimensions.Known.Where(all.Contains)
            .Concat(all.Where(n => !FairnessDimensions.Known.Contains(n)).Order(StringComparer.Ordinal));
    }

    private static DimensionAudit AuditDimension(string name, IReadOnlyDictionary<string, GroupTally> groups, FairnessOptions options, double z)
    {
        var ordered = groups
            .OrderByDescending(g => g.Value.Users)
            .ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        long users = ordered.Sum(g => g.Value.Users), impressions = ordered.Sum(g => g.Value.Impressions);
        var checks = ordered.Select(_ => new List<FourFifthsCheck>()).ToList();
        foreach (var metric in Enum.GetValues<FairnessMetric>())
        {
            var results = FourFifths(metric, ordered, options);
            for (var i = 0; i < ordered.Count; i++)
            {
                checks[i].Add(results[i]);
            }
        }

        var audits = ordered.Select((g, i) =>
        {
            var t = g.Value;
            double? userShare = users == 0 ? null : (double)t.Users / users;
            double? impressionShare = impressions == 0 ? null : (double)t.Impressions / impressions;
            return new GroupAudit
            {
                Group = g.Key,
                Tally = t,
                UserShare = userShare,
                ImpressionShare = impressionShare,
                ExposureParity = userShare is > 0 && impressionShare is { } share ? share / userShare : null,
                ExposurePerUser = MeanEstimate(ImpressionsPerUser(t), z),
                ItemCtr = t.ItemsShown == 0 ? null : (double)t.Clicks / t.ItemsShown,
                Ctr = RatioEstimate(ClicksPerImpression(t), z),
                ConversionRate = Wilson(t.Converters, t.ExposedUsers, z),
                RevenuePerExposedUser = MeanEstimate(SampleSummary.FromSums(t.ExposedUsers, t.Revenue, t.RevenueSquaredSum), z),
                FourFifths = checks[i],
            };
        }).ToList();
        return new DimensionAudit(name, users, impressions, audits);
    }

    /// <summary>The four-fifths rule on one metric for every group of a dimension, in the groups' order.</summary>
    private static List<FourFifthsCheck> FourFifths(FairnessMetric metric, List<KeyValuePair<string, GroupTally>> groups, FairnessOptions options)
    {
        var rates = groups.Select(g => Rate(metric, g.Value)).ToList();
        var users = groups.Select(g => metric == FairnessMetric.ExposurePerUser ? g.Value.Users : g.Value.ExposedUsers).ToList();
        var reference = -1;
        for (var i = 0; i < groups.Count; i++)
        {
            // Ties go to the first group in order (the largest), so that the reference does not depend on dictionary order.
            if (users[i] >= options.MinimumUsers && rates[i] is { } rate && (reference < 0 || rate > rates[reference]!.Value))
            {
                reference = i;
            }
        }

        if (reference >= 0 && rates[reference] == 0)
        {
            reference = -1;
        }

        var results = new List<FourFifthsCheck>(groups.Count);
        for (var i = 0; i < groups.Count; i++)
        {
            if (reference < 0)
            {
                var verdict = users[i] >= options.MinimumUsers ? FourFifthsVerdict.NoReference : FourFifthsVerdict.TooSmall;
                results.Add(new FourFifthsCheck(metric, rates[i], null, null, null, verdict, null, false, users[i]));
                continue;
            }

            var referenceRate = rates[reference]!.Value;
            var ratio = rates[i] / referenceRate;
            if (i == reference)
            {
                results.Add(new FourFifthsCheck(metric, rates[i], groups[i].Key, referenceRate, 1, FourFifthsVerdict.Ok, null, false, users[i]));
            }
            else if (users[i] < options.MinimumUsers)
            {
                results.Add(new FourFifthsCheck(metric, rates[i], groups[reference].Key, referenceRate, ratio, FourFifthsVerdict.TooSmall, null, false, users[i]));
            }
            else
            {
                var p = PValueOfGap(metric, groups[reference].Value, groups[i].Value, options.Alpha);
                var verdict = ratio < options.FourFifthsThreshold ? FourFifthsVerdict.Flagged : FourFifthsVerdict.Ok;
                results.Add(new FourFifthsCheck(metric, rates[i], groups[reference].Key, referenceRate, ratio, verdict, p, p < options.Alpha, users[i]));
            }
        }

        return results;
    }

    private static double? Rate(FairnessMetric metric, GroupTally t) => metric switch
    {
        FairnessMetric.ExposurePerUser => t.Users == 0 ? null : (double)t.Impressions / t.Users,
        FairnessMetric.Ctr => t.Impressions == 0 ? null : (double)t.Clicks / t.Impressions,
        FairnessMetric.ConversionRate => t.ExposedUsers == 0 ? null : (double)t.Converters / t.ExposedUsers,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };

    private static double PValueOfGap(FairnessMetric metric, GroupTally reference, GroupTally group, double alpha) => metric switch
    {
        FairnessMetric.ExposurePerUser => WelchTTest.Compare(ImpressionsPerUser(reference), ImpressionsPerUser(group), alpha).PValue,
        FairnessMetric.Ctr => DeltaMethod.Compare(ClicksPerImpression(reference), ClicksPerImpression(group), alpha).PValue,
        FairnessMetric.ConversionRate => TwoProportionZTest.Compare(Converted(reference), Converted(group), alpha).PValue,
        _ => throw new ArgumentOutOfRangeException(nameof(metric), metric, null),
    };

    private static SampleSummary ImpressionsPerUser(GroupTally t) => SampleSummary.FromSums(t.Users, t.Impressions, t.ImpressionsSquaredSum);

    private static RatioSummary ClicksPerImpression(GroupTally t) =>
        RatioSummary.FromSums(t.ExposedUsers, t.Clicks, t.Impressions, t.ClicksSquaredSum, t.ImpressionsSquaredSum, t.ClicksImpressionsSum);

    private static BinomialCounts Converted(GroupTally t) => new(t.Converters, t.ExposedUsers);

    private static VariantEffect CompareVariants(string variant, GroupTally? control, GroupTally? treatment, FairnessOptions options, VariantEffect? overall)
    {
        control ??= GroupTally.Empty;
        treatment ??= GroupTally.Empty;
        var conversion = TwoProportionZTest.Compare(Converted(control), Converted(treatment), options.Alpha);
        var ctr = DeltaMethod.Compare(ClicksPerImpression(control), ClicksPerImpression(treatment), options.Alpha);
        var conversionEffect = ToEffect(control.ExposedUsers > 0, treatment.ExposedUsers > 0, conversion.ControlRate, conversion.TreatmentRate,
            conversion.Interval, conversion.RelativeLift, conversion.PValue, options.Alpha);
        var ctrEffect = ToEffect(control.Impressions > 0, treatment.Impressions > 0, ctr.ControlRatio, ctr.TreatmentRatio,
            ctr.Interval, ctr.RelativeLift, ctr.PValue, options.Alpha);
        var tooSmall = Math.Min(control.ExposedUsers, treatment.ExposedUsers) < options.MinimumUsers;
        var opposite = new List<string>();
        if (overall is not null && !tooSmall)
        {
            if (Opposes(conversionEffect, overall.Conversion))
            {
                opposite.Add(Conversion);
            }

            if (Opposes(ctrEffect, overall.Ctr))
            {
                opposite.Add(ClickThrough);
            }
        }

        return new VariantEffect
        {
            Variant = variant,
            ControlUsers = control.ExposedUsers,
            TreatmentUsers = treatment.ExposedUsers,
            Conversion = conversionEffect,
            Ctr = ctrEffect,
            TooSmall = tooSmall,
            OppositeMetrics = opposite,
        };
    }

    private static bool Opposes(Effect group, Effect overall) =>
        group.Significant && group.Difference is { } g && overall.Difference is { } o && g != 0 && o != 0 && Math.Sign(g) != Math.Sign(o);

    private static Effect ToEffect(bool controlKnown, bool treatmentKnown, double controlRate, double treatmentRate, ConfidenceInterval interval,
        double? relativeLift, double pValue, double alpha)
    {
        if (!controlKnown || !treatmentKnown)
        {
            return new Effect(controlKnown ? controlRate : null, treatmentKnown ? treatmentRate : null, null, null, null, null, null, false);
        }

        return new Effect(controlRate, treatmentRate, treatmentRate - controlRate, FiniteOrNull(interval.Lower), FiniteOrNull(interval.Upper),
            relativeLift, pValue, pValue < alpha);
    }

    private static Estimate MeanEstimate(SampleSummary summary, double z)
    {
        if (summary.Count == 0)
        {
            return new Estimate(null, null, null);
        }

        if (!summary.HasVariance)
        {
            return new Estimate(summary.Mean, null, null);
        }

        var margin = z * Math.Sqrt(summary.Variance / summary.Count);
        return new Estimate(summary.Mean, summary.Mean - margin, summary.Mean + margin);
    }

    private static Estimate RatioEstimate(RatioSummary summary, double z)
    {
        if (summary.DenominatorMean == 0)
        {
            return new Estimate(null, null, null);
        }

        var variance = DeltaMethod.VarianceOfRatio(summary);
        if (!double.IsFinite(variance))
        {
            return new Estimate(summary.Ratio, null, null);
        }

        var margin = z * Math.Sqrt(variance);
        return new Estimate(summary.Ratio, summary.Ratio - margin, summary.Ratio + margin);
    }

    /// <summary>
    /// The Wilson score interval (Wilson 1927): unlike the Wald interval it stays inside [0, 1] and keeps its coverage
    /// near 0% and 100%, where small groups' conversion rates often are.
    /// </summary>
    internal static Estimate Wilson(long successes, long trials, double z)
    {
        if (trials == 0)
        {
            return new Estimate(null, null, null);
        }

        double n = trials, p = successes / n, z2 = z * z;
        var denominator = 1 + z2 / n;
        var centre = (p + z2 / (2 * n)) / denominator;
        var margin = z / denominator * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n));
        return new Estimate(p, Math.Max(0, centre - margin), Math.Min(1, centre + margin));
    }

    private static double? FiniteOrNull(double value) => double.IsFinite(value) ? value : null;
}
