using ProfileGrid.Contracts.V1;
using Lib = ProfileGrid.Experiments.Results;

namespace ProfileGrid.Silo.Gateway;

/// <summary>An experiment's results (the library's records) on the wire.</summary>
internal static class ExperimentResultsMapper
{
    public static ExperimentResults ToWire(Lib.ExperimentResult result, string status, string computedAt)
    {
        var wire = new ExperimentResults { ExperimentId = result.ExperimentId, Status = status, Alpha = result.Alpha, ComputedAt = computedAt };
        wire.Variants.AddRange(result.Variants.OrderByDescending(v => v.Control).Select(v => new VariantResult
        {
            Key = v.Key,
            Control = v.Control,
            Users = v.Users,
            ExpectedShare = v.ExpectedShare,
            ObservedShare = v.ObservedShare,
            Impressions = v.Impressions,
            Clicks = v.Clicks,
            Ctr = v.Ctr,
            Clickers = v.Clickers,
            Converters = v.Converters,
            ConversionRate = v.ConversionRate,
            Purchases = v.Purchases,
            Revenue = v.Revenue,
            RevenuePerUser = v.RevenuePerUser,
            UsersWithMismatches = v.UsersWithMismatches,
        }));
        if (result.SampleRatio is { } ratio)
        {
            wire.SampleRatio = new SampleRatioCheck
            {
                Observed = { ratio.Observed },
                Expected = { ratio.Expected },
                ChiSquare = ratio.ChiSquare,
                DegreesOfFreedom = ratio.DegreesOfFreedom,
                PValue = ratio.PValue,
                Threshold = ratio.Threshold,
                Mismatch = ratio.Mismatch,
            };
        }

        wire.Comparisons.AddRange(result.Comparisons.Select(c => new VariantComparison
        {
            Variant = c.Variant,
            Conversion = Metric(c.Conversion),
            Ctr = Metric(c.Ctr),
            RevenuePerUser = Metric(c.RevenuePerUser),
            RevenuePerUserCuped = Metric(c.RevenuePerUserCuped),
            CupedVarianceReduction = c.CupedVarianceReduction,
            BayesianConversion = new BayesianResult
            {
                ProbabilityToBeatControl = c.BayesianConversion.ProbabilityToBeatControl,
                ExpectedLossChoosingTreatment = c.BayesianConversion.ExpectedLossChoosingTreatment,
                ExpectedLossChoosingControl = c.BayesianConversion.ExpectedLossChoosingControl,
                ControlInterval = Interval(c.BayesianConversion.ControlInterval),
                TreatmentInterval = Interval(c.BayesianConversion.TreatmentInterval),
            },
            Verdict = c.Verdict,
        }));
        wire.Notes.AddRange(result.Notes);
        return wire;
    }

    private static MetricComparison Metric(Lib.MetricComparison metric)
    {
        var wire = new MetricComparison
        {
            Metric = metric.Metric,
            Method = metric.Method,
            Control = metric.Control,
            Treatment = metric.Treatment,
            Difference = metric.Difference,
            Interval = Interval(metric.Interval),
            PValue = metric.PValue,
            Significant = metric.Significant,
            Caveat = metric.Caveat ?? "",
        };
        if (metric.RelativeLift is { } lift)
        {
            wire.RelativeLift = lift;
        }

        if (metric.Sequential is { } sequential)
        {
            wire.Sequential = new SequentialResult
            {
                Looks = sequential.Looks,
                PValue = sequential.PValue,
                Interval = Interval(sequential.Interval),
                Significant = sequential.Significant,
            };
        }

        return wire;
    }

    private static Interval Interval(Lib.IntervalView interval)
    {
        var wire = new Interval { Level = interval.Level };
        if (interval.Lower is { } lower)
        {
            wire.Lower = lower;
        }

        if (interval.Upper is { } upper)
        {
            wire.Upper = upper;
        }

        return wire;
    }
}
