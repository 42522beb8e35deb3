using ProfileGrid.Recommendations.Algorithms;
using static ProfileGrid.Recommendations.Tests.Algorithms.TestData;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

public class ItemCfTests
{
    // Columns (users u1 u2 u3):  A = (1 1 0), B = (1 1 1), C = (0 1 1)
    // |A| = √2, |B| = √3, |C| = √2; A·B = 2, A·C = 1, B·C = 2.
    // Plain cosine (shrink 0): sim(A,B) = 2/√6 = 0.816497, sim(A,C) = 1/2 = 0.5, sim(B,C) = 2/√6 = 0.816497.
    // Shrink 10:               sim(A,B) = 2/(√6 + 10) = 0.160649, sim(A,C) = 1/12 = 0.083333.
    private static InteractionMatrix Triangle() => Unit("u1: A B", "u2: A B C", "u3: B C");

    [Fact]
    public void Neighbours_are_cosine_with_shrinkage_best_first()
    {
        var plain = new ItemCfTrainer(new ItemCfOptions { Shrink = 0, Neighbours = 2 }).Train(Triangle());
        var shrunk = new ItemCfTrainer(new ItemCfOptions { Shrink = 10, Neighbours = 2 }).Train(Triangle());

        var a = plain.SimilarItems("A", 5)!;
        Assert.Equal(["B", "C"], a.Select(i => i.ItemId));
        Assert.Equal(0.816497, a[0].Score, 5);
        Assert.Equal(0.5, a[1].Score, 5);
        Assert.All(a, i => Assert.Equal("A", i.Because));
        var shrunkA = shrunk.SimilarItems("A", 5)!;
        Assert.Equal(0.160649, shrunkA[0].Score, 5);
        Assert.Equal(0.083333, shrunkA[1].Score, 5);
        Assert.Null(plain.SimilarItems("nope", 5));
    }

    [Fact]
    public void Interactions_decayed_to_a_weight_of_zero_train_and_are_nobodys_reason()
    {
        // probe73 F4: weights 0.5^(age/half-life) of interactions ~150 half-lives old are 0 in float; each such product left
        // its item's sum at 0, and the item was listed again per user, past the end of the list (IndexOutOfRange, 500).
        var data = Matrix(
        [
            ("u1", "A", 1f), ("u1", "B", 1f),
            ("u2", "A", 0f), ("u2", "C", 0f),
            ("u3", "A", 0f), ("u3", "C", 0f),
            ("u4", "A", 0f), ("u4", "C", 0f),
            ("u5", "B", 1f), ("u5", "C", 1f),
        ]);

        var model = new ItemCfTrainer(new ItemCfOptions { Shrink = 0, Neighbours = 2 }).Train(data);

        Assert.Equal("B", model.SimilarItems("A", 2)![0].ItemId);
        Assert.Equal(1 / Math.Sqrt(2), model.SimilarItems("A", 2)![0].Score, 5);
    }

    [Fact]
    public void Top_k_keeps_k_neighbours_and_breaks_ties_by_id()
    {
        // B's neighbours A and C tie at 0.816497: with k = 1, A (first in id order) stays.
        var model = new ItemCfTrainer(new ItemCfOptions { Shrink = 0, Neighbours = 1 }).Train(Triangle());

        Assert.Equal(["A"], model.SimilarItems("B", 5)!.Select(i => i.ItemId));
        Assert.Equal(["B"], model.SimilarItems("C", 5)!.Select(i => i.ItemId));
    }

    [Fact]
    public void Shrinkage_prefers_the_neighbour_with_more_shared_users()
    {
        // C: u1..u4 (|C| = 2). D: u1 only (|D| = 1), C·D = 1. E: u1..u3 and 9 others (|E| = √12), C·E = 3.
        // Plain: sim(C,D) = 1/2 = 0.5 beats sim(C,E) = 3/(2√12) = 0.4330: one shared user wins.
        // Shrink 10: sim(C,D) = 1/12 = 0.0833 loses to sim(C,E) = 3/(6.928 + 10) = 0.1772.
        var rows = new List<string> { "u1: C D E", "u2: C E", "u3: C E", "u4: C" };
        rows.AddRange(Enumerable.Range(5, 9).Select(u => $"u{u}: E"));
        var data = Unit([.. rows]);

        var plain = new ItemCfTrainer(new ItemCfOptions { Shrink = 0, Neighbours = 1 }).Train(data);
        var shrunk = new ItemCfTrainer(new ItemCfOptions { Shrink = 10, Neighbours = 1 }).Train(data);

        Assert.Equal("D", plain.SimilarItems("C", 1)!.Single().ItemId);
        Assert.Equal("E", shrunk.SimilarItems("C", 1)!.Single().ItemId);
        Assert.Equal(0.1772, shrunk.SimilarItems("C", 1)!.Single().Score, 4);
    }

    [Fact]
    public void Scores_sum_weight_times_similarity_and_name_the_top_contributor()
    {
        // History A (weight 1), C (weight 2), shrink 0, k = 2:
        //   B = 1·sim(A,B) + 2·sim(C,B) = 0.816497 + 1.632993 = 2.449490, because C (1.63 > 0.82)
        //   A = 2·sim(C,A) = 2·0.5 = 1.0, because C;  C = 1·sim(A,C) = 0.5, because A.
        var model = new ItemCfTrainer(new ItemCfOptions { Shrink = 0, Neighbours = 2 }).Train(Triangle());

        var list = model.Recommend(Query(3, history: [("A", 1), ("C", 2)]));

        Assert.Equal(["B", "A", "C"], list.Select(i => i.ItemId));
        Assert.Equal([2.449490, 1.0, 0.5], list.Select(i => Math.Round(i.Score, 6)));
        Assert.Equal(["C", "C", "A"], list.Select(i => i.Because));
        Assert.All(list, i => Assert.Equal(RecommendationSources.ItemItemCf, i.Source));
    }

    [Fact]
    public void Exclusions_count_and_unknown_history_are_respected()
    {
        var model = new ItemCfTrainer(new ItemCfOptions { Shrink = 0, Neighbours = 2 }).Train(Triangle());

        Assert.Equal(["B"], model.Recommend(Query(3, exclude: ["A", "C"], history: [("A", 1), ("C", 2)])).Select(i => i.ItemId));
        Assert.Equal(["B"], model.Recommend(Query(1, history: [("A", 1), ("C", 2)])).Select(i => i.ItemId));
        Assert.Empty(model.Recommend(Query(3, history: [("unknown", 1)])));
        Assert.Empty(model.Recommend(Query(3)));
    }

    [Fact]
    public void Training_is_deterministic_whatever_the_thread_count()
    {
        var data = Random(400, 120, 8, seed: 7);

        var one = Bytes(new ItemCfTrainer(new ItemCfOptions { TrainingThreads = 1 }).Train(data));
        var again = Bytes(new ItemCfTrainer(new ItemCfOptions { TrainingThreads = 1 }).Train(data));
        var two = Bytes(new ItemCfTrainer(new ItemCfOptions { TrainingThreads = 2 }).Train(data));

        Assert.Equal(one, again);
        Assert.Equal(one, two);
    }

    [Fact]
    public void Concurrent_calls_return_what_single_calls_return()
    {
        var data = Random(400, 120, 8, seed: 11);
        var model = new ItemCfTrainer().Train(data);
        var queries = Enumerable.Range(0, data.UserCount).Select(u => Query(10,
            history: [.. data.ItemsOf(u).ToArray().Select((i, p) => (data.Items[i], (double)data.WeightsOf(u)[p]))])).ToArray();
        var expected = queries.Select(q => model.Recommend(q)).ToArray();

        var results = new IReadOnlyList<ScoredItem>[queries.Length];
        Parallel.For(0, queries.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, n => results[n % queries.Length] = model.Recommend(queries[n % queries.Length]));

        for (var q = 0; q < queries.Length; q++)
        {
            Assert.Equal(expected[q], results[q]);
        }
    }
}
