using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class ElbowDetectorTests
{
    [Fact]
    public void Obvious_elbow_at_3()
    {
        // x' = (k-1)/7, y' = (I-72)/928, D = (1 - y') - x':
        // k=1: 0 - 0 = 0; k=2: (1 - 228/928) - 1/7 = 0.754310 - 0.142857 = 0.611453;
        // k=3: (1 - 48/928) - 2/7 = 0.948276 - 0.285714 = 0.662562; k=4: (1 - 28/928) - 3/7 = 0.541256; ... k=8: 0.
        int[] ks = [1, 2, 3, 4, 5, 6, 7, 8];
        double[] inertias = [1000, 300, 120, 100, 90, 82, 76, 72];

        var result = ElbowDetector.Kneedle(ks, inertias);

        Assert.Equal(3, result.K);
        Assert.Equal(8, result.Differences.Length);
        Assert.Equal(0.0, result.Differences[0], 9);
        Assert.Equal(1.0 - 228.0 / 928.0 - 1.0 / 7.0, result.Differences[1], 9);
        Assert.Equal(1.0 - 48.0 / 928.0 - 2.0 / 7.0, result.Differences[2], 9);
        Assert.Equal(0.0, result.Differences[7], 9);
    }

    [Fact]
    public void One_over_x_curve_has_knee_at_3()
    {
        // y = 1/k, k = 1..10: x' = (k-1)/9, y' = (1/k - 0.1)/0.9.
        // k=2: 1 - 0.444444 - 0.111111 = 0.444444; k=3: 1 - 0.259259 - 0.222222 = 0.518519;
        // k=4: 1 - 0.166667 - 0.333333 = 0.5; k=5: 1 - 0.111111 - 0.444444 = 0.444444 -> max at k = 3.
        var ks = Enumerable.Range(1, 10).ToArray();
        var ys = ks.Select(k => 1.0 / k).ToArray();

        var result = ElbowDetector.Kneedle(ks, ys);

        Assert.Equal(3, result.K);
        Assert.Equal(14.0 / 27.0, result.Differences[2], 9);
        Assert.Equal(0.5, result.Differences[3], 9);
    }

    [Fact]
    public void Order_of_candidates_does_not_matter()
    {
        int[] ks = [8, 3, 1, 5, 2, 7, 4, 6];
        double[] inertias = [72, 120, 1000, 90, 300, 76, 100, 82];

        var result = ElbowDetector.Kneedle(ks, inertias);

        Assert.Equal(3, result.K);
        Assert.Equal(1.0 - 48.0 / 928.0 - 2.0 / 7.0, result.Differences[1], 9); // differences follow the input order
    }

    [Fact]
    public void Straight_line_has_no_knee_and_falls_back_to_smallest_k()
    {
        var result = ElbowDetector.Kneedle([2, 3, 4], [20.0, 10.0, 0.0]);

        Assert.Equal(2, result.K);
        Assert.All(result.Differences, d => Assert.Equal(0.0, d, 12));
    }

    [Fact]
    public void Mismatched_lengths_throw()
    {
        Assert.Throws<ArgumentException>(() => ElbowDetector.Kneedle([1, 2], [1.0]));
    }
}
