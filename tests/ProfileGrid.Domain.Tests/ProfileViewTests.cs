using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>The read view: what GetProfile and the document show, built once from the state and never aliasing it.</summary>
public class ProfileViewTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement;

    [Fact]
    public void A_view_shares_nothing_with_the_state_it_was_built_from()
    {
        var (profile, now) = HeavyUser.Create();
        var options = HeavyUser.Options;
        var view = ProfileViews.Build(profile, options, now);
        var before = ProfileJson.Serialize(view);

        ProfileUpdater.Apply(profile, [Purchase(now, "USD", 10m, "brand-new")], options, now);
        ProfileUpdater.ApplyAttributes(profile, new DemographicsUpdate { City = "Elsewhere", Traits = new Dictionary<string, string> { ["trait-001"] = "changed" } }, now, options);
        ProfileUpdater.ApplyPreferences(profile, new PreferenceUpdate { Key = profile.Preferences.Values.Keys.First(), Value = "changed" }, now.AddDays(1), options);
        profile.Behavior.DailyBuckets[^1].Events += 1000;
        profile.Behavior.MonetaryByCurrency["USD"].Amount += 1000;
        profile.Context.HourOfDay[0] += 1000;
        profile.AnonymousIds.Clear();

        Assert.Equal(before, ProfileJson.Serialize(view));
        Assert.NotEqual(before, ProfileJson.Serialize(profile, options, now));
    }

    [Fact]
    public void A_view_survives_the_orleans_serializer_and_is_not_copied_within_a_silo()
    {
        var (profile, now) = HeavyUser.Create();
        var view = ProfileViews.Build(profile, HeavyUser.Options, now);
        using var services = new ServiceCollection().AddSerializer(builder => builder.AddAssembly(typeof(ProfileView).Assembly)).BuildServiceProvider();

        var serializer = services.GetRequiredService<Serializer<ProfileView>>();
        var copier = services.GetRequiredService<DeepCopier<ProfileView>>();

        Assert.Equal(ProfileJson.Serialize(view), ProfileJson.Serialize(serializer.Deserialize(serializer.SerializeToArray(view))!));
        Assert.Same(view, copier.Copy(view));
    }

    [Fact]
    public void A_view_moved_to_a_later_instant_of_the_same_day_equals_one_built_then()
    {
        var user = new ProfileUnderTest();
        user.Apply(
            Purchase(Now.AddDays(-3), "USD", 20m, "shoes"), ProductView(new DateTimeOffset(Now.Date.AddMinutes(30), TimeSpan.Zero), "bags"),
            Identify(Now.AddDays(-1), new DemographicsUpdate { BirthYear = 1990 }));
        var morning = Now.Date.AddHours(1);
        var view = ProfileViews.Build(user.Profile, user.Options, new DateTimeOffset(morning, TimeSpan.Zero));
        var evening = new DateTimeOffset(Now.Date.AddHours(23).AddMinutes(59), TimeSpan.Zero);

        var moved = view.At(evening);

        Assert.Equal(ProfileJson.Serialize(ProfileViews.Build(user.Profile, user.Options, evening)), ProfileJson.Serialize(moved));
        Assert.NotEqual(view.StalenessDays, moved.StalenessDays);
        Assert.True(moved.EngagementVelocity < view.EngagementVelocity);
        Assert.False(view.Covers(evening.AddMinutes(2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => view.At(evening.AddMinutes(2)));
    }

    [Fact]
    public void A_purchase_dated_minutes_ahead_by_the_senders_clock_reads_as_just_now_not_as_no_purchase()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddMinutes(3), "USD", 30m));

        var now = ProfileViews.Build(user.Profile, user.Options, Now);
        var earlier = ProfileViews.Build(user.Profile, user.Options, Now.AddMinutes(-10));

        Assert.Equal((0d, 0d, false), (now.RecencyDays, now.StalenessDays, now.Dormant));
        // As of a time well before it, the purchase is not known to have happened yet: absent, as documented.
        Assert.Equal((null, null), (earlier.RecencyDays, earlier.StalenessDays));
    }

    [Fact]
    public void As_of_before_the_events_the_decayed_scores_hold_engagement_and_affinities_are_absent_rather_than_counting_the_future()
    {
        // probe57: a customer whose first purchase was on 21 September read, as of 30 June, with an affinity of 80 (the
        // September lines undecayed) and an engagement velocity, while recency and every window said nothing yet.
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-80), "USD", [("retail", 10m, 1)]), Purchase(Now.AddDays(-70), "USD", [("retail", 10m, 1)]));

        var before = ProfileViews.Build(user.Profile, user.Options, Now.AddDays(-160));
        Assert.Null(before.EngagementVelocity);
        Assert.Empty(before.CategoryAffinities());
        var behavior = Parse(ProfileJson.Serialize(before)).GetProperty("behavior");
        Assert.False(behavior.TryGetProperty("engagementVelocity", out _));
        Assert.Equal(0, behavior.GetProperty("categoryAffinities").GetArrayLength());

        // Between the two purchases the scores hold the later one too: still absent. From the last one on, decayed.
        Assert.Null(ProfileViews.Build(user.Profile, user.Options, Now.AddDays(-75)).EngagementVelocity);
        var after = ProfileViews.Build(user.Profile, user.Options, Now.AddDays(-63));
        Assert.True(after.EngagementVelocity > 0);
        Assert.Equal((5 * Math.Pow(0.5, 1)) + (5 * Math.Pow(0.5, 17 / 7d)), Assert.Single(after.CategoryAffinities()).Score, 3); // 5 a purchase line, half-life 7 days
        Assert.Equal(0d, ProfileViews.Build(new ProfileUnderTest().Profile, user.Options, Now).EngagementVelocity);
    }

    [Fact]
    public void A_user_who_never_bought_has_no_recency_and_no_average_order_value_rather_than_sentinels()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Now.AddDays(-2)));

        var view = ProfileViews.Build(user.Profile, user.Options, Now);
        var behavior = Parse(ProfileJson.Serialize(view)).GetProperty("behavior");

        Assert.Null(view.RecencyDays);
        Assert.Null(view.Behavior.AverageOrderValue);
        Assert.Equal(2, view.StalenessDays!.Value, 4);
        Assert.False(behavior.TryGetProperty("recencyDays", out _));
        Assert.False(behavior.TryGetProperty("averageOrderValue", out _));
        Assert.False(behavior.TryGetProperty("lastPurchaseAt", out _));
        Assert.Equal("0", behavior.GetProperty("monetary").GetProperty("amount").GetRawText());
    }

    [Fact]
    public void A_profile_without_anything_known_shows_no_unknown_values_at_all()
    {
        var view = ProfileViews.Build(new UserProfile { Tenant = Tenant, UserId = User }, new ProfileOptions(), Now);
        var root = Parse(ProfileJson.Serialize(view));

        Assert.Null(view.StalenessDays);
        Assert.Null(view.AgeBand);
        Assert.Null(view.Demographics.Gender);
        Assert.Null(view.Context.LastDevice);
        Assert.Null(view.Context.LastChannel);
        Assert.False(root.TryGetProperty("stalenessDays", out _));
        Assert.False(root.TryGetProperty("createdAt", out _));
        Assert.Equal(["anonymousIds", "asOf", "behavior", "completeness", "context", "demographics", "dormant", "eventsApplied", "missingFields", "preferences", "tenant", "userId"],
            root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["traits"], root.GetProperty("demographics").EnumerateObject().Select(p => p.Name));
    }

    [FsCheck.Xunit.Property(MaxTest = 100)]
    public void The_feature_basis_gives_the_vector_the_whole_view_gives_at_any_instant(int seed)
    {
        // A profile's feature push builds only what vectors read; it must be the read view's vector exactly.
        var end = Now.AddDays(-(Math.Abs(seed) % 400));
        var profile = new UserProfile { Tenant = Tenant, UserId = User };
        foreach (var batch in RandomStreams.Batches(RandomStreams.Generate(seed, 1 + (Math.Abs(seed) % 120), end), seed))
        {
            ProfileUpdater.Apply(profile, batch, HeavyUser.Options, end);
        }

        foreach (var at in new[] { end, end.AddHours(7), end.AddDays(31), end.AddDays(400) })
        {
            Assert.Equal(ProfileFeatures.Extract(ProfileViews.Build(profile, HeavyUser.Options, at)), ProfileFeatures.Extract(ProfileViews.BuildFeatureBasis(profile, HeavyUser.Options, at)));
        }
    }

    [Fact]
    public void The_segmentation_features_are_the_figures_the_view_shows()
    {
        var (profile, now) = HeavyUser.Create();
        var view = ProfileViews.Build(profile, HeavyUser.Options, now);
        var features = ProfileFeatures.Extract(view);
        double Feature(string name) => features[ProfileFeatures.All.ToList().IndexOf(name)];

        Assert.Equal(view.RecencyDays!.Value, Feature("recency_days"), 4);
        Assert.Equal(view.StalenessDays!.Value, Feature("days_since_last_seen"), 4);
        Assert.Equal(view.EngagementVelocity!.Value, Feature("engagement_velocity"), 4);
        Assert.Equal((double)view.Behavior.AverageOrderValue!.Value.Amount, Feature("average_order_value"));
        Assert.Equal(view.Behavior.Windows.Single(w => w.Window == "365d").Orders, Feature("frequency_365d"));
        Assert.Equal(view.Behavior.Windows.Single(w => w.Window == "all").Orders, Feature("frequency"));
        Assert.Equal((double)view.Behavior.Monetary.Amount, Feature("monetary"));
        Assert.Equal(view.Behavior.CategoryAffinities.Length, Feature("category_diversity"));
        Assert.Equal(features, ProfileFeatures.Extract(profile, HeavyUser.Options, view.AsOf));
    }

    [Fact]
    public void Windows_as_of_a_past_day_leave_out_the_days_after_it()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-40), "USD", 10m), Purchase(Now.AddDays(-5), "USD", 20m), PageView(Now.AddDays(-1)));

        var view = ProfileViews.Build(user.Profile, user.Options, Now.AddDays(-20));

        var thirty = view.Behavior.Windows.Single(w => w.Window == "30d");
        Assert.Equal((1L, 10m, 1L), (thirty.Orders, thirty.Revenue.Amount, thirty.Events));
        Assert.Equal(2, view.Behavior.Windows.Single(w => w.Window == "all").Orders);
        // The last purchase and event the state knows came after that day; the ones before them are not known.
        Assert.Null(view.RecencyDays);
        Assert.Null(view.StalenessDays);
        Assert.False(view.Dormant);
    }

    [Fact]
    public void Recency_and_staleness_as_of_a_past_instant_after_the_last_events_count_from_that_instant()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-40), "USD", 10m), PageView(Now.AddDays(-30)));

        var view = ProfileViews.Build(user.Profile, user.Options, Now.AddDays(-10));

        Assert.Equal(30, view.RecencyDays!.Value, 4);
        Assert.Equal(20, view.StalenessDays!.Value, 4);
        Assert.Equal(0, view.Behavior.Windows.Single(w => w.Window == "30d").Orders);
        Assert.Equal(1, view.Behavior.Windows.Single(w => w.Window == "90d").Orders);
    }

    [Fact]
    public void A_history_imported_years_later_keeps_its_last_year_of_days_for_windows_as_of_a_day_in_it()
    {
        // Online Retail II style: orders from December 2009 to December 2011, imported today.
        var user = new ProfileUnderTest();
        var lastDay = new DateTimeOffset(2011, 12, 9, 12, 0, 0, TimeSpan.Zero);
        user.Apply(
            Purchase(new DateTimeOffset(2009, 12, 1, 10, 0, 0, TimeSpan.Zero), "USD", 5m, id: "o-2009"),
            Purchase(lastDay.AddDays(-200), "USD", 20m, id: "o-200"),
            Purchase(lastDay.AddDays(-60), "USD", 30m, id: "o-60"));
        user.Apply(Purchase(lastDay.AddDays(-10), "USD", 40m, id: "o-10"), PageView(lastDay));

        var view = ProfileViews.Build(user.Profile, user.Options, lastDay.AddHours(1));

        Assert.Equal((1L, 40m), Orders(view, "30d"));
        Assert.Equal((2L, 70m), Orders(view, "90d"));
        Assert.Equal((3L, 90m), Orders(view, "365d"));
        Assert.Equal((4L, 95m), Orders(view, "all"));
        Assert.Equal(10 + (1 / 24.0), view.RecencyDays!.Value, 4);

        // As of now the same profile's windows are empty and all-time is unchanged: the history is over a year old.
        var today = ProfileViews.Build(user.Profile, user.Options, user.Now);
        Assert.Equal((0L, 0m), Orders(today, "365d"));
        Assert.Equal((4L, 95m), Orders(today, "all"));

        // A live event today moves the kept year to today's, as for any live profile.
        user.Apply(PageView(user.Now));
        Assert.All(user.Profile.Behavior.DailyBuckets, bucket => Assert.True(bucket.Day > UtcDay.Of(user.Now) - 365));
    }

    private static (long Orders, decimal Revenue) Orders(ProfileView view, string window)
    {
        var figures = view.Behavior.Windows.Single(w => w.Window == window);
        return (figures.Orders, figures.Revenue.Amount);
    }
}
