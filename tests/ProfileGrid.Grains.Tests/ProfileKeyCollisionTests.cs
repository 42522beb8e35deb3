using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Grains.Tests;

/// <summary>Long ids are stored under hashed keys; if two users ever shared one, the profile refuses instead of merging them.</summary>
[Collection(ClusterCollection.Name)]
public class ProfileKeyCollisionTests(ClusterFixture fixture)
{
    private IGrainStorage ProfileStorage() =>
        ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredKeyedService<IGrainStorage>(ProfileStores.Profiles);

    [Fact]
    public async Task A_profile_whose_stored_state_names_another_user_refuses_with_a_clear_error()
    {
        var key = new ProfileKey("shop", "u-" + Guid.NewGuid().ToString("N"));
        var grain = fixture.Client.GetGrain<IUserProfileGrain>(key.ToString());
        // What a hashed-key collision would look like: the row this grain reads holds someone else's profile.
        var storage = ProfileStorage();
        var someoneElse = new UserProfileGrainState { Profile = new UserProfile { Tenant = "shop", UserId = "someone-else", EventsApplied = 5 } };
        await storage.WriteStateAsync("profile", grain.GetGrainId(), new GrainState<UserProfileGrainState>(someoneElse));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => grain.GetViewAsync());

        Assert.Contains("holds tenant 'shop', user 'someone-else'", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("refused rather than merged", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_profile_whose_stored_state_names_itself_loads_as_usual()
    {
        var key = new ProfileKey("shop", "u-" + Guid.NewGuid().ToString("N"));
        var grain = fixture.Client.GetGrain<IUserProfileGrain>(key.ToString());
        var storage = ProfileStorage();
        var own = new UserProfileGrainState { Profile = new UserProfile { Tenant = key.Tenant, UserId = key.UserId, EventsApplied = 5 } };
        await storage.WriteStateAsync("profile", grain.GetGrainId(), new GrainState<UserProfileGrainState>(own));

        var snapshot = await grain.GetViewAsync();

        Assert.Equal(5, snapshot!.EventsApplied);
    }
}
