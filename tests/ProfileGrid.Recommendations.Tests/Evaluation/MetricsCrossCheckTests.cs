using System.Globalization;
using System.Text;
using ProfileGrid.Tests;
using ProfileGrid.Recommendations.Evaluation;

namespace ProfileGrid.Recommendations.Tests.Evaluation;

/// <summary>
/// Every metric against an independent pandas implementation of Microsoft Recommenders' formulas
/// (recommenders/evaluation/python_evaluation.py: merge_ranking_true_pred, precision_at_k, recall_at_k, ndcg_at_k
/// binary, map, map_at_k, catalog_coverage, novelty), on the same random rankings.
/// </summary>
public sealed class MetricsCrossCheckTests
{
    // Written from the reference's definitions with its data-frame steps (common users, top-k by prediction, hits by
    // merge, nDCG's outer merge over every true user), not by calling the library, which Debian does not package.
    private const string Script = """
        import json, sys
        import numpy as np
        import pandas as pd

        folder = sys.argv[1]
        k = int(open(folder + "/k.txt").read())
        true = pd.read_csv(folder + "/true.csv", dtype={"userID": str, "itemID": str})
        pred = pd.read_csv(folder + "/pred.csv", dtype={"userID": str, "itemID": str})
        train = pd.read_csv(folder + "/train.csv", dtype={"userID": str, "itemID": str})

        common = set(true.userID) & set(pred.userID)
        n_users = len(common)
        true_c = true[true.userID.isin(common)]
        pred_c = pred[pred.userID.isin(common)]
        top = (pred_c.sort_values(["userID", "prediction"], ascending=[True, False])
               .groupby("userID", as_index=False).head(k).reset_index(drop=True))
        top["rank"] = top.groupby("userID", sort=False).cumcount() + 1
        hit = pd.merge(top, true_c, on=["userID", "itemID"])[["userID", "itemID", "rank"]]
        counts = pd.merge(hit.groupby("userID").size().rename("hit").reset_index(),
                          true_c.groupby("userID").size().rename("actual").reset_index(), on="userID")

        precision = (counts.hit / k).sum() / n_users
        recall = (counts.hit / counts.actual).sum() / n_users
        hit_rate = (counts.hit > 0).sum() / n_users

        dcg = hit.merge(true, on=["userID", "itemID"], how="outer")
        dcg["rel"] = 1.0
        dcg["dcg"] = dcg.rel / np.log(1 + dcg["rank"])
        dcg["irank"] = dcg.groupby("userID").cumcount() + 1
        dcg["idcg"] = dcg.rel / np.log(1 + dcg.irank)
        per_user = dcg.groupby("userID").agg(dcg=("dcg", "sum"))
        ideal = dcg[dcg.irank <= k].groupby("userID").agg(idcg=("idcg", "sum"))
        ndcg = (per_user.dcg / ideal.idcg).mean()

        rr = hit.sort_values(["userID", "rank"]).copy()
        rr["rr"] = (rr.groupby("userID").cumcount() + 1) / rr["rank"]
        rr = rr.groupby("userID").agg(rr=("rr", "sum")).reset_index().merge(counts, on="userID")
        map_ = (rr.rr / rr.actual).sum() / n_users
        map_at_k = (rr.rr / rr.actual.clip(upper=k)).sum() / n_users

        reco = (pred.sort_values(["userID", "prediction"], ascending=[True, False])
                .groupby("userID", as_index=False).head(k))
        coverage = reco.itemID.nunique() / train.itemID.nunique()
        item_count = train.groupby("itemID").size().rename("count").reset_index()
        item_count["novelty"] = -np.log2(item_count["count"] / train.shape[0])
        reco_count = reco.groupby("itemID").size().rename("n").reset_index().merge(item_count, on="itemID")
        novelty = (reco_count.n * reco_count.novelty).sum() / reco.shape[0]

        print(json.dumps({"precision": precision, "recall": recall, "ndcg": ndcg, "map": map_, "map@k": map_at_k,
                          "hit-rate": float(hit_rate), "coverage": coverage, "novelty": novelty}))
        """;

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 5)]
    [InlineData(3, 1)]
    public void Every_metric_matches_a_pandas_implementation_of_the_reference_on_random_rankings(int seed, int k)
    {
        var random = new Random(seed);
        var items = Enumerable.Range(0, 40).Select(i => $"i{i}").ToArray();
        var rankings = new List<UserRanking>();
        var trainCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        var train = new StringBuilder("userID,itemID\n");
        var truth = new StringBuilder("userID,itemID\n");
        var pred = new StringBuilder("userID,itemID,prediction\n");
        for (var u = 0; u < 60; u++)
        {
            var user = $"u{u}";
            var shuffled = items.OrderBy(_ => random.Next()).ToArray();
            // Disjoint train, test and recommended-but-unseen parts, as a split and seen-item removal leave them;
            // the recommended list overlaps the test part at random and may be empty or shorter than k.
            var trainItems = shuffled.Take(random.Next(1, 8)).ToArray();
            var rest = shuffled.Skip(trainItems.Length).ToArray();
            var relevant = rest.OrderBy(_ => random.Next()).Take(random.Next(1, 9)).ToArray();
            var recommended = rest.OrderBy(_ => random.Next()).Take(u % 11 == 0 ? 0 : random.Next(1, 15)).ToArray();
            rankings.Add(new UserRanking(user, recommended, relevant.ToHashSet(StringComparer.Ordinal)));
            foreach (var item in trainItems)
            {
                train.Append(user).Append(',').Append(item).Append('\n');
                trainCounts[item] = trainCounts.GetValueOrDefault(item) + 1;
            }

            foreach (var item in relevant)
            {
                truth.Append(user).Append(',').Append(item).Append('\n');
            }

            for (var r = 0; r < recommended.Length; r++)
            {
                pred.Append(user).Append(',').Append(recommended[r]).Append(',').Append(recommended.Length - r).Append('\n');
            }
        }

        var expected = ReferencePython.Run(Script, new Dictionary<string, string>
        {
            ["k.txt"] = k.ToString(CultureInfo.InvariantCulture),
            ["true.csv"] = truth.ToString(),
            ["pred.csv"] = pred.ToString(),
            ["train.csv"] = train.ToString(),
        }, "python3-pandas");

        var metrics = RankingMetrics.Compute(rankings, k, new TrainingItemStats(trainCounts));
        foreach (var name in MetricSet.Names)
        {
            Assert.True(
                Math.Abs(expected.GetProperty(name).GetDouble() - metrics.Get(name)) < 1e-9,
                $"{name}: pandas {expected.GetProperty(name).GetDouble()}, ours {metrics.Get(name)}");
        }
    }
}
