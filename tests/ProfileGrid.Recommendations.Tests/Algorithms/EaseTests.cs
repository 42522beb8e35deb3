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
        // The grid as given (no extension past its edge: the tests below cover that), to see the scaling alone.
        var data = Random(300, 60, 8, seed: 3);
        var options = new EaseOptions { LambdaGrid = [10, 100, 1000], LambdaGridExtensionSteps = 0 };
        var model = new EaseTrainer(options).Train(data);

        Assert.Equal(3, model.LambdaGrid.Count);
        Assert.Equal(3, model.LambdaScores.Count);
        Assert.Contains(model.Lambda, model.LambdaGrid);
        Assert.Equal(model.LambdaScores.Max(), model.LambdaScores[model.LambdaGrid.ToList().IndexOf(model.Lambda)]);
        Assert.All(model.LambdaScores, s => Assert.InRange(s, 0, 1));
        // Scaled: the grid keeps its ratios (10 : 100 : 1000).
        Assert.Equal(100, model.LambdaGrid[2] / model.LambdaGrid[0], 6);

        // Validating on the 20 most popular items only still picks from the same grid, and the model keeps all 60.
        var small = new EaseTrainer(options with { ValidationMaxItems = 20 }).Train(data);
        Assert.Equal(model.LambdaGrid, small.LambdaGrid);
        Assert.Equal(data.ItemCount, small.Items.Count);

        // Same data, same seed: the same λ and the same bytes.
        Assert.Equal(Bytes(model), Bytes(new EaseTrainer(options).Train(data)));
    }

    // 400 users, 40 items in 4 clusters, 8 items each (half from the popular tail): validation's nDCG@10 peaks at about
    // 1,600 in the grid's units (× mean(diag XᵀX) / 500 = 80 / 500), above the default grid's top of 1,000.
    private static readonly InteractionMatrix Tasteful = Clustered(400, 40, 4, 8, noise: 0.5, seed: 1);

    /// <summary>The factor ScaleLambdaGrid applies: mean(diag XᵀX) / 500.</summary>
    private static double Scale(InteractionMatrix data) => data.Weights.Sum(w => (double)w * w) / data.ItemCount / 500;

    [Fact]
    public void Validation_extends_the_grid_upwards_until_the_best_lambda_is_interior()
    {
        var scale = Scale(Tasteful);
        var model = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 50, 100] }).Train(Tasteful);

        // Best at the top (100) → 400 → 1,600 → 6,400, which scores lower: three extra fits, each ×4 the last.
        Assert.Equal([10, 50, 100, 400, 1600, 6400], model.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Equal(model.LambdaGrid.Count, model.LambdaScores.Count);
        Assert.Equal(1600 * scale, model.Lambda, 9);
        Assert.True(model.Lambda > 100 * scale && model.Lambda > model.LambdaGrid[0] && model.Lambda < model.LambdaGrid[^1]);
        AssertRisesThenFalls(model);
        Assert.DoesNotContain(model.Warnings, w => w.Contains("edge", StringComparison.Ordinal));

        // The benchmark's situation in miniature: the default grid's best is its top, one extension makes it interior.
        var defaults = new EaseTrainer().Train(Tasteful);
        Assert.Equal([10, 50, 100, 250, 500, 1000, 4000], defaults.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Equal(1000 * scale, defaults.Lambda, 9);
        AssertRisesThenFalls(defaults);
        Assert.Empty(defaults.Warnings);
    }

    [Fact]
    public void Validation_extends_the_grid_downwards_when_the_smallest_lambda_wins()
    {
        var scale = Scale(Tasteful);
        var model = new EaseTrainer(new EaseOptions { LambdaGrid = [10_000, 100_000] }).Train(Tasteful);

        Assert.Equal([625, 2500, 10_000, 100_000], model.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Equal(2500 * scale, model.Lambda, 9);
        AssertRisesThenFalls(model);
        Assert.Empty(model.Warnings);
    }

    [Fact]
    public void A_best_lambda_inside_the_grid_costs_no_extra_fits()
    {
        var scale = Scale(Tasteful);
        var extended = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 50, 100] }).Train(Tasteful);

        // Given the grid the extension ended with, validation tries exactly it, scores it alike and picks the same λ.
        var model = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 50, 100, 400, 1600, 6400] }).Train(Tasteful);
        Assert.Equal(extended.LambdaGrid, model.LambdaGrid);
        Assert.Equal(extended.LambdaScores, model.LambdaScores);
        Assert.Equal(extended.Lambda, model.Lambda);

        // Written in any order, the grid is tried and listed ascending.
        var shuffled = new EaseTrainer(new EaseOptions { LambdaGrid = [6400, 100, 1600] }).Train(Tasteful);
        Assert.Equal([100, 1600, 6400], shuffled.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Equal(1600 * scale, shuffled.Lambda, 9);
    }

    [Fact]
    public void Extension_stops_at_its_cap_and_the_edge_warning_stays()
    {
        var scale = Scale(Tasteful);

        // Still rising at 160 after two steps of ×4 from 10: the cap (2) ends it at the edge, and the model says so.
        var capped = new EaseTrainer(new EaseOptions { LambdaGrid = [0.1, 1, 10], LambdaGridExtensionSteps = 2 }).Train(Tasteful);
        Assert.Equal([0.1, 1, 10, 40, 160], capped.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Equal(capped.LambdaGrid[^1], capped.Lambda);
        Assert.Equal(capped.LambdaScores.Max(), capped.LambdaScores[^1]);
        Assert.Contains(capped.Warnings, w => w.Contains("at the edge of the validation grid", StringComparison.Ordinal)
            && w.Contains("ease.lambda_grid_extension_steps", StringComparison.Ordinal));

        // The default cap of 4 with a factor of 2: 10 → 160 again, the same edge.
        var halved = new EaseTrainer(new EaseOptions { LambdaGrid = [0.1, 1, 10], LambdaGridExtensionFactor = 2 }).Train(Tasteful);
        Assert.Equal([0.1, 1, 10, 20, 40, 80, 160], halved.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Contains(halved.Warnings, w => w.Contains("at the edge", StringComparison.Ordinal));

        // 0 steps: the grid as given, as before the extension existed.
        var fixedGrid = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 50, 100], LambdaGridExtensionSteps = 0 }).Train(Tasteful);
        Assert.Equal([10, 50, 100], fixedGrid.LambdaGrid.Select(l => Math.Round(l / scale, 6)));
        Assert.Equal(100 * scale, fixedGrid.Lambda, 9);
        Assert.Contains(fixedGrid.Warnings, w => w.Contains("at the edge", StringComparison.Ordinal));
    }

    [Fact]
    public void A_grid_on_a_plateau_is_not_extended_and_says_its_choice_is_not_tuned()
    {
        // At λ this large B ≈ XᵀX / λ: every candidate ranks by co-occurrence and scores the same, so neither direction
        // is better and no extra fit is spent; the model says the choice is not tuned instead of claiming an edge.
        var model = new EaseTrainer(new EaseOptions { LambdaGrid = [100_000, 1_000_000] }).Train(Tasteful);

        Assert.Equal(2, model.LambdaGrid.Count);
        Assert.Equal(model.LambdaScores[0], model.LambdaScores[1]);
        Assert.Equal(model.LambdaGrid[0], model.Lambda);
        var warning = Assert.Single(model.Warnings);
        Assert.Contains("scored every λ alike", warning, StringComparison.Ordinal);
    }

    /// <summary>Validation's scores climb strictly to the chosen λ and fall strictly after it, which is interior.</summary>
    private static void AssertRisesThenFalls(EaseModel model)
    {
        var best = model.LambdaGrid.ToList().IndexOf(model.Lambda);
        Assert.InRange(best, 1, model.LambdaGrid.Count - 2);
        for (var g = 1; g < model.LambdaGrid.Count; g++)
        {
            Assert.True(model.LambdaGrid[g] > model.LambdaGrid[g - 1], "the grid is listed ascending");
            Assert.True(g <= best ? model.LambdaScores[g] > model.LambdaScores[g - 1] : model.LambdaScores[g] < model.LambdaScores[g - 1],
                $"nDCG should rise to λ {model.Lambda:G4} and fall after it: {string.Join(", ", model.LambdaGrid.Zip(model.LambdaScores, (l, s) => $"{l:G4}: {s:F4}"))}");
        }
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
