namespace ProfileGrid.Domain.Tests;

public class FeatureUnitsTests
{
    [Theory]
    [InlineData("recency_days", 3.456, "3.46 days")]
    [InlineData("days_since_last_seen", 1, "1 day")]
    [InlineData("days_since_first_purchase", 412.2, "412 days")]
    [InlineData("tenure_days", 0, "0 days")]
    [InlineData("frequency", 14, "14 orders")]
    [InlineData("frequency_365d", 1, "1 order")]
    [InlineData("monetary", 2310.4, "2,310 EUR")]
    [InlineData("monetary_365d", 12.345, "12.3 EUR")]
    [InlineData("average_order_value", 87.5, "87.5 EUR")]
    [InlineData("sessions", 12, "12 sessions")]
    [InlineData("category_diversity", 1, "1 category")]
    [InlineData("engagement_velocity", 0.42, "0.42 events/day")]
    [InlineData("shoe_size", 42, "42")]
    public void Every_feature_reads_with_its_unit(string feature, double value, string expected) =>
        Assert.Equal(expected, FeatureUnits.Format(feature, value, "EUR"));

    [Fact]
    public void Every_current_feature_has_a_unit() =>
        Assert.All(ProfileFeatures.All, feature => Assert.NotEqual("5", FeatureUnits.Format(feature, 5, "USD")));
}
