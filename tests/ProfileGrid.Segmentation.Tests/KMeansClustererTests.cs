using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

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
        for (int b = 0; b < centres.Length; b++)
            for (int i = 0; i < perBlob; i++)
            {
                pts.Add(centres[b].Select(c => c + Gaussian(rng)).ToArray());
                truth.Add(b);
            }
        // Shuffle so that blobs are interleaved in the input.
        var order = Enumerable.Range(0, pts.Count).OrderBy(_ => rng.Next()).ToArray();
        return (order.Select(i => pts[i]).ToArray(), order.Select(i => truth[i]).ToArray());
    }

    /// <summary>Each true blob maps entirely to one label and distinct blobs to distinct labels.</summary>
    internal static void AssertRecoversBlobs(int[] truth, int[] labels, int blobs)
    {
        var blobLabel = new int[blobs];
        for (int b = 0; b < blobs; b++)
        {
            var members = Enumerable.Range(0, truth.Length).Where(i => truth[i] == b).Select(i => labels[i]).ToArray();
            int majority = members.GroupBy(l => l).OrderByDescending(g => g.Count()).First().Key;
            double purity = members.Count(l => l == majority) / (double)members.Length;
            Assert.Equal(1.0, purity);
            blobLabel[b] = majority;
        }
        Assert.Equal(blobs, blobLabel.Distinct().Count());
    }

    internal static double RecomputedInertia(double[][] points, ClusteringResult r)
    {
        double s = 0;
        for (int i = 0; i < points.Length; i++)
            for (int j = 0; j < points[i].Length; j++)
            {
                double t = points[i][j] - r.Centroids[r.Labels[i]][j];
                s += t * t;
            }
        return s;
    }

    [Fact]
    public void RecoversThreePlantedBlobs()
    {
        var (points, truth) = Blobs(300, seed: 1);
        var result = new KMeansClusterer().Fit(points, 3, seed: 42);

        Assert.Equal(points.Length, result.Labels.Length);
        Assert.Equal(3, result.K);
        Assert.All(result.Labels, l => Assert.InRange(l, 0, 2));
        AssertRecoversBlobs(truth, result.Labels, 3);
    }

    [Fact]
    public void InertiaEqualsRecomputedSumAndCentroidsAreMeans()
    {
        var (points, _) = Blobs(300, seed: 2);
        var result = new KMeansClusterer { Initializations = 3 }.Fit(points, 3, seed: 7);

        Assert.Equal(RecomputedInertia(points, result), result.Inertia, 6);
        for (int c = 0; c < result.K; c++)
        {
            var members = points.Where((_, i) => result.Labels[i] == c).ToArray();
            for (int j = 0; j < 4; j++)
                Assert.Equal(members.Average(p => p[j]), result.Centroids[c][j], 9);
        }
    }

    [Fact]
    public void IsDeterministicForASeed()
    {
        var (points, _) = Blobs(100, seed: 3);
        var clusterer = new KMeansClusterer { Initializations = 3 };
        var a = clusterer.Fit(points, 4, seed: 11);
        var b = clusterer.Fit(points, 4, seed: 11);

        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(a.Inertia, b.Inertia);
    }

    [Fact]
    public void MoreInitialisationsNeverGiveHigherInertia()
    {
        var rng = new Random(5);
        var points = Enumerable.Range(0, 200).Select(_ => new[] { rng.NextDouble(), rng.NextDouble(), rng.NextDouble() }).ToArray();

        double previous = double.PositiveInfinity;
        foreach (int n in new[] { 1, 2, 4, 8 })
        {
            var r = new KMeansClusterer { Initializations = n }.Fit(points, 8, seed: 100);
            Assert.True(r.Inertia <= previous + 1e-9, $"n_init={n}: {r.Inertia} > {previous}");
            previous = r.Inertia;
        }
    }

    [Fact]
    public void RejectsInvalidK()
    {
        var points = new[] { new[] { 0.0 }, new[] { 1.0 } };
        Assert.Throws<ArgumentOutOfRangeException>(() => new KMeansClusterer().Fit(points, 3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new KMeansClusterer().Fit(points, 0, 0));
    }
}
