using FsCheck;
using FsCheck.Xunit;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

/// <summary>The default k-means (<see cref="KMeansClusterer"/>); its helpers are shared with the other clusterers' tests.</summary>
public class KMeansClustererTests
{
    internal static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>3 blobs of <paramref name="perBlob"/> points in 4-D, sd 1, centres ≥ 14 apart; truth[i] = blob index.</summary>
    internal static (double[][] Points, int[] Truth) Blobs(int perBlob, int seed)
    {
        var centres = new[]
        {
            new[] { 0.0, 0.0, 0.0, 0.0 },
            new[] { 10.0, 10.0, 0.0, 0.0 },
            new[] { 0.0, -10.0, 10.0, 5.0 },
        };
        var rng = new Random(seed);
        var pts = new List<double[]>();
        var truth = new List<int>();
        for (var b = 0; b < centres.Length; b++)
        {
            for (var i = 0; i < perBlob; i++)
            {
                pts.Add(centres[b].Select(c => c + Gaussian(rng)).ToArray());
                truth.Add(b);
            }
        }
        // Shuffle so that blobs are interleaved in the input.
        var order = Enumerable.Range(0, pts.Count).OrderBy(_ => rng.Next()).ToArray();
        return (order.Select(i => pts[i]).ToArray(), order.Select(i => truth[i]).ToArray());
    }

    /// <summary>Each true blob maps entirely to one label and distinct blobs to distinct labels.</summary>
    internal static void AssertRecoversBlobs(int[] truth, int[] labels, int blobs)
    {
        var blobLabel = new int[blobs];
        for (var b = 0; b < blobs; b++)
        {
            var members = Enumerable.Range(0, truth.Length).Where(i => truth[i] == b).Select(i => labels[i]).ToArray();
            var majority = members.GroupBy(l => l).OrderByDescending(g => g.Count()).First().Key;
            var purity = members.Count(l => l == majority) / (double)members.Length;
            Assert.Equal(1.0, purity);
            blobLabel[b] = majority;
        }
        Assert.Equal(blobs, blobLabel.Distinct().Count());
    }

    internal static double RecomputedInertia(double[][] points, ClusteringResult r)
    {
        double s = 0;
        for (var i = 0; i < points.Length; i++)
        {
            for (var j = 0; j < points[i].Length; j++)
            {
                var t = points[i][j] - r.Centroids[r.Labels[i]][j];
                s += t * t;
            }
        }

        return s;
    }

    /// <summary>Both k-means implementations (ours, the default; ML.NET's, selectable as kmeans-mlnet) must pass these.</summary>
    public static TheoryData<string> Implementations => ["kmeans", "kmeans-mlnet"];

    private static IClusterer KMeans(string implementation, int initializations = 5) => implementation switch
    {
        "kmeans" => new KMeansClusterer { Initializations = initializations },
        "kmeans-mlnet" => new MlNetKMeansClusterer { Initializations = initializations },
        _ => throw new ArgumentOutOfRangeException(nameof(implementation), implementation, null),
    };

    [Theory]
    [MemberData(nameof(Implementations))]
    public void RecoversThreePlantedBlobs(string implementation)
    {
        var (points, truth) = Blobs(300, seed: 1);
        var result = KMeans(implementation).Fit(points, 3, seed: 42);

        Assert.Equal(points.Length, result.Labels.Length);
        Assert.Equal(3, result.K);
        Assert.All(result.Labels, l => Assert.InRange(l, 0, 2));
        AssertRecoversBlobs(truth, result.Labels, 3);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void InertiaEqualsRecomputedSumAndCentroidsAreMeans(string implementation)
    {
        var (points, _) = Blobs(300, seed: 2);
        var result = KMeans(implementation, initializations: 3).Fit(points, 3, seed: 7);

        Assert.Equal(RecomputedInertia(points, result), result.Inertia, 6);
        for (var c = 0; c < result.K; c++)
        {
            var members = points.Where((_, i) => result.Labels[i] == c).ToArray();
            for (var j = 0; j < 4; j++)
            {
                Assert.Equal(members.Average(p => p[j]), result.Centroids[c][j], 9);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void IsDeterministicForASeed(string implementation)
    {
        var (points, _) = Blobs(100, seed: 3);
        var clusterer = KMeans(implementation, initializations: 3);
        var a = clusterer.Fit(points, 4, seed: 11);
        var b = clusterer.Fit(points, 4, seed: 11);

        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.Inertia, b.Inertia);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void MoreInitialisationsNeverGiveHigherInertia(string implementation)
    {
        var rng = new Random(5);
        var points = Enumerable.Range(0, 200).Select(_ => new[] { rng.NextDouble(), rng.NextDouble(), rng.NextDouble() }).ToArray();

        var previous = double.PositiveInfinity;
        foreach (var n in new[] { 1, 2, 4, 8 })
        {
            var r = KMeans(implementation, initializations: n).Fit(points, 8, seed: 100);
            Assert.True(r.Inertia <= previous + 1e-9, $"n_init={n}: {r.Inertia} > {previous}");
            previous = r.Inertia;
        }
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void RejectsInvalidK(string implementation)
    {
        var points = new[] { new[] { 0.0 }, new[] { 1.0 } };
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans(implementation).Fit(points, 3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans(implementation).Fit(points, 0, 0));
    }

    [Fact]
    public void Agrees_with_the_MLNET_clusterer_on_the_same_data()
    {
        var (points, truth) = Blobs(400, seed: 12);

        var ours = new KMeansClusterer { Initializations = 3 }.Fit(points, 3, seed: 5);
        var mlNet = new MlNetKMeansClusterer { Initializations = 3 }.Fit(points, 3, seed: 5);

        Assert.InRange(ours.Inertia, 0, mlNet.Inertia * 1.01);
        Assert.InRange(mlNet.Inertia, 0, ours.Inertia * 1.01);
        Assert.True(ClusterMetrics.AdjustedRandIndex(ours.Labels, mlNet.Labels) >= 0.99);
        AssertRecoversBlobs(truth, ours.Labels, 3);
    }

    [Fact]
    public void Agrees_with_the_MLNET_clusterer_on_overlapping_clusters()
    {
        var rng = new Random(21);
        var points = Enumerable.Range(0, 3000)
            .Select(i => Enumerable.Range(0, 5).Select(j => (i % 6 == j ? 2.5 : 0) + Gaussian(rng)).ToArray())
            .ToArray();

        var ours = new KMeansClusterer { Initializations = 5 }.Fit(points, 6, seed: 3);
        var mlNet = new MlNetKMeansClusterer { Initializations = 5 }.Fit(points, 6, seed: 3);

        Assert.InRange(ours.Inertia, 0, mlNet.Inertia * 1.01);
    }

    [Property(MaxTest = 100)]
    public bool At_convergence_every_point_is_nearest_its_own_centroid_and_the_inertia_is_the_sum_of_squared_distances(
        int[] values, PositiveInt dimensions, PositiveInt clusters, int seed)
    {
        var d = 1 + dimensions.Get % 4;
        var n = values.Length / d;
        if (n < 2)
        {
            return true;
        }

        // Distinct rows (the index is one coordinate's fraction), so that no cluster must stay empty.
        var points = Enumerable.Range(0, n)
            .Select(i => Enumerable.Range(0, d).Select(j => values[i * d + j] % 1000 / 10.0 + (j == 0 ? i * 1e-3 : 0)).ToArray())
            .ToArray();
        var k = 1 + clusters.Get % Math.Min(n, 6);

        var result = new KMeansClusterer { Initializations = 2, Tolerance = 0 }.Fit(points, k, seed);

        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            var own = ClusterMath.SquaredDistance(points[i], result.Centroids[result.Labels[i]]);
            var nearest = result.Centroids.Min(c => ClusterMath.SquaredDistance(points[i], c));
            if (own > nearest + 1e-6 * (1 + nearest))
            {
                return false;
            }

            sum += own;
        }

        return Math.Abs(sum - result.Inertia) <= 1e-9 * (1 + sum) && result.Labels.All(l => l >= 0 && l < k);
    }

    [Fact]
    public void One_cluster_is_the_mean()
    {
        var (points, _) = Blobs(50, seed: 8);

        var result = new KMeansClusterer().Fit(points, 1, seed: 0);

        Assert.All(result.Labels, l => Assert.Equal(0, l));
        for (var j = 0; j < 4; j++)
        {
            Assert.Equal(points.Average(p => p[j]), result.Centroids[0][j], 9);
        }
    }

    [Fact]
    public void More_clusters_than_distinct_points_leave_clusters_empty_instead_of_failing()
    {
        var points = Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? new[] { 0.0, 0.0 } : new[] { 5.0, 5.0 }).ToArray();

        var result = new KMeansClusterer { Initializations = 2 }.Fit(points, 3, seed: 1);

        Assert.Equal(3, result.K);
        Assert.Equal(0, result.Inertia, 12);
        Assert.Equal(2, result.Labels.Distinct().Count());
    }

    [Fact]
    public void Random_numbers_are_numpys_for_the_same_seed()
    {
        // Values printed by numpy 1.24.2 (Debian's python3-numpy): np.random.RandomState(seed).randint / .uniform.
        var random = new MersenneTwister(42);
        Assert.Equal(102, random.NextInt(1000));
        Assert.Equal(15795, random.NextInt(100000));
        Assert.Equal(0.9507143064099162, random.NextDouble());
        Assert.Equal(0.7319939418114051, random.NextDouble());
        Assert.Equal(0.5986584841970366, random.NextDouble());
        Assert.Equal(670094950, random.NextInt(int.MaxValue));
        Assert.Equal(4, new MersenneTwister(0).NextInt(7));
        var largest = new MersenneTwister(uint.MaxValue);
        Assert.Equal(2, largest.NextInt(3));
        Assert.Equal(0.9123828453026218, largest.NextDouble());
    }
}
