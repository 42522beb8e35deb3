using ProfileGrid.Recommendations.Algorithms;
using static ProfileGrid.Recommendations.Tests.Algorithms.TestData;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

public class EaseTests
{
    [Fact]
    public void Weights_of_two_independent_pairs_are_the_ridge_coefficients_worked_by_hand()
    {
        // u1: A B, u2: A, u3: C D, u4: C D. XᵀX is block diagonal: [[2, 1], [1, 1]] for (A, B), [[2, 2], [2, 2]] for (C, D).
        // For a 2 × 2 block [[a, c], [c, b]] + λI: P = [[b+λ, −c], [−c, a+λ]] / det, so
        //   B[0,1] = −P[0,1] / P[1,1] = c / (a + λ) (item 0's weight in item 1's score: the ridge coefficient), B[1,0] = c / (b + λ).
        // λ = 1: B[A,B] = 1/3, B[B,A] = 1/2, B[C,D] = B[D,C] = 2/3, and 0 across the blocks and on the diagonal.
        var model = new EaseTrainer(new EaseOptions { Lambda = 1 }).Train(Unit("u1: A B", "u2: A", "u3: C D", "u4: C D"));

        Assert.Equal(1.0 / 3, model.Weight("A", "B")!.Value, 6);
        Assert.Equal(0.5, model.Weight("B", "A")!.Value, 6);
        Assert.Equal(2.0 / 3, model.Weight("C", "D")!.Value, 6);
        Assert.Equal(2.0 / 3, model.Weight("D", "C")!.Value, 6);
        Assert.Equal(0, model.Weight("A", "C")!.Value, 9);
        Assert.Equal(0, model.Weight("A", "A")!.Value);

        // History A: B scores 1/3 (because A); nothing else is positive.
        var list = model.Recommend(Query(4, history: [("A", 1)]));
        Assert.Equal("B", Assert.Single(list).ItemId);
        Assert.Equal(1.0 / 3, list[0].Score, 6);
        Assert.Equal(("ease", "A"), (list[0].Source, list[0].Because));
    }

    [Fact]
    public void Weights_on_a_dense_4x4_equal_a_direct_inversion()
    {
        // Weighted X, 5 users × 4 items, every pair of items shares a user, so B is dense.
        var data = Matrix([
            ("u1", "A", 1), ("u1", "B", 2), ("u1", "C", 1),
            ("u2", "A", 3), ("u2", "D", 1),
            ("u3", "B", 1), ("u3", "C", 2), ("u3", "D", 1),
            ("u4", "A", 1), ("u4", "B", 1), ("u4", "D", 2),
            ("u5", "C", 1), ("u5", "D", 1)]);
        const double lambda = 2;
        var model = new EaseTrainer(new EaseOptions { Lambda = lambda }).Train(data);

        // Direct computation: G = XᵀX + λI, P = G⁻¹ by Gauss-Jordan (written here, independent of MathNet), B = I − P·diag(1/diag P).
        string[] items = ["A", "B", "C", "D"];
        var x = new double[5, 4];
        for (var u = 0; u < data.UserCount; u++)
        {
            for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
            {
                x[u, data.ItemIndices[p]] = data.Weights[p];
            }
        }

        var g = new double[4, 4];
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                for (var u = 0; u < 5; u++)
                {
                    g[i, j] += x[u, i] * x[u, j];
                }
            }

            g[i, i] += lambda;
        }

        var inverse = GaussJordanInverse(g);
        for (var i = 0; i < 4; i++)
        {
            for (var j = 0; j < 4; j++)
            {
                var expected = i == j ? 0 : -inverse[i, j] / inverse[j, j];
                Assert.Equal(expected, model.Weight(items[i], items[j])!.Value, 5);
            }
        }
    }

    [Fact]
    public void Only_the_most_popular_max_items_are_kept()
    {
        // Users per item: A 3, B 2, C 2, D 1. MaxItems 2 keeps A and B (B before C on the tie: id order).
        var model = new EaseTrainer(new EaseOptions { MaxItems = 2, Lambda = 1 }).Train(Unit("u1: A B C", "u2: A B", "u3: A C D"));

        Assert.Equal(["A", "B"], model.Items);
        Assert.Equal(4, model.CatalogItems);
        Assert.Null(model.Weight("A", "C"));
        Assert.Contains(model.Warnings, w => w.Contains("2 most popular of 4 items", StringComparison.Ordinal));
    }

    [Fact]
    public void Lambda_is_chosen_from_the_scaled_grid_by_validation()
    {
        var data = Random(300, 60, 8, seed: 3);
        var model = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 100, 1000] }).Train(data);

        Assert.Equal(3, model.LambdaGrid.Count);
        Assert.Equal(3, model.LambdaScores.Count);
        Assert.Contains(model.Lambda, model.LambdaGrid);
        Assert.Equal(model.LambdaScores.Max(), model.LambdaScores[model.LambdaGrid.ToList().IndexOf(model.Lambda)]);
        Assert.All(model.LambdaScores, s => Assert.InRange(s, 0, 1));
        // Scaled: the grid keeps its ratios (10 : 100 : 1000).
        Assert.Equal(100, model.LambdaGrid[2] / model.LambdaGrid[0], 6);

        // Validating on the 20 most popular items only still picks from the same grid, and the model keeps all 60.
        var small = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 100, 1000], ValidationMaxItems = 20 }).Train(data);
        Assert.Equal(model.LambdaGrid, small.LambdaGrid);
        Assert.Equal(data.ItemCount, small.Items.Count);

        // Same data, same seed: the same λ and the same bytes.
        Assert.Equal(Bytes(model), Bytes(new EaseTrainer(new EaseOptions { LambdaGrid = [10, 100, 1000] }).Train(data)));
    }

    [Fact]
    public void Exclusions_and_count_are_respected()
    {
        var data = Random(200, 40, 6, seed: 5);
        var model = new EaseTrainer(new EaseOptions { Lambda = 5 }).Train(data);
        var history = data.ItemsOf(0).ToArray().Select(i => (data.Items[i], 1.0)).ToArray();

        var full = model.Recommend(Query(10, history: history));
        var excluded = model.Recommend(Query(10, exclude: [full[0].ItemId, full[1].ItemId], history: history));

        Assert.True(full.Count <= 10);
        Assert.DoesNotContain(excluded, i => i.ItemId == full[0].ItemId || i.ItemId == full[1].ItemId);
        Assert.Equal(full[2].ItemId, excluded[0].ItemId);
        Assert.Equal(3, model.Recommend(Query(3, history: history)).Count);
        Assert.All(full, i => Assert.Contains(i.Because, history.Select(h => h.Item1)));
    }

    private static double[,] GaussJordanInverse(double[,] a)
    {
        var n = a.GetLength(0);
        var m = new double[n, 2 * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                m[i, j] = a[i, j];
            }

            m[i, n + i] = 1;
        }

        for (var c = 0; c < n; c++)
        {
            var pivot = Enumerable.Range(c, n - c).MaxBy(r => Math.Abs(m[r, c]));
            for (var j = 0; j < 2 * n; j++)
            {
                (m[c, j], m[pivot, j]) = (m[pivot, j], m[c, j]);
            }

            var d = m[c, c];
            for (var j = 0; j < 2 * n; j++)
            {
                m[c, j] /= d;
            }

            for (var r = 0; r < n; r++)
            {
                if (r != c)
                {
                    var f = m[r, c];
                    for (var j = 0; j < 2 * n; j++)
                    {
                        m[r, j] -= f * m[c, j];
                    }
                }
            }
        }

        var inverse = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                inverse[i, j] = m[i, n + j];
            }
        }

        return inverse;
    }
}
