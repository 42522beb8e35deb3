using System.Globalization;
using System.Text;

namespace ProfileGrid.Experiments.Fairness;

/// <summary>A few plain lines a marketer can read: the flags, the groups too small to judge, item concentration.</summary>
public static class FairnessSummary
{
    private const int NamesListed = 5;

    /// <summary>The audit (and, when given, an experiment's by-group effects) as plain text, one finding a line.</summary>
    public static string Render(FairnessAudit audit, ExperimentFairnessAudit? experiment = null)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var text = new StringBuilder();
        var checks = audit.Dimensions
            .SelectMany(d => d.Groups.SelectMany(g => g.FourFifths.Select(c => (d.Dimension, g.Group, Check: c))))
            .ToList();
        var flagged = checks.Where(c => c.Check.Verdict == FourFifthsVerdict.Flagged).ToList();
        Line(text, $"Fairness audit: {audit.Dimensions.Count} dimensions, {flagged.Count} four-fifths flags " +
                   $"({flagged.Count(c => c.Check.Significant)} statistically significant).");
        if (audit.Dimensions.Count > 0 && flagged.Count == 0)
        {
            Line(text, $"- No group with {audit.MinimumUsers}+ users gets less than {Percent(audit.Threshold)} of the best-served group's exposure, CTR or conversion.");
        }

        foreach (var (dimension, group, check) in flagged)
        {
            var evidence = check.Significant ? $"a real gap ({P(check.PValue)})" : $"could be noise ({P(check.PValue)})";
            Line(text, $"- {dimension} = {group}: {MetricName(check.Metric)} is {Percent(check.Ratio)} of {check.ReferenceGroup}'s " +
                       $"({Number(check.Rate)} against {Number(check.ReferenceRate)}); {evidence}.");
        }

        foreach (var dimension in audit.Dimensions)
        {
            var small = dimension.Groups
                .Where(g => g.FourFifths.Any(c => c.Verdict == FourFifthsVerdict.TooSmall))
                .Select(g => g.Group)
                .ToList();
            if (small.Count > 0)
            {
                Line(text, $"- {dimension.Dimension}: too small to judge (under {audit.MinimumUsers} users): {Names(small)}.");
            }
        }

        var items = audit.Items;
        if (items.Gini is null)
        {
            Line(text, "Items: nothing shown yet.");
        }
        else
        {
            var coverage = items.Coverage is null ? "" : $"; {Percent(items.Coverage)} of the catalog was shown";
            Line(text, $"Items: Gini {Number(items.Gini)}; the {items.HeadItems} most-shown of {items.ItemsCounted} items take {Percent(items.HeadShare)} " +
                       $"of impressions, the long tail {Percent(items.LongTailShare)}; the top {items.TopItems} take {Percent(items.TopItemsShare)}{coverage}.");
        }

        if (experiment is not null)
        {
            RenderExperiment(text, experiment);
        }

        return text.ToString();
    }

    private static void RenderExperiment(StringBuilder text, ExperimentFairnessAudit experiment)
    {
        var harmed = experiment.Dimensions
            .SelectMany(d => d.Groups.SelectMany(g => g.Effects.Where(e => e.Flagged).Select(e => (d, g.Group, Effect: e))))
            .ToList();
        Line(text, $"Experiment {experiment.ExperimentId} (control {experiment.ControlVariant}): " +
                   (harmed.Count == 0 ? "no group is significantly moved against the overall effect." : $"{harmed.Count} group(s) moved against the overall effect."));
        foreach (var (dimension, group, effect) in harmed)
        {
            var overall = dimension.Overall.First(o => o.Variant == effect.Variant);
            foreach (var metric in effect.OppositeMetrics)
            {
                var (inGroup, whole) = metric == "ctr" ? (effect.Ctr, overall.Ctr) : (effect.Conversion, overall.Conversion);
                var name = metric == "ctr" ? "CTR" : "conversion";
                Line(text, $"- {effect.Variant} moves {name} {Points(inGroup.Difference)} for {dimension.Dimension} = {group} ({P(inGroup.PValue)}), " +
                           $"against {Points(whole.Difference)} overall.");
            }
        }
    }

    private static string MetricName(FairnessMetric metric) => metric switch
    {
        FairnessMetric.ExposurePerUser => "exposure per user",
        FairnessMetric.Ctr => "CTR",
        _ => "conversion rate",
    };

    private static string Names(List<string> names) =>
        names.Count <= NamesListed ? string.Join(", ", names) : $"{string.Join(", ", names.Take(NamesListed))} and {names.Count - NamesListed} more";

    private static string Percent(double? value) => value is { } v ? v.ToString("0.#%", CultureInfo.InvariantCulture) : "unknown";

    private static string Number(double? value) => value is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "unknown";

    private static string Points(double? difference) =>
        difference is { } d ? (d * 100).ToString("+0.##;-0.##;0", CultureInfo.InvariantCulture) + " points" : "unknown";

    private static string P(double? p) => p switch
    {
        null => "p unknown",
        < 0.001 => "p < 0.001",
        { } v => "p = " + v.ToString("0.###", CultureInfo.InvariantCulture),
    };

    private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
}
