using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Streams;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// An idle profile keeps its state packed (ResidencyOptions.PackIdleAfter, 100 ms in the test cluster) and unpacks on
/// any use: packed then unpacked, it must hold, answer and behave exactly as before.
/// </summary>
[Collection(ClusterCollection.Name)]
public class ProfilePackingTests(ClusterFixture fixture)
{
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddDays(-3);
    private static readonly ProfileOptions Options = new();

    private static string NewUser() => "pk-" + Guid.NewGuid().ToString("N")[..12];

    private static string Key(string user) => new ProfileKey("shop", user).ToString();

    private IUserProfileGrain Grain(string user) => fixture.Client.GetGrain<IUserProfileGrain>(Key(user));

    private IProfileResidencyGrain Residency(string user) => fixture.Client.GetGrain<IProfileResidencyGrain>(Key(user));

    private ProfilePacker SiloPacker() =>
        ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<ProfilePacker>();

    /// <summary>A bit of everything a profile holds: sessions, contexts, categories, money in two currencies, searches, custom events.</summary>
    private static List<UserEvent> History(string user, string prefix, DateTimeOffset from, int count)
    {
        var events = new List<UserEvent>();
        for (var i = 0; i < count; i++)
        {
            var at = from.AddMinutes(i * 7 + (i / 10) * 600);
            var id = $"{prefix}-{i}";
            var context = new EventContext
            {
                Device = (DeviceType)(1 + i % 3),
                Country = i % 2 == 0 ? "de" : "FR",
                Locale = "de-DE",
                UserAgent = "Mozilla/5.0 (X11; Linux x86_64) test " + (i % 2),
                SessionId = "s" + i / 10,
            };
            var source = i % 5 == 4 ? Channel.App : Channel.Web;
            events.Add((i % 8) switch
            {
                0 => new UserEvent { EventId = id, Kind = EventKind.SessionStart, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context, AnonymousId = "anon-" + i % 3 },
                1 => new UserEvent { EventId = id, Kind = EventKind.PageView, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context, Page = new PageInfo { Url = "/c/shoes?x=" + i, Title = "Shoes" } },
                2 => new UserEvent { EventId = id, Kind = EventKind.ProductView, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context, Product = new ProductInfo { ProductId = "p-" + i % 4, Category = i % 3 == 0 ? "shoes" : "bags" } },
                3 => new UserEvent { EventId = id, Kind = EventKind.AddToCart, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context, Product = new ProductInfo { ProductId = "p-" + i % 4, Category = "shoes", Quantity = 2 } },
                4 => new UserEvent { EventId = id, Kind = EventKind.Search, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context, Search = new SearchInfo { Query = "boots " + i } },
                5 => new UserEvent
                {
                    EventId = id, Kind = EventKind.Purchase, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context,
                    Purchase = new PurchaseInfo { OrderId = "o-" + id, Currency = i % 3 == 0 ? "EUR" : "USD", Lines = [new PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 1, UnitPrice = 19.5m + i }] },
                },
                6 => new UserEvent { EventId = id, Kind = EventKind.Custom, Tenant = "shop", UserId = user, OccurredAt = at, Source = source, Context = context, Custom = new CustomInfo { Name = "wishlist" } },
                _ => new UserEvent { EventId = id, Kind = EventKind.PreferenceSet, Tenant = "shop", UserId = user, OccurredAt = at, Source = Channel.Crm, Preference = new PreferenceUpdate { Key = "size", Value = (38 + i % 4).ToString(System.Globalization.CultureInfo.InvariantCulture) } },
            });
        }

        return events;
    }

    private static UserProfile BuiltProfile(string user, DateTimeOffset now)
    {
        var profile = new UserProfile();
        ProfileUpdater.Apply(profile, History(user, "a", Start, 60), Options, now);
        ProfileUpdater.ApplyAttributes(profile, new DemographicsUpdate { BirthYear = 1988, Gender = Gender.Female, Country = "fr", City = "Lyon", Traits = new Dictionary<string, string> { ["tier"] = "gold", ["club"] = "yes" } }, now, Options);
        ProfileUpdater.ApplyPreferences(profile, new PreferenceUpdate { Key = "newsletter", Value = "weekly", EmailOptIn = true, SmsOptIn = false }, now.AddSeconds(1), Options);
        ProfileUpdater.Apply(profile, History(user, "b", Start.AddDays(1), 25), Options, now.AddSeconds(2));
        ProfileUpdater.TrimExcess(profile);
        return profile;
    }

    /// <summary>Every stored field, bookkeeping included (field clocks, windows, recent actions, dedupe hashes).</summary>
    private static string StateJson(UserProfileGrainState state) => JsonSerializer.Serialize(state);

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting until {what}.");
            await Task.Delay(20);
        }
    }

    private Task UntilPackedAsync(string user) => UntilAsync(async () => await Residency(user).PackedBytesAsync() is not null, $"the profile of {user} is packed");

    private Task PublishAsync(string user, IEnumerable<UserEvent> events) =>
        fixture.Client.GetStreamProvider(StreamNames.EventsProvider)
            .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, Key(user)))
            .OnNextAsync(new EventBatch([.. events]));

    [Theory]
    [InlineData(ProfilePackCodec.Zstd)]
    [InlineData(ProfilePackCodec.Brotli)]
    [InlineData(ProfilePackCodec.Deflate)]
    [InlineData(ProfilePackCodec.None)]
    public void A_packed_state_unpacks_to_the_same_state_that_reads_and_updates_the_same(ProfilePackCodec codec)
    {
        var now = DateTimeOffset.UtcNow;
        var serializer = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<Serializer<UserProfileGrainState>>();
        var packer = new ProfilePacker(serializer) { Codec = codec };
        var original = new UserProfileGrainState { Profile = BuiltProfile("alice", now), LogPosition = 4711 };
        Assert.NotEmpty(original.Profile.Demographics.FieldUpdatedAt);
        Assert.NotEmpty(original.Profile.Preferences.FieldUpdatedAt);
        Assert.True(original.Profile.Behavior.RecentActions.Count > 0);
        Assert.True(original.Profile.Behavior.DailyBuckets.Count > 1);

        var packed = packer.Pack(original);
        var unpacked = packer.Unpack(packed);

        Assert.NotSame(original.Profile, unpacked.Profile);
        Assert.Equal(StateJson(original), StateJson(unpacked));
        Assert.Equal(serializer.SerializeToArray(original), serializer.SerializeToArray(unpacked));
        if (codec != ProfilePackCodec.None)
        {
            Assert.True(packed.Length < serializer.SerializeToArray(original).Length);
        }
        foreach (var asOf in new[] { now, now.AddDays(3), Start.AddDays(1) })
        {
            Assert.Equal(ProfileJson.Serialize(ProfileViews.Build(original.Profile, Options, asOf)), ProfileJson.Serialize(ProfileViews.Build(unpacked.Profile, Options, asOf)));
        }

        // The same events on both, a redelivered one among them: the same outcome, the same state.
        var more = History("alice", "c", Start.AddDays(2), 12).Append(History("alice", "a", Start, 3)[2]).ToList();
        var (a, b) = (ProfileUpdater.Apply(original.Profile, more, Options, now.AddMinutes(1)), ProfileUpdater.Apply(unpacked.Profile, more, Options, now.AddMinutes(1)));
        Assert.Equal(a, b);
        Assert.Equal(1, a.Duplicates);
        Assert.Equal(StateJson(original), StateJson(unpacked));
    }

    [Fact]
    public async Task Forms_packed_on_many_threads_by_any_codec_unpack_anywhere_to_their_own_state()
    {
        // zstd keeps one context per thread: profiles packed and unpacked at once on the thread pool must not mix.
        var now = DateTimeOffset.UtcNow;
        var serializer = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<Serializer<UserProfileGrainState>>();
        var codecs = Enum.GetValues<ProfilePackCodec>();
        var states = Enumerable.Range(0, 64)
            .Select(i => new UserProfileGrainState { Profile = BuiltProfile("user-" + i, now.AddMinutes(i)), LogPosition = i })
            .ToArray();
        var packed = await Task.WhenAll(states.Select((state, i) => Task.Run(() => new ProfilePacker(serializer) { Codec = codecs[i % codecs.Length] }.Pack(state))));
        Assert.Equal(codecs.Length, packed.Select(form => form[0]).Distinct().Count());

        // Each form unpacked by a packer set to another codec than the one that wrote it, on other threads.
        var unpacked = await Task.WhenAll(packed.Select((form, i) => Task.Run(() => new ProfilePacker(serializer) { Codec = codecs[(i + 1) % codecs.Length] }.Unpack(form))));
        for (var i = 0; i < states.Length; i++)
        {
            Assert.Equal(serializer.SerializeToArray(states[i]), serializer.SerializeToArray(unpacked[i]));
        }
    }

    [Theory]
    [InlineData(ProfilePackCodec.Zstd)]
    [InlineData(ProfilePackCodec.Deflate)]
    [InlineData(ProfilePackCodec.None)]
    public void Serving_reads_the_item_history_and_consent_of_a_packed_state_without_unpacking_it(ProfilePackCodec codec)
    {
        var now = DateTimeOffset.UtcNow;
        var serializer = ((InProcessSiloHandle)fixture.Cluster.Primary!).SiloHost.Services.GetRequiredService<Serializer<UserProfileGrainState>>();
        var packer = new ProfilePacker(serializer) { Codec = codec };
        var profile = BuiltProfile("dora", now);
        profile.Preferences.PersonalizationOptIn = false;
        // What events rarely leave but the format must keep: ratings with their times, non-UTC offsets, long and non-ASCII
        // ids, times out of order, counts past one byte.
        var items = profile.Behavior.Items;
        items["film-ä-" + new string('x', 300)] = new ItemStats { Views = 1, Rating = 87.5, LastAt = now.AddYears(-20), RatedAt = now.AddYears(-20).AddSeconds(-1) };
        items["p-offset"] = new ItemStats { CartAdds = 300, Purchases = 2, LastAt = new DateTimeOffset(2011, 12, 5, 14, 3, 7, TimeSpan.FromHours(-5)).AddTicks(1234), Rating = 0, RatedAt = new DateTimeOffset(2011, 12, 5, 9, 0, 0, TimeSpan.FromMinutes(330)) };
        items["p-epoch"] = new ItemStats { Views = int.MaxValue, LastAt = DateTimeOffset.UnixEpoch };
        profile.Behavior.ForgottenOwned = [uint.MaxValue, 1, 0x8000_0000];
        profile.Feedback.Experiments[3] = new ExperimentOutcome { Variant = 1 };
        profile.Feedback.Experiments[300] = new ExperimentOutcome { Variant = 0 };
        var original = new UserProfileGrainState { Profile = profile, LogPosition = 12 };
        var expected = items.Select(i => new ItemInteractionView(i.Key, i.Value.Views, i.Value.CartAdds, i.Value.Purchases, i.Value.Rating, i.Value.LastAt)).ToArray();

        var packed = packer.Pack(original);
        var (optIn, eventsApplied, served, _, targeting, forgottenOwned, exposed) = ProfilePacker.ReadServingInput(packed, withTargeting: true);

        Assert.False(optIn);
        Assert.Equal([new ExperimentVariant(3, 1), new ExperimentVariant(300, 0)], exposed!.OrderBy(e => e.Experiment)); // the variants met, for assignment
        Assert.Equal(UserTargeting.Of(profile), targeting); // read after them
        Assert.Equal([uint.MaxValue, 1, 0x8000_0000], forgottenOwned);
        Assert.True(eventsApplied);
        Assert.Equal(expected, served);
        Assert.Equal(expected.Select(i => i.LastAt.Offset), served.Select(i => i.LastAt.Offset));
        Assert.Equal(StateJson(original), StateJson(packer.Unpack(packed)));
        Assert.Equal(items.Keys, packer.Unpack(packed).Profile.Behavior.Items.Keys); // the order too: the oldest leave first by it on ties

        // Item ids are catalog ids: a second read (any profile's) holds the same strings, not copies, up to the shared length.
        var again = ProfilePacker.ReadServingInput(packed).Items;
        Assert.All(served.Zip(again), pair =>
        {
            Assert.Equal(pair.First.ItemId, pair.Second.ItemId);
            Assert.Equal(Encoding.UTF8.GetByteCount(pair.First.ItemId) <= SharedItemIds.MaxLength, ReferenceEquals(pair.First.ItemId, pair.Second.ItemId));
        });

        var fresh = packer.Pack(new UserProfileGrainState());
        var (consent, applied, none, _, _, noneForgotten, noneExposed) = ProfilePacker.ReadServingInput(fresh);
        Assert.Null(noneExposed);
        Assert.Null(noneForgotten);
        Assert.Null(consent);
        Assert.False(applied);
        Assert.Empty(none);
    }

    [Fact]
    public async Task A_packed_profile_answers_serving_from_its_packed_form_and_stays_packed()
    {
        var user = NewUser();
        await PublishAsync(user, History(user, "s", Start, 40));
        RecommendationInput unpackedInput = null!;
        await UntilAsync(async () => (unpackedInput = await Grain(user).GetRecommendationInputAsync()).Items.Length > 0, "the events are applied");

        await UntilPackedAsync(user);
        var packedInput = await Grain(user).GetRecommendationInputAsync();

        Assert.NotNull(await Residency(user).PackedBytesAsync());
        Assert.True(packedInput.Exists);
        Assert.Equal(unpackedInput.PersonalizationOptIn, packedInput.PersonalizationOptIn);
        Assert.Equal(unpackedInput.Items, packedInput.Items);
    }

    [Fact]
    public async Task Reading_a_user_nobody_has_heard_of_leaves_no_activation_behind()
    {
        var management = fixture.Client.GetGrain<IManagementGrain>(0);
        var (stranger, reader) = (NewUser(), NewUser());

        Assert.False((await Grain(stranger).GetRecommendationInputAsync()).Exists);
        Assert.Null(await Grain(reader).GetViewAsync(null));

        async Task<bool> ActiveAsync(string user) =>
            (await management.GetDetailedGrainStatistics()).Any(g => g.GrainId == Grain(user).GetGrainId());
        await UntilAsync(async () => !await ActiveAsync(stranger), "the cold-start read's activation is gone");
        await UntilAsync(async () => !await ActiveAsync(reader), "the profile read's activation is gone");

        // A user who exists stays resident after the same reads.
        var known = NewUser();
        await PublishAsync(known, History(known, "k", Start, 10));
        await UntilAsync(async () => (await Grain(known).GetRecommendationInputAsync()).Exists, "the events are applied");
        Assert.NotNull(await Grain(known).GetViewAsync(null));
        Assert.True(await ActiveAsync(known));
    }

    [Fact]
    public void Unpacked_text_is_shared_with_the_other_profiles_again()
    {
        var packer = SiloPacker();
        var now = DateTimeOffset.UtcNow;
        var first = packer.Unpack(packer.Pack(new UserProfileGrainState { Profile = BuiltProfile("bob", now) }));
        var second = packer.Unpack(packer.Pack(new UserProfileGrainState { Profile = BuiltProfile("carol", now) }));

        Assert.Same(first.Profile.Context.LastUserAgent, second.Profile.Context.LastUserAgent);
        Assert.Same(first.Profile.Demographics.City, second.Profile.Demographics.City);
        Assert.Same(first.Profile.Behavior.CategoryScores.Keys.First(k => k == "shoes"), second.Profile.Behavior.CategoryScores.Keys.First(k => k == "shoes"));
        Assert.Same(first.Profile.Preferences.FieldUpdatedAt.Keys.First(), second.Profile.Preferences.FieldUpdatedAt.Keys.First(k => k == first.Profile.Preferences.FieldUpdatedAt.Keys.First()));
    }

    [Fact]
    public async Task An_idle_profile_is_packed_and_then_reads_writes_and_dedupes_as_before()
    {
        var user = NewUser();
        var history = History(user, "e", Start, 40);
        await PublishAsync(user, history);
        await Grain(user).UpsertAttributesAsync(new DemographicsUpdate { City = "Lyon", Traits = new Dictionary<string, string> { ["tier"] = "gold" } });

        // The view a write answers with is built afresh and not kept, so the profile can pack.
        await UntilAsync(async () => (await Grain(user).SetPreferencesAsync(new PreferenceUpdate { SmsOptIn = true })).EventsApplied == 40, "every event is applied");
        var before = await Grain(user).SetPreferencesAsync(new PreferenceUpdate { Key = "newsletter", Value = "weekly" });
        await UntilPackedAsync(user);

        // A read answers exactly what the state answered before it was packed, and leaves it packed.
        var read = await Grain(user).GetViewAsync(before.AsOf);
        Assert.Equal(ProfileJson.Serialize(before), ProfileJson.Serialize(read!));
        Assert.NotNull(await Residency(user).PackedBytesAsync());
        Assert.Equal(ProfileJson.Serialize(read!), ProfileJson.Serialize((await Grain(user).GetViewAsync(before.AsOf))!));

        // A redelivered batch meets the dedupe window of the unpacked state: nothing counts twice.
        await PublishAsync(user, history.Take(10).Append(History(user, "f", Start.AddDays(1), 1)[0]));
        await UntilAsync(async () => (await Grain(user).UpsertAttributesAsync(new DemographicsUpdate())).EventsApplied == 41, "the new event is applied");
        var after = (await Grain(user).GetViewAsync())!;
        Assert.Equal(41, after.EventsApplied);
        Assert.Equal(before.Behavior.Orders, after.Behavior.Orders);
        Assert.Equal(before.Behavior.MonetaryByCurrency.ToDictionary(m => m.Currency, m => m.Amount), after.Behavior.MonetaryByCurrency.ToDictionary(m => m.Currency, m => m.Amount));

        // A write to a packed profile lands in storage whole: a fresh activation reads the same profile back.
        await UntilPackedAsync(user);
        var written = await Grain(user).SetPreferencesAsync(new PreferenceUpdate { Key = "size", Value = "41" });
        Assert.Equal("41", written.Preferences.Values.ToDictionary()["size"]);
        Assert.Equal("Lyon", written.Demographics.City);
        await UntilPackedAsync(user);
        await fixture.Client.GetGrain<IManagementGrain>(0).ForceActivationCollection(TimeSpan.Zero);
        var reloaded = await Grain(user).GetViewAsync(written.AsOf);
        Assert.Equal(ProfileJson.Serialize(written), ProfileJson.Serialize(reloaded!));
    }

    [Fact]
    public async Task A_profile_whose_changes_are_not_written_is_never_packed()
    {
        // Storage refuses every write of "refused-" users (FaultyProfileStorage): the changes stay in memory, unwritten.
        var user = "refused-" + Guid.NewGuid().ToString("N")[..12];
        var partition = ProfileBuckets.LogPartition(Key(user), 16);
        await fixture.Client.GetGrain<IEventLogPartitionGrain>(partition).AppendAsync([new ProfileBatch(Key(user), new EventBatch(History(user, "e", Start, 5)))]);
        await UntilAsync(async () => (await Grain(user).GetViewAsync())?.EventsApplied == 5, "the events are applied");

        // Well past PackIdleAfter (100 ms) and the write retries: still unpacked, holding every event.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(1.5))
        {
            Assert.Null(await Residency(user).PackedBytesAsync());
            await Task.Delay(50);
        }

        Assert.Equal(5, (await Grain(user).GetViewAsync())!.EventsApplied);
    }

    [Fact]
    public async Task A_kept_view_is_dropped_once_no_read_came_for_a_while_and_only_then_the_profile_packs()
    {
        var user = NewUser();
        await Grain(user).SetPreferencesAsync(new PreferenceUpdate { Key = "newsletter", Value = "weekly" });

        // Read while unpacked: the view is kept, and the profile does not pack while it is.
        var sinceRead = Stopwatch.StartNew();
        Assert.NotNull(await Grain(user).GetViewAsync());
        await UntilPackedAsync(user);

        // Not before the view was dropped: ViewKeptFor is 300 ms in the test cluster.
        Assert.True(sinceRead.Elapsed >= TimeSpan.FromMilliseconds(300), $"packed {sinceRead.Elapsed.TotalMilliseconds:F0} ms after a read");
        Assert.False(await Residency(user).HoldsViewAsync());
        Assert.Equal("weekly", (await Grain(user).GetViewAsync())!.Preferences.Values.ToDictionary()["newsletter"]);
    }

    [Fact]
    public async Task A_packed_profile_is_read_from_a_copy_keeps_a_view_only_when_read_again_soon_and_stays_packed()
    {
        var user = NewUser();
        await PublishAsync(user, History(user, "e", Start, 40));
        await UntilAsync(async () => (await Grain(user).GetViewAsync())?.EventsApplied == 40, "every event is applied");
        var unpacked = (await Grain(user).GetViewAsync())!;
        await UntilPackedAsync(user);
        var packedBytes = await Residency(user).PackedBytesAsync();

        // Read once, it keeps no view; read again soon after (within ViewKeptFor, 300 ms here), it keeps one.
        var read = (await Grain(user).GetViewAsync(unpacked.AsOf))!;
        Assert.Equal(ProfileJson.Serialize(unpacked), ProfileJson.Serialize(read));
        Assert.False(await Residency(user).HoldsViewAsync());
        Assert.Equal(packedBytes, await Residency(user).PackedBytesAsync());
        var again = (await Grain(user).GetViewAsync(unpacked.AsOf))!;
        Assert.Equal(ProfileJson.Serialize(unpacked), ProfileJson.Serialize(again));
        Assert.True(await Residency(user).HoldsViewAsync());
        Assert.Equal(packedBytes, await Residency(user).PackedBytesAsync());

        // A day back (as_of) is built from a copy too; the view of today stays.
        var dayBack = (await Grain(user).GetViewAsync(unpacked.AsOf.AddDays(-1)))!;
        Assert.Equal(unpacked.EventsApplied, dayBack.EventsApplied);
        Assert.Equal(packedBytes, await Residency(user).PackedBytesAsync());

        // Once no read came for ViewKeptFor (300 ms here) the views go; the packed form never left.
        await UntilAsync(async () => !await Residency(user).HoldsViewAsync(), "the views are dropped");
        Assert.Equal(packedBytes, await Residency(user).PackedBytesAsync());

        // Merged into another profile while packed (a login): a read of it still says whom it is part of, and stays packed.
        await fixture.Client.GetGrain<IProfileMergeGrain>(Key(user)).SetMergedIntoAsync("canonical-" + user);
        await UntilPackedAsync(user);
        var merged = (await Grain(user).GetViewAsync())!;
        Assert.Equal("canonical-" + user, merged.MergedInto);
        Assert.NotNull(await Residency(user).PackedBytesAsync());
        await fixture.Client.GetGrain<IProfileMergeGrain>(Key(user)).SetMergedIntoAsync(null);
        Assert.Null((await Grain(user).GetViewAsync())!.MergedInto);
        await UntilPackedAsync(user);
        Assert.Null((await Grain(user).GetViewAsync())!.MergedInto);

        // A write unpacks as before, and the next read answers from the changed state.
        var written = await Grain(user).SetPreferencesAsync(new PreferenceUpdate { Key = "size", Value = "41" });
        Assert.Null(await Residency(user).PackedBytesAsync());
        Assert.Equal("41", (await Grain(user).GetViewAsync())!.Preferences.Values.ToDictionary()["size"]);
        Assert.Equal(40, written.EventsApplied);
    }
}
