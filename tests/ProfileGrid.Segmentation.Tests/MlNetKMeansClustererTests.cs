using ProfileGrid.Segmentation;
using static ProfileGrid.Segmentation.Tests.KMeansClustererTests;

namespace ProfileGrid.Segmentation.Tests;

/// <summary>ML.NET's k-means, selectable as <c>kmeans-mlnet</c>: the tests it had while it was the default.</summary>
public class MlNetKMeansClustererTests
{
    [Fact]
    public void RecoversThreePlantedBlobs()
    {
        var (points, truth) = Blobs(300, seed: 1);
        var result = new MlNetKMeansClusterer().Fit(points, 3, seed: 42);

        Assert.Equal(points.Length, result.Labels.Length);
        Assert.Equal(3, result.K);
        Assert.All(result.Labels, l => Assert.InRange(l, 0, 2));
        AssertRecoversBlobs(truth, result.Labels, 3);
    }

    [Fact]
    public void InertiaEqualsRecomputedSumAndCentroidsAreMeans()
    {
        var (points, _) = Blobs(300, seed: 2);
        var result = new MlNetKMeansClusterer { Initializations = 3 }.Fit(points, 3, seed: 7);

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
        var clusterer = new MlNetKMeansClusterer { Initializations = 3 };
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
            var r = new MlNetKMeansClusterer { Initializations = n }.Fit(points, 8, seed: 100);
            Assert.True(r.Inertia <= previous + 1e-9, $"n_init={n}: {r.Inertia} > {previous}");
            previous = r.Inertia;
        }
    }

    [Fact]
    public void RejectsInvalidK()
    {
        var points = new[] { new[] { 0.0 }, new[] { 1.0 } };
        Assert.Throws<ArgumentOutOfRangeException>(() => new MlNetKMeansClusterer().Fit(points, 3, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MlNetKMeansClusterer().Fit(points, 0, 0));
    }
}
