using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains.Tests;

public class SegmentationOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_refresh_windowed_features_hourly_1000_profiles_per_shard_at_most()
    {
        var options = new SegmentationOptions();

        Assert.Empty(options.Validate());
        Assert.Equal(TimeSpan.FromHours(1), options.WindowRefreshInterval);
        Assert.Equal(1000, options.WindowRefreshBatch);
    }

    [Fact]
    public void A_refresh_interval_too_short_or_negative_and_a_batch_out_of_range_are_each_reported()
    {
        Assert.Empty(new SegmentationOptions { WindowRefreshInterval = TimeSpan.Zero }.Validate()); // off

        var problems = new SegmentationOptions { WindowRefreshInterval = TimeSpan.FromMilliseconds(5), WindowRefreshBatch = 0 }.Validate();
        var negative = new SegmentationOptions { WindowRefreshInterval = TimeSpan.FromSeconds(-1), WindowRefreshBatch = 100_001 }.Validate();

        Assert.Contains(problems, p => p.StartsWith("WindowRefreshInterval must be zero (off) or at least 10 ms", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("WindowRefreshBatch must be between 1 and 100000", StringComparison.Ordinal));
        Assert.Equal(2, negative.Count);
    }
}
