using System.Globalization;

namespace ProfileGrid.Segmentation;

/// <summary>A feature that sets a segment apart: its centroid value (original units) and z-score against the population.</summary>
public sealed record DistinguishingFeature(string Feature, double Value, double ZScore);

/// <summary>
/// The tenant's business thresholds the segment names are judged by (days and orders are absolute; spend is relative to
/// the tenant's own buyers). Defaults suit a general retail shop; set them per tenant with a segmentation run.
/// </summary>
public sealed record LabelRules
{
    /// <summary>A buying segment whose typical member last bought at least this many days ago is <c>dormant</c>.</summary>
    public double DormantAfterDays { get; init; } = 180;

    /// <summary>A buying segment whose typical member last bought at least this many days ago (and not yet dormant) is <c>at-risk</c>.</summary>
    public double AtRiskAfterDays { get; init; } = 90;

    /// <summary>A buying segment whose typical member first bought within this many days is <c>new</c>.</summary>
    public double NewWithinDays { get; init; } = 60;

    /// <summary>A buying segment whose typical member has at least this many orders is <c>loyal</c>.</summary>
    public double LoyalMinOrders { get; init; } = 3;

    /// <summary>
    /// A buying segment is <c>high-value</c> when its buyers spend at least this many times the other buyers both on
    /// average (means) and typically (geometric means, i.e. on the log scale, so that a few very large orders do not
    /// make a segment high-value on their own).
    /// </summary>
    public double HighValueSpendRatio { get; init; } = 2;

    /// <summary>The longest threshold in days accepted (100 years).</summary>
    public const double MaxDays = 36_500;

    /// <summary>Every problem with these rules, naming the setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        static bool Days(double value) => value > 0 && value <= MaxDays;
        if (!Days(DormantAfterDays))
        {
            problems.Add($"dormant_after_days: must be a number of days between 0 and {MaxDays:0} (exclusive of 0); got {DormantAfterDays}.");
        }

        if (!Days(AtRiskAfterDays))
        {
            problems.Add($"at_risk_after_days: must be a number of days between 0 and {MaxDays:0} (exclusive of 0); got {AtRiskAfterDays}.");
        }
        else if (Days(DormantAfterDays) && AtRiskAfterDays >= DormantAfterDays)
        {
            problems.Add($"at_risk_after_days: must be positive and below dormant_after_days ({DormantAfterDays}); got {AtRiskAfterDays}.");
        }

        if (!Days(NewWithinDays))
        {
            problems.Add($"new_within_days: must be a number of days between 0 and {MaxDays:0} (exclusive of 0); got {NewWithinDays}.");
        }
        else if (Days(AtRiskAfterDays) && NewWithinDays > AtRiskAfterDays)
        {
            problems.Add($"new_within_days: must not exceed at_risk_after_days ({AtRiskAfterDays}): a customer who first bought longer ago is no longer new; got {NewWithinDays}.");
        }

        if (!(LoyalMinOrders >= 2) || !double.IsFinite(LoyalMinOrders))
        {
            problems.Add($"loyal_min_orders: must be at least 2; got {LoyalMinOrders}.");
        }

        if (!(HighValueSpendRatio > 1) || !double.IsFinite(HighValueSpendRatio))
        {
            problems.Add($"high_value_spend_ratio: must be greater than 1; got {HighValueSpendRatio}.");
        }

        return problems;
    }
}

/// <summary>
/// What a segment's members are like, in business terms, measured on its training rows (all source features, original
/// units). Purchase figures are medians over the members who bought (lifetime orders above 0); null when the source has
/// no such feature or no member bought.
/// </summary>
public sealed class SegmentFacts
{
    public int Members { get; init; }

    /// <summary>Share of all training rows (users with features) in this segment.</summary>
    public double Share { get; init; }

    /// <summary>Share of the members who ever bought.</summary>
    public double BuyerShare { get; init; }

    public double? DaysSinceLastPurchase { get; init; }

    public double? DaysSinceFirstPurchase { get; init; }

    public double? Orders { get; init; }

    /// <summary>Share of the buyers with exactly one order.</summary>
    public double? OneTimeShare { get; init; }

    /// <summary>Median lifetime spend of the buyers, in the reporting currency.</summary>
    public double? TypicalSpend { get; init; }

    /// <summary>Share of all revenue that the segment's members brought.</summary>
    public double? RevenueShare { get; init; }

    /// <summary>Mean spend of the segment's buyers over the mean spend of the buyers outside it; null without other buyers.</summary>
    public double? SpendRatio { get; init; }

    /// <summary>Geometric-mean spend of the segment's buyers over that of the buyers outside it: <see cref="SpendRatio"/> on the log scale.</summary>
    public double? TypicalSpendRatio { get; init; }

    /// <summary>Median days since the members were last seen (any event).</summary>
    public double? DaysSinceLastSeen { get; init; }

    /// <summary>Median sessions of the members.</summary>
    public double? Sessions { get; init; }

    /// <summary>Median days since the members were first seen (tenure).</summary>
    public double? DaysSinceFirstSeen { get; init; }

    /// <summary>
    /// Share of the buyers whose last purchase is within <see cref="LabelRules.AtRiskAfterDays"/>; null without the rules
    /// or a buyer. A name judged on the median holds for half the buyers at least: this says how many it does not hold for.
    /// </summary>
    public double? BoughtBeforeAtRiskShare { get; init; }

    /// <summary>Share of the buyers whose last purchase is within <see cref="LabelRules.DormantAfterDays"/>; null without the rules or a buyer.</summary>
    public double? BoughtBeforeDormantShare { get; init; }
}

/// <summary>A segment's name: the rule it satisfies, a distinct label, a one-line description and the facts behind them.</summary>
public sealed record SegmentLabel(string Rule, string Label, string Description, SegmentFacts Facts);

/// <summary>
/// Names segments from what their members did, with fixed, documented rules on business facts (<see cref="SegmentFacts"/>)
/// against the tenant's thresholds (<see cref="LabelRules"/>), and lists the features that set each apart.
/// </summary>
public static class SegmentLabeler
{
    /// <summary>How many distinguishing features each segment lists.</summary>
    public const int TopFeatures = 3;

    /// <summary>The rule names, in the order they are tried.</summary>
    public static IReadOnlyList<string> Rules { get; } = ["browser", "inactive", "dormant", "high-value", "at-risk", "new", "loyal", "casual"];

    /// <summary>
    /// The rule a segment satisfies: the first that holds, in this order.
    /// <list type="number">
    /// <item>Fewer than half of the members ever bought: <c>inactive</c> when they were typically last seen at least
    /// <see cref="LabelRules.DormantAfterDays"/> ago, otherwise <c>browser</c> (visits, does not buy).</item>
    /// <item><c>dormant</c>: the buyers typically last bought at least <see cref="LabelRules.DormantAfterDays"/> ago.</item>
    /// <item><c>high-value</c>: the buyers spend at least <see cref="LabelRules.HighValueSpendRatio"/> times the other
    /// buyers, both on average and typically (log scale).</item>
    /// <item><c>at-risk</c>: the buyers typically last bought at least <see cref="LabelRules.AtRiskAfterDays"/> ago.</item>
    /// <item><c>new</c>: the buyers typically first bought within <see cref="LabelRules.NewWithinDays"/>.</item>
    /// <item><c>loyal</c>: the buyers typically have at least <see cref="LabelRules.LoyalMinOrders"/> orders.</item>
    /// <item><c>casual</c>: bought recently, a few orders, ordinary spend.</item>
    /// </list>
    /// "Typically" is the median over the segment's buyers. A rule whose fact is missing does not hold.
    /// </summary>
    public static string RuleOf(SegmentFacts facts, LabelRules rules)
    {
        ArgumentNullException.ThrowIfNull(facts);
        ArgumentNullException.ThrowIfNull(rules);
        if (facts.BuyerShare < 0.5)
        {
            return facts.DaysSinceLastSeen >= rules.DormantAfterDays ? "inactive" : "browser";
        }

        if (facts.DaysSinceLastPurchase >= rules.DormantAfterDays)
        {
            return "dormant";
        }

        if (facts.SpendRatio >= rules.HighValueSpendRatio && facts.TypicalSpendRatio >= rules.HighValueSpendRatio)
        {
            return "high-value";
        }

        if (facts.DaysSinceLastPurchase >= rules.AtRiskAfterDays)
        {
            return "at-risk";
        }

        if (facts.DaysSinceFirstPurchase <= rules.NewWithinDays)
        {
            return "new";
        }

        if (facts.Orders >= rules.LoyalMinOrders)
        {
            return "loyal";
        }

        return "casual";
    }

    /// <summary>
    /// Names the <paramref name="k"/> segments of <paramref name="assignment"/> (one segment index per row of
    /// <paramref name="rows"/>, which hold every source feature in original units). Each segment gets the rule it
    /// satisfies (<see cref="RuleOf"/>); a rule held by one segment is its label; when several segments hold the same
    /// rule, each label adds a qualifier from the fact that differs most between them (spend, orders or recency for
    /// buyers, recency only for dormant and at-risk; sessions or recency for non-buyers), ranking them against each
    /// other: "dormant lower-spend" and "dormant higher-spend", "at-risk one-time" and "at-risk repeat", "dormant 8
    /// months" and "dormant 16 months". Labels are distinct; no bare numbers.
    /// </summary>
    public static IReadOnlyList<SegmentLabel> Label(
        IReadOnlyList<string> sourceFeatures, double[][] rows, int[] assignment, int k, LabelRules rules, string currency = "")
    {
        ArgumentNullException.ThrowIfNull(sourceFeatures);
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(assignment);
        ArgumentNullException.ThrowIfNull(rules);
        if (rows.Length != assignment.Length)
        {
            throw new ArgumentException("Every row needs a segment.", nameof(assignment));
        }

        var facts = Facts(sourceFeatures, rows, assignment, k, rules);
        var ruleOf = facts.Select(f => RuleOf(f, rules)).ToArray();
        var labels = new string[k];
        var newestPurchaseDays = NewestPurchaseDays(sourceFeatures, rows);
        foreach (var group in Enumerable.Range(0, k).GroupBy(c => ruleOf[c]))
        {
            var members = group.ToArray();
            if (members.Length == 1)
            {
                labels[members[0]] = group.Key;
                continue;
            }

            var qualifiers = Qualifiers(group.Key, members.Select(c => facts[c]).ToArray(), newestPurchaseDays);
            for (var i = 0; i < members.Length; i++)
            {
                labels[members[i]] = $"{group.Key} {qualifiers[i]}";
            }
        }

        MakeDistinct(labels, facts);
        return Enumerable.Range(0, k)
            .Select(c => new SegmentLabel(ruleOf[c], labels[c], Describe(ruleOf[c], facts[c], currency, rules), facts[c]))
            .ToArray();
    }

    /// <summary>
    /// Per segment, the <see cref="TopFeatures"/> model features with the largest |z| of the centroid (original units)
    /// against the population mean and standard deviation (z = 0 when the deviation is 0); ties keep feature order.
    /// </summary>
    public static IReadOnlyList<DistinguishingFeature[]> Distinguish(
        IReadOnlyList<string> featureNames, double[][] centroidsInOriginalUnits, double[] overallMean, double[] overallStdDev)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(centroidsInOriginalUnits);
        var d = featureNames.Count;
        if (overallMean.Length != d || overallStdDev.Length != d)
        {
            throw new ArgumentException("The mean and standard deviation must have one value per feature.");
        }

        return centroidsInOriginalUnits.Select((centroid, s) =>
        {
            if (centroid is null || centroid.Length != d)
            {
                throw new ArgumentException($"Centroid {s} must have {d} values.", nameof(centroidsInOriginalUnits));
            }

            var z = new double[d];
            for (var j = 0; j < d; j++)
            {
                var sd = overallStdDev[j];
                z[j] = sd > 0 && double.IsFinite(sd) ? (centroid[j] - overallMean[j]) / sd : 0;
            }

            return Enumerable.Range(0, d)
                .OrderByDescending(j => Math.Abs(z[j]))
                .ThenBy(j => j)
                .Take(TopFeatures)
                .Select(j => new DistinguishingFeature(featureNames[j], centroid[j], z[j]))
                .ToArray();
        }).ToArray();
    }

    /// <summary>The business facts of each segment (see <see cref="SegmentFacts"/>).</summary>
    public static SegmentFacts[] Facts(IReadOnlyList<string> sourceFeatures, double[][] rows, int[] assignment, int k, LabelRules? rules = null)
    {
        int? Column(params string[] names)
        {
            foreach (var name in names)
            {
                for (var j = 0; j < sourceFeatures.Count; j++)
                {
                    if (sourceFeatures[j] == name)
                    {
                        return j;
                    }
                }
            }

            return null;
        }

        var orders = Column("frequency", "frequency_365d");
        var spend = Column("monetary", "monetary_365d");
        var recency = Column("recency_days");
        var first = Column("days_since_first_purchase");
        var seen = Column("days_since_last_seen");
        var sessions = Column("sessions");
        var tenure = Column("tenure_days");

        bool Bought(double[] row) => orders is { } o ? row[o] > 0 : spend is not { } m || row[m] > 0;

        var totalRevenue = spend is { } st ? rows.Sum(r => r[st]) : 0;
        // Spend sums over the buyers of each segment, so each segment is compared with the buyers outside it.
        var buyerCount = new int[k];
        var spendSum = new double[k];
        var logSpendSum = new double[k];
        for (var i = 0; i < rows.Length; i++)
        {
            if (!Bought(rows[i]))
            {
                continue;
            }

            var c = assignment[i];
            buyerCount[c]++;
            if (spend is { } js)
            {
                spendSum[c] += rows[i][js];
                logSpendSum[c] += double.LogP1(Math.Max(0, rows[i][js]));
            }
        }

        var result = new SegmentFacts[k];
        for (var c = 0; c < k; c++)
        {
            var members = rows.Where((_, i) => assignment[i] == c).ToArray();
            var memberBuyers = members.Where(Bought).ToArray();
            double? BuyerMedian(int? column) => column is { } j && memberBuyers.Length > 0 ? Median(memberBuyers.Select(r => r[j])) : null;
            double? MemberMedian(int? column) => column is { } j && members.Length > 0 ? Median(members.Select(r => r[j])) : null;
            double? BuyersWithin(double? days) => recency is { } jr && days is { } limit && memberBuyers.Length > 0
                ? (double)memberBuyers.Count(r => r[jr] < limit) / memberBuyers.Length
                : null;

            double? spendRatio = null, typicalRatio = null, revenueShare = null;
            var otherBuyers = buyerCount.Sum() - buyerCount[c];
            if (spend is not null && buyerCount[c] > 0 && otherBuyers > 0)
            {
                var otherMean = (spendSum.Sum() - spendSum[c]) / otherBuyers;
                spendRatio = otherMean > 0 ? spendSum[c] / buyerCount[c] / otherMean : null;
                typicalRatio = Math.Exp(logSpendSum[c] / buyerCount[c] - (logSpendSum.Sum() - logSpendSum[c]) / otherBuyers);
            }

            if (spend is { } s && totalRevenue > 0)
            {
                revenueShare = members.Sum(r => r[s]) / totalRevenue;
            }

            result[c] = new SegmentFacts
            {
                Members = members.Length,
                Share = rows.Length == 0 ? 0 : (double)members.Length / rows.Length,
                BuyerShare = members.Length == 0 ? 0 : (double)memberBuyers.Length / members.Length,
                DaysSinceLastPurchase = BuyerMedian(recency),
                DaysSinceFirstPurchase = BuyerMedian(first),
                Orders = BuyerMedian(orders),
                OneTimeShare = orders is { } jo && memberBuyers.Length > 0 ? (double)memberBuyers.Count(r => r[jo] <= 1) / memberBuyers.Length : null,
                TypicalSpend = BuyerMedian(spend),
                RevenueShare = revenueShare,
                SpendRatio = spendRatio,
                TypicalSpendRatio = typicalRatio,
                DaysSinceLastSeen = MemberMedian(seen),
                Sessions = MemberMedian(sessions),
                DaysSinceFirstSeen = MemberMedian(tenure),
                BoughtBeforeAtRiskShare = BuyersWithin(rules?.AtRiskAfterDays),
                BoughtBeforeDormantShare = BuyersWithin(rules?.DormantAfterDays),
            };
        }

        return result;
    }

    /// <summary>
    /// One line in business words, such as "Lapsed one-time buyers: 65% of users, last purchase about 16 months ago, 1 order,
    /// 30 USD spent". With the <paramref name="rules"/> the names were judged by: high-value comes before at-risk among
    /// the rules, so top spenders who typically last bought at the at-risk threshold or longer ago are "Top spenders
    /// slipping away" (a win-back audience, not a VIP one); dormant comes before high-value, so a dormant segment that
    /// spends like a high-value one is "Lapsed top spenders", and one whose typical last purchase is just past the dormant
    /// threshold says so (an outside probe's retail history had its best customers, 66% of revenue, "dormant" at 184 days
    /// against 180).
    /// </summary>
    public static string Describe(string rule, SegmentFacts facts, string currency = "", LabelRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(facts);
        var atRiskAfterDays = rules?.AtRiskAfterDays ?? double.PositiveInfinity;
        var dormantAfterDays = rules?.DormantAfterDays ?? double.PositiveInfinity;
        var spendsLikeHighValue = rules is not null
            && facts.SpendRatio >= rules.HighValueSpendRatio && facts.TypicalSpendRatio >= rules.HighValueSpendRatio;
        // "One-time" or "repeat" only when two thirds of the buyers are; otherwise the lead does not say.
        var oneTime = facts.OneTimeShare is >= 2.0 / 3;
        var repeat = facts.OneTimeShare is <= 1.0 / 3;
        // "Never bought" only when none did: a fifth of buyers in a segment that says "never" is a claim the figures deny.
        var noneBought = facts.BuyerShare < 0.005;
        var lead = rule switch
        {
            "browser" => noneBought ? "Browsers who have not bought" : "Browsers, mostly not buying",
            "inactive" => noneBought ? "Inactive visitors who never bought" : "Inactive visitors, mostly non-buyers",
            "dormant" => spendsLikeHighValue ? "Lapsed top spenders" : oneTime ? "Lapsed one-time buyers" : repeat ? "Lapsed repeat buyers" : "Lapsed buyers",
            "high-value" => facts.DaysSinceLastPurchase >= atRiskAfterDays ? "Top spenders slipping away" : "Top spenders",
            "at-risk" => oneTime ? "One-time buyers slipping away" : repeat ? "Repeat buyers slipping away" : "Buyers slipping away",
            "new" => "New customers",
            "loyal" => "Loyal repeat buyers",
            _ => oneTime ? "One-time buyers" : "Occasional buyers",
        };

        var parts = new List<string> { $"{facts.Share.ToString("0%", CultureInfo.InvariantCulture)} of users" };
        if (rule is "browser" or "inactive")
        {
            parts.Add($"{facts.BuyerShare.ToString("0%", CultureInfo.InvariantCulture)} ever bought");
            if (facts.DaysSinceLastSeen is { } seen)
            {
                parts.Add($"last seen {Ago(seen)}");
            }

            if (facts.DaysSinceFirstSeen is { } arrived)
            {
                parts.Add($"first seen {Ago(arrived)}");
            }

            if (facts.Sessions is { } sessions)
            {
                parts.Add(Count(sessions, "session"));
            }
        }
        else
        {
            if (facts.DaysSinceLastPurchase is { } last)
            {
                parts.Add(rule == "dormant" && last < dormantAfterDays * JustPast
                    ? $"last purchase {Ago(last)} (just past the {dormantAfterDays.ToString("0", CultureInfo.InvariantCulture)}-day dormant threshold)"
                    : $"last purchase {Ago(last)}");
            }

            // The name is the median buyer's: when a fifth or more of the buyers bought more recently than it says, the
            // description says how many (probe65: 36% of a "dormant" segment had bought within 180 days, one 8 days before).
            var (within, withinDays) = rule switch
            {
                "dormant" => (facts.BoughtBeforeDormantShare, dormantAfterDays),
                "at-risk" => (facts.BoughtBeforeAtRiskShare, atRiskAfterDays),
                _ => (null, double.NaN),
            };
            // Members who never bought (cancellations only, an order refunded whole before the history) count among those
            // the name does not fit (probe69: 25 users who had only cancelled, one 15 days before, in "Lapsed one-time
            // buyers", and the buyers-only share stayed under a fifth).
            var neverBought = Math.Max(0, 1 - facts.BuyerShare);
            var recentOfMembers = within is { } w && double.IsFinite(withinDays) ? w * facts.BuyerShare : 0;
            if (recentOfMembers + neverBought >= MisfitShare)
            {
                var caveats = new List<string>();
                if (recentOfMembers >= 0.005)
                {
                    caveats.Add($"{recentOfMembers.ToString("0%", CultureInfo.InvariantCulture)} of its members bought within {withinDays.ToString("0", CultureInfo.InvariantCulture)} days");
                }

                if (neverBought >= 0.005)
                {
                    caveats.Add($"{neverBought.ToString("0%", CultureInfo.InvariantCulture)} never bought");
                }

                parts.Add("though " + string.Join(" and ", caveats));
            }

            if (rule == "new" && facts.DaysSinceFirstPurchase is { } first)
            {
                parts.Add($"first purchase {Ago(first)}");
            }

            if (facts.Orders is { } orders)
            {
                parts.Add(Count(orders, "order"));
            }

            if (facts.TypicalSpend is { } spent)
            {
                var amount = spent.ToString("N0", CultureInfo.InvariantCulture);
                parts.Add(string.IsNullOrEmpty(currency) ? $"{amount} spent" : $"{amount} {currency} spent");
            }

            if (facts.Orders is not null && facts.OneTimeShare is { } once && !oneTime && !repeat)
            {
                parts.Add($"{once.ToString("0%", CultureInfo.InvariantCulture)} bought once");
            }

            if (facts.RevenueShare is { } revenue)
            {
                parts.Add(revenue is > 0 and < 0.005 ? "under 1% of revenue" : $"{revenue.ToString("0%", CultureInfo.InvariantCulture)} of revenue");
            }
        }

        return $"{lead}: {string.Join(", ", parts)}";
    }

    /// <summary>
    /// Days since the tenant's most recent purchase (the least recency of any buyer): where the history ends. 0 without
    /// the columns or a buyer.
    /// </summary>
    private static double NewestPurchaseDays(IReadOnlyList<string> sourceFeatures, double[][] rows)
    {
        var (recency, orders) = (IndexOf(sourceFeatures, "recency_days"), IndexOf(sourceFeatures, "frequency"));
        if (recency < 0 || orders < 0)
        {
            return 0;
        }

        var newest = double.PositiveInfinity;
        foreach (var row in rows)
        {
            if (row[orders] > 0 && row[recency] < newest)
            {
                newest = row[recency];
            }
        }

        return double.IsFinite(newest) ? Math.Max(0, newest) : 0;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Distinct qualifiers for segments sharing a rule, from the fact that differs most between them. Recency is compared
    /// as days since the history's end (<paramref name="historyEndDays"/> before the run), not since the run: a 2011 export
    /// read in 2026 has its 2010 and 2011 buyers 5,973 and 5,616 days back, 6% apart, though a year apart, and two
    /// dormant segments of them spending 14% apart were named "lower-spend" and "higher-spend" (probe61).
    /// </summary>
    private static string[] Qualifiers(string rule, SegmentFacts[] group, double historyEndDays)
    {
        var buying = rule is not ("browser" or "inactive");
        // Recency tells segments apart only among the lapsing; "high-value 3 days" would say nothing to a marketer.
        var lapsing = rule is "dormant" or "at-risk";
        // Days of visiting are compared a week apart at least: "last seen 1 day" and "2 days" ago, or first seen 3 and 5
        // weeks ago, tell a marketer nothing (probe65: five MovieLens rater segments named "browser 1 day", "2 days" and
        // "4 days" though they differed by activity and tenure).
        var candidates = buying
            ? new (string Name, Func<SegmentFacts, double?> Value, double Smoothing)[]
            {
                ("spend", f => f.TypicalSpend, 1),
                ("orders", f => f.Orders, 1),
                ("recency", f => lapsing ? f.DaysSinceLastPurchase - historyEndDays : null, 1),
            }
            : [("engagement", f => f.Sessions, 1), ("tenure", f => f.DaysSinceFirstSeen, 7), ("recency", f => f.DaysSinceLastSeen, 7)];

        // The fact that tells every segment from its neighbour: among those whose closest pair still differs by a fifth,
        // the widest; failing that, the one whose closest pair differs most. Ranking by the widest fact alone named four
        // dormant segments by spend although two of them spent 52 and 55 and were told apart by recency (outside probe).
        var measured = candidates
            .Select(c => (c.Name, Values: group.Select(c.Value).ToArray(), c.Smoothing))
            .Where(c => c.Values.All(v => v is not null))
            .Select(c => (c.Name, Values: c.Values.Select(v => v!.Value).ToArray(), c.Smoothing))
            .Select(c => (c.Name, c.Values, Spread: Ratio(c.Values.Max(), c.Values.Min(), c.Smoothing), ClosestPair: ClosestPairRatio(c.Values, c.Smoothing)))
            .Where(c => c.Spread > 1 + 1e-9)
            .ToList();
        var best = measured.Where(c => c.ClosestPair >= MinNeighbourRatio).OrderByDescending(c => c.Spread).FirstOrDefault();
        if (best.Name is null)
        {
            best = measured.OrderByDescending(c => c.ClosestPair).ThenByDescending(c => c.Spread).FirstOrDefault();
        }

        if (best.Name is null)
        {
            return group.Select(f => $"({f.Share.ToString("0%", CultureInfo.InvariantCulture)} of users)").ToArray();
        }

        var values = best.Values;
        if (best.Name == "recency")
        {
            return values.Select(days => Span(days + (buying ? historyEndDays : 0))).ToArray();
        }

        if (best.Name == "tenure")
        {
            return values.Select(days => $"first seen {Span(days)} ago").ToArray();
        }

        var oneTimeShares = group.Select(f => f.OneTimeShare ?? 0).ToArray();
        if (best.Name == "orders" && group.Length == 2 && oneTimeShares.Count(v => v >= 2.0 / 3) == 1 && oneTimeShares.Count(v => v <= 1.0 / 3) == 1)
        {
            return oneTimeShares.Select(v => v >= 2.0 / 3 ? "one-time" : "repeat").ToArray();
        }

        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ThenBy(i => i).ToArray();
        var result = new string[values.Length];
        if (rule == "high-value" && best.Name == "spend" && group.Length <= TierWords.Length)
        {
            // "high-value lower-spend" would contradict itself: high-value segments are ranked as tiers of top spenders.
            for (var rank = 0; rank < order.Length; rank++)
            {
                result[order[order.Length - 1 - rank]] = TierWords[rank];
            }

            return result;
        }

        var words = RankWords(group.Length);
        var suffix = best.Name switch
        {
            "spend" => "-spend",
            "orders" => "-frequency",
            _ => "-engagement",
        };
        for (var rank = 0; rank < order.Length; rank++)
        {
            result[order[rank]] = words[rank] + suffix;
        }

        return result;
    }

    /// <summary>The share of a segment's buyers for whom its name does not hold, from which the description says so.</summary>
    private const double MisfitShare = 0.2;

    /// <summary>A typical last purchase under this many times the dormant threshold is described as just past it.</summary>
    private const double JustPast = 1.1;

    /// <summary>How much a qualifier's fact must differ between neighbouring segments to rank them plainly.</summary>
    private const double MinNeighbourRatio = 1.2;

    // Plus one, so that 0 and 1 order compare as 1 to 2 rather than divide by zero (plus a week for days of visiting).
    private static double Ratio(double larger, double smaller, double smoothing = 1) => (larger + smoothing) / (Math.Max(0, smaller) + smoothing);

    private static double ClosestPairRatio(double[] values, double smoothing)
    {
        var sorted = values.Order().ToArray();
        var closest = double.PositiveInfinity;
        for (var i = 1; i < sorted.Length; i++)
        {
            closest = Math.Min(closest, Ratio(sorted[i], sorted[i - 1], smoothing));
        }

        return closest;
    }

    /// <summary>High-value segments told apart by spend, the highest first.</summary>
    private static readonly string[] TierWords = ["top-tier", "second-tier", "third-tier", "fourth-tier", "fifth-tier"];

    /// <summary>Comparative words: the qualifier ranks segments of one rule against each other, not against the tenant.</summary>
    private static string[] RankWords(int n) => n switch
    {
        2 => ["lower", "higher"],
        3 => ["lowest", "middle", "highest"],
        4 => ["lowest", "lower", "higher", "highest"],
        5 => ["lowest", "lower", "middle", "higher", "highest"],
        _ => Enumerable.Range(1, n).Select(i => $"rank-{i}-of-{n}").ToArray(),
    };

    /// <summary>Any labels still equal (equal facts) get their share of users appended, so no two segments share a name.</summary>
    private static void MakeDistinct(string[] labels, SegmentFacts[] facts)
    {
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(c => labels[c]).Where(g => g.Count() > 1).ToArray())
        {
            var ordinal = 0;
            foreach (var c in group)
            {
                ordinal++;
                // A label qualified by its share already says it once ("inactive (50% of users)"): only the part is added.
                labels[c] = labels[c].EndsWith(" of users)", StringComparison.Ordinal)
                    ? $"{labels[c][..^1]}, part {ordinal})"
                    : $"{labels[c]} ({facts[c].Share.ToString("0%", CultureInfo.InvariantCulture)} of users, part {ordinal})";
            }
        }
    }

    // Under a day is not "today": measured to a midnight (a run as of a history's end), it was the day before.
    private static string Ago(double days) => days < 1 ? "within the last day" : $"about {Span(days)} ago";

    private static string Span(double days)
    {
        if (days < 14)
        {
            var d = Math.Max(1, (int)Math.Round(days));
            return d == 1 ? "1 day" : $"{d} days";
        }

        if (days < 60)
        {
            return $"{(int)Math.Round(days / 7)} weeks";
        }

        var months = (int)Math.Round(days / 30.44);
        return months < 24 ? $"{months} months" : $"{Math.Round(days / 365.25, 1).ToString("0.#", CultureInfo.InvariantCulture)} years";
    }

    private static string Count(double value, string noun)
    {
        var rounded = Math.Round(value, value < 10 ? 1 : 0);
        var text = rounded.ToString("0.#", CultureInfo.InvariantCulture);
        return rounded == 1 ? $"1 {noun}" : $"{text} {noun}s";
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
