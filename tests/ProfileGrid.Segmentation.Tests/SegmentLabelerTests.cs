using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class SegmentLabelerTests
{
    private static readonly string[] Names = ["recency_days", "frequency", "monetary", "engagement_velocity", "tenure_days"];
    private static readonly double[] Mean = [30, 5, 500, 2, 365];
    private static readonly double[] StdDev = [10, 2, 200, 1, 100];

    // Centroids in original units; comments give the z-scores.
    private static readonly double[][] Centroids =
    [
        [25, 7, 1100, 2.2, 400],   // high-value: monetary z = 3
        [60, 3, 200, 0.5, 500],    // dormant: recency z = 3, velocity z = -1.5
        [28, 4, 400, 2.5, 150],    // new: tenure z = -2.15
        [32, 5, 480, 1.8, 370],    // casual: everything near the mean
    ];

    [Fact]
    public void Hand_made_centroids_get_their_labels()
    {
        var descriptions = SegmentLabeler.Describe(Names, Centroids, Mean, StdDev);

        Assert.Equal(["high-value", "dormant", "new", "casual"], descriptions.Select(d => d.Label));
        Assert.Equal([0, 1, 2, 3], descriptions.Select(d => d.Segment));
    }

    [Fact]
    public void Distinguishing_features_are_the_top_three_by_absolute_z()
    {
        var descriptions = SegmentLabeler.Describe(Names, Centroids, Mean, StdDev);

        var dormant = descriptions[1].Features;
        Assert.Equal(3, dormant.Count);
        // monetary and engagement_velocity tie at |z| = 1.5; ties keep feature order.
        Assert.Equal(["recency_days", "monetary", "engagement_velocity"], dormant.Select(f => f.Feature));
        Assert.Equal(3, dormant[0].ZScore, 9);
        Assert.Equal(60, dormant[0].Value);
        Assert.Equal(-1.5, dormant[1].ZScore, 9);
        Assert.Equal(-1.5, dormant[2].ZScore, 9);

        foreach (var description in descriptions)
        {
            var magnitudes = description.Features.Select(f => Math.Abs(f.ZScore)).ToArray();
            Assert.Equal(magnitudes.OrderByDescending(m => m), magnitudes);
        }
    }

    [Fact]
    public void Without_monetary_no_segment_is_high_value()
    {
        int[] keep = [0, 1, 3, 4];
        var names = keep.Select(j => Names[j]).ToArray();
        var centroids = Centroids.Select(c => keep.Select(j => c[j]).ToArray()).ToArray();

        var descriptions = SegmentLabeler.Describe(names, centroids, keep.Select(j => Mean[j]).ToArray(), keep.Select(j => StdDev[j]).ToArray());

        Assert.DoesNotContain(descriptions, d => d.Label.StartsWith("high-value", StringComparison.Ordinal));
        Assert.Equal("dormant", descriptions[1].Label);
    }

    [Fact]
    public void Other_rules_and_duplicate_suffixes()
    {
        double[][] centroids =
        [
            [37, 6.5, 500, 2, 365],  // at-risk: recency z = 0.7, frequency z = 0.75
            [30, 7, 500, 2, 365],    // loyal
            [30, 4, 500, 3, 365],    // browser
            [30, 8, 500, 2, 365],    // loyal 2
            [31, 5, 500, 2, 365],    // casual
        ];

        var descriptions = SegmentLabeler.Describe(Names, centroids, Mean, StdDev);

        Assert.Equal(["at-risk", "loyal", "browser", "loyal 2", "casual"], descriptions.Select(d => d.Label));
    }

    [Fact]
    public void A_zero_standard_deviation_gives_zero_z()
    {
        var descriptions = SegmentLabeler.Describe(["monetary"], [[1000]], [10], [0]);

        Assert.Equal("casual", descriptions[0].Label);
        Assert.Equal(0, descriptions[0].Features[0].ZScore);
    }

    [Fact]
    public void Dormant_reads_days_since_last_seen_and_browser_reads_sessions_or_breadth_when_the_model_has_them()
    {
        string[] names = ["recency_days", "frequency", "engagement_velocity", "sessions", "category_diversity", "days_since_last_seen"];
        double[] mean = [100, 2, 1, 10, 5, 50];
        double[] stdDev = [50, 1, 1, 5, 2, 40];
        double[][] centroids =
        [
            [100, 1, 0, 5, 4, 120],   // not bought for long, like everyone, but not seen for long either: dormant
            [200, 0, 1, 20, 5, 10],   // never buys, many sessions: browser
            [200, 0, 1, 10, 9, 10],   // never buys, looks at many categories: browser 2
            [100, 2, 1, 10, 5, 50],   // average: casual
        ];

        var labels = SegmentLabeler.Describe(names, centroids, mean, stdDev).Select(d => d.Label);

        Assert.Equal(["dormant", "browser", "browser 2", "casual"], labels);
    }
}
