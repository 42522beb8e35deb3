using System.Text.Json;
using ProfileGrid.Tests;

namespace ProfileGrid.Reranking.Tests;

/// <summary>
/// The gate's metrics against scikit-learn's on the same predictions: <c>roc_auc_score</c> over pooled impressions and
/// <c>ndcg_score</c> per list (tied scores, lists without a click, lists shorter than k), within 1e-9.
/// </summary>
public sealed class SklearnCrossCheckTests
{
    private const double Tolerance = 1e-9;

    private const string Script = """
        import json, sys
        import numpy as np
        from sklearn.metrics import roc_auc_score, ndcg_score

        data = json.load(open(sys.argv[1] + "/data.json"))
        out = {"auc": [], "ndcg": []}
        for case in data["auc"]:
            out["auc"].append(roc_auc_score(np.array(case["labels"]), np.array(case["scores"])))
        for case in data["ndcg"]:
            out["ndcg"].append(ndcg_score(np.array([case["relevance"]]), np.array([case["scores"]]), k=case["k"]))
        print(json.dumps(out))
        """;

    private sealed record AucCase(bool[] Labels, double[] Scores);

    private sealed record NdcgCase(double[] Relevance, double[] Scores, int K);

    [Fact]
    public void Auc_and_ndcg_equal_scikit_learns_on_the_same_predictions()
    {
        var random = new Random(2026);
        var aucCases = new List<AucCase>();
        foreach (var (rows, decimals) in new[] { (50, 6), (2000, 1), (500, 0), (3, 2) })
        {
            var labels = Enumerable.Range(0, rows).Select(i => i < 2 ? i == 0 : random.NextDouble() < 0.3).ToArray();
            // Scores mildly informative, rounded so that many of them tie.
            var scores = labels.Select(l => Math.Round(random.NextDouble() + (l ? 0.3 : 0), decimals)).ToArray();
            aucCases.Add(new AucCase(labels, scores));
        }

        var ndcgCases = new List<NdcgCase>();
        for (var c = 0; c < 60; c++)
        {
            var length = 2 + random.Next(30);
            var relevance = Enumerable.Range(0, length).Select(_ => random.NextDouble() < 0.15 ? 1.0 : 0.0).ToArray();
            if (c % 10 == 0)
            {
                relevance[random.Next(length)] = 3; // graded relevance too
            }

            var scores = Enumerable.Range(0, length).Select(_ => Math.Round(random.NextDouble() * 5) / 5).ToArray();
            ndcgCases.Add(new NdcgCase(relevance, scores, c % 3 == 0 ? 3 : 10));
        }

        var data = JsonSerializer.Serialize(new
        {
            auc = aucCases.Select(a => new { labels = a.Labels.Select(l => l ? 1 : 0), scores = a.Scores }),
            ndcg = ndcgCases.Select(n => new { relevance = n.Relevance, scores = n.Scores, k = n.K }),
        });
        var reference = ReferencePython.Run(Script, new Dictionary<string, string> { ["data.json"] = data }, "python3-sklearn");

        var referenceAuc = reference.GetProperty("auc").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var i = 0; i < aucCases.Count; i++)
        {
            Assert.Equal(referenceAuc[i], RerankMetrics.Auc(aucCases[i].Labels, aucCases[i].Scores), Tolerance);
        }

        var referenceNdcg = reference.GetProperty("ndcg").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (var i = 0; i < ndcgCases.Count; i++)
        {
            Assert.Equal(referenceNdcg[i], RerankMetrics.NdcgAtK(ndcgCases[i].Relevance, ndcgCases[i].Scores, ndcgCases[i].K), Tolerance);
        }

        Assert.Contains(ndcgCases, n => n.Relevance.All(r => r == 0));
    }

    [Fact]
    public void Auc_without_both_classes_is_nan_rather_than_a_number()
    {
        Assert.True(double.IsNaN(RerankMetrics.Auc([true, true], [0.1, 0.2])));
    }
}
