using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class ProfileFeaturesTests
{
    private static readonly ProfileOptions Options = new();

    private static int DayOf(DateTimeOffset time) =>
        DateOnly.FromDateTime(time.UtcDateTime).DayNumber - new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>A profile built by hand: first seen 100 days ago, last purchase 10 days ago, two orders in the year.</summary>
    private static UserProfile HandBuilt()
    {
        var profile = new UserProfile { Tenant = Tenant, UserId = User, EventsApplied = 50 };
        var behavior = profile.Behavior;
        behavior.FirstSeen = Now.AddDays(-100);
        behavior.LastSeen = Now.AddDays(-1);
        behavior.Sessions = 7;
        behavior.Orders = 3;
        behavior.LastPurchaseAt = Now.AddDays(-10);
        behavior.FirstPurchaseAt = Now.AddDays(-400);
        behavior.MonetaryByCurrency["USD"] = new CurrencyTotal { Amount = 300m, Orders = 3 };
        behavior.DailyBuckets.Add(new DailyBucket { Day = DayOf(Now.AddDays(-50)), Events = 5, Orders = 1, Revenue = 40m, Sessions = 1 });
        behavior.DailyBuckets.Add(new DailyBucket { Day = DayOf(Now.AddDays(-10)), Events = 5, Orders = 1, Revenue = 60m, Sessions = 1 });
        behavior.EngagementScore = 12;
        behavior.EngagementAsOf = Now;
        behavior.CategoryScores["shoes"] = 2;
        behavior.CategoryScores["hats"] = 0.5;
        behavior.CategoryScores["bags"] = 0;
        behavior.CategoryScoresAsOf = Now;
        return profile;
    }

    private static double Feature(UserProfile profile, string name) =>
        ProfileFeatures.Extract(profile, Options, Now, [name]).Single();

    [Fact]
    public void All_lists_the_twelve_features_in_order()
    {
        Assert.Equal(
            [
                "recency_days", "frequency", "monetary", "average_order_value", "engagement_velocity", "sessions", "tenure_days", "category_diversity",
                "days_since_last_seen", "frequency_365d", "monetary_365d", "days_since_first_purchase",
            ],
            ProfileFeatures.All);
    }

    [Fact]
    public void Each_feature_of_a_hand_built_profile()
    {
        var profile = HandBuilt();

        Assert.Equal(10, Feature(profile, "recency_days"), 9);
        Assert.Equal(3, Feature(profile, "frequency"));
        Assert.Equal(300, Feature(profile, "monetary"));
        Assert.Equal(2, Feature(profile, "frequency_365d"));
        Assert.Equal(100, Feature(profile, "monetary_365d"));
        Assert.Equal(400, Feature(profile, "days_since_first_purchase"), 9);
        Assert.Equal(100, Feature(profile, "average_order_value"));
        Assert.Equal(ProfileMetrics.EngagementVelocity(profile, Options, Now), Feature(profile, "engagement_velocity"), 12);
        Assert.True(Feature(profile, "engagement_velocity") > 0);
        Assert.Equal(7, Feature(profile, "sessions"));
        Assert.Equal(100, Feature(profile, "tenure_days"), 9);
        Assert.Equal(2, Feature(profile, "category_diversity"));
        Assert.Equal(1, Feature(profile, "days_since_last_seen"), 9);
    }

    [Fact]
    public void Category_diversity_counts_the_categories_of_a_history_older_than_a_decayed_score_can_hold()
    {
        // probe61: CDNOW-shaped data, bought in 1998; vectors taken in 2026 had category_diversity 0 for every
        // customer, as the affinities decayed by 2^-1486 are 0 in a double, and the run left the feature out.
        var user = new ProfileUnderTest();
        user.Apply(
            TestEvents.Purchase(new DateTimeOffset(1998, 6, 1, 0, 0, 0, TimeSpan.Zero), "USD", 12m, "rock"),
            TestEvents.Purchase(new DateTimeOffset(1998, 6, 29, 0, 0, 0, TimeSpan.Zero), "USD", 30m, "jazz"));

        Assert.Equal(2, ProfileFeatures.Extract(user.Profile, user.Options, Now, ["category_diversity"]).Single());
        Assert.Equal(2, ProfileFeatures.Extract(user.Profile, user.Options, new DateTimeOffset(1998, 7, 1, 0, 0, 0, TimeSpan.Zero), ["category_diversity"]).Single());
    }

    [Fact]
    public void The_default_vector_follows_All()
    {
        var profile = HandBuilt();

        var vector = ProfileFeatures.Extract(profile, Options, Now);

        Assert.Equal(ProfileFeatures.All.Count, vector.Length);
        for (var i = 0; i < vector.Length; i++)
        {
            Assert.Equal(Feature(profile, ProfileFeatures.All[i]), vector[i], 12);
        }
    }

    [Fact]
    public void A_subset_is_returned_in_the_requested_order()
    {
        var profile = HandBuilt();

        var vector = ProfileFeatures.Extract(profile, Options, Now, ["sessions", "frequency_365d", "tenure_days"]);

        Assert.Equal(3, vector.Length);
        Assert.Equal(7, vector[0]);
        Assert.Equal(2, vector[1]);
        Assert.Equal(100, vector[2], 9);
    }

    [Fact]
    public void Recency_without_a_purchase_is_days_since_first_seen_never_minus_one()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Now.AddDays(-20)), PageView(Now.AddDays(-2)));

        Assert.Null(ProfileMetrics.RecencyDays(user.Profile, user.Now));
        Assert.Equal(20, ProfileFeatures.Extract(user.Profile, user.Options, user.Now, ["recency_days"])[0], 9);
    }

    [Fact]
    public void Days_since_last_seen_counts_any_event_not_only_purchases()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-90), "USD", 40m), PageView(Now.AddDays(-5)));

        var vector = ProfileFeatures.Extract(user.Profile, user.Options, user.Now, ["recency_days", "days_since_last_seen"]);

        Assert.Equal(90, vector[0], 9);
        Assert.Equal(5, vector[1], 9);
    }

    [Fact]
    public void Features_of_applied_events_match_the_metrics()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-400), "USD", 500m), Purchase(Now.AddDays(-40), "USD", 120m), Purchase(Now.AddDays(-3), "USD", 30m, category: "hats"));

        var vector = ProfileFeatures.Extract(
            user.Profile, user.Options, user.Now, ["frequency", "monetary", "frequency_365d", "monetary_365d", "recency_days", "category_diversity", "days_since_first_purchase"]);

        Assert.Equal(3, vector[0]);
        Assert.Equal(650, vector[1]);
        Assert.Equal(2, vector[2]);
        Assert.Equal(150, vector[3]);
        Assert.Equal(3, vector[4], 9);
        Assert.Equal(2, vector[5]);
        Assert.Equal(400, vector[6], 9);
    }

    [Fact]
    public void An_unknown_feature_throws_and_lists_the_valid_ones()
    {
        var error = Assert.Throws<ArgumentException>(() => ProfileFeatures.Extract(HandBuilt(), Options, Now, ["frequency", "bogus"]));

        Assert.Contains("bogus", error.Message);
        foreach (var name in ProfileFeatures.All)
        {
            Assert.Contains(name, error.Message);
        }
    }

    [Theory]
    [InlineData("frequency", true)]
    [InlineData("monetary", true)]
    [InlineData("average_order_value", true)]
    [InlineData("engagement_velocity", true)]
    [InlineData("sessions", true)]
    [InlineData("frequency_365d", true)]
    [InlineData("monetary_365d", true)]
    [InlineData("days_since_first_purchase", true)]
    [InlineData("recency_days", false)]
    [InlineData("tenure_days", true)]
    [InlineData("category_diversity", false)]
    [InlineData("days_since_last_seen", false)]
    public void Heavy_tailed_features(string feature, bool expected)
    {
        Assert.Equal(expected, ProfileFeatures.IsHeavyTailed(feature));
    }

    [Fact]
    public void Only_profiles_with_events_have_features()
    {
        var user = new ProfileUnderTest();
        Assert.False(ProfileFeatures.HasFeatures(user.Profile));

        user.Apply(PageView(Now.AddHours(-1)));

        Assert.True(ProfileFeatures.HasFeatures(user.Profile));
    }

    [Fact]
    public void Aging_a_vector_matches_extracting_it_later_for_the_day_counts()
    {
        var profile = HandBuilt();
        string[] names = ["recency_days", "tenure_days", "days_since_last_seen", "days_since_first_purchase", "frequency"];
        var later = Now.AddDays(30);

        var aged = ProfileFeatures.Age(ProfileFeatures.Extract(profile, Options, Now, names), names, Now, later, Options);

        Assert.Equal(ProfileFeatures.Extract(profile, Options, later, ["recency_days"])[0], aged[0], 9);
        Assert.Equal(ProfileFeatures.Extract(profile, Options, later, ["tenure_days"])[0], aged[1], 9);
        Assert.Equal(ProfileFeatures.Extract(profile, Options, later, ["days_since_last_seen"])[0], aged[2], 9);
        Assert.Equal(31, aged[2], 9);
        Assert.Equal(430, aged[3], 9);
        Assert.Equal(3, aged[4]);
    }

    [Fact]
    public void Moving_a_vector_back_to_an_instant_after_the_last_event_matches_extracting_it_then()
    {
        var profile = HandBuilt();
        string[] names = ["recency_days", "tenure_days", "days_since_last_seen", "days_since_first_purchase", "frequency", "engagement_velocity"];
        var extractedLater = Now.AddDays(4000);

        var moved = ProfileFeatures.MoveTo(ProfileFeatures.Extract(profile, Options, extractedLater, names), names, extractedLater, Now, Options);

        var then = ProfileFeatures.Extract(profile, Options, Now, names);
        for (var i = 0; i < names.Length; i++)
        {
            Assert.Equal(then[i], moved[i], 6);
        }

        // Before the last event the days-since features stop at 0 rather than go negative; counts stay as extracted.
        var early = ProfileFeatures.MoveTo(then, names, Now, Now.AddDays(-5), Options);
        Assert.Equal(0, early[2]);
        Assert.Equal(then[4], early[4]);
    }

    [Fact]
    public void Moving_back_to_a_history_end_a_user_active_since_keeps_the_velocity_of_their_last_event()
    {
        // A retail history ending in 2011, segmented as of its end, and one page view of the same user today.
        var end = new DateTimeOffset(2011, 12, 10, 0, 0, 0, TimeSpan.Zero);
        var today = new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
        var user = new ProfileUnderTest();
        user.Apply(Of(EventKind.PageView, end.AddDays(-20)), Of(EventKind.PageView, end.AddDays(-3)), Of(EventKind.PageView, today));
        var names = ProfileFeatures.All;
        var velocity = names.ToList().IndexOf("engagement_velocity");

        var moved = ProfileFeatures.MoveTo(ProfileFeatures.Extract(user.Profile, Options, today, names), names, today, end, Options);

        // As a read of the profile as of that instant gives it (the events after it count at their own time), and small:
        // undecayed over fifteen years the one event was worth 2^(15 years / half-life).
        Assert.Equal(ProfileMetrics.EngagementVelocity(user.Profile, Options, end), moved[velocity], 9);
        Assert.InRange(moved[velocity], 0, 1);
        Assert.Equal(0, moved[names.ToList().IndexOf("days_since_last_seen")]);
    }

    [Fact]
    public void A_history_older_than_double_precision_can_decay_keeps_its_velocity_when_moved_back_to_its_end()
    {
        // A CDNOW-shaped history (1997-98) read in 2026: 1,500 seven-day half-lives, so the velocity extracted today is 0.
        var end = new DateTimeOffset(1998, 6, 30, 0, 0, 0, TimeSpan.Zero);
        var today = new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
        var user = new ProfileUnderTest();
        user.Apply(Of(EventKind.PageView, end.AddDays(-200)), Of(EventKind.PageView, end.AddDays(-30)), Of(EventKind.PageView, end.AddDays(-9)));
        var names = ProfileFeatures.All;
        var velocity = names.ToList().IndexOf("engagement_velocity");
        var view = ProfileViews.BuildFeatureBasis(user.Profile, Options, today);
        var extractedToday = ProfileFeatures.Extract(view, names);
        Assert.Equal(0, extractedToday[velocity]);

        var moved = ProfileFeatures.MoveTo(extractedToday, names, today, end, Options, ProfileFeatures.EngagementAtLastSeen(view));

        var expected = ProfileMetrics.EngagementVelocity(user.Profile, Options, end);
        Assert.True(expected > 0.01, $"velocity at the history's end {expected}");
        Assert.Equal(1, moved[velocity] / expected, 9);
        // Without the value at the last event the vector can only say 0, as it did before.
        Assert.Equal(0, ProfileFeatures.MoveTo(extractedToday, names, today, end, Options)[velocity]);
        // Before the last event it is the velocity at that event, as for a vector that never underflowed.
        var beforeLast = ProfileFeatures.MoveTo(extractedToday, names, today, end.AddDays(-20), Options, ProfileFeatures.EngagementAtLastSeen(view));
        Assert.Equal(1, beforeLast[velocity] / ProfileMetrics.EngagementVelocity(user.Profile, Options, end.AddDays(-9)), 9);
    }

    [Fact]
    public void A_profile_without_events_extracts_zeros()
    {
        var vector = ProfileFeatures.Extract(new UserProfile(), Options, Now);

        Assert.All(vector, value => Assert.Equal(0, value));
    }
}
