namespace ProfileGrid.Segmentation;

/// <summary>
/// Bootstrap stability of a clustering: the mean adjusted Rand index of the refits against the reference, the mean
/// Jaccard per reference cluster, and the reference clusters whose mean Jaccard is below the threshold.
/// </summary>
public sealed record StabilityReport(
    int K,
    int Runs,
    ClusteringResult Reference,
    double MeanAdjustedRandIndex,
    double[] AdjustedRandIndices,
    double[] MeanJaccard,
    IReadOnlyList<int> UnstableClusters,
    double UnstableJaccard)
{
    public bool IsStable => UnstableClusters.Count == 0;
}

/// <summary>Bootstrap resampling check of how reproducible a clustering is.</summary>
public static class StabilityCheck
{
    /// <summary>
    /// Fits a reference clustering on all points with <paramref name="seed"/>, then <paramref name="runs"/> times:
    /// draws a bootstrap sample (n rows with replacement, <see cref="Random"/> seeded with <paramref name="seed"/>),
    /// fits on it (seed + 1 + run), and assigns every original point to the nearest resulting centroid. Each refit is
    /// compared with the reference on all points: the adjusted Rand index, and, after matching refit clusters to
    /// reference clusters with <see cref="ClusterMetrics.MatchClusters"/>, the Jaccard index per reference cluster.
    /// A cluster is reported unstable when its mean Jaccard is below <paramref name="unstableJaccard"/>; the default
    /// 0.6 follows Hennig's rule of thumb (C. Hennig, "Cluster-wise assessment of cluster stability", Computational
    /// Statistics &amp; Data Analysis 52, 2007: mean Jaccard &lt;= 0.5 means the cluster "dissolved", and clusters
    /// below about 0.6 should not be trusted; 0.75 and above indicates a stable cluster).
    /// </summary>
    public static StabilityReport Run(IClusterer clusterer, double[][] points, int k, int runs, int seed, double unstableJaccard = 0.6)
    {
        ArgumentNullException.ThrowIfNull(clusterer);
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Length;
        if (k < 1 || k > n)
        {
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be in 1..{n}; got {k}.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        if (double.IsNaN(unstableJaccard) || unstableJaccard < 0 || unstableJaccard > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(unstableJaccard), "The threshold must be in [0, 1].");
        }

        var reference = clusterer.Fit(points, k, seed);
        var rng = new Random(seed);
        var aris = new double[runs];
        var jaccardSums = new double[k];
        var sample = new double[n][];
        for (var r = 0; r < runs; r++)
        {
            for (var i = 0; i < n; i++)
            {
                sample[i] = points[rng.Next(n)];
            }

            var refit = clusterer.Fit(sample, k, unchecked(seed + 1 + r));
            var labels = new int[n];
            for (var i = 0; i < n; i++)
            {
                labels[i] = ClusterMath.Nearest(points[i], refit.Centroids);
            }

            aris[r] = ClusterMetrics.AdjustedRandIndex(reference.Labels, labels);

            // match[c] = reference cluster that refit cluster c corresponds to.
            var match = ClusterMetrics.MatchClusters(reference.Labels, labels, k);
            for (var c = 0; c < k; c++)
            {
                jaccardSums[match[c]] += ClusterMetrics.Jaccard(reference.Labels, match[c], labels, c);
            }
        }

        var meanJaccard = jaccardSums.Select(s => s / runs).ToArray();
        var unstable = Enumerable.Range(0, k).Where(c => meanJaccard[c] < unstableJaccard).ToList();
        return new StabilityReport(k, runs, reference, aris.Average(), aris, meanJaccard, unstable, unstableJaccard);
    }
}
