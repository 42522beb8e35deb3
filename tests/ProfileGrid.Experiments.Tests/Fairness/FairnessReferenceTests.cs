using System.Globalization;
using System.Text;
using System.Text.Json;
using ProfileGrid.Experiments.Fairness;
using ProfileGrid.Tests;

namespace ProfileGrid.Experiments.Tests.Fairness;

/// <summary>
/// The audit against pandas, numpy and scipy on the same data: per-user rows are tallied in C# (over three shards,
/// added) and grouped by pandas; the four-fifths ratios and the Gini and shares within 1e-12, the intervals and
/// p-values within 1e-9 relative. The script is written from the textbook formulas, not from this library's code.
/// </summary>
public sealed class FairnessReferenceTests
{
    private const double Alpha = 0.05;
    private const long MinimumUsers = 60;

    private static readonly string[] Dimensions = [FairnessDimensions.Gender, FairnessDimensions.AgeBand, FairnessDimensions.Visitor, FairnessDimensions.Country];

    private const string GroupScript = """
        import json, sys
        import numpy as np
        import pandas as pd
        from scipy import stats

        folder = sys.argv[1]
        cfg = json.load(open(folder + "/config.json"))
        alpha, minimum = cfg["alpha"], cfg["minimum"]
        zq = stats.norm.ppf(1 - alpha / 2)
        rows = pd.read_csv(folder + "/rows.csv", keep_default_na=False)
        rows["exposed"] = (rows["impressions"] > 0).astype(int)
        rows["converter"] = (rows["purchases"] > 0).astype(int)
        out, verdicts = {}, {}

        def delta_var(x, y):
            n, mx, my = len(x), x.mean(), y.mean()
            s = np.cov(x, y, ddof=1)
            return (s[0, 0] / my ** 2 - 2 * mx * s[0, 1] / my ** 3 + mx ** 2 * s[1, 1] / my ** 4) / n

        for dim in cfg["dimensions"]:
            g = rows.groupby(dim).agg(users=("impressions", "size"), exposed=("exposed", "sum"), impressions=("impressions", "sum"),
                                      clicks=("clicks", "sum"), converters=("converter", "sum"))
            rates = {
                "exposure_per_user": (g["impressions"] / g["users"], g["users"]),
                "ctr": (g["clicks"] / g["impressions"], g["exposed"]),
                "conversion_rate": (g["converters"] / g["exposed"], g["exposed"]),
            }
            for metric, (rate, users) in rates.items():
                eligible = rate[users >= minimum]
                best = eligible.idxmax()
                for group in g.index:
                    key = f"{dim}.{group}.{metric}"
                    out[key + ".ratio"] = rate[group] / eligible.max()
                    judged = users[group] >= minimum
                    verdicts[key] = "too_small" if not judged else ("flagged" if rate[group] / eligible.max() < 0.8 else "ok")
                    if not judged or group == best:
                        continue
                    a, b = rows[rows[dim] == best], rows[rows[dim] == group]
                    if metric == "exposure_per_user":
                        out[key + ".p"] = stats.ttest_ind(b["impressions"], a["impressions"], equal_var=False).pvalue
                    elif metric == "ctr":
                        a, b = a[a["exposed"] == 1], b[b["exposed"] == 1]
                        v = delta_var(a["clicks"].to_numpy(float), a["impressions"].to_numpy(float)) + \
                            delta_var(b["clicks"].to_numpy(float), b["impressions"].to_numpy(float))
                        out[key + ".p"] = 2 * stats.norm.sf(abs(rate[group] - rate[best]) / np.sqrt(v))
                    else:
                        x1, n1, x2, n2 = a["converter"].sum(), a["exposed"].sum(), b["converter"].sum(), b["exposed"].sum()
                        pooled = (x1 + x2) / (n1 + n2)
                        z = (x2 / n2 - x1 / n1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
                        out[key + ".p"] = 2 * stats.norm.sf(abs(z))

            for group in g.index:
                rs = rows[rows[dim] == group]
                ex = rs[rs["exposed"] == 1]
                key = f"{dim}.{group}"
                ci = stats.binomtest(int(ex["converter"].sum()), len(ex)).proportion_ci(confidence_level=1 - alpha, method="wilson")
                out[key + ".conversion.lower"], out[key + ".conversion.upper"] = ci.low, ci.high
                x, y = ex["clicks"].to_numpy(float), ex["impressions"].to_numpy(float)
                r, m = x.sum() / y.sum(), zq * np.sqrt(delta_var(x, y))
                out[key + ".ctr.lower"], out[key + ".ctr.upper"] = r - m, r + m
                for name, values in (("exposure", rs["impressions"]), ("revenue", ex["revenue"])):
                    mean, m = values.mean(), zq * values.std(ddof=1) / np.sqrt(len(values))
                    out[key + "." + name + ".lower"], out[key + "." + name + ".upper"] = mean - m, mean + m

        print(json.dumps({"values": {k: float(v) for k, v in out.items()}, "verdicts": verdicts}))
        """;

    private const string ItemScript = """
        import json, math, sys
        import numpy as np
        import pandas as pd

        folder = sys.argv[1]
        cfg = json.load(open(folder + "/config.json"))
        counts = np.array(cfg["counts"], dtype=np.int64)
        out = {}
        for name, catalog in (("catalog", cfg["catalog"]), ("shown", len(counts))):
            x = np.sort(np.concatenate([counts, np.zeros(catalog - len(counts), dtype=np.int64)]))
            n = len(x)
            out[name + ".gini"] = 2 * np.sum(np.arange(1, n + 1) * x) / (n * x.sum()) - (n + 1) / n
            s = pd.Series(x).sort_values(ascending=False)
            head = math.ceil(cfg["head_fraction"] * n)
            out[name + ".head_items"] = head
            out[name + ".head_share"] = s.iloc[:head].sum() / s.sum()
            out[name + ".long_tail_share"] = s.iloc[head:].sum() / s.sum()
            out[name + ".top_share"] = s.iloc[:cfg["top"]].sum() / s.sum()
            out[name + ".coverage"] = (x > 0).sum() / catalog
        print(json.dumps({k: float(v) for k, v in out.items()}))
        """;

    [Fact]
    public void Four_fifths_ratios_intervals_and_p_values_match_pandas_and_scipy_on_per_user_rows()
    {
        var rows = UserRows.Generate(new Random(20261202), 4000);
        var input = UserRows.TallyInShards(rows, Dimensions, shards: 3);

        var audit = FairnessAuditor.Audit(input, new FairnessOptions { MinimumUsers = MinimumUsers, Alpha = Alpha });
        var expected = ReferencePython.Run(GroupScript, new Dictionary<string, string>
        {
            ["rows.csv"] = UserRows.Csv(rows),
            ["config.json"] = JsonSerializer.Serialize(new { alpha = Alpha, minimum = MinimumUsers, dimensions = Dimensions }),
        }, "python3-pandas");

        var actual = new Dictionary<string, double?>();
        var verdicts = new Dictionary<string, string>();
        foreach (var dimension in audit.Dimensions)
        {
            foreach (var group in dimension.Groups)
            {
                var key = $"{dimension.Dimension}.{group.Group}";
                foreach (var check in group.FourFifths)
                {
                    var metric = JsonSerializer.Serialize(check.Metric).Trim('"');
                    actual[$"{key}.{metric}.ratio"] = check.Ratio;
                    actual[$"{key}.{metric}.p"] = check.PValue;
                    verdicts[$"{key}.{metric}"] = JsonSerializer.Serialize(check.Verdict).Trim('"');
                }

                (actual[key + ".conversion.lower"], actual[key + ".conversion.upper"]) = (group.ConversionRate.Lower, group.ConversionRate.Upper);
                (actual[key + ".ctr.lower"], actual[key + ".ctr.upper"]) = (group.Ctr.Lower, group.Ctr.Upper);
                (actual[key + ".exposure.lower"], actual[key + ".exposure.upper"]) = (group.ExposurePerUser.Lower, group.ExposurePerUser.Upper);
                (actual[key + ".revenue.lower"], actual[key + ".revenue.upper"]) = (group.RevenuePerExposedUser.Lower, group.RevenuePerExposedUser.Upper);
            }
        }

        var checkedValues = 0;
        foreach (var property in expected.GetProperty("values").EnumerateObject())
        {
            Assert.True(actual.TryGetValue(property.Name, out var value) && value is not null, $"{property.Name} is missing from the audit");
            var reference = property.Value.GetDouble();
            if (property.Name.EndsWith(".ratio", StringComparison.Ordinal))
            {
                Assert.True(Math.Abs(value!.Value - reference) <= 1e-12, $"{property.Name}: {value} against pandas {reference}");
            }
            else
            {
                Assert.True(Math.Abs(value!.Value - reference) <= 1e-9 * Math.Abs(reference), $"{property.Name}: {value} against scipy {reference}");
            }

            checkedValues++;
        }

        // 20 groups: 3 ratios and 8 interval bounds each, and the p-values of the judged groups.
        Assert.True(checkedValues > 220, $"only {checkedValues} figures were compared");
        // A p-value the audit gives but scipy was not asked for would be a group judged that pandas says is too small.
        Assert.Equal(checkedValues, actual.Count(a => a.Value is not null));
        Assert.Equal(
            expected.GetProperty("verdicts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!).OrderBy(p => p.Key),
            verdicts.OrderBy(p => p.Key));
        Assert.Contains("too_small", verdicts.Values);
        Assert.Contains("flagged", verdicts.Values);
    }

    [Fact]
    public void Gini_head_long_tail_top_share_and_coverage_match_numpy_and_pandas()
    {
        var random = new Random(7);
        // A long-tailed catalog: a few items shown thousands of times, most a handful, some never (zeros given too).
        var counts = Enumerable.Range(1, 500).Select(rank => (long)Math.Floor(20_000 / Math.Pow(rank, 1.1) * random.NextDouble())).ToArray();
        var items = counts.Select((c, i) => (Id: $"item-{i}", Count: c)).ToDictionary(p => p.Id, p => p.Count);
        const long catalog = 800;
        var options = new FairnessOptions { HeadFraction = 0.2, TopItems = 10 };

        var withCatalog = ItemExposure.Measure(items, catalog, options);
        var shownOnly = ItemExposure.Measure(items, null, options);
        var expected = ReferencePython.Run(ItemScript, new Dictionary<string, string>
        {
            ["config.json"] = JsonSerializer.Serialize(new { counts, catalog, head_fraction = options.HeadFraction, top = options.TopItems }),
        }, "python3-pandas");

        foreach (var (name, audit) in new[] { ("catalog", withCatalog), ("shown", shownOnly) })
        {
            Assert.Equal(expected.GetProperty(name + ".head_items").GetDouble(), audit.HeadItems);
            AssertClose(expected.GetProperty(name + ".gini").GetDouble(), audit.Gini, name + ".gini");
            AssertClose(expected.GetProperty(name + ".head_share").GetDouble(), audit.HeadShare, name + ".head_share");
            AssertClose(expected.GetProperty(name + ".long_tail_share").GetDouble(), audit.LongTailShare, name + ".long_tail_share");
            AssertClose(expected.GetProperty(name + ".top_share").GetDouble(), audit.TopItemsShare, name + ".top_share");
        }

        AssertClose(expected.GetProperty("catalog.coverage").GetDouble(), withCatalog.Coverage, "coverage");
        Assert.Null(shownOnly.Coverage);
        // The never-shown 300 catalog items are exposure inequality too: counting them raises the Gini.
        Assert.True(withCatalog.Gini > shownOnly.Gini + 0.05, $"{withCatalog.Gini} against {shownOnly.Gini}");
    }

    private static void AssertClose(double expected, double? actual, string name) =>
        Assert.True(actual is { } a && Math.Abs(a - expected) <= 1e-12, $"{name}: {actual} against {expected}");
}

/// <summary>Synthetic per-user rows with group attributes and feedback, as a shard would see its users.</summary>
internal sealed record UserRows(
    string Gender, string AgeBand, string Visitor, string Country, long Impressions, long ItemsShown, long Clicks, long Purchases, double Revenue)
{
    public string Value(string dimension) => dimension switch
    {
        FairnessDimensions.Gender => Gender,
        FairnessDimensions.AgeBand => AgeBand,
        FairnessDimensions.Visitor => Visitor,
        FairnessDimensions.Country => Country,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, null),
    };

    /// <summary>
    /// Users whose exposure, CTR and conversion depend on their groups: "unknown" gender is shown less, the 65+ band
    /// clicks less, and a few countries are too small to judge.
    /// </summary>
    public static List<UserRows> Generate(Random random, int users)
    {
        string[] genders = ["female", "male", "female", "male", "unknown"];
        string[] bands = ["18-24", "25-34", "35-44", "45-64", "65+", "unknown"];
        string[] countries = ["DE", "DE", "FR", "FR", "NL", "IT", "ES", "PL"];
        var rows = new List<UserRows>(users);
        for (var i = 0; i < users; i++)
        {
            var gender = genders[random.Next(genders.Length)];
            var band = bands[random.Next(bands.Length)];
            var visitor = random.NextDouble() < 0.35 ? FairnessDimensions.NewVisitor : FairnessDimensions.ReturningVisitor;
            var country = random.NextDouble() < 0.01 ? "LU" : random.NextDouble() < 0.01 ? "MT" : countries[random.Next(countries.Length)];
            var maxImpressions = gender == "unknown" ? 5 : visitor == FairnessDimensions.NewVisitor ? 8 : 12;
            long impressions = random.NextDouble() < 0.15 ? 0 : random.Next(1, maxImpressions);
            long items = 0, clicks = 0;
            var ctr = band == "65+" ? 0.05 : 0.12;
            for (var list = 0; list < impressions; list++)
            {
                items += random.Next(4, 13);
                clicks += random.NextDouble() < ctr ? random.Next(1, 3) : 0;
            }

            long purchases = impressions > 0 && random.NextDouble() < (clicks > 0 ? 0.25 : 0.04) ? random.Next(1, 4) : 0;
            var revenue = Math.Round(purchases * random.NextDouble() * 80, 2);
            rows.Add(new UserRows(gender, band, visitor, country, impressions, items, clicks, purchases, revenue));
        }

        return rows;
    }

    /// <summary>Tallies the rows over <paramref name="shards"/> shards (by row number) and adds the shards' inputs.</summary>
    public static AuditInput TallyInShards(IReadOnlyList<UserRows> rows, IReadOnlyList<string> dimensions, int shards)
    {
        var total = new AuditInput();
        for (var shard = 0; shard < shards; shard++)
        {
            var builders = dimensions.ToDictionary(d => d, _ => new Dictionary<string, GroupTallyBuilder>());
            for (var i = shard; i < rows.Count; i += shards)
            {
                var row = rows[i];
                foreach (var dimension in dimensions)
                {
                    var groups = builders[dimension];
                    var value = row.Value(dimension);
                    if (!groups.TryGetValue(value, out var builder))
                    {
                        groups[value] = builder = new GroupTallyBuilder();
                    }

                    builder.Record(row.Impressions, row.ItemsShown, row.Clicks, row.Purchases, row.Revenue);
                }
            }

            var input = new AuditInput
            {
                Groups = builders.ToDictionary(
                    d => d.Key,
                    d => (IReadOnlyDictionary<string, GroupTally>)d.Value.ToDictionary(g => g.Key, g => g.Value.ToTally())),
            };
            total = AuditInput.Add(total, input);
        }

        return total;
    }

    public static string Csv(IEnumerable<UserRows> rows)
    {
        var csv = new StringBuilder("gender,age_band,visitor,country,impressions,items_shown,clicks,purchases,revenue\n");
        foreach (var r in rows)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{r.Gender},{r.AgeBand},{r.Visitor},{r.Country},{r.Impressions},{r.ItemsShown},{r.Clicks},{r.Purchases},{r.Revenue.ToString("R", CultureInfo.InvariantCulture)}\n");
        }

        return csv.ToString();
    }
}
