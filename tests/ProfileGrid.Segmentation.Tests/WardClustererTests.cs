using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class WardClustererTests
{
    private static double[][] OneD(params double[] xs) => xs.Select(x => new[] { x }).ToArray();

    /// <summary>Canonical form of a partition: labels renamed in order of first appearance.</summary>
    private static int[] Canonical(int[] labels)
    {
        var map = new Dictionary<int, int>();
        return labels.Select(l => map.TryGetValue(l, out var v) ? v : map[l] = map.Count).ToArray();
    }

    // Points 0, 1, 10, 12, 30 (no ties). Ward heights below are the Lance–Williams squared-distance values
    // (= 2·ΔSSE = 2·nA·nB/(nA+nB)·|cA−cB|²):
    //   1. {0} + {1}            at 1
    //   2. {10} + {12}          at 4
    //   3. {0,1} + {10,12}      at 2·2·2/4·(0.5−11)²   = 220.5
    //   4. {0,1,10,12} + {30}   at 2·4·1/5·(5.75−30)²  = 940.9
    // so k=3 → {0,1} {10,12} {30}; k=2 → {0,1,10,12} {30}.
    [Fact]
    public void HandWorkedExample()
    {
        var points = OneD(0, 1, 10, 12, 30);
        var ward = new WardClusterer();

        Assert.Equal(new[] { 0, 0, 1, 1, 2 }, ward.Fit(points, 3, 0).Labels);
        var k2 = ward.Fit(points, 2, 0);
        Assert.Equal(new[] { 0, 0, 0, 0, 1 }, k2.Labels);
        Assert.Equal(5.75, k2.Centroids[0][0], 12);
        Assert.Equal(30, k2.Centroids[1][0], 12);
        // SSE of {0,1,10,12} around 5.75.
        Assert.Equal(new[] { 0.0, 1, 10, 12 }.Sum(x => (x - 5.75) * (x - 5.75)), k2.Inertia, 9);

        var merges = ward.Dendrogram(points);
        Assert.Equal(4, merges.Count);
        Assert.Equal(new WardClusterer.Merge(0, 1, 1, 2), merges[0]);
        Assert.Equal(new WardClusterer.Merge(2, 3, 4, 2), merges[1]);
        Assert.Equal(5, merges[2].Left);
        Assert.Equal(6, merges[2].Right);
        Assert.Equal(220.5, merges[2].Height, 9);
        Assert.Equal(4, merges[3].Left);
        Assert.Equal(7, merges[3].Right);
        Assert.Equal(940.9, merges[3].Height, 9);
        Assert.Equal(5, merges[3].Size);
    }

    [Fact]
    public void KEqualsOneAndKEqualsN()
    {
        var points = OneD(3, 1, 2);
        Assert.Equal(new[] { 0, 0, 0 }, new WardClusterer().Fit(points, 1, 0).Labels);
        var all = new WardClusterer().Fit(points, 3, 0);
        Assert.Equal(new[] { 0, 1, 2 }, all.Labels);
        Assert.Equal(0, all.Inertia, 12);
    }

    [Fact]
    public void RecoversPlantedBlobs()
    {
        var (points, truth) = KMeansClustererTests.Blobs(100, seed: 4);
        var result = new WardClusterer().Fit(points, 3, seed: 0);

        KMeansClustererTests.AssertRecoversBlobs(truth, result.Labels, 3);
        Assert.Equal(KMeansClustererTests.RecomputedInertia(points, result), result.Inertia, 6);
    }

    /// <summary>Naive greedy Ward (merge the pair with the smallest SSE increase), the definition sklearn implements.</summary>
    private static int[] NaiveWard(double[][] points, int k)
    {
        var clusters = Enumerable.Range(0, points.Length).Select(i => new List<int> { i }).ToList();
        double[] Centroid(List<int> c) =>
            Enumerable.Range(0, points[0].Length).Select(j => c.Average(i => points[i][j])).ToArray();
        while (clusters.Count > k)
        {
            int bestA = -1, bestB = -1;
            var best = double.PositiveInfinity;
            for (var a = 0; a < clusters.Count; a++)
            {
                for (var b = a + 1; b < clusters.Count; b++)
                {
                    var ca = Centroid(clusters[a]);
                    var cb = Centroid(clusters[b]);
                    var d2 = ca.Zip(cb, (x, y) => (x - y) * (x - y)).Sum();
                    var cost = clusters[a].Count * clusters[b].Count / (double)(clusters[a].Count + clusters[b].Count) * d2;
                    if (cost < best) { best = cost; bestA = a; bestB = b; }
                }
            }

            clusters[bestA].AddRange(clusters[bestB]);
            clusters.RemoveAt(bestB);
        }
        var labels = new int[points.Length];
        for (var c = 0; c < clusters.Count; c++)
        {
            foreach (var i in clusters[c])
            {
                labels[i] = c;
            }
        }

        return Canonical(labels);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void MatchesNaiveGreedyWardOnRandomData(int seed)
    {
        var rng = new Random(seed);
        var points = Enumerable.Range(0, 40).Select(_ => new[] { rng.NextDouble(), rng.NextDouble(), rng.NextDouble() }).ToArray();
        var ward = new WardClusterer();
        foreach (var k in new[] { 2, 3, 5, 8 })
        {
            Assert.Equal(NaiveWard(points, k), ward.Fit(points, k, 0).Labels);
        }
    }

    [Theory]
    [InlineData(Linkage.Average)]
    [InlineData(Linkage.Complete)]
    [InlineData(Linkage.Single)]
    public void OtherLinkagesSeparateObviousGroups(Linkage linkage)
    {
        var points = OneD(0, 1, 2, 20, 21, 50);
        var clusterer = new WardClusterer(linkage);
        Assert.Equal(new[] { 0, 0, 0, 1, 1, 2 }, clusterer.Fit(points, 3, 0).Labels);
        Assert.StartsWith("hac-", clusterer.Name);
    }

    [Fact]
    public void CompleteLinkageMergeHeightsAreMaxDistances()
    {
        // {0,1} at 1, {0,1}+{3} at 3 (complete) vs average would be 2.5.
        var points = OneD(0, 1, 3, 10);
        var complete = new WardClusterer(Linkage.Complete).Dendrogram(points);
        Assert.Equal(new[] { 1.0, 3, 10 }, complete.Select(m => m.Height).ToArray());
        var average = new WardClusterer(Linkage.Average).Dendrogram(points);
        // Average: {0,1}+{3} at (3+2)/2 = 2.5, then {0,1,3}+{10} at (10+9+7)/3.
        Assert.Equal(1.0, average[0].Height, 12);
        Assert.Equal(2.5, average[1].Height, 12);
        Assert.Equal(26.0 / 3, average[2].Height, 9);
    }

    [Fact]
    public void SamplingAboveMaxPointsLabelsEveryPoint()
    {
        var (points, truth) = KMeansClustererTests.Blobs(200, seed: 9);
        var ward = new WardClusterer { MaxPoints = 120 };
        var a = ward.Fit(points, 3, seed: 5);
        var b = ward.Fit(points, 3, seed: 5);

        Assert.Equal(points.Length, a.Labels.Length);
        Assert.All(a.Labels, l => Assert.InRange(l, 0, 2));
        KMeansClustererTests.AssertRecoversBlobs(truth, a.Labels, 3);
        Assert.Equal(a.Labels, b.Labels);
        Assert.Equal(KMeansClustererTests.RecomputedInertia(points, a), a.Inertia, 6);
    }
}
