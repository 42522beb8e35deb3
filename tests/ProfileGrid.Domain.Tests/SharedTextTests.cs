using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class SharedTextTests
{
    private static UserEvent FromDevice(string id, string userAgent, string country, string category) =>
        ProductView(Now, new string(category.AsSpan()), "sku-1") with
        {
            EventId = id,
            Context = new EventContext { Device = DeviceType.Mobile, UserAgent = new string(userAgent.AsSpan()), Country = new string(country.AsSpan()), Locale = "de-DE" },
        };

    [Fact]
    public void Profiles_hold_one_shared_copy_of_text_they_hold_alike()
    {
        const string agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";
        var (first, second) = (new ProfileUnderTest(), new ProfileUnderTest());

        first.Apply(FromDevice("a", agent, "DE", "shoes-and-boots"));
        second.Apply(FromDevice("b", agent, "DE", "shoes-and-boots"));

        Assert.Equal(agent, second.Profile.Context.LastUserAgent);
        Assert.Same(first.Profile.Context.LastUserAgent, second.Profile.Context.LastUserAgent);
        Assert.Same(first.Profile.Context.LastCountry, second.Profile.Context.LastCountry);
        Assert.Same(first.Profile.Behavior.CategoryScores.Keys.Single(), second.Profile.Behavior.CategoryScores.Keys.Single());
    }

    [Fact]
    public void A_profile_read_from_storage_shares_its_text_once_compacted_and_reads_the_same()
    {
        var built = new ProfileUnderTest();
        built.Apply(FromDevice("a", "agent/1.0 (shared-text test)", "FR", "garden-tools"));
        var stored = StoredState.Deserialize(StoredState.Serialize(built.Profile));
        Assert.NotSame(built.Profile.Context.LastUserAgent, stored.Context.LastUserAgent);

        ProfileUpdater.Compact(stored);

        Assert.Same(built.Profile.Context.LastUserAgent, stored.Context.LastUserAgent);
        Assert.Same(built.Profile.Behavior.CategoryScores.Keys.Single(), stored.Behavior.CategoryScores.Keys.Single());
        Assert.Equal(built.Json(), ProfileJson.Serialize(stored, built.Options, built.Now));
    }

    [Fact]
    public void Past_its_bound_the_pool_starts_afresh_and_still_returns_equal_text()
    {
        var distinct = Enumerable.Range(0, SharedText.MaxEntries + 10).Select(i => $"text-{i}").ToArray();
        foreach (var text in distinct)
        {
            Assert.Equal(text, SharedText.Of(text));
        }

        var again = new string("text-1".AsSpan());
        Assert.Same(SharedText.Of("text-1"), SharedText.Of(again));
        var tooLong = new string('x', SharedText.MaxLength + 1);
        Assert.Same(tooLong, SharedText.Of(tooLong));
    }
}
