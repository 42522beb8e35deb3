namespace ProfileGrid.Reranking;

/// <summary>
/// The offline metrics of the evaluation gate, defined as scikit-learn defines them (cross-checked in the tests):
/// <c>roc_auc_score</c> and <c>ndcg_score</c> with tied scores averaged.
/// </summary>
public static class RerankMetrics
{
    /// <summary>
    /// Area under the ROC curve of <paramref name="scores"/> for the binary <paramref name="labels"/> (the
    /// Mann–Whitney statistic, tied scores counting one half, as <c>roc_auc_score</c>); NaN when one class is absent.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double Auc(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        if (labels.Length != scores.Length)
        {
            throw new ArgumentException($"labels ({labels.Length}) and scores ({scores.Length}) must have the same length.", nameof(scores));
        }

        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var keys = scores.ToArray();
        System.Array.Sort(keys, order);

        // Sum of the (1-based, tie-averaged) ranks of the positives.
        double positiveRankSum = 0;
        long positives = 0;
        for (var start = 0; start < keys.Length;)
        {
            var end = start + 1;
            while (end < keys.Length && keys[end] == keys[start])
            {
                end++;
            }

            var averageRank = (start + 1 + end) / 2.0;
            for (var j = start; j < end; j++)
            {
                if (labels[order[j]])
                {
                    positiveRankSum += averageRank;
                    positives++;
                }
            }

            start = end;
        }

        long negatives = labels.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            return double.NaN;
        }

        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
    }

    /// <summary>
    /// nDCG@k of one list (<c>ndcg_score([relevance], [scores], k=k)</c>): gains are the relevances, discounts
    /// 1 / log2(1 + rank), items with tied scores share the average of their discounts, and a list without a relevant
    /// item scores 0.
    /// </summary>
    /// <exception cref="ArgumentException">The lengths differ, or k is below 1.</exception>
    public static double NdcgAtK(ReadOnlySpan<double> relevance, ReadOnlySpan<double> scores, int k)
    {
        if (relevance.Length != scores.Length)
        {
            throw new ArgumentException($"relevance ({relevance.Length}) and scores ({scores.Length}) must have the same length.", nameof(scores));
        }

        if (k < 1)
        {
            throw new ArgumentException($"k must be at least 1 ({k}).", nameof(k));
        }

        var n = relevance.Length;
        var discountSum = new double[n + 1];
        for (var i = 0; i < n; i++)
        {
            discountSum[i + 1] = discountSum[i] + (i < k ? 1 / Math.Log2(i + 2) : 0);
        }

        var ideal = relevance.ToArray();
        System.Array.Sort(ideal, (a, b) => b.CompareTo(a));
        double idealDcg = 0;
        for (var i = 0; i < Math.Min(k, n); i++)
        {
            idealDcg += ideal[i] * (discountSum[i + 1] - discountSum[i]);
        }

        if (idealDcg == 0)
        {
            return 0;
        }

        var order = new int[n];
        for (var i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var keys = scores.ToArray();
        for (var i = 0; i < n; i++)
        {
            keys[i] = -keys[i];
        }

        System.Array.Sort(keys, order);
        double dcg = 0;
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            while (end < n && keys[end] == keys[start])
            {
                end++;
            }

            double gain = 0;
            for (var j = start; j < end; j++)
            {
                gain += relevance[order[j]];
            }

            dcg += gain / (end - start) * (discountSum[end] - discountSum[start]);
            start = end;
        }

        return dcg / idealDcg;
    }
}
