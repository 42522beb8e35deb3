using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

/// <summary>Seeded synthetic data shared by the k-selection and stability tests.</summary>
internal static class PlantedData
{
    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>4 well-separated 3-D Gaussian blobs (sd 1, centres 12+ apart), <paramref name="perBlob"/> points each.</summary>
    public static double[][] FourBlobs(int perBlob = 120, int seed = 7)
    {
        var centres = new[]
        {
            new[] { 0.0, 0.0, 0.0 },
            new[] { 12.0, 0.0, 0.0 },
            new[] { 0.0, 12.0, 0.0 },
            new[] { 0.0, 0.0, 12.0 },
        };
        var rng = new Random(seed);
        var pts = new List<double[]>();
        foreach (var c in centres)
        {
            for (var i = 0; i < perBlob; i++)
            {
                pts.Add(c.Select(x => x + Gaussian(rng)).ToArray());
            }
        }

        return pts.ToArray();
    }

    /// <summary>Uniform noise in the unit cube.</summary>
    public static double[][] UniformNoise(int n, int dims, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, dims).Select(_ => rng.NextDouble()).ToArray()).ToArray();
    }
}

public class KSelectionTests
{
    private static readonly KMeansClusterer Fast = new() { Initializations = 3 };

    [Fact]
    public void PicksFourOnPlantedBlobs()
    {
        var points = PlantedData.FourBlobs();
        var choice = KSelection.Choose(Fast, points, 2, 8, seed: 11);

        Assert.Equal(4, choice.K);
        Assert.Equal(4, choice.SilhouetteK);
        Assert.Equal(7, choice.Curve.Count);
        Assert.Equal(Enumerable.Range(2, 7), choice.Curve.Select(p => p.K));
        Assert.Equal(Enumerable.Range(2, 7), choice.InertiaCurve.Select(p => p.K));
        Assert.Equal(Enumerable.Range(2, 7), choice.SilhouetteCurve.Select(p => p.K));
        Assert.All(choice.Curve, p => Assert.False(double.IsNaN(p.Silhouette)));
        Assert.Contains("k = 4", choice.Reason);
        Assert.Equal(4, choice.Result.K);
        Assert.Equal(points.Length, choice.Result.Labels.Length);
    }

    [Theory]
    [InlineData(1, 5)]
    [InlineData(4, 4)]
    [InlineData(5, 3)]
    [InlineData(2, 10)] // n = 10 points -> maxK must be <= 9
    public void InvalidRangesThrow(int minK, int maxK)
    {
        var points = PlantedData.UniformNoise(10, 2, 1);
        Assert.ThrowsAny<ArgumentException>(() => KSelection.Choose(Fast, points, minK, maxK, seed: 1));
    }

    [Fact]
    public void ChoiceFollowsTheDocumentedRule()
    {
        // Two groups of two tight pairs on a line (k = 2 and k = 4 both plausible): a k named by more of the four
        // criteria than any other wins; on a split, the elbow and silhouette rule with its 0.02 tolerance decides.
        var points = new[] { 0.0, 0.1, 1.0, 1.1, 10.0, 10.1, 11.0, 11.1 }.Select(x => new[] { x }).ToArray();
        var choice = KSelection.Choose(Fast, points, 2, 5, seed: 3);

        var chK = choice.Curve.MaxBy(p => p.CalinskiHarabasz)!.K;
        var dbK = choice.Curve.MinBy(p => p.DaviesBouldin)!.K;
        var votes = new[] { choice.ElbowK, choice.SilhouetteK, chK, dbK }.CountBy(k => k).OrderByDescending(v => v.Value).ToArray();
        Assert.Contains($"k = {choice.K}", choice.Reason);
        if (votes.Length == 1 || votes[0].Value > votes[1].Value)
        {
            Assert.Equal(votes[0].Key, choice.K);
        }
        else if (choice.ElbowK != choice.SilhouetteK)
        {
            var atElbow = choice.Curve.Single(p => p.K == choice.ElbowK).Silhouette;
            var best = choice.Curve.Single(p => p.K == choice.SilhouetteK).Silhouette;
            Assert.Equal(best - atElbow <= KSelection.SilhouetteTolerance ? choice.ElbowK : choice.SilhouetteK, choice.K);
        }
    }

    [Fact]
    public void Every_candidate_k_reports_all_four_indices()
    {
        var points = new[] { 0.0, 0.1, 1.0, 1.1, 10.0, 10.1, 11.0, 11.1 }.Select(x => new[] { x }).ToArray();

        var choice = KSelection.Choose(Fast, points, 2, 5, seed: 3);

        Assert.All(choice.Curve, p =>
        {
            Assert.True(double.IsFinite(p.CalinskiHarabasz) && p.CalinskiHarabasz > 0, $"k = {p.K}: CH {p.CalinskiHarabasz}");
            Assert.True(double.IsFinite(p.DaviesBouldin) && p.DaviesBouldin >= 0, $"k = {p.K}: DB {p.DaviesBouldin}");
        });
        // Two well-apart groups: every index that looks at separation prefers 2 or 4 over 3 and 5.
        Assert.Contains(choice.K, new[] { 2, 4 });
    }
}
