namespace ProfileGrid.Segmentation;

/// <summary>Shared double-precision helpers for the clusterers.</summary>
internal static class ClusterMath
{
    /// <summary>What every clusterer checks first: points, all of one length, and k in 1..n. Returns the dimension.</summary>
    public static int CheckFitInput(double[][] points, int k)
    {
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Length;
        if (n == 0)
        {
            throw new ArgumentException("No points.", nameof(points));
        }

        if (k < 1 || k > n)
        {
            throw new ArgumentOutOfRangeException(nameof(k), $"k must be in 1..{n}.");
        }

        var d = points[0].Length;
        foreach (var p in points)
        {
            if (p.Length != d)
            {
                throw new ArgumentException("All points must have the same length.", nameof(points));
            }
        }

        return d;
    }

    public static double SquaredDistance(double[] a, double[] b)
    {
        double s = 0;
        for (var j = 0; j < a.Length; j++) { var t = a[j] - b[j]; s += t * t; }
        return s;
    }

    /// <summary>Means of members per label (fallback centroid for empty clusters) and the inertia.</summary>
    public static ClusteringResult Summarise(double[][] points, int[] labels, int k, double[][]? fallback = null)
    {
        var d = points[0].Length;
        var sums = new double[k][];
        var counts = new int[k];
        for (var c = 0; c < k; c++)
        {
            sums[c] = new double[d];
        }

        for (var i = 0; i < points.Length; i++)
        {
            counts[labels[i]]++;
            var s = sums[labels[i]];
            for (var j = 0; j < d; j++)
            {
                s[j] += points[i][j];
            }
        }
        for (var c = 0; c < k; c++)
        {
            if (counts[c] > 0)
            {
                for (var j = 0; j < d; j++)
                {
                    sums[c][j] /= counts[c];
                }
            }
            else if (fallback is not null)
            {
                sums[c] = (double[])fallback[c].Clone();
            }
        }
        double inertia = 0;
        for (var i = 0; i < points.Length; i++)
        {
            inertia += SquaredDistance(points[i], sums[labels[i]]);
        }

        return new ClusteringResult(labels, sums, inertia);
    }

    public static int Nearest(double[] p, double[][] centroids)
    {
        var best = 0; var bestD = double.PositiveInfinity;
        for (var c = 0; c < centroids.Length; c++)
        {
            var s = SquaredDistance(p, centroids[c]);
            if (s < bestD) { bestD = s; best = c; }
        }
        return best;
    }
}
