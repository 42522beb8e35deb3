namespace ProfileGrid.Segmentation.Tests;

/// <summary>Which frequency and spend a run counts by default (<c>window: auto</c>) on live and on imported histories.</summary>
public class WindowChoiceTests
{
    private static readonly string[] Names =
        ["recency_days", "frequency", "monetary", "frequency_365d", "monetary_365d", "tenure_days", "days_since_last_seen"];

    // Rows as of now: (recency, orders, spend, orders in 365 days, spend in 365 days, tenure, days since last seen).
    private static TrainingSet Set(params double[][] rows) =>
        new(Names, [false, true, true, true, true, true, false], rows, rows.Length);

    [Fact]
    public void An_imported_history_that_ended_years_ago_keeps_the_lifetime_counts()
    {
        // UCI Online Retail II read in 2026: first events December 2009, last December 2011, 738 days apart; no
        // order in the last 365 days, so the 365-day pair is 0 for everyone.
        var data = Set(
            [5473, 12, 3400, 0, 0, 6211, 5473],
            [5800, 1, 40, 0, 0, 5810, 5800],
            [5600, 3, 310, 0, 0, 6000, 5590]);
        var notes = new List<string>();

        var features = SegmentationTrainer.DefaultFeatures(data, "auto", notes);

        Assert.Contains("frequency", features);
        Assert.Contains("monetary", features);
        Assert.DoesNotContain("frequency_365d", features);
        Assert.Contains("738 days", Assert.Single(notes));
    }

    [Fact]
    public void A_live_history_of_more_than_two_years_counts_the_last_365_days()
    {
        var data = Set(
            [3, 40, 9000, 10, 2500, 1200, 1],
            [200, 2, 80, 1, 30, 900, 150],
            [30, 5, 400, 2, 100, 100, 20]);
        var notes = new List<string>();

        var features = SegmentationTrainer.DefaultFeatures(data, "auto", notes);

        Assert.Contains("frequency_365d", features);
        Assert.DoesNotContain("frequency", features);
        Assert.Contains("1199 days", Assert.Single(notes));
    }

    [Fact]
    public void A_short_history_counts_its_whole_length()
    {
        var notes = new List<string>();

        var features = SegmentationTrainer.DefaultFeatures(Set([3, 4, 90, 4, 90, 200, 1], [9, 1, 20, 1, 20, 50, 9]), "auto", notes);

        Assert.Contains("monetary", features);
        Assert.Contains("199 days", Assert.Single(notes));
    }
}
