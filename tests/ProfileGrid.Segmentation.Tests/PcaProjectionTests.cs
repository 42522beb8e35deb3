using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class PcaProjectionTests
{
    [Fact]
    public void PointsOnALineHaveOneComponentParallelToTheLine()
    {
        var origin = new[] { 1.0, -2.0, 0.5 };
        var direction = new[] { 2.0, 1.0, -3.0 };
        var norm = Math.Sqrt(direction.Sum(v => v * v));
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 100)
            .Select(_ => { var t = rng.NextDouble() * 10 - 5; return origin.Select((o, j) => o + t * direction[j]).ToArray(); })
            .ToArray();

        var pca = PcaProjection.Fit(rows);

        Assert.Equal(1.0, pca.ExplainedVarianceRatio[0], 9);
        Assert.Equal(0.0, pca.ExplainedVarianceRatio[1], 9);
        var cos = pca.Components[0].Zip(direction, (a, b) => a * b).Sum() / norm;
        Assert.Equal(1.0, Math.Abs(cos), 9);
        Assert.Equal(1.0, Math.Sqrt(pca.Components[0].Sum(v => v * v)), 9);
    }

    [Fact]
    public void ComponentsAreOrthonormalAndVarianceMatchesProjection()
    {
        var rng = new Random(8);
        var rows = Enumerable.Range(0, 300)
            .Select(_ =>
            {
                double a = KMeansClustererTests.Gaussian(rng) * 3, b = KMeansClustererTests.Gaussian(rng), c = KMeansClustererTests.Gaussian(rng) * 0.2;
                return new[] { a + b, a - b, c, 0.5 * a + c, b };
            })
            .ToArray();
        var pca = PcaProjection.Fit(rows);

        var dot = pca.Components[0].Zip(pca.Components[1], (x, y) => x * y).Sum();
        Assert.Equal(0.0, dot, 9);
        Assert.Equal(1.0, pca.Components[1].Sum(v => v * v), 9);
        Assert.True(pca.ExplainedVariance[0] >= pca.ExplainedVariance[1]);
        Assert.InRange(pca.ExplainedVarianceRatio.Sum(), 0, 1 + 1e-12);

        var projected = rows.Select(pca.Project).ToArray();
        double VarianceOf(IEnumerable<double> xs)
        {
            var arr = xs.ToArray(); var m = arr.Average();
            return arr.Sum(x => (x - m) * (x - m)) / (arr.Length - 1);
        }
        Assert.Equal(pca.ExplainedVariance[0], VarianceOf(projected.Select(p => p.X)), 9);
        Assert.Equal(pca.ExplainedVariance[1], VarianceOf(projected.Select(p => p.Y)), 9);
        Assert.Equal(0.0, projected.Average(p => p.X), 9);

        var (x0, y0) = pca.Project(pca.Mean);
        Assert.Equal(0.0, x0, 12);
        Assert.Equal(0.0, y0, 12);
    }

    [Fact]
    public void AxisAlignedDataGivesAxisLoadings()
    {
        // Variance 4 along column 1, 1 along column 0, 0 along column 2.
        var rows = new[]
        {
            new[] { 1.0, 0, 5 }, new[] { -1.0, 0, 5 }, new[] { 0.0, 2, 5 }, new[] { 0.0, -2, 5 },
        };
        var pca = PcaProjection.Fit(rows);
        Assert.Equal(new[] { 0.0, 1, 0 }, pca.Components[0].Select(v => Math.Round(v, 12)).ToArray());
        Assert.Equal(new[] { 1.0, 0, 0 }, pca.Components[1].Select(v => Math.Round(v, 12)).ToArray());
        Assert.Equal(0.8, pca.ExplainedVarianceRatio[0], 12);
        Assert.Equal(0.2, pca.ExplainedVarianceRatio[1], 12);
        var (x, y) = pca.Project(new[] { 1.0, 2, 5 });
        Assert.Equal(2.0, x, 12);
        Assert.Equal(1.0, y, 12);
    }
}
