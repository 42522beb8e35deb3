using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Experiments.Results;

namespace ProfileGrid.Grains.Experiments;

/// <summary>One pass over users' feedback figures: the sums per variant of an experiment that its result needs.</summary>
public static class ExperimentTallies
{
    /// <summary>The tallies of <paramref name="experimentNumber"/>'s variants over <paramref name="users"/>, by variant index.</summary>
    public static VariantTally[] Of(IEnumerable<FeedbackUpdate> users, int experimentNumber)
    {
        var tallies = new Dictionary<int, VariantAccumulator>();
        foreach (var user in users)
        {
            foreach (var outcome in user.Experiments)
            {
                if (outcome.Experiment != experimentNumber)
                {
                    continue;
                }

                if (!tallies.TryGetValue(outcome.Variant, out var tally))
                {
                    tallies[outcome.Variant] = tally = new VariantAccumulator();
                }

                tally.Add(outcome);
            }
        }

        return tallies.OrderBy(pair => pair.Key).Select(pair => pair.Value.ToTally(pair.Key)).ToArray();
    }

    /// <summary>A variant's tally (none: nobody exposed yet) as the analysis takes it.</summary>
    public static VariantFigures Figures(string key, bool control, int weight, VariantTally? tally) => new()
    {
        Key = key,
        Control = control,
        Weight = weight,
        Users = tally?.Users ?? 0,
        Impressions = tally?.Impressions ?? 0,
        ImpressionSquares = tally?.ImpressionSquares ?? 0,
        Clicks = tally?.Clicks ?? 0,
        ClickSquares = tally?.ClickSquares ?? 0,
        ClicksTimesImpressions = tally?.ClicksTimesImpressions ?? 0,
        Clickers = tally?.Clickers ?? 0,
        Converters = tally?.Converters ?? 0,
        CartAdds = tally?.CartAdds ?? 0,
        Purchases = tally?.Purchases ?? 0,
        Revenue = tally?.Revenue ?? 0,
        RevenueSquares = tally?.RevenueSquares ?? 0,
        Covariate = tally?.Covariate ?? 0,
        CovariateSquares = tally?.CovariateSquares ?? 0,
        RevenueTimesCovariate = tally?.RevenueTimesCovariate ?? 0,
        UsersWithMismatches = tally?.UsersWithMismatches ?? 0,
    };

    /// <summary>Sums of one variant's users, added up in place (a scan of a shard allocates one per variant, not one per user).</summary>
    private sealed class VariantAccumulator
    {
        private long _users, _clickers, _converters, _mismatched;
        private double _impressions, _impressionSquares, _clicks, _clickSquares, _clicksTimesImpressions, _cartAdds, _purchases;
        private double _revenue, _revenueSquares, _covariate, _covariateSquares, _revenueTimesCovariate;

        public void Add(ExperimentOutcomeReport user)
        {
            _users++;
            _impressions += user.Impressions;
            _impressionSquares += (double)user.Impressions * user.Impressions;
            _clicks += user.Clicks;
            _clickSquares += (double)user.Clicks * user.Clicks;
            _clicksTimesImpressions += (double)user.Clicks * user.Impressions;
            _clickers += user.Clicks > 0 ? 1 : 0;
            _converters += user.Purchases > 0 ? 1 : 0;
            _cartAdds += user.CartAdds;
            _purchases += user.Purchases;
            _revenue += user.Revenue;
            _revenueSquares += user.Revenue * user.Revenue;
            _covariate += user.PrePeriodRevenue;
            _covariateSquares += user.PrePeriodRevenue * user.PrePeriodRevenue;
            _revenueTimesCovariate += user.Revenue * user.PrePeriodRevenue;
            _mismatched += user.Mismatched > 0 ? 1 : 0;
        }

        public VariantTally ToTally(int variant) => new()
        {
            Variant = variant,
            Users = _users,
            Impressions = _impressions,
            ImpressionSquares = _impressionSquares,
            Clicks = _clicks,
            ClickSquares = _clickSquares,
            ClicksTimesImpressions = _clicksTimesImpressions,
            Clickers = _clickers,
            Converters = _converters,
            CartAdds = _cartAdds,
            Purchases = _purchases,
            Revenue = _revenue,
            RevenueSquares = _revenueSquares,
            Covariate = _covariate,
            CovariateSquares = _covariateSquares,
            RevenueTimesCovariate = _revenueTimesCovariate,
            UsersWithMismatches = _mismatched,
        };
    }
}
