namespace ProfileGrid.Recommendations.Evaluation;

/// <summary>
/// One evaluated user: the list a model recommended (best first, seen items already removed) and the held-out items
/// that count as relevant (binary relevance: every held-out item is relevant, whatever its rating).
/// </summary>
public sealed record UserRanking(string User, IReadOnlyList<string> Recommended, IReadOnlySet<string> Relevant);

/// <summary>
/// The ranking and beyond-accuracy metrics of one model on one group of users, each defined as in Microsoft
/// Recommenders' <c>recommenders/evaluation/python_evaluation.py</c> (see <see cref="RankingMetrics"/> and
/// docs/recommendations-evaluation.md).
/// </summary>
/// <param name="Users">Users with held-out items (the test users of the group).</param>
/// <param name="UsersRecommended">Test users who got at least one recommendation: the denominator of precision,
/// recall, MAP and hit rate (nDCG averages over all <paramref name="Users"/>, as the reference does).</param>
/// <param name="Precision">precision_at_k.</param>
/// <param name="Recall">recall_at_k.</param>
/// <param name="Ndcg">ndcg_at_k with binary relevance.</param>
/// <param name="Map">map: average precision normalised by the number of relevant items (the MAP of published tables).</param>
/// <param name="MapAtK">map_at_k since Recommenders 1.2: normalised by min(relevant, k).</param>
/// <param name="HitRate">Share of users with at least one relevant item in their top k (not in the reference; see docs).</param>
/// <param name="CatalogCoverage">catalog_coverage: distinct recommended items over distinct training items.</param>
/// <param name="Novelty">novelty: mean of -log2(item's share of training interactions) over all recommendations.</param>
public sealed record MetricSet(
    int Users,
    int UsersRecommended,
    double Precision,
    double Recall,
    double Ndcg,
    double Map,
    double MapAtK,
    double HitRate,
    double CatalogCoverage,
    double Novelty)
{
    /// <summary>The metric names in display order, as <see cref="Get"/> and the CLI name them.</summary>
    public static IReadOnlyList<string> Names { get; } =
        ["precision", "recall", "ndcg", "map", "map@k", "hit-rate", "coverage", "novelty"];

    /// <summary>The value of the metric named <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public double Get(string name) => name switch
    {
        "precision" => Precision,
        "recall" => Recall,
        "ndcg" => Ndcg,
        "map" => Map,
        "map@k" => MapAtK,
        "hit-rate" => HitRate,
        "coverage" => CatalogCoverage,
        "novelty" => Novelty,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, $"Unknown metric; known: {string.Join(", ", Names)}."),
    };
}

/// <summary>
/// How often each item occurs in the training data (one count per user who has it), for novelty and coverage.
/// </summary>
public sealed class TrainingItemStats
{
    private readonly Dictionary<string, int> _counts;

    public TrainingItemStats(IReadOnlyDictionary<string, int> userCountPerItem)
    {
        _counts = new Dictionary<string, int>(userCountPerItem, StringComparer.Ordinal);
        Interactions = _counts.Values.Sum(c => (long)c);
    }

    /// <summary>Distinct items with at least one training interaction.</summary>
    public int Items => _counts.Count;

    /// <summary>Training (user, item) pairs: the reference's <c>n_records</c> (train_df is assumed free of duplicates).</summary>
    public long Interactions { get; }

    public int CountOf(string item) => _counts.TryGetValue(item, out var count) ? count : 0;

    public static TrainingItemStats Of(InteractionMatrix train)
    {
        var counts = new int[train.ItemCount];
        foreach (var item in train.ItemIndices)
        {
            counts[item]++;
        }

        var byId = new Dictionary<string, int>(train.ItemCount, StringComparer.Ordinal);
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0)
            {
                byId[train.Items[i]] = counts[i];
            }
        }

        return new TrainingItemStats(byId);
    }
}

/// <summary>
/// Top-k ranking metrics with the definitions of Microsoft Recommenders' Python evaluation
/// (<c>recommenders/evaluation/python_evaluation.py</c>), so that figures compare with its published tables. Each
/// recommended list is cut to its first k distinct items; ranks are 1-based positions in the list.
/// </summary>
/// <remarks>
/// The reference averages precision, recall and MAP over the users present in both the truth and the predictions
/// (<c>merge_ranking_true_pred</c>'s <c>n_users</c>), while nDCG averages over every user of the truth (its outer
/// merge gives a user without predictions an nDCG of 0). That asymmetry is kept, and <see cref="MetricSet"/> reports
/// how many users got no list at all so it cannot hide anything.
/// </remarks>
public static class RankingMetrics
{
    /// <summary>All metrics of <paramref name="rankings"/> at <paramref name="k"/>.</summary>
    public static MetricSet Compute(IReadOnlyList<UserRanking> rankings, int k, TrainingItemStats train)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var users = rankings.Where(r => r.Relevant.Count > 0).ToList();
        var recommended = users.Count(u => u.Recommended.Count > 0);
        return new MetricSet(
            users.Count,
            recommended,
            PrecisionAtK(users, k),
            RecallAtK(users, k),
            NdcgAtK(users, k),
            Map(users, k),
            MapAtK(users, k),
            HitRate(users, k),
            CatalogCoverage(users, k, train),
            Novelty(users, k, train));
    }

    /// <summary>
    /// precision_at_k: for each user with a list, hits in the top k divided by k (not by the list's length, so a list
    /// shorter than k cannot reach 1), averaged over those users.
    /// </summary>
    public static double PrecisionAtK(IReadOnlyList<UserRanking> rankings, int k) =>
        MeanOverRecommended(rankings, k, (hits, _, _) => hits.Count / (double)k);

    /// <summary>recall_at_k: for each user with a list, hits in the top k divided by the number of relevant items, averaged.</summary>
    public static double RecallAtK(IReadOnlyList<UserRanking> rankings, int k) =>
        MeanOverRecommended(rankings, k, (hits, relevant, _) => hits.Count / (double)relevant);

    /// <summary>
    /// ndcg_at_k, binary relevance (score_type="binary"): DCG = Σ over hits of 1 / ln(1 + rank), IDCG = Σ for i = 1 to
    /// min(relevant, k) of 1 / ln(1 + i); nDCG = DCG / IDCG, averaged over all users with relevant items (0 for a user
    /// without a list). The logarithm's base cancels in the ratio.
    /// </summary>
    public static double NdcgAtK(IReadOnlyList<UserRanking> rankings, int k)
    {
        var sum = 0d;
        var users = 0;
        foreach (var ranking in rankings)
        {
            if (ranking.Relevant.Count == 0)
            {
                continue;
            }

            users++;
            var dcg = 0d;
            foreach (var rank in HitRanks(ranking, k))
            {
                dcg += 1 / Math.Log(1 + rank);
            }

            var idcg = 0d;
            for (var i = 1; i <= Math.Min(ranking.Relevant.Count, k); i++)
            {
                idcg += 1 / Math.Log(1 + i);
            }

            sum += dcg / idcg;
        }

        return users == 0 ? 0 : sum / users;
    }

    /// <summary>
    /// map (the reference's function of that name, and its <c>map_at_k</c> before release 1.2): for each user with a
    /// list, Σ over hits of (hits so far / rank), divided by the number of relevant items; averaged over users with a
    /// list. This is the MAP of Recommenders' published MovieLens tables.
    /// </summary>
    public static double Map(IReadOnlyList<UserRanking> rankings, int k) =>
        MeanOverRecommended(rankings, k, (hits, relevant, _) => ReciprocalRankSum(hits) / relevant);

    /// <summary>
    /// map_at_k as of Recommenders 1.2 (Spark's meanAveragePrecisionAt): as <see cref="Map"/> but divided by
    /// min(relevant, k), so a perfect list scores 1 even when a user has more than k relevant items.
    /// </summary>
    public static double MapAtK(IReadOnlyList<UserRanking> rankings, int k) =>
        MeanOverRecommended(rankings, k, (hits, relevant, _) => ReciprocalRankSum(hits) / Math.Min(relevant, k));

    /// <summary>Hit rate at k: the share of users with a list that have at least one relevant item in their top k.</summary>
    public static double HitRate(IReadOnlyList<UserRanking> rankings, int k) =>
        MeanOverRecommended(rankings, k, (hits, _, _) => hits.Count > 0 ? 1 : 0);

    /// <summary>
    /// catalog_coverage: distinct items in all top-k lists divided by distinct items in the training data
    /// (Shani and Gunawardana's catalog coverage).
    /// </summary>
    public static double CatalogCoverage(IReadOnlyList<UserRanking> rankings, int k, TrainingItemStats train)
    {
        if (train.Items == 0)
        {
            return 0;
        }

        var distinct = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ranking in rankings)
        {
            distinct.UnionWith(TopK(ranking.Recommended, k));
        }

        return distinct.Count / (double)train.Items;
    }

    /// <summary>
    /// novelty (Castells et al.'s item-choice model): each item's novelty is -log2(its training interactions / all
    /// training interactions); the metric is the sum over every recommendation of its item's novelty divided by the
    /// number of recommendations. A recommended item absent from training adds nothing but still counts in the
    /// denominator, as the reference's inner merge does.
    /// </summary>
    public static double Novelty(IReadOnlyList<UserRanking> rankings, int k, TrainingItemStats train)
    {
        var sum = 0d;
        long recommendations = 0;
        foreach (var ranking in rankings)
        {
            foreach (var item in TopK(ranking.Recommended, k))
            {
                recommendations++;
                var count = train.CountOf(item);
                if (count > 0)
                {
                    sum += -Math.Log2(count / (double)train.Interactions);
                }
            }
        }

        return recommendations == 0 ? 0 : sum / recommendations;
    }

    /// <summary>The first <paramref name="k"/> distinct items of a list.</summary>
    public static List<string> TopK(IReadOnlyList<string> recommended, int k)
    {
        var top = new List<string>(Math.Min(k, recommended.Count));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in recommended)
        {
            if (top.Count == k)
            {
                break;
            }

            if (seen.Add(item))
            {
                top.Add(item);
            }
        }

        return top;
    }

    /// <summary>1-based ranks of the relevant items among the top k, ascending.</summary>
    private static List<int> HitRanks(UserRanking ranking, int k)
    {
        var top = TopK(ranking.Recommended, k);
        var ranks = new List<int>();
        for (var i = 0; i < top.Count; i++)
        {
            if (ranking.Relevant.Contains(top[i]))
            {
                ranks.Add(i + 1);
            }
        }

        return ranks;
    }

    // Σ (n-th hit / its rank): precision at each hit's position.
    private static double ReciprocalRankSum(List<int> hitRanks)
    {
        var sum = 0d;
        for (var n = 0; n < hitRanks.Count; n++)
        {
            sum += (n + 1) / (double)hitRanks[n];
        }

        return sum;
    }

    private static double MeanOverRecommended(IReadOnlyList<UserRanking> rankings, int k, Func<List<int>, int, UserRanking, double> perUser)
    {
        var sum = 0d;
        var users = 0;
        foreach (var ranking in rankings)
        {
            if (ranking.Relevant.Count == 0 || ranking.Recommended.Count == 0)
            {
                continue;
            }

            users++;
            sum += perUser(HitRanks(ranking, k), ranking.Relevant.Count, ranking);
        }

        return users == 0 ? 0 : sum / users;
    }
}
