using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>The profile survives grain storage and grain calls unchanged.</summary>
public class PersistenceTests
{
    [Fact]
    public void A_profile_reloaded_from_grain_storage_is_the_same_profile_and_still_recognises_replays()
    {
        var (profile, now) = HeavyUser.Create();
        var options = HeavyUser.Options;

        var reloaded = StoredState.Deserialize(StoredState.Serialize(profile));

        Assert.Equal(StateJson.Of(profile), StateJson.Of(reloaded));
        Assert.Equal(ProfileJson.Serialize(profile, options, now), ProfileJson.Serialize(reloaded, options, now));
        Assert.Equal(0, ProfileUpdater.Apply(reloaded, [PageView(now, HeavyUser.LastEventId)], options, now).Applied);
    }

    [Fact]
    public void Round_trip_through_grain_storage_keeps_tricky_values()
    {
        var user = new ProfileUnderTest();
        user.Apply(
            Identify(Now, new DemographicsUpdate { BirthYear = 2000, Gender = Gender.Unknown, Traits = new Dictionary<string, string> { ["signup"] = "2024-01-01T00:00:00Z", ["empty"] = "" } }),
            Preference(Now, new PreferenceUpdate { EmailOptIn = false }),
            Purchase(Now.AddHours(-1), "JPY", 1234.5678m),
            PageView(new DateTimeOffset(2026, 3, 1, 23, 59, 59, TimeSpan.FromHours(-5))));

        var reloaded = StoredState.Deserialize(StoredState.Serialize(user.Profile));

        Assert.Equal(StateJson.Of(user.Profile), StateJson.Of(reloaded));
        Assert.Equal("2024-01-01T00:00:00Z", reloaded.Demographics.Traits["signup"]);
        Assert.False(reloaded.Preferences.EmailOptIn);
        Assert.Equal(24, reloaded.Context.HourOfDay.Length);
    }

    [Fact]
    public void A_profile_survives_the_orleans_serializer_and_copier()
    {
        var (profile, _) = HeavyUser.Create();
        using var services = new ServiceCollection().AddSerializer(builder => builder.AddAssembly(typeof(UserProfile).Assembly)).BuildServiceProvider();

        var serializer = services.GetRequiredService<Serializer<UserProfile>>();
        var copier = services.GetRequiredService<DeepCopier<UserProfile>>();

        Assert.Equal(StateJson.Of(profile), StateJson.Of(serializer.Deserialize(serializer.SerializeToArray(profile))!));
        Assert.Equal(StateJson.Of(profile), StateJson.Of(copier.Copy(profile)));
    }
}
