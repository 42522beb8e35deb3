namespace ProfileGrid.Segmentation;

/// <summary>Linkage criterion for <see cref="WardClusterer"/>.</summary>
public enum Linkage
{
    /// <summary>Ward's minimum-variance criterion (on squared Euclidean distances), as scikit-learn/scipy 'ward'.</summary>
    Ward,
    /// <summary>UPGMA: mean Euclidean distance between members.</summary>
    Average,
    /// <summary>Maximum Euclidean distance between members.</summary>
    Complete,
    /// <summary>Minimum Euclidean distance between members.</summary>
    Single,
}

/// <summary>
/// Hierarchical agglomerative clustering (default: Ward linkage) on a condensed distance matrix with the
/// Lance–Williams update and the nearest-neighbour-chain algorithm (O(n²) memory and time; exact for these
/// reducible linkages, like scipy). Merges are then sorted by height (stable) and the tree is cut at k clusters
/// by applying the first n−k merges, which reproduces scikit-learn's <c>AgglomerativeClustering(n_clusters=k)</c>
/// labels up to renaming when there are no ties. Ties are broken deterministically: the current chain predecessor
/// wins, otherwise the smallest index.
/// <para>
/// Ward uses squared Euclidean distances internally: d(k, i∪j)² = ((nᵢ+nₖ) d(k,i)² + (nⱼ+nₖ) d(k,j)² − nₖ d(i,j)²)
/// / (nᵢ+nⱼ+nₖ). Merge heights are therefore squared (the monotone order is the same as scipy's sqrt heights).
/// </para>
/// <para>
/// Scalability: when there are more than <see cref="MaxPoints"/> points (default 5,000, ≈100 MB of condensed
/// matrix), a uniformly random sample of <see cref="MaxPoints"/> points (seeded by <c>seed</c>) is clustered; the
/// sampled points keep their labels and every other point is assigned to the nearest resulting centroid.
/// Centroids and inertia are then recomputed over all points. Below the limit <c>seed</c> is unused.
/// </para>
/// Labels are numbered 0..k−1 in order of first appearance in the input.
/// </summary>
public sealed class WardClusterer : IClusterer
{
    public WardClusterer() { }

    public WardClusterer(Linkage linkage) => Linkage = linkage;

    public Linkage Linkage { get; init; } = Linkage.Ward;

    /// <summary>Above this many points, cluster a seeded random sample of this size and assign the rest. Default 5,000.</summary>
    public int MaxPoints { get; init; } = 5000;

    public string Name => Linkage == Linkage.Ward ? "ward" : "hac-" + Linkage.ToString().ToLowerInvariant();

    /// <summary>One merge of the dendrogram: cluster ids (0..n−1 leaves, n+t for the t-th merge), height and size.</summary>
    public readonly record struct Merge(int Left, int Right, double Height, int Size);

    public ClusteringResult Fit(double[][] points, int k, int seed)
    {
        ClusterMath.CheckFitInput(points, k);
        var n = points.Length;
        if (MaxPoints < 2)
        {
            throw new InvalidOperationException("MaxPoints must be >= 2.");
        }

        if (n <= MaxPoints || k > MaxPoints)
        {
            if (n > MaxPoints)
            {
                throw new ArgumentOutOfRangeException(nameof(k), "k exceeds MaxPoints.");
            }

            return ClusterMath.Summarise(points, CutTree(points, k), k);
        }

        // Seeded sample without replacement (partial Fisher–Yates), in input order.
        var rng = new Random(seed);
        var idx = Enumerable.Range(0, n).ToArray();
        for (var i = 0; i < MaxPoints; i++)
        {
            var j = i + rng.Next(n - i);
            (idx[i], idx[j]) = (idx[j], idx[i]);
        }
        var sample = idx.Take(MaxPoints).OrderBy(i => i).ToArray();
        var samplePoints = sample.Select(i => points[i]).ToArray();
        var sampleLabels = CutTree(samplePoints, k);
        var centroids = ClusterMath.Summarise(samplePoints, sampleLabels, k).Centroids;

        var labels = new int[n];
        var inSample = new bool[n];
        for (var s = 0; s < sample.Length; s++) { labels[sample[s]] = sampleLabels[s]; inSample[sample[s]] = true; }
        for (var i = 0; i < n; i++)
        {
            if (!inSample[i])
            {
                labels[i] = ClusterMath.Nearest(points[i], centroids);
            }
        }

        return ClusterMath.Summarise(points, Renumber(labels), k);
    }

    /// <summary>Full dendrogram (n−1 merges sorted by height, scipy-style ids) of the given points.</summary>
    public IReadOnlyList<Merge> Dendrogram(double[][] points)
    {
        var n = points.Length;
        if (n < 2)
        {
            return Array.Empty<Merge>();
        }

        var raw = NnChain(points);
        // Sort by height (stable), then relabel in scipy's convention.
        var order = Enumerable.Range(0, raw.Count).OrderBy(t => raw[t].Height).ToArray();
        var uf = new UnionFind(n);
        var clusterId = new int[n];
        for (var i = 0; i < n; i++)
        {
            clusterId[i] = i;
        }

        var merges = new Merge[n - 1];
        for (var t = 0; t < order.Length; t++)
        {
            var m = raw[order[t]];
            int ra = uf.Find(m.Left), rb = uf.Find(m.Right);
            int a = clusterId[ra], b = clusterId[rb];
            var root = uf.Union(ra, rb);
            clusterId[root] = n + t;
            merges[t] = new Merge(Math.Min(a, b), Math.Max(a, b), m.Height, m.Size);
        }
        return merges;
    }

    private int[] CutTree(double[][] points, int k)
    {
        var n = points.Length;
        var uf = new UnionFind(n);
        if (n > 1 && k < n)
        {
            var raw = NnChain(points);
            var order = Enumerable.Range(0, raw.Count).OrderBy(t => raw[t].Height).ToArray();
            for (var t = 0; t < n - k; t++)
            {
                var m = raw[order[t]];
                uf.Union(uf.Find(m.Left), uf.Find(m.Right));
            }
        }
        var labels = new int[n];
        for (var i = 0; i < n; i++)
        {
            labels[i] = uf.Find(i);
        }

        return Renumber(labels);
    }

    private static int[] Renumber(int[] labels)
    {
        var map = new Dictionary<int, int>();
        var result = new int[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            if (!map.TryGetValue(labels[i], out var l)) { l = map.Count; map[labels[i]] = l; }
            result[i] = l;
        }
        return result;
    }

    /// <summary>
    /// Nearest-neighbour chain. Returns merges in discovery order, with Left/Right being representative
    /// leaf indices (the slots of the merged clusters), height and size of the new cluster.
    /// </summary>
    private List<Merge> NnChain(double[][] points)
    {
        var n = points.Length;
        var dist = new double[(long)n * (n - 1) / 2];
        var squared = Linkage == Linkage.Ward;
        for (var i = 0; i < n; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var s = ClusterMath.SquaredDistance(points[i], points[j]);
                dist[Index(n, i, j)] = squared ? s : Math.Sqrt(s);
            }
        }

        var size = new int[n];
        Array.Fill(size, 1);
        var active = new bool[n];
        Array.Fill(active, true);
        var merges = new List<Merge>(n - 1);
        var chain = new List<int>(n);
        var remaining = n;

        while (remaining > 1)
        {
            if (chain.Count == 0)
            {
                var first = 0;
                while (!active[first])
                {
                    first++;
                }

                chain.Add(first);
            }

            while (true)
            {
                var a = chain[^1];
                var prev = chain.Count >= 2 ? chain[^2] : -1;
                var b = -1;
                var best = double.PositiveInfinity;
                if (prev >= 0) { b = prev; best = dist[Index(n, a, prev)]; }
                for (var x = 0; x < n; x++)
                {
                    if (!active[x] || x == a)
                    {
                        continue;
                    }

                    var v = dist[Index(n, a, x)];
                    if (v < best) { best = v; b = x; }
                }

                if (b == prev)
                {
                    chain.RemoveAt(chain.Count - 1);
                    chain.RemoveAt(chain.Count - 1);
                    int lo = Math.Min(a, b), hi = Math.Max(a, b);
                    var dij = best;
                    int ni = size[lo], nj = size[hi];
                    // New cluster lives in slot hi; slot lo is retired.
                    for (var x = 0; x < n; x++)
                    {
                        if (!active[x] || x == lo || x == hi)
                        {
                            continue;
                        }

                        double dxi = dist[Index(n, x, lo)], dxj = dist[Index(n, x, hi)];
                        var nx = size[x];
                        var nd = Linkage switch
                        {
                            Linkage.Ward => ((ni + nx) * dxi + (nj + nx) * dxj - nx * dij) / (ni + nj + nx),
                            Linkage.Average => (ni * dxi + nj * dxj) / (ni + nj),
                            Linkage.Complete => Math.Max(dxi, dxj),
                            Linkage.Single => Math.Min(dxi, dxj),
                            _ => throw new InvalidOperationException(),
                        };
                        dist[Index(n, x, hi)] = nd;
                    }
                    active[lo] = false;
                    size[hi] = ni + nj;
                    remaining--;
                    merges.Add(new Merge(lo, hi, dij, ni + nj));
                    break;
                }
                chain.Add(b);
            }
        }
        return merges;
    }

    private static long Index(int n, int i, int j)
    {
        if (i > j)
        {
            (i, j) = (j, i);
        }

        return (long)n * i - (long)i * (i + 1) / 2 + (j - i - 1);
    }

    private sealed class UnionFind
    {
        private readonly int[] _parent;
        public UnionFind(int n) { _parent = Enumerable.Range(0, n).ToArray(); }
        public int Find(int x)
        {
            while (_parent[x] != x) { _parent[x] = _parent[_parent[x]]; x = _parent[x]; }
            return x;
        }
        /// <summary>Unites two roots; returns the new root.</summary>
        public int Union(int ra, int rb)
        {
            if (ra == rb)
            {
                return ra;
            }

            int root = Math.Min(ra, rb), child = Math.Max(ra, rb);
            _parent[child] = root;
            return root;
        }
    }
}
