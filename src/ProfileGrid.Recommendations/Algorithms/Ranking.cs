namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>
/// The one metric EASE's λ validation needs. The evaluation module has the full set (precision, recall, MAP, ...);
/// this stays here so that training does not depend on it.
/// </summary>
internal static class Ranking
{
    /// <summary>
    /// Binary nDCG@k: Σ over hits at rank r (1-based) of 1 / log2(r + 1), divided by the same sum for min(|relevant|, k)
    /// hits at the top (as Microsoft Recommenders' ndcg_at_k with binary relevance). 0 when nothing is relevant.
    /// </summary>
    public static double NdcgAtK(IReadOnlyList<int> ranked, IReadOnlySet<int> relevant, int k)
    {
        if (relevant.Count == 0)
        {
            return 0;
        }

        var dcg = 0.0;
        for (var r = 0; r < Math.Min(k, ranked.Count); r++)
        {
            if (relevant.Contains(ranked[r]))
            {
                dcg += 1 / Math.Log2(r + 2);
            }
        }

        var ideal = 0.0;
        for (var r = 0; r < Math.Min(k, relevant.Count); r++)
        {
            ideal += 1 / Math.Log2(r + 2);
        }

        return dcg / ideal;
    }
}
