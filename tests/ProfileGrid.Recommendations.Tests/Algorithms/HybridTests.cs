using ProfileGrid.Recommendations.Algorithms;
using static ProfileGrid.Recommendations.Tests.Algorithms.TestData;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

public class HybridTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Segment "x" (u1..u3) loves P and Q; everybody has a taste: A goes with B, C with D.
    // Global popularity (unit weights): A 3, P 3, B 2, C 2, D 2, Q 2, E 1; segment x: P 3, A 2, B 2, Q 2, C 1, D 1.
    private static InteractionMatrix Data() => Matrix(
        [
            ("u1", "P", 1), ("u1", "Q", 1), ("u1", "A", 1), ("u1", "B", 1),
            ("u2", "P", 1), ("u2", "Q", 1), ("u2", "C", 1), ("u2", "D", 1),
            ("u3", "P", 1), ("u3", "A", 1), ("u3", "B", 1),
            ("u4", "A", 1), ("u4", "C", 1), ("u4", "D", 1), ("u4", "E", 1),
        ],
        new Dictionary<string, string> { ["u1"] = "x", ["u2"] = "x", ["u3"] = "x" });

    private static HybridModel Train(string personalized = RecommenderAlgorithms.ItemCf) =>
        new HybridTrainer(new RecommenderOptions
        {
            Popularity = new PopularityOptions { MinSegmentUsers = 3 },
            ItemCf = new ItemCfOptions { Shrink = 0 },
            Ease = new EaseOptions { Lambda = 1 },
            Hybrid = new HybridOptions { Personalized = personalized, LowHistoryItems = 3 },
        }).Train(Data(), Now);

    [Fact]
    public void Cold_start_user_gets_their_segments_list()
    {
        var list = Train().Recommend(Query(2, segment: "x"));

        // Segment x: P 3, then A, B and Q at 2 in id order.
        Assert.Equal(["P", "A"], list.Select(i => i.ItemId));
        Assert.All(list, i => Assert.Equal((RecommendationSources.SegmentPopular, "x"), (i.Source, i.Because)));
    }

    [Fact]
    public void Cold_start_user_without_a_known_segment_gets_the_global_list()
    {
        Assert.All(Train().Recommend(Query(3)), i => Assert.Equal(RecommendationSources.Popular, i.Source));
        Assert.All(Train().Recommend(Query(3, segment: "unknown")), i => Assert.Equal(RecommendationSources.Popular, i.Source));
    }

    [Fact]
    public void Long_history_is_served_by_the_personalized_component_first()
    {
        // Three distinct items (threshold 3): α = 1, popularity only tops up (weight 0.001).
        foreach (var (algorithm, source) in new[] { (RecommenderAlgorithms.ItemCf, RecommendationSources.ItemItemCf), (RecommenderAlgorithms.Ease, RecommendationSources.Ease) })
        {
            var list = Train(algorithm).Recommend(Query(8, segment: "x", exclude: ["A", "C", "E"], history: [("A", 1), ("C", 1), ("E", 1)]));

            Assert.Equal(source, list[0].Source);
            Assert.Contains(list[0].ItemId, new[] { "B", "D" });
            Assert.Contains(list[0].Because, new[] { "A", "C", "E" });
            Assert.DoesNotContain(list, i => i.ItemId is "A" or "C" or "E");
            Assert.Equal(list.Count, list.Select(i => i.ItemId).Distinct().Count());
            Assert.Equal(list.OrderByDescending(i => i.Score).Select(i => i.ItemId), list.Select(i => i.ItemId));
        }
    }

    [Fact]
    public void Short_history_blends_personalized_and_popular_items()
    {
        // One history item (A) of a threshold of 3: α = 1/3 for CF, β = 2/3 for (global) popularity, each list scaled to its best.
        // A's plain-cosine neighbours: B 2/√6 = 0.816, P 2/3 = 0.667, E 1/√3 = 0.577, C = D = Q 1/√6 = 0.408.
        // Global popularity without A: P 3, B 2, C 2, D 2, Q 2, E 1.
        //   P = 1/3 · 0.667/0.816 + 2/3 · 1 = 0.939 (popular); B = 1/3 · 1 + 2/3 · 2/3 = 0.778 (popular: 0.444 > 0.333);
        //   E = 1/3 · 0.707 + 2/3 · 1/3 = 0.236 + 0.222 = 0.458 (cf: its CF share is the larger, because A).
        var model = Train();
        var query = Query(7, exclude: ["A"], history: [("A", 1)]);

        var list = model.Recommend(query);

        Assert.Equal(6, list.Count);
        Assert.Equal(["P", "B"], list.Take(2).Select(i => i.ItemId));
        Assert.Equal(1.0 / 3 * (2 / 3.0) / (2 / Math.Sqrt(6)) + 2.0 / 3, list[0].Score, 5);
        Assert.Equal(1.0 / 3 + 2.0 / 3 * 2 / 3, list[1].Score, 5);
        Assert.All(list.Take(2), i => Assert.Equal(RecommendationSources.Popular, i.Source));
        var e = Assert.Single(list, i => i.ItemId == "E");
        Assert.Equal((RecommendationSources.ItemItemCf, "A"), (e.Source, e.Because));
        Assert.Equal(1.0 / 3 * (1 / Math.Sqrt(3)) / (2 / Math.Sqrt(6)) + 2.0 / 3 / 3, e.Score, 5);
    }

    [Fact]
    public void Threshold_zero_never_blends_a_user_with_history()
    {
        var model = new HybridTrainer(new RecommenderOptions
        {
            ItemCf = new ItemCfOptions { Shrink = 0 },
            Hybrid = new HybridOptions { LowHistoryItems = 0 },
        }).Train(Data(), Now);

        // One item, no blending: A's neighbours in CF order (B first), popularity only below them with its 0.001 weight.
        var list = model.Recommend(Query(3, exclude: ["A"], history: [("A", 1)]));

        Assert.Equal(["B", "P", "E"], list.Select(i => i.ItemId));
        Assert.All(list, i => Assert.Equal(RecommendationSources.ItemItemCf, i.Source));
        Assert.All(model.Recommend(Query(3)), i => Assert.Equal(RecommendationSources.Popular, i.Source));
    }

    [Fact]
    public void Count_and_exclusions_hold_when_popularity_tops_up()
    {
        var list = Train().Recommend(Query(6, exclude: ["P", "Q"], history: [("A", 1), ("B", 1), ("C", 1)]));

        Assert.Equal(5, list.Count); // 7 items, 2 excluded
        Assert.DoesNotContain(list, i => i.ItemId is "P" or "Q");
        Assert.Equal(["D", "E"], list.Where(i => i.ItemId is "D" or "E").Select(i => i.ItemId).Order());
    }

    [Theory]
    [InlineData(RecommenderAlgorithms.ItemCf)]
    [InlineData(RecommenderAlgorithms.Ease)]
    public void A_short_history_list_is_the_start_of_a_longer_one_and_scores_the_documented_formula(string personalized)
    {
        // Long-tailed random data in two segments. A blend of only each part's first n gave an item the popularity share
        // only when it was in popularity's first n too, so its score and place changed with n.
        var data = Random(300, 120, 6, seed: 5);
        var model = new HybridTrainer(new RecommenderOptions
        {
            Popularity = new PopularityOptions { MinSegmentUsers = 40 },
            Ease = new EaseOptions { Lambda = 5 },
            Hybrid = new HybridOptions { Personalized = personalized },
        }).Train(WithSegments(data, u => "s" + (u[^1] - '0') % 2), Now);
        var random = new Random(3);
        var items = model.Popularity.Items;
        for (var q = 0; q < 60; q++)
        {
            var history = Enumerable.Range(0, 1 + q % 2).Select(_ => (items[random.Next(items.Length)], 1 + 4 * random.NextDouble())).ToArray();
            var segment = new[] { null, "s0", "unknown" }[q % 3];
            var exclude = history.Select(h => h.Item1).ToArray();

            var ten = model.Recommend(Query(10, segment, exclude, history));
            var fifty = model.Recommend(Query(50, segment, exclude, history));

            Assert.Equal(fifty.Take(10), ten);
            var expected = Formula(model, Query(int.MaxValue, segment, exclude, history));
            Assert.Equal(expected.Take(50).Select(e => e.Score), fifty.Select(i => i.Score), new ScoreComparer());
            Assert.All(fifty, i => Assert.Equal(expected.Single(e => e.ItemId == i.ItemId).Score, i.Score, 9));
        }
    }

    /// <summary>
    /// hybrid = α·personalized + max(1 − α, 0.001)·popularity, α = min(1, h/3), each component's whole list scaled to its
    /// best (popularity's: the segment's list when it has one, else the global one), computed from the components alone.
    /// </summary>
    private static List<(string ItemId, double Score)> Formula(HybridModel model, RecommendationQuery query)
    {
        var alpha = Math.Min(1.0, query.History.Select(h => h.ItemId).Distinct().Count() / 3.0);
        var beta = Math.Max(1 - alpha, 0.001);
        var personal = model.Personalized.Recommend(query).ToDictionary(i => i.ItemId, i => i.Score);
        var popularList = model.Popularity.Recommend(query);
        var popular = (model.Popularity.HasSegment(query.Segment)
            ? popularList.Where(i => i.Source == RecommendationSources.SegmentPopular)
            : popularList).ToDictionary(i => i.ItemId, i => i.Score);
        var personalBest = personal.Values.Max();
        var popularBest = popular.Values.Max();
        return personal.Keys.Union(popular.Keys)
            .Select(id => (id, alpha * personal.GetValueOrDefault(id) / personalBest + beta * popular.GetValueOrDefault(id) / popularBest))
            .OrderByDescending(e => e.Item2)
            .ToList();
    }

    private sealed class ScoreComparer : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;

        public int GetHashCode(double value) => 0;
    }

    private static InteractionMatrix WithSegments(InteractionMatrix data, Func<string, string> segmentOf)
    {
        var triples = new List<(string, string, float)>();
        for (var u = 0; u < data.Users.Length; u++)
        {
            for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
            {
                triples.Add((data.Users[u], data.Items[data.ItemIndices[p]], data.Weights[p]));
            }
        }

        return Matrix(triples, data.Users.ToDictionary(u => u, segmentOf));
    }

    [Fact]
    public void The_index_blend_serves_exactly_what_the_blend_by_item_id_serves()
    {
        // Random long-tailed data in three segments (one too small for its own list), queries of every shape; a longer
        // list begins with the shorter one.
        var random = new Random(11);
        var data = Random(300, 120, 6, seed: 5);
        var segments = data.Users.ToDictionary(u => u, u => u.EndsWith('7') ? "tiny" : "s" + (u[^2] - '0') % 2);
        var triples = new List<(string, string, float)>();
        for (var u = 0; u < data.Users.Length; u++)
        {
            for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
            {
                triples.Add((data.Users[u], data.Items[data.ItemIndices[p]], data.Weights[p]));
            }
        }

        var model = new HybridTrainer(new RecommenderOptions { Popularity = new PopularityOptions { MinSegmentUsers = 40 } })
            .Train(Matrix(triples, segments), Now);
        var loaded = (HybridModel)ModelFormat.FromBytes(Bytes(model));
        Assert.True(model.BlendsByIndex && loaded.BlendsByIndex);
        Assert.False(Train(RecommenderAlgorithms.Ease).BlendsByIndex);
        var items = model.Popularity.Items;
        for (var q = 0; q < 400; q++)
        {
            var history = Enumerable.Range(0, random.Next(0, 9)).Select(_ => (items[random.Next(items.Length)], random.Next(4) == 0 ? 0 : 0.5 + 3 * random.NextDouble())).ToArray();
            var exclude = Enumerable.Range(0, random.Next(0, 6)).Select(_ => items[random.Next(items.Length)]).ToArray();
            var segment = new[] { null, "s0", "s1", "tiny", "unknown" }[random.Next(5)];
            var query = Query(1 + random.Next(70), segment, exclude, history);

            foreach (var served in new[] { model, loaded })
            {
                served.BlendByItemIdOnly = false;
                var byIndex = served.Recommend(query);
                served.BlendByItemIdOnly = true;
                var byId = served.Recommend(query);
                Assert.Equal(byId, byIndex);
                Assert.Equal(byIndex, served.Recommend(query with { Count = query.Count + 30 }).Take(query.Count));
            }
        }
    }
}
