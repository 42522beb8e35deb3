using System.Text.Json;

namespace ProfileGrid.Segmentation.Tests;

/// <summary>Classic RFM: quintile edges and scores by hand and against pandas/numpy, and the named R×F cells.</summary>
public class RfmScoringTests
{
    /// <summary>
    /// Twelve buyers and two browsers. Each measure's 12 buyer values are distinct except frequency (five one-time
    /// buyers), so edges interpolate and frequency shows the tie rule. With n = 12 the virtual index of quantile q is
    /// 11 q: 2.2, 4.4, 6.6, 8.8, i.e. x[i] + g (x[i+1] - x[i]) on the sorted values (0-based).
    /// <code>
    /// recency  1 3 5 8 12 20 30 45 60 90 150 300   edges 5+0.2*3=5.6, 12+0.4*8=15.2, 30+0.6*15=39, 60+0.8*30=84
    /// orders   1 1 1 1 1 2 2 3 4 6 9 15            edges 1+0.2*0=1,   1+0.4*1=1.4,   2+0.6*1=2.6, 4+0.8*2=5.6
    /// revenue  10 25 40 55 80 100 120 200 250 400 800 2000
    ///                                              edges 40+0.2*15=43, 80+0.4*20=88, 120+0.6*80=168, 250+0.8*150=370
    /// </code>
    /// Bin = 1 + edges strictly below. Recency: 1,3,5 bin 1 (R5); 8,12 bin 2 (R4); 20,30 bin 3 (R3); 45,60 bin 4 (R2);
    /// 90,150,300 bin 5 (R1). Orders: 1 has no edge below (F1: all five one-time buyers); 2 is above 1 and 1.4 (F3);
    /// 3 and 4 above 2.6 too (F4); 6, 9, 15 above 5.6 (F5). F2 stays empty: it holds (1, 1.4], where no order count
    /// lies. (pandas qcut refuses this column: its lowest bin edge, the minimum 1, equals the first quintile.)
    /// Revenue: 10,25,40 M1; 55,80 M2; 100,120 M3; 200,250 M4; 400,800,2000 M5.
    /// </summary>
    private static readonly (string Name, double Recency, double Frequency, double Monetary, string? Expected, string? Cell)[] HandWorked =
    [
        ("a", 1, 15, 2000, "555", RfmCells.Champions),
        ("b", 3, 9, 800, "555", RfmCells.Champions),
        ("c", 5, 1, 25, "511", RfmCells.New),
        ("d", 8, 6, 400, "455", RfmCells.Loyal),
        ("e", 12, 2, 100, "433", RfmCells.PotentialLoyalists),
        ("f", 20, 3, 200, "344", RfmCells.Loyal),
        ("g", 30, 1, 55, "312", RfmCells.AboutToSleep),
        ("h", 45, 4, 250, "244", RfmCells.AtRisk),
        ("i", 60, 1, 10, "211", RfmCells.Hibernating),
        ("j", 90, 2, 120, "133", RfmCells.AtRisk),
        ("k", 150, 1, 40, "111", RfmCells.Lost),
        ("l", 300, 1, 80, "112", RfmCells.Lost),

        // Browsers: never bought, so not scored, and their (recency = days since first seen) values do not move the edges.
        ("m", 2, 0, 0, null, null),
        ("n", 400, 0, 0, null, null),
    ];

    [Fact]
    public void Hand_worked_example_gives_the_edges_scores_and_cells_worked_out_above()
    {
        var model = RfmModel.TryFit(HandWorked.Select(c => (c.Recency, c.Frequency, c.Monetary)))!;

        Assert.Equal(12, model.FittedOn);
        AssertEdges([5.6, 15.2, 39, 84], model.RecencyEdges);
        AssertEdges([1, 1.4, 2.6, 5.6], model.FrequencyEdges);
        AssertEdges([43, 88, 168, 370], model.MonetaryEdges);
        foreach (var customer in HandWorked)
        {
            var score = model.Score(customer.Recency, customer.Frequency, customer.Monetary);
            Assert.Equal(customer.Expected, score?.Code);
            Assert.Equal(customer.Cell, score?.Cell);
        }

        // Live users beyond the training range still get a definite score: bins are open-ended at both ends.
        Assert.Equal("555", model.Score(0, 40, 10_000)!.Value.Code);
        Assert.Equal("111", model.Score(1_000, 1, 0.5)!.Value.Code);
        Assert.Null(model.Score(3, 0, 0));
        Assert.Null(model.Score(3, double.NaN, 10));
    }

    [Fact]
    public void Hand_worked_edges_are_numpys_quantiles()
    {
        var model = RfmModel.TryFit(HandWorked.Select(c => (c.Recency, c.Frequency, c.Monetary)))!;
        var buyers = HandWorked.Where(c => c.Frequency > 0).Select(c => new[] { c.Recency, c.Frequency, c.Monetary }).ToArray();

        var numpy = Pandas.Run("""
            q = np.linspace(0, 1, 6)[1:5]
            print(json.dumps([np.quantile(X[:, j], q).tolist() for j in range(3)]))
            """, buyers);

        var edges = numpy.EnumerateArray().Select(e => e.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(edges[0], model.RecencyEdges);
        Assert.Equal(edges[1], model.FrequencyEdges);
        Assert.Equal(edges[2], model.MonetaryEdges);
    }

    [Theory]
    [InlineData(7, 500)]
    [InlineData(11, 37)]
    [InlineData(23, 5)]
    public void Without_ties_scores_equal_pandas_qcut_and_edges_are_its_bins(int seed, int buyers)
    {
        // Continuous measures (no ties), plus browsers (frequency 0) that both sides must leave out.
        var random = new Random(seed);
        var rows = Enumerable.Range(0, buyers)
            .Select(_ => new[] { random.NextDouble() * 365, 1 + random.NextDouble() * 30, Math.Exp(2 + 3 * random.NextDouble()) })
            .Concat(Enumerable.Range(0, buyers / 5).Select(_ => new[] { random.NextDouble() * 365, 0, 0 }))
            .ToArray();
        var model = RfmModel.TryFit(["recency_days", "frequency", "monetary"], rows)!;

        // Recency is scored in whole days, as pandas' Timedelta.days gives them.
        var pandas = Pandas.Run("""
            import pandas as pd
            B = X[X[:, 1] > 0]
            B[:, 0] = np.floor(B[:, 0])
            out = {}
            for j, name in enumerate(["r", "f", "m"]):
                labels, bins = pd.qcut(pd.Series(B[:, j]), 5, labels=False, retbins=True)
                out[name] = (labels + 1).tolist()
                out[name + "_edges"] = bins[1:5].tolist()
            print(json.dumps(out))
            """, rows);

        var scores = rows.Where(r => r[1] > 0).Select(r => model.ScoreVector(r)!.Value).ToArray();
        Assert.Equal(Ints(pandas, "r").Select(bin => 6 - bin), scores.Select(s => s.Recency));
        Assert.Equal(Ints(pandas, "f"), scores.Select(s => s.Frequency));
        Assert.Equal(Ints(pandas, "m"), scores.Select(s => s.Monetary));
        Assert.Equal(Doubles(pandas, "r_edges"), model.RecencyEdges);
        Assert.Equal(Doubles(pandas, "f_edges"), model.FrequencyEdges);
        Assert.Equal(Doubles(pandas, "m_edges"), model.MonetaryEdges);
        Assert.All(rows.Where(r => r[1] <= 0), r => Assert.Null(model.ScoreVector(r)));
    }

    [Fact]
    public void With_ties_scores_equal_numpy_searchsorted_on_its_quantiles_where_qcut_refuses()
    {
        // Realistic orders: mostly one or two, a long tail; revenue in whole currency units; recency in whole days.
        var random = new Random(5);
        var rows = Enumerable.Range(0, 800).Select(_ =>
        {
            var orders = random.NextDouble() < 0.15 ? 0 : 1 + (int)Math.Floor(-Math.Log(1 - random.NextDouble()) * 1.5);
            return new[] { Math.Floor(random.NextDouble() * 400), orders, orders == 0 ? 0 : Math.Round(orders * Math.Exp(3 + random.NextDouble())) };
        }).ToArray();
        var model = RfmModel.TryFit(["recency_days", "frequency", "monetary"], rows)!;
        Assert.True(model.FrequencyEdges.Distinct().Count() < 4, $"the data should have tied frequency edges: {string.Join(", ", model.FrequencyEdges)}");

        var numpy = Pandas.Run("""
            import pandas as pd
            B = X[X[:, 1] > 0]
            q = np.linspace(0, 1, 6)[1:5]
            out = {}
            for j, name in enumerate(["r", "f", "m"]):
                edges = np.quantile(B[:, j], q)
                out[name] = (np.searchsorted(edges, B[:, j], side="left") + 1).tolist()
                out[name + "_edges"] = edges.tolist()
            try:
                pd.qcut(B[:, 1], 5, labels=False)
                out["qcut_refused"] = False
            except ValueError:
                out["qcut_refused"] = True
            print(json.dumps(out))
            """, rows);

        var scores = rows.Where(r => r[1] > 0).Select(r => model.ScoreVector(r)!.Value).ToArray();
        Assert.Equal(Ints(numpy, "r").Select(bin => 6 - bin), scores.Select(s => s.Recency));
        Assert.Equal(Ints(numpy, "f"), scores.Select(s => s.Frequency));
        Assert.Equal(Ints(numpy, "m"), scores.Select(s => s.Monetary));
        Assert.Equal(Doubles(numpy, "f_edges"), model.FrequencyEdges);
        Assert.True(numpy.GetProperty("qcut_refused").GetBoolean(), "pandas qcut should refuse the duplicate frequency edges");

        // What the tie rule means for a marketer: every one-time buyer has the same, lowest frequency score.
        Assert.All(rows.Where(r => r[1] == 1), r => Assert.Equal(1, model.ScoreVector(r)!.Value.Frequency));
    }

    [Fact]
    public void Customers_who_bought_on_the_same_day_score_alike_whatever_rounding_their_aged_vectors_carry()
    {
        // probe61: 200 customers who bought on 20 days of 1998, their vectors taken at one instant and moved to as_of by
        // adding fractional days. 160 became 160.0000000000018 for some and an edge 101.19999999999969: 7 of 200 scored
        // a recency point lower than numpy on the whole days, and equal customers were split.
        var random = new Random(61);
        var days = Enumerable.Range(0, 20).Select(d => 40.0 + 7 * d).ToArray();
        var rows = Enumerable.Range(0, 200).Select(i =>
        {
            // A whole day a few ulps off either side, as adding fractional days leaves it (or a millisecond's noise).
            var day = days[random.Next(days.Length)];
            var off = (i % 7) switch
            {
                0 => day, 1 => Math.BitIncrement(day), 2 => Math.BitDecrement(day), 3 => Math.BitIncrement(Math.BitIncrement(day)),
                4 => Math.BitDecrement(Math.BitDecrement(day)), 5 => day + 0.5 / 86_400_000, _ => day + 0.25,
            };
            return new[] { off, 1 + random.Next(4), 10 + random.Next(500) };
        }).ToArray();
        Assert.Contains(rows, r => r[0] != Math.Floor(r[0])); // the rounding the scores must see through
        var model = RfmModel.TryFit(["recency_days", "frequency", "monetary"], rows)!;

        var numpy = Pandas.Run("""
            q = np.linspace(0, 1, 6)[1:5]
            r = np.floor(X[:, 0] + 1e-6)
            edges = np.quantile(r, q)
            print(json.dumps({"edges": edges.tolist(), "r": (6 - (np.searchsorted(edges, r, side="left") + 1)).tolist()}))
            """, rows);

        Assert.Equal(Doubles(numpy, "edges"), model.RecencyEdges);
        Assert.Equal(Ints(numpy, "r"), rows.Select(r => model.ScoreVector(r)!.Value.Recency));

        // A few hours later the same customers still score as they did; a whole day later each day's group moves together.
        Assert.All(rows, r => Assert.Equal(model.Score(r[0], r[1], r[2])!.Value.Recency, model.Score(r[0] + 0.4, r[1], r[2])!.Value.Recency));
        foreach (var group in rows.GroupBy(r => Math.Floor(r[0] + 1e-6)))
        {
            Assert.Single(group.Select(r => model.Score(r[0] + 1, r[1], r[2])!.Value.Recency).Distinct());
        }
    }

    [Fact]
    public void Every_one_of_the_25_recency_frequency_pairs_falls_in_exactly_one_named_cell()
    {
        // The cells as marketers define them (the issue's table), written as rules independent of the grid in the code.
        var rules = new Dictionary<string, Func<int, int, bool>>
        {
            [RfmCells.Champions] = (r, f) => r == 5 && f >= 4,
            [RfmCells.Loyal] = (r, f) => r is 3 or 4 && f >= 4,
            [RfmCells.PotentialLoyalists] = (r, f) => r >= 4 && f is 2 or 3,
            [RfmCells.New] = (r, f) => r == 5 && f == 1,
            [RfmCells.Promising] = (r, f) => r == 4 && f == 1,
            [RfmCells.NeedAttention] = (r, f) => r == 3 && f == 3,
            [RfmCells.AboutToSleep] = (r, f) => r == 3 && f <= 2,
            [RfmCells.AtRisk] = (r, f) => r <= 2 && f is 3 or 4,
            [RfmCells.CantLoseThem] = (r, f) => r <= 2 && f == 5,
            [RfmCells.Hibernating] = (r, f) => r <= 2 && f <= 2 && !(r == 1 && f == 1),
            [RfmCells.Lost] = (r, f) => r == 1 && f == 1,
        };
        Assert.Equal(rules.Keys.Order(), RfmCells.All.Order());

        var used = new HashSet<string>();
        for (var r = 1; r <= 5; r++)
        {
            for (var f = 1; f <= 5; f++)
            {
                var matching = rules.Where(rule => rule.Value(r, f)).Select(rule => rule.Key).ToArray();
                Assert.True(matching.Length == 1, $"R{r} F{f} matches {matching.Length} cells: {string.Join(", ", matching)}");
                Assert.Equal(matching[0], RfmCells.Of(r, f));
                Assert.Equal(matching[0], new RfmScore(r, f, 3).Cell);
                used.Add(matching[0]);
            }
        }

        Assert.Equal(RfmCells.All.Order(), used.Order());
        Assert.All(RfmCells.All, cell => Assert.False(string.IsNullOrWhiteSpace(RfmCells.NameOf(cell))));
        Assert.Equal("Can't lose them", RfmCells.NameOf(RfmCells.CantLoseThem));
        Assert.Throws<ArgumentOutOfRangeException>(() => RfmCells.Of(0, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => RfmCells.Of(3, 6));
    }

    [Fact]
    public void A_packed_score_round_trips_and_zero_means_not_scored()
    {
        for (var packed = 0; packed <= 600; packed++)
        {
            if (RfmScore.FromPacked(packed) is { } score)
            {
                Assert.Equal(packed, score.Packed);
                Assert.Equal(packed.ToString(System.Globalization.CultureInfo.InvariantCulture), score.Code);
            }
        }

        Assert.Null(RfmScore.FromPacked(0));
        Assert.Null(RfmScore.FromPacked(505));
        Assert.Equal(new RfmScore(5, 4, 5), RfmScore.FromPacked(545));
    }

    [Fact]
    public void No_buyer_or_no_rfm_columns_means_no_rfm_model()
    {
        Assert.Null(RfmModel.TryFit(["recency_days", "frequency", "monetary"], [[3, 0, 0], [40, 0, 0]]));
        Assert.Null(RfmModel.TryFit(["recency_days", "monetary", "noise"], [[3, 2, 1]]));

        var one = RfmModel.TryFit(["recency_days", "frequency", "monetary"], [[3, 2, 50]])!;
        Assert.Equal("511", one.Score(3, 2, 50)!.Value.Code); // one buyer: every edge is their value, and they sit in the first bin
    }

    [Fact]
    public void The_trainer_fits_rfm_on_its_rows_by_column_name_whatever_features_the_clustering_uses()
    {
        var random = new Random(2);
        var rows = Enumerable.Range(0, 120).Select(i => new[]
        {
            random.NextDouble(), random.NextDouble() * 200, i % 4 == 0 ? 0 : 1 + random.Next(10), i % 4 == 0 ? 0 : random.NextDouble() * 500,
        }).ToArray();
        var data = new TrainingSet(["noise", "recency_days", "frequency", "monetary"], [false, false, true, true], rows, rows.Length);

        var model = SegmentationTrainer.Train(
            data, new SegmentationSettings { K = 3, StabilityRuns = 0, Features = ["noise", "monetary"], MapPoints = 10 }, null, 1, DateTimeOffset.UnixEpoch);

        var expected = RfmModel.TryFit(data.SourceFeatures, rows)!;
        var rfm = Assert.IsType<RfmModel>(model.Rfm);
        Assert.Equal(90, rfm.FittedOn);
        Assert.Equal((1, 2, 3), (rfm.RecencyColumn, rfm.FrequencyColumn, rfm.MonetaryColumn));
        Assert.Equal(expected.FrequencyEdges, rfm.FrequencyEdges);
        Assert.All(rows, r => Assert.Equal(expected.ScoreVector(r), rfm.ScoreVector(r)));

        var withoutRfmColumns = new TrainingSet(["noise", "monetary"], [false, true], rows.Select(r => new[] { r[0], r[3] }).ToArray(), rows.Length);
        Assert.Null(SegmentationTrainer.Train(withoutRfmColumns, new SegmentationSettings { K = 3, StabilityRuns = 0, MapPoints = 10 }, null, 1, DateTimeOffset.UnixEpoch).Rfm);
    }

    private static void AssertEdges(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 1e-9);
        }
    }

    private static int[] Ints(JsonElement json, string name) => json.GetProperty(name).EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static double[] Doubles(JsonElement json, string name) => json.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
}
