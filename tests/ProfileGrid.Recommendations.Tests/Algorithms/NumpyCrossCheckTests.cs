using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ProfileGrid.Recommendations.Algorithms;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

/// <summary>
/// Item-item cosine with shrinkage (top-k) and EASE's B computed by numpy/scipy (Debian's python3-numpy and
/// python3-scipy, at /usr/bin/python3) on the same random sparse data, compared entry by entry.
/// </summary>
public class NumpyCrossCheckTests
{
    private static readonly InteractionMatrix Data = TestData.Random(500, 90, 7, seed: 2026);

    [Fact]
    public void Item_item_neighbours_and_similarities_equal_scipys()
    {
        const double shrink = 10;
        const int k = 12;
        var model = new ItemCfTrainer(new ItemCfOptions { Shrink = shrink, Neighbours = k }).Train(Data);

        var expected = Python.Run(Data, $$"""
            G = (X.T @ X).toarray()
            norms = np.sqrt(np.diag(G))
            S = G / (np.outer(norms, norms) + {{shrink.ToString(CultureInfo.InvariantCulture)}})
            result = []
            for i in range(G.shape[0]):
                candidates = [j for j in range(G.shape[0]) if j != i and G[i, j] > 0]
                order = sorted(candidates, key=lambda j: (-np.float32(S[i, j]), j))[:{{k}}]
                result.append({"items": order, "sims": [float(S[i, j]) for j in order]})
            print(json.dumps(result))
            """);

        Assert.Equal(Data.ItemCount, expected.GetArrayLength());
        var compared = 0;
        for (var i = 0; i < Data.ItemCount; i++)
        {
            var theirs = expected[i];
            var ours = model.SimilarItems(Data.Items[i], k)!;
            Assert.Equal(theirs.GetProperty("items").EnumerateArray().Select(j => Data.Items[j.GetInt32()]), ours.Select(o => o.ItemId));
            var sims = theirs.GetProperty("sims").EnumerateArray().Select(s => s.GetDouble()).ToArray();
            for (var r = 0; r < sims.Length; r++)
            {
                Assert.Equal(sims[r], ours[r].Score, 1e-6);
                compared++;
            }
        }

        Assert.True(compared > Data.ItemCount * k / 2, $"only {compared} similarities compared");
    }

    [Fact]
    public void Ease_weights_equal_numpys_inverse()
    {
        const double lambda = 25;
        var model = new EaseTrainer(new EaseOptions { Lambda = lambda }).Train(Data);

        var expected = Python.Run(Data, $$"""
            G = (X.T @ X).toarray() + {{lambda.ToString(CultureInfo.InvariantCulture)}} * np.eye(X.shape[1])
            P = np.linalg.inv(G)
            B = P / (-np.diag(P))
            np.fill_diagonal(B, 0.0)
            print(json.dumps(B.tolist()))
            """);

        var n = Data.ItemCount;
        Assert.Equal(n, model.Items.Count);
        var largest = 0.0;
        for (var i = 0; i < n; i++)
        {
            var row = expected[i].EnumerateArray().Select(v => v.GetDouble()).ToArray();
            for (var j = 0; j < n; j++)
            {
                Assert.Equal(row[j], model.Weight(Data.Items[i], Data.Items[j])!.Value, 1e-6);
                largest = Math.Max(largest, Math.Abs(row[j]));
            }
        }

        Assert.True(largest > 0.01, "B should not be trivially small");
    }

    [Fact]
    public void Ease_lambda_chosen_past_the_grid_is_where_numpys_own_validation_peaks()
    {
        // Validation extends [10, 50, 100] (× scale) up to 6,400 and picks an interior λ (EaseTests). numpy scores the
        // same candidates on splits of its own (five seeded 20% hold-outs, not the trainer's): its curve should also rise
        // and fall, and peak at the chosen λ or next to it.
        var data = TestData.Clustered(400, 40, 4, 8, noise: 0.5, seed: 1);
        var model = new EaseTrainer(new EaseOptions { LambdaGrid = [10, 50, 100] }).Train(data);
        var lambdas = string.Join(", ", model.LambdaGrid.Select(l => l.ToString("R", CultureInfo.InvariantCulture)));

        var expected = Python.Run(data, $$"""
            X = X.toarray()
            n = X.shape[1]
            lambdas = [{{lambdas}}]
            rng = np.random.default_rng(7)
            scores = np.zeros(len(lambdas))
            for rep in range(5):
                train = X.copy()
                held = {}
                for u in range(X.shape[0]):
                    items = np.nonzero(X[u])[0]
                    if len(items) >= 4:
                        hidden = rng.choice(items, max(1, int(round(len(items) * 0.2))), replace=False)
                        train[u, hidden] = 0
                        held[u] = set(hidden.tolist())
                G = train.T @ train
                for g, lam in enumerate(lambdas):
                    P = np.linalg.inv(G + lam * np.eye(n))
                    B = P / (-np.diag(P))
                    np.fill_diagonal(B, 0.0)
                    S = train @ B
                    total = 0.0
                    for u, hidden in held.items():
                        candidates = [j for j in range(n) if train[u, j] == 0]
                        top = sorted(candidates, key=lambda j: (-S[u, j], j))[:10]
                        dcg = sum(1 / np.log2(r + 2) for r, j in enumerate(top) if j in hidden)
                        ideal = sum(1 / np.log2(r + 2) for r in range(min(len(hidden), 10)))
                        total += dcg / ideal
                    scores[g] += total / len(held) / 5
            print(json.dumps(scores.tolist()))
            """);

        var theirs = expected.EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var curve = string.Join(", ", model.LambdaGrid.Select((l, g) => $"{l:G4}: ours {model.LambdaScores[g]:F4}, numpy {theirs[g]:F4}"));
        var ours = model.LambdaGrid.ToList().IndexOf(model.Lambda);
        var numpys = Array.IndexOf(theirs, theirs.Max());
        Assert.True(Math.Abs(ours - numpys) <= 1, $"numpy peaks at λ {model.LambdaGrid[numpys]:G4}, validation chose {model.Lambda:G4} ({curve})");
        Assert.True(numpys > 0 && numpys < theirs.Length - 1, $"numpy's curve should peak inside the tried grid ({curve})");
        Assert.True(theirs[^1] < theirs[numpys] && theirs[0] < theirs[numpys], curve);
    }

    /// <summary>Runs a script with X (scipy CSR, users × items, the matrix's weights) loaded; the script prints JSON.</summary>
    private static class Python
    {
        private const string Interpreter = "/usr/bin/python3";

        public static JsonElement Run(InteractionMatrix data, string script)
        {
            var folder = Directory.CreateTempSubdirectory("profilegrid-recommender-check-");
            try
            {
                var triples = Path.Combine(folder.FullName, "x.csv");
                var lines = new List<string>();
                for (var u = 0; u < data.UserCount; u++)
                {
                    for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
                    {
                        lines.Add(string.Create(CultureInfo.InvariantCulture, $"{u},{data.ItemIndices[p]},{(double)data.Weights[p]:R}"));
                    }
                }

                File.WriteAllLines(triples, lines);
                var path = Path.Combine(folder.FullName, "check.py");
                File.WriteAllText(path, $$"""
                    import json, sys
                    import numpy as np
                    import scipy.sparse as sp
                    t = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
                    X = sp.csr_matrix((t[:, 2], (t[:, 0].astype(int), t[:, 1].astype(int))), shape=({{data.UserCount}}, {{data.ItemCount}}))
                    {{script}}
                    """);
                var start = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
                start.ArgumentList.Add(path);
                start.ArgumentList.Add(triples);
                using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Interpreter}.");
                var output = process.StandardOutput.ReadToEndAsync();
                var errors = process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"numpy/scipy check failed (install Debian's python3-numpy and python3-scipy): {errors}");
                }

                return JsonDocument.Parse(output.Result).RootElement.Clone();
            }
            finally
            {
                folder.Delete(recursive: true);
            }
        }
    }
}
