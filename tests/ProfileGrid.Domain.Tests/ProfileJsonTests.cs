using System.Text.Json;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class ProfileJsonTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void The_document_uses_camel_case_snake_case_enums_and_utc_timestamps()
    {
        var user = new ProfileUnderTest();
        user.Apply(Of(EventKind.AddToCart, new DateTimeOffset(2026, 3, 2, 13, 0, 0, TimeSpan.FromHours(2)), device: DeviceType.Desktop)
            with { Product = new ProductInfo { ProductId = "p", Category = "shoes" } });

        var root = Parse(user.Json());

        Assert.Equal("acme", root.GetProperty("tenant").GetString());
        Assert.Equal("2026-03-02T12:00:00Z", root.GetProperty("asOf").GetString());
        var behavior = root.GetProperty("behavior");
        Assert.Equal("2026-03-02T11:00:00Z", behavior.GetProperty("lastSeen").GetString());
        Assert.Equal(1, behavior.GetProperty("eventCounts").GetProperty("add_to_cart").GetInt64());
        Assert.Equal(0, behavior.GetProperty("eventCounts").GetProperty("preference_set").GetInt64());
        Assert.Equal("add_to_cart", behavior.GetProperty("recentActions")[0].GetProperty("type").GetString());
        Assert.Equal("desktop", root.GetProperty("context").GetProperty("lastDevice").GetString());
        Assert.False(root.GetProperty("demographics").TryGetProperty("ageBand", out _));
        Assert.Equal(["all", "30d", "90d", "365d"], behavior.GetProperty("windows").EnumerateArray().Select(w => w.GetProperty("window").GetString()));
        Assert.Equal("USD", behavior.GetProperty("monetary").GetProperty("currency").GetString());
        Assert.False(behavior.TryGetProperty("recencyDays", out _));
        Assert.False(behavior.TryGetProperty("averageOrderValue", out _));
        Assert.False(root.GetProperty("context").TryGetProperty("lastCountry", out _));
    }

    [Fact]
    public void The_document_shows_the_derived_fields_as_of_the_requested_time()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-10), "USD", 25m));

        var later = ProfileJson.ToDocument(user.Profile, user.Options, Now.AddDays(100));

        Assert.Equal(110, later.StalenessDays!.Value, 4);
        Assert.True(later.Dormant);
        Assert.Equal(110, later.Behavior.RecencyDays!.Value, 4);
        Assert.Equal(0, later.Behavior.Windows.Single(w => w.Window == "90d").Orders);
    }

    [Fact]
    public void The_same_profile_always_gives_the_same_text()
    {
        var user = new ProfileUnderTest();
        ProfileUpdater.ApplyAttributes(user.Profile, new DemographicsUpdate { Traits = new Dictionary<string, string> { ["b"] = "1", ["a"] = "2" } }, Now, user.Options);

        var copy = StoredState.Deserialize(StoredState.Serialize(user.Profile));

        Assert.Equal(user.Json(), ProfileJson.Serialize(copy, user.Options, Now));
        Assert.Contains("\"traits\":{\"a\":\"2\",\"b\":\"1\"}", user.Json());
    }
}
