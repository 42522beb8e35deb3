using ProfileGrid.Recommendations.Algorithms;
using static ProfileGrid.Recommendations.Tests.Algorithms.TestData;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

public class PopularityTests
{
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Weights:        A    B    C
    //   u1 (seg x)    5    1
    //   u2 (seg x)         1
    //   u3 (seg y)    1         3
    //   u4 (seg y)              3
    // Sum of weights: A 6, C 6, B 2 -> A and C tie, A first (id order); by users: A 2, B 2, C 2 -> A, B, C.
    private static InteractionMatrix Data() => Matrix(
        [("u1", "A", 5), ("u1", "B", 1), ("u2", "B", 1), ("u3", "A", 1), ("u3", "C", 3), ("u4", "C", 3)],
        new Dictionary<string, string> { ["u1"] = "x", ["u2"] = "x", ["u3"] = "y", ["u4"] = "y" },
        new Dictionary<(string, string), float> { [("u1", "A")] = 14, [("u3", "A")] = 14, [("u1", "B")] = 0, [("u2", "B")] = 0, [("u3", "C")] = 7, [("u4", "C")] = 7 });

    [Fact]
    public void Global_list_ranks_by_summed_weight_ties_in_id_order()
    {
        var model = new PopularityTrainer(new PopularityOptions { MinSegmentUsers = 2 }).Train(Data(), Now);

        var list = model.Recommend(Query(3));

        Assert.Equal(["A", "C", "B"], list.Select(i => i.ItemId));
        Assert.Equal([6.0, 6.0, 2.0], list.Select(i => i.Score));
        Assert.All(list, i => Assert.Equal(RecommendationSources.Popular, i.Source));
    }

    [Fact]
    public void Distinct_users_measure_counts_each_user_once()
    {
        var model = new PopularityTrainer(new PopularityOptions { Measure = PopularityMeasure.Users }).Train(Data(), Now);

        Assert.Equal([2.0, 2.0, 2.0], model.Recommend(Query(3)).Select(i => i.Score));
    }

    [Fact]
    public void Segment_gets_its_own_list_topped_up_from_global_and_says_which_segment()
    {
        // Segment x: A 5, B 2 (C never seen there, comes from the global list).
        var model = new PopularityTrainer(new PopularityOptions { MinSegmentUsers = 2 }).Train(Data(), Now);

        var list = model.Recommend(Query(3, segment: "x"));

        Assert.Equal(["A", "B", "C"], list.Select(i => i.ItemId));
        Assert.Equal([RecommendationSources.SegmentPopular, RecommendationSources.SegmentPopular, RecommendationSources.Popular], list.Select(i => i.Source));
        Assert.Equal(["x", "x", null], list.Select(i => i.Because));
    }

    [Fact]
    public void Unknown_or_small_segment_falls_back_to_global()
    {
        var strict = new PopularityTrainer(new PopularityOptions { MinSegmentUsers = 3 }).Train(Data(), Now);
        var lenient = new PopularityTrainer(new PopularityOptions { MinSegmentUsers = 2 }).Train(Data(), Now);

        Assert.Empty(strict.Segments);
        Assert.All(strict.Recommend(Query(3, segment: "x")), i => Assert.Equal(RecommendationSources.Popular, i.Source));
        Assert.All(lenient.Recommend(Query(3, segment: "nobody")), i => Assert.Equal(RecommendationSources.Popular, i.Source));
    }

    [Fact]
    public void Trending_halves_weight_every_half_life()
    {
        // Half-life 7 days: A = 5/4 + 1/4 = 1.5 (14 days old), C = 3/2 + 3/2 = 3 (7 days), B = 1 + 1 = 2 (today).
        var model = new PopularityTrainer(new PopularityOptions { TrendingHalfLifeDays = 7 }, trending: true).Train(Data(), Now);

        var list = model.Recommend(Query(3));

        Assert.Equal(["C", "B", "A"], list.Select(i => i.ItemId));
        Assert.Equal(3.0, list[0].Score, 5);
        Assert.Equal(1.5, list[2].Score, 5);
        Assert.All(list, i => Assert.Equal(RecommendationSources.Trending, i.Source));
        Assert.Equal(RecommenderAlgorithms.Trending, model.Algorithm);
    }

    [Fact]
    public void Exclusions_and_count_are_respected()
    {
        var model = new PopularityTrainer(new PopularityOptions { MinSegmentUsers = 2 }).Train(Data(), Now);

        Assert.Equal(["C"], model.Recommend(Query(1, segment: null, exclude: ["A"])).Select(i => i.ItemId));
        Assert.Equal(["B", "C"], model.Recommend(Query(5, segment: "x", exclude: ["A"])).Select(i => i.ItemId));
        Assert.Empty(model.Recommend(Query(0)));
    }
}
