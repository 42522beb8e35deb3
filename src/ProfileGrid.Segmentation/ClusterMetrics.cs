namespace ProfileGrid.Segmentation;

/// <summary>Quality and stability measures for partitions of <c>double[][]</c> rows (Euclidean distance).</summary>
public static class ClusterMetrics
{
    /// <summary>Sum over points of the squared Euclidean distance to the centroid of the point's cluster.</summary>
    public static double Inertia(double[][] points, int[] labels, double[][] centroids)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(centroids);
        CheckSameLength(points.Length, labels.Length);
        double total = 0;
        for (var i = 0; i < points.Length; i++)
        {
            if (labels[i] < 0 || labels[i] >= centroids.Length)
            {
                throw new ArgumentException($"Label {labels[i]} of point {i} has no centroid.", nameof(labels));
            }

            total += SquaredDistance(points[i], centroids[labels[i]]);
        }

        return total;
    }

    /// <summary>
    /// The Calinski-Harabasz index (variance ratio), as <c>sklearn.metrics.calinski_harabasz_score(X, labels)</c>:
    /// (between-cluster dispersion / (k - 1)) / (within-cluster dispersion / (n - k)), with the clusters' own means as
    /// centres; 1 when every point sits on its cluster's mean. Higher is better. Labels may be any integers; requires
    /// 2 &lt;= number of clusters &lt;= n - 1, as scikit-learn does. O(n d).
    /// </summary>
    public static double CalinskiHarabasz(double[][] points, int[] labels)
    {
        var (members, means, overall) = ClusterMeans(points, labels);
        var k = means.Length;
        var n = points.Length;
        double between = 0, within = 0;
        for (var c = 0; c < k; c++)
        {
            between += members[c] * SquaredDistance(means[c], overall);
        }

        var slot = SlotsOf(labels);
        for (var i = 0; i < n; i++)
        {
            within += SquaredDistance(points[i], means[slot[labels[i]]]);
        }

        return within == 0 ? 1.0 : between * (n - k) / (within * (k - 1.0));
    }

    /// <summary>
    /// The Davies-Bouldin index, as <c>sklearn.metrics.davies_bouldin_score(X, labels)</c>: the mean over clusters of the
    /// largest (s_i + s_j) / d(c_i, c_j), where s is the mean Euclidean distance of a cluster's points to its mean and d
    /// the distance between means (coincident means are ignored); 0 when all spreads or all mean distances are 0. Lower
    /// is better. Requires 2 &lt;= number of clusters &lt;= n - 1. O(n d + k^2 d).
    /// </summary>
    public static double DaviesBouldin(double[][] points, int[] labels)
    {
        var (members, means, _) = ClusterMeans(points, labels);
        var k = means.Length;
        var spread = new double[k];
        var slot = SlotsOf(labels);
        for (var i = 0; i < points.Length; i++)
        {
            var c = slot[labels[i]];
            spread[c] += Math.Sqrt(SquaredDistance(points[i], means[c]));
        }

        for (var c = 0; c < k; c++)
        {
            spread[c] /= members[c];
        }

        var distances = new double[k, k];
        bool anySpread = spread.Any(s => Math.Abs(s) > 1e-15), anyDistance = false;
        for (var a = 0; a < k; a++)
        {
            for (var b = 0; b < k; b++)
            {
                distances[a, b] = Math.Sqrt(SquaredDistance(means[a], means[b]));
                anyDistance |= Math.Abs(distances[a, b]) > 1e-15;
            }
        }

        if (!anySpread || !anyDistance)
        {
            return 0.0;
        }

        double total = 0;
        for (var a = 0; a < k; a++)
        {
            var worst = 0.0;
            for (var b = 0; b < k; b++)
            {
                if (a != b && distances[a, b] != 0)
                {
                    worst = Math.Max(worst, (spread[a] + spread[b]) / distances[a, b]);
                }
            }

            total += worst;
        }

        return total / k;
    }

    /// <summary>Per distinct label (in ascending label order): its member count and mean, and the mean of all points.</summary>
    private static (int[] Members, double[][] Means, double[] Overall) ClusterMeans(double[][] points, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(labels);
        CheckSameLength(points.Length, labels.Length);
        var slot = SlotsOf(labels);
        var k = slot.Count;
        if (k < 2 || k > points.Length - 1)
        {
            throw new ArgumentException($"Number of labels is {k}. Valid values are 2 to n_samples - 1 (inclusive) = {points.Length - 1}.", nameof(labels));
        }

        var d = points[0].Length;
        var members = new int[k];
        var means = new double[k][];
        for (var c = 0; c < k; c++)
        {
            means[c] = new double[d];
        }

        var overall = new double[d];
        for (var i = 0; i < points.Length; i++)
        {
            var c = slot[labels[i]];
            members[c]++;
            for (var j = 0; j < d; j++)
            {
                means[c][j] += points[i][j];
                overall[j] += points[i][j];
            }
        }

        for (var c = 0; c < k; c++)
        {
            for (var j = 0; j < d; j++)
            {
                means[c][j] /= members[c];
            }
        }

        for (var j = 0; j < d; j++)
        {
            overall[j] /= points.Length;
        }

        return (members, means, overall);
    }

    private static Dictionary<int, int> SlotsOf(int[] labels)
    {
        var slots = new Dictionary<int, int>();
        foreach (var label in labels.Distinct().Order())
        {
            slots[label] = slots.Count;
        }

        return slots;
    }

    /// <summary>
    /// Exact mean silhouette coefficient, as <c>sklearn.metrics.silhouette_score(X, labels)</c> (Euclidean):
    /// s(i) = (b - a) / max(a, b) with a = mean distance to the other members of i's cluster and b = the smallest mean
    /// distance to the members of another cluster; s(i) = 0 for a point alone in its cluster (and when a = b = 0).
    /// Labels may be any integers. Requires 2 &lt;= number of clusters &lt;= n - 1, as scikit-learn does. O(n^2).
    /// </summary>
    public static double Silhouette(double[][] points, int[] labels)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(labels);
        CheckSameLength(points.Length, labels.Length);
        var n = points.Length;
        var dense = Densify(labels, out var k);
        if (k < 2 || k > n - 1)
        {
            throw new ArgumentException($"Silhouette needs 2 <= clusters <= n - 1; got {k} clusters for {n} points.", nameof(labels));
        }

        var sizes = new int[k];
        foreach (var c in dense)
        {
            sizes[c]++;
        }

        var sums = new double[k];
        double total = 0;
        for (var i = 0; i < n; i++)
        {
            Array.Clear(sums);
            for (var j = 0; j < n; j++)
            {
                if (j != i)
                {
                    sums[dense[j]] += Math.Sqrt(SquaredDistance(points[i], points[j]));
                }
            }

            var own = dense[i];
            if (sizes[own] <= 1)
            {
                continue; // singleton cluster: s(i) = 0
            }

            var a = sums[own] / (sizes[own] - 1);
            var b = double.PositiveInfinity;
            for (var c = 0; c < k; c++)
            {
                if (c != own)
                {
                    b = Math.Min(b, sums[c] / sizes[c]);
                }
            }

            var denom = Math.Max(a, b);
            total += denom > 0 ? (b - a) / denom : 0.0;
        }

        return total / n;
    }

    /// <summary>
    /// Exact silhouette of a seeded random sample of <paramref name="sampleSize"/> rows drawn without replacement
    /// (distances only among sampled rows), like scikit-learn's <c>sample_size</c>; equals <see cref="Silhouette"/>
    /// when n &lt;= sampleSize. Throws like <see cref="Silhouette"/> if the sample holds fewer than two clusters.
    /// </summary>
    public static double SampledSilhouette(double[][] points, int[] labels, int sampleSize, int seed)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(labels);
        CheckSameLength(points.Length, labels.Length);
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleSize, 2);
        var n = points.Length;
        if (n <= sampleSize)
        {
            return Silhouette(points, labels);
        }

        // Partial Fisher-Yates shuffle: the first sampleSize slots are a uniform sample without replacement.
        var idx = Enumerable.Range(0, n).ToArray();
        var rng = new Random(seed);
        for (var i = 0; i < sampleSize; i++)
        {
            var j = rng.Next(i, n);
            (idx[i], idx[j]) = (idx[j], idx[i]);
        }

        var p = new double[sampleSize][];
        var l = new int[sampleSize];
        for (var i = 0; i < sampleSize; i++)
        {
            p[i] = points[idx[i]];
            l[i] = labels[idx[i]];
        }

        return Silhouette(p, l);
    }

    /// <summary>
    /// Adjusted Rand index (Hubert &amp; Arabie 1985), as <c>sklearn.metrics.adjusted_rand_score</c>: 1 for identical
    /// partitions up to renaming, about 0 for independent ones, can be negative. Computed from the pair confusion matrix
    /// like scikit-learn; when no pair is split by one labelling and joined by the other (e.g. both labellings have a
    /// single cluster, or both put every point alone) it returns 1.0, as scikit-learn does.
    /// </summary>
    public static double AdjustedRandIndex(int[] a, int[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        CheckSameLength(a.Length, b.Length);
        var n = a.Length;
        var da = Densify(a, out var ka);
        var db = Densify(b, out var kb);
        var table = new Dictionary<(int, int), long>();
        var rowSums = new long[ka];
        var colSums = new long[kb];
        for (var i = 0; i < n; i++)
        {
            var key = (da[i], db[i]);
            table[key] = table.GetValueOrDefault(key) + 1;
            rowSums[da[i]]++;
            colSums[db[i]]++;
        }

        // Ordered-pair counts (each unordered pair counted twice), as sklearn.metrics.cluster.pair_confusion_matrix.
        var sumSquares = table.Values.Sum(v => (double)v * v);
        var tp = sumSquares - n;
        var fp = table.Sum(kv => (double)kv.Value * colSums[kv.Key.Item2]) - sumSquares; // together in a, apart in b
        var fn = table.Sum(kv => (double)kv.Value * rowSums[kv.Key.Item1]) - sumSquares; // apart in a, together in b
        var tn = (double)n * n - fp - fn - sumSquares;
        if (fn == 0 && fp == 0)
        {
            return 1.0;
        }

        return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
    }

    /// <summary>
    /// |A ∩ B| / |A ∪ B| where A = indices labelled <paramref name="clusterA"/> in <paramref name="a"/> and
    /// B = indices labelled <paramref name="clusterB"/> in <paramref name="b"/>; 0 when both are empty.
    /// </summary>
    public static double Jaccard(int[] a, int clusterA, int[] b, int clusterB)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        CheckSameLength(a.Length, b.Length);
        int inter = 0, union = 0;
        for (var i = 0; i < a.Length; i++)
        {
            bool inA = a[i] == clusterA, inB = b[i] == clusterB;
            if (inA && inB)
            {
                inter++;
            }

            if (inA || inB)
            {
                union++;
            }
        }

        return union == 0 ? 0.0 : (double)inter / union;
    }

    /// <summary>
    /// Maps each current cluster c (0..k-1) to the previous cluster result[c] it overlaps most, as a one-to-one
    /// assignment, so segment ids stay stable across retrains (relabel current c as result[c]). Uses the Hungarian
    /// algorithm (optimal: maximises the total overlap over all one-to-one assignments), not a greedy match.
    /// Both labellings must use labels in 0..k-1.
    /// </summary>
    public static int[] MatchClusters(int[] previous, int[] current, int k)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        CheckSameLength(previous.Length, current.Length);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var overlap = new long[k, k]; // [current, previous]
        for (var i = 0; i < previous.Length; i++)
        {
            if ((uint)previous[i] >= (uint)k || (uint)current[i] >= (uint)k)
            {
                throw new ArgumentException($"Labels must be in 0..{k - 1}; point {i} has {previous[i]} / {current[i]}.");
            }

            overlap[current[i], previous[i]]++;
        }

        return Hungarian(overlap, k);
    }

    /// <summary>
    /// Like <see cref="MatchClusters"/> when the two labellings have different numbers of clusters: maps each current
    /// cluster c (0..currentK-1) to the previous cluster (0..previousK-1) it is matched with one-to-one, maximising the
    /// total overlap, or to -1 when it is left over (currentK &gt; previousK) or overlaps its match nowhere.
    /// </summary>
    public static int[] MatchClustersAcross(int[] previous, int previousK, int[] current, int currentK)
    {
        ArgumentNullException.ThrowIfNull(previous);
        ArgumentNullException.ThrowIfNull(current);
        CheckSameLength(previous.Length, current.Length);
        ArgumentOutOfRangeException.ThrowIfLessThan(previousK, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(currentK, 1);
        var size = Math.Max(previousK, currentK);
        var overlap = new long[size, size]; // [current, previous], zero-padded to square
        for (var i = 0; i < previous.Length; i++)
        {
            if ((uint)previous[i] >= (uint)previousK || (uint)current[i] >= (uint)currentK)
            {
                throw new ArgumentException($"Point {i} has labels {previous[i]} / {current[i]} outside 0..{previousK - 1} / 0..{currentK - 1}.");
            }

            overlap[current[i], previous[i]]++;
        }

        var square = Hungarian(overlap, size);
        var result = new int[currentK];
        for (var c = 0; c < currentK; c++)
        {
            var p = square[c];
            result[c] = p < previousK && overlap[c, p] > 0 ? p : -1;
        }

        return result;
    }

    /// <summary>Maximum-weight perfect matching on a k x k matrix (rows -> columns), O(k^3) potentials version.</summary>
    private static int[] Hungarian(long[,] weight, int k)
    {
        // Minimise cost = -weight. 1-based arrays; p[j] = row matched to column j.
        var u = new long[k + 1];
        var v = new long[k + 1];
        var p = new int[k + 1];
        var way = new int[k + 1];
        for (var i = 1; i <= k; i++)
        {
            p[0] = i;
            var j0 = 0;
            var minv = new long[k + 1];
            Array.Fill(minv, long.MaxValue);
            var used = new bool[k + 1];
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                var delta = long.MaxValue;
                for (var j = 1; j <= k; j++)
                {
                    if (used[j])
                    {
                        continue;
                    }

                    var cur = -weight[i0 - 1, j - 1] - u[i0] - v[j];
                    if (cur < minv[j])
                    {
                        minv[j] = cur;
                        way[j] = j0;
                    }

                    if (minv[j] < delta)
                    {
                        delta = minv[j];
                        j1 = j;
                    }
                }

                for (var j = 0; j <= k; j++)
                {
                    if (used[j])
                    {
                        u[p[j]] += delta;
                        v[j] -= delta;
                    }
                    else
                    {
                        minv[j] -= delta;
                    }
                }

                j0 = j1;
            }
            while (p[j0] != 0);

            do
            {
                var j1 = way[j0];
                p[j0] = p[j1];
                j0 = j1;
            }
            while (j0 != 0);
        }

        var result = new int[k];
        for (var j = 1; j <= k; j++)
        {
            result[p[j] - 1] = j - 1;
        }

        return result;
    }

    private static int[] Densify(int[] labels, out int k)
    {
        var map = new Dictionary<int, int>();
        var dense = new int[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            if (!map.TryGetValue(labels[i], out var d))
            {
                d = map.Count;
                map[labels[i]] = d;
            }

            dense[i] = d;
        }

        k = map.Count;
        return dense;
    }

    private static double SquaredDistance(double[] x, double[] y)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException("Rows must have the same length.");
        }

        double s = 0;
        for (var j = 0; j < x.Length; j++)
        {
            var d = x[j] - y[j];
            s += d * d;
        }

        return s;
    }

    private static void CheckSameLength(int x, int y)
    {
        if (x != y)
        {
            throw new ArgumentException($"Length mismatch: {x} vs {y}.");
        }
    }
}
