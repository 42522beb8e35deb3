using Orleans.Core.Internal;
using Orleans.Streams;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Tests;

[Collection(ClusterCollection.Name)]
public class UserProfileGrainTests(ClusterFixture fixture)
{
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddDays(-3);

    private static string NewUser() => "u-" + Guid.NewGuid().ToString("N")[..12];

    private static UserEvent PageView(string user, string id, DateTimeOffset at, DeviceType device = DeviceType.Desktop) => new()
    {
        EventId = id,
        Kind = EventKind.PageView,
        Tenant = "shop",
        UserId = user,
        OccurredAt = at,
        Source = Channel.Web,
        Context = new EventContext { Device = device, Country = "DE" },
        Page = new PageInfo { Url = "/home" },
    };

    private static UserEvent Purchase(string user, string id, DateTimeOffset at, decimal price) => new()
    {
        EventId = id,
        Kind = EventKind.Purchase,
        Tenant = "shop",
        UserId = user,
        OccurredAt = at,
        Source = Channel.App,
        Purchase = new PurchaseInfo
        {
            OrderId = "o-" + id,
            Currency = "USD",
            Lines = [new PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 1, UnitPrice = price }],
        },
    };

    private Task PublishAsync(string user, params UserEvent[] events) =>
        fixture.Client.GetStreamProvider(StreamNames.EventsProvider)
            .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, new ProfileKey("shop", user).ToString()))
            .OnNextAsync(new EventBatch(events));

    private IUserProfileGrain Grain(string user) => fixture.Client.GetGrain<IUserProfileGrain>(new ProfileKey("shop", user).ToString());

    private async Task<ProfileView> WaitForAsync(string user, Func<ProfileView, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        ProfileView? profile = null;
        while (DateTime.UtcNow < deadline)
        {
            profile = await Grain(user).GetViewAsync();
            if (profile is not null && condition(profile))
            {
                return profile;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"The profile of {user} did not reach the expected state; last seen: {profile?.EventsApplied} events applied.");
        return null!;
    }

    [Fact]
    public async Task Events_on_the_stream_update_the_profile()
    {
        var user = NewUser();

        await PublishAsync(user,
            PageView(user, "e1", Start),
            PageView(user, "e2", Start.AddMinutes(5), DeviceType.Mobile),
            Purchase(user, "e3", Start.AddMinutes(10), 80m));

        var profile = await WaitForAsync(user, p => p.EventsApplied == 3);
        Assert.Equal("shop", profile.Tenant);
        Assert.Equal(user, profile.UserId);
        Assert.Equal(2, profile.Behavior.EventCounts.ToDictionary()["page_view"]);
        Assert.Equal(1, profile.Behavior.Orders);
        Assert.Equal(new Money(80m, "USD"), Assert.Single(profile.Behavior.MonetaryByCurrency));
        Assert.Equal(1, profile.Behavior.Sessions);
        Assert.Equal(Channel.App, profile.Context.LastChannel);
    }

    [Fact]
    public async Task A_merged_profile_put_back_in_its_shard_leaves_it_again_when_it_next_wakes()
    {
        // An outside kill -9 run: a shard writes its entries behind, so a silo killed soon after a merge brought the merged
        // device back into the tenant's listing, export and count.
        var user = NewUser();
        var key = new ProfileKey("shop", user).ToString();
        var shard = fixture.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard("shop", SegmentKeys.ShardOf(key, 4)));
        await PublishAsync(user, PageView(user, "e1", Start));
        await WaitForAsync(user, p => p.EventsApplied == 1);
        await fixture.Client.GetGrain<IProfileMergeGrain>(key).SetMergedIntoAsync("canonical-" + user);
        Assert.DoesNotContain(await shard.GetSnapshotAsync(), e => e.ProfileKey == key);

        // The shard as a restart from its last written state would have it: the entry back.
        await shard.UpdateAsync(new FeatureUpdate(key, new double[ProfileFeatures.All.Count], DateTimeOffset.UtcNow));
        await Grain(user).Cast<IGrainManagementExtension>().DeactivateOnIdle();
        await Task.Delay(500);
        await Grain(user).GetViewAsync();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await shard.GetSnapshotAsync()).Any(e => e.ProfileKey == key) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.DoesNotContain(await shard.GetSnapshotAsync(), e => e.ProfileKey == key);
    }

    [Fact]
    public async Task A_redelivered_batch_changes_nothing()
    {
        var user = NewUser();
        UserEvent[] batch = [PageView(user, "e1", Start), Purchase(user, "e2", Start.AddMinutes(1), 25m)];

        await PublishAsync(user, batch);
        await WaitForAsync(user, p => p.EventsApplied == 2);
        await PublishAsync(user, batch);
        await PublishAsync(user, PageView(user, "e3", Start.AddMinutes(2)));

        var profile = await WaitForAsync(user, p => p.EventsApplied == 3);
        Assert.Equal(1, profile.Behavior.Orders);
        Assert.Equal(new Money(25m, "USD"), Assert.Single(profile.Behavior.MonetaryByCurrency));
        Assert.Equal(2, profile.Behavior.EventCounts.ToDictionary()["page_view"]);
    }

    [Fact]
    public async Task Late_events_in_a_later_batch_are_applied_by_event_time()
    {
        var user = NewUser();

        await PublishAsync(user, PageView(user, "late-1", Start.AddHours(5), DeviceType.Desktop));
        await PublishAsync(user, PageView(user, "early-1", Start, DeviceType.Mobile));

        var profile = await WaitForAsync(user, p => p.EventsApplied == 2);
        Assert.Equal(Start, profile.Behavior.FirstSeen);
        Assert.Equal(Start.AddHours(5), profile.Behavior.LastSeen);
        Assert.Equal(DeviceType.Desktop, profile.Context.LastDevice);
        Assert.Equal(2, profile.Behavior.Sessions);
    }

    [Fact]
    public async Task Many_users_spread_over_both_silos_all_get_their_events()
    {
        var users = Enumerable.Range(0, 40).Select(_ => NewUser()).ToList();

        await Task.WhenAll(users.Select(u => PublishAsync(u, PageView(u, "a", Start), PageView(u, "b", Start.AddMinutes(1)))));

        foreach (var user in users)
        {
            await WaitForAsync(user, p => p.EventsApplied == 2);
        }

        Assert.Equal(2, fixture.Cluster.GetActiveSilos().Count());
    }

    [Fact]
    public async Task Crm_attributes_and_preferences_are_written_directly()
    {
        var user = NewUser();

        await Grain(user).UpsertAttributesAsync(new DemographicsUpdate { BirthYear = 1990, Gender = Gender.Female, Country = "FR" });
        var profile = await Grain(user).SetPreferencesAsync(new PreferenceUpdate { Key = "newsletter", Value = "weekly", EmailOptIn = true });

        Assert.Equal(1990, profile.Demographics.BirthYear);
        Assert.Equal("FR", profile.Demographics.Country);
        Assert.Equal("weekly", profile.Preferences.Values.ToDictionary()["newsletter"]);
        Assert.True(profile.Preferences.EmailOptIn);
        Assert.Equal(Gender.Female, (await Grain(user).GetViewAsync())!.Demographics.Gender);
    }

    [Fact]
    public async Task An_unknown_user_has_no_profile()
    {
        Assert.Null(await Grain(NewUser()).GetViewAsync());
    }

    [Fact]
    public async Task A_read_right_after_a_change_shows_it()
    {
        var user = NewUser();
        await PublishAsync(user, PageView(user, "e1", Start));
        var before = await WaitForAsync(user, p => p.EventsApplied == 1);
        Assert.Null(before.RecencyDays);
        Assert.Null(before.Behavior.AverageOrderValue);

        // The first read cached the view; each change below must show in the very next read.
        await PublishAsync(user, Purchase(user, "e2", Start.AddHours(1), 40m));
        var after = await WaitForAsync(user, p => p.EventsApplied == 2);
        Assert.Equal(new Money(40m, "USD"), after.Behavior.AverageOrderValue);
        Assert.NotNull(after.RecencyDays);
        Assert.Equal(1, after.Behavior.Windows.Single(w => w.Window == "30d").Orders);

        var upserted = await Grain(user).UpsertAttributesAsync(new DemographicsUpdate { City = "Lyon" });
        Assert.Equal("Lyon", upserted.Demographics.City);
        Assert.Equal("Lyon", (await Grain(user).GetViewAsync())!.Demographics.City);
        await Grain(user).SetPreferencesAsync(new PreferenceUpdate { SmsOptIn = false });
        Assert.False((await Grain(user).GetViewAsync())!.Preferences.SmsOptIn);
    }

    [Fact]
    public async Task A_read_as_of_a_past_instant_gives_the_same_answer_every_time()
    {
        var user = NewUser();
        var asOf = Start.AddDays(1);
        await PublishAsync(user, PageView(user, "e1", Start), Purchase(user, "e2", Start.AddMinutes(5), 30m));
        await WaitForAsync(user, p => p.EventsApplied == 2);

        var first = await Grain(user).GetViewAsync(asOf);
        var now = await Grain(user).GetViewAsync();
        await Task.Delay(50);
        var again = await Grain(user).GetViewAsync(asOf);

        Assert.Equal(asOf, first!.AsOf);
        Assert.Equal((asOf - Start.AddMinutes(5)).TotalDays, first.RecencyDays!.Value, 0.001);
        Assert.Equal(ProfileGrid.Domain.ProfileJson.Serialize(first), ProfileGrid.Domain.ProfileJson.Serialize(again!));
        Assert.NotEqual(first.RecencyDays, now!.RecencyDays);
        Assert.True(now.AsOf > asOf);
    }
}
