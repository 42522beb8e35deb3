using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>
/// The feedback layer: impressions and clicks of recommendation lists, and add to carts and purchases credited to the last
/// click on the same item within the attribution window, whatever order the events arrive in.
/// </summary>
public class FeedbackTests
{
    private static UserEvent Shown(DateTimeOffset at, string recommendationId, params string[] items) =>
        Of(EventKind.Impression, at) with { Feedback = new FeedbackInfo { RecommendationId = recommendationId, Slot = "home", ItemIds = items } };

    private static UserEvent Clicked(DateTimeOffset at, string recommendationId, string item, int? position = null) =>
        Of(EventKind.Click, at) with { Feedback = new FeedbackInfo { RecommendationId = recommendationId, Slot = "home", ItemId = item, Position = position } };

    private static UserEvent Cart(DateTimeOffset at, string item) =>
        Of(EventKind.AddToCart, at) with { Product = new ProductInfo { ProductId = item, Category = "shoes", Quantity = 1, UnitPrice = new Money(30, "EUR") } };

    private static UserEvent Bought(DateTimeOffset at, params (string Item, int Quantity, decimal Price)[] lines) => Of(EventKind.Purchase, at) with
    {
        Purchase = new PurchaseInfo
        {
            OrderId = "o-" + NextId(),
            Currency = "eur",
            Lines = lines.Select(l => new PurchaseLine { ProductId = l.Item, Category = "shoes", Quantity = l.Quantity, UnitPrice = l.Price }).ToArray(),
        },
    };

    [Fact]
    public void A_click_and_a_purchase_within_the_window_are_credited_to_the_list_and_position_clicked()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(Now.AddHours(-5), "rec-1", "a", "b", "c"),
            Clicked(Now.AddHours(-5).AddSeconds(20), "rec-1", "b"),
            Cart(Now.AddHours(-4), "b"),
            Bought(Now.AddHours(-3), ("b", 2, 30m), ("z", 1, 5m)));

        var feedback = user.Profile.Feedback;
        Assert.Equal(1, feedback.Impressions);
        Assert.Equal(3, feedback.ItemsShown);
        Assert.Equal(1, feedback.Clicks);
        var list = Assert.Single(feedback.RecentLists);
        Assert.Equal(2, Assert.Single(list.Clicks).Position);
        Assert.Equal(1, feedback.AttributedCartAdds);
        Assert.Equal(1, feedback.AttributedPurchases);        // line "b"; "z" was never clicked
        Assert.Equal(60m, feedback.AttributedRevenue["EUR"]);  // 2 x 30, in the upper-case code
        Assert.Equal(2, list.Conversions);
    }

    [Fact]
    public void A_purchase_after_the_window_or_before_the_click_is_not_credited()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Bought(Now.AddDays(-20), ("b", 1, 10m)),                    // before the click
            Shown(Now.AddDays(-10), "rec-1", "a", "b"),
            Clicked(Now.AddDays(-10), "rec-1", "b"),
            Bought(Now.AddDays(-10).Add(user.Options.AttributionWindow).AddMinutes(1), ("b", 1, 10m)));  // a minute too late

        Assert.Equal(0, user.Profile.Feedback.AttributedPurchases);
        Assert.Empty(user.Profile.Feedback.AttributedRevenue);
    }

    [Fact]
    public void The_last_click_before_a_purchase_gets_the_credit()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(Now.AddHours(-10), "rec-1", "b"),
            Clicked(Now.AddHours(-10), "rec-1", "b"),
            Shown(Now.AddHours(-2), "rec-2", "x", "b"),
            Clicked(Now.AddHours(-2), "rec-2", "b"),
            Shown(Now.AddMinutes(-10), "rec-3", "b"),
            Bought(Now.AddHours(-1), ("b", 1, 10m)),
            Clicked(Now.AddMinutes(-5), "rec-3", "b"));                // after the purchase: not its cause

        var lists = user.Profile.Feedback.RecentLists.ToDictionary(l => l.RecommendationId);
        Assert.Equal(0, lists["rec-1"].Conversions);
        Assert.Equal(1, lists["rec-2"].Conversions);
        Assert.Equal(0, lists["rec-3"].Conversions);
    }

    [Fact]
    public void A_click_that_arrives_after_its_purchase_still_gets_the_credit()
    {
        var user = new ProfileUnderTest();

        // The app queued the impression and the click; the web's purchase arrived first.
        user.Apply(Bought(Now.AddHours(-1), ("b", 1, 25m)));
        user.Apply(Shown(Now.AddHours(-2), "rec-1", "a", "b"), Clicked(Now.AddHours(-2).AddSeconds(5), "rec-1", "b"));

        Assert.Equal(1, user.Profile.Feedback.AttributedPurchases);
        Assert.Equal(25m, user.Profile.Feedback.AttributedRevenue["EUR"]);
        Assert.Empty(user.Profile.Feedback.Unattributed);
    }

    [Fact]
    public void A_click_before_its_impression_learns_its_position_when_the_impression_arrives()
    {
        var user = new ProfileUnderTest();

        user.Apply(Clicked(Now.AddMinutes(-9), "rec-1", "c"));
        Assert.Equal(0, user.Profile.Feedback.RecentLists.Single().Clicks.Single().Position);

        user.Apply(Shown(Now.AddMinutes(-10), "rec-1", "a", "b", "c"));

        var list = user.Profile.Feedback.RecentLists.Single();
        Assert.Equal(3, list.Clicks.Single().Position);
        Assert.Equal(1, user.Profile.Feedback.Impressions);
        Assert.Equal(1, user.Profile.Feedback.Clicks);
        Assert.Equal(0, user.Profile.Feedback.Exposures["c"].ShownSinceClick);  // the click came after it was shown
    }

    [Fact]
    public void The_same_list_shown_again_and_an_item_clicked_twice_count_once()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(Now.AddMinutes(-10), "rec-1", "a", "b"),
            Shown(Now.AddMinutes(-9), "rec-1", "a", "b"),              // a re-render under another event id
            Clicked(Now.AddMinutes(-8), "rec-1", "a"),
            Clicked(Now.AddMinutes(-7), "rec-1", "a"));

        var feedback = user.Profile.Feedback;
        Assert.Equal(1, feedback.Impressions);
        Assert.Equal(2, feedback.ItemsShown);
        Assert.Equal(1, feedback.Clicks);
        Assert.Equal(1, feedback.Exposures["a"].Shown);
    }

    [Fact]
    public void A_replayed_event_changes_nothing()
    {
        var user = new ProfileUnderTest();
        var shown = Shown(Now.AddMinutes(-10), "rec-1", "a", "b");
        var click = Clicked(Now.AddMinutes(-9), "rec-1", "a");
        var order = Bought(Now.AddMinutes(-8), ("a", 1, 10m));
        user.Apply(shown, click, order);

        var result = user.Apply(shown, click, order);

        Assert.Equal(0, result.Applied);
        Assert.Equal(1, user.Profile.Feedback.AttributedPurchases);
        Assert.Equal(10m, user.Profile.Feedback.AttributedRevenue["EUR"]);
    }

    [Fact]
    public void Items_shown_and_not_clicked_are_counted_until_they_are_clicked()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(Now.AddHours(-3), "rec-1", "a", "b"),
            Shown(Now.AddHours(-2), "rec-2", "a", "b"),
            Clicked(Now.AddHours(-2), "rec-2", "b"),
            Shown(Now.AddHours(-1), "rec-3", "a", "b"));

        var exposures = user.Profile.Feedback.Exposures;
        Assert.Equal((3, 3), (exposures["a"].Shown, exposures["a"].ShownSinceClick));
        Assert.Equal((3, 1), (exposures["b"].Shown, exposures["b"].ShownSinceClick));
    }

    [Fact]
    public void A_click_on_an_item_the_list_did_not_show_is_no_click_of_it_but_one_before_the_impression_is_taken()
    {
        var user = new ProfileUnderTest();

        user.Apply(Shown(Now.AddMinutes(-10), "rec-1", "a", "b"), Clicked(Now.AddMinutes(-9), "rec-1", "z"));
        Assert.Equal((1L, 0L), (user.Profile.Feedback.Impressions, user.Profile.Feedback.Clicks));
        Assert.Empty(user.Profile.Feedback.RecentLists.Single().Clicks);

        // Out of order: the click first, then its impression; and a click of an item shown.
        user.Apply(Clicked(Now.AddMinutes(-5), "rec-2", "c"), Shown(Now.AddMinutes(-6), "rec-2", "c", "d"), Clicked(Now.AddMinutes(-8), "rec-1", "b"));
        Assert.Equal((2L, 2L), (user.Profile.Feedback.Impressions, user.Profile.Feedback.Clicks));
    }

    [Fact]
    public void Impressions_are_not_activity_but_clicks_are()
    {
        var user = new ProfileUnderTest();

        user.Apply(Shown(Now.AddMinutes(-10), "rec-1", "a", "b"));
        Assert.Equal(0, user.Profile.Behavior.Sessions);
        Assert.Empty(user.Profile.Behavior.RecentActions);
        Assert.Equal(1, user.Profile.Behavior.EventCounts[EventKind.Impression]);

        Assert.Null(user.Profile.Behavior.LastSeen);

        user.Apply(Clicked(Now.AddMinutes(-9), "rec-1", "a"));
        Assert.Equal(1, user.Profile.Behavior.Sessions);
        var action = Assert.Single(user.Profile.Behavior.RecentActions);
        Assert.Equal(("a", EventKind.Click), (action.ProductId, action.Kind));
        Assert.Equal(Now.AddMinutes(-9), user.Profile.Behavior.LastSeen);
    }

    [Fact]
    public void A_list_shown_leaves_the_users_context_and_their_event_counts_as_they_were()
    {
        // probe58: an impression from the app made a desktop web user's last device mobile, their country FR and their
        // channel mix app, and the all-time window counted it as an event where the 365-day window did not.
        var user = new ProfileUnderTest();
        user.Apply(Of(EventKind.ProductView, Now.AddDays(-100), device: DeviceType.Desktop, source: Channel.Web, country: "DE", locale: "de-DE")
            with { Product = new ProductInfo { ProductId = "p-1", Category = "shoes" } });
        var before = ProfileViews.Build(user.Profile, user.Options, user.Now);

        user.Apply(Of(EventKind.Impression, Now.AddMinutes(-1), device: DeviceType.Mobile, source: Channel.App, country: "FR", locale: "fr-FR")
            with { Feedback = new FeedbackInfo { RecommendationId = "rec-1", Slot = "home", ItemIds = ["a"] } });

        var after = ProfileViews.Build(user.Profile, user.Options, user.Now);
        Assert.Equal((DeviceType.Desktop, Channel.Web, "DE", "de-DE"), (user.Profile.Context.LastDevice, user.Profile.Context.LastChannel, user.Profile.Context.LastCountry, user.Profile.Context.LastLocale));
        Assert.Equal(before.Context.ChannelMix.ToArray(), after.Context.ChannelMix.ToArray());
        Assert.Equal(before.Context.DeviceMix.ToArray(), after.Context.DeviceMix.ToArray());
        Assert.Equal(before.Context.HourOfDay.ToArray(), after.Context.HourOfDay.ToArray());
        Assert.Equal(before.Completeness, after.Completeness);
        Assert.Equal((2L, 1L), (user.Profile.EventsApplied, user.Profile.Behavior.EventCounts[EventKind.Impression]));
        Assert.Equal((1L, 1L), (user.Window("all").Events, user.Window("365d").Events));
    }

    [Fact]
    public void A_click_whose_list_was_never_reported_shown_does_not_count_in_the_click_through_rate_until_it_is()
    {
        // probe58: one list shown, one clicked; a click on another list whose impression never came made the rate 2.
        var user = new ProfileUnderTest();
        user.Apply(Shown(Now.AddMinutes(-10), "rec-1", "a", "b"), Clicked(Now.AddMinutes(-9), "rec-1", "a"), Clicked(Now.AddMinutes(-8), "rec-2", "c"));

        Assert.Equal(1d, ProfileViews.Build(user.Profile, user.Options, user.Now).Feedback!.ClickThroughRate);
        Assert.Equal(2, user.Profile.Feedback.Clicks);

        // Its impression, arriving late, counts it.
        user.Apply(Shown(Now.AddMinutes(-8.5), "rec-2", "c", "d"));
        Assert.Equal(1d, ProfileViews.Build(user.Profile, user.Options, user.Now).Feedback!.ClickThroughRate);
        Assert.Equal(2, user.Profile.Feedback.ClicksOnShownLists);
    }

    [Fact]
    public void A_list_shown_to_a_lapsed_buyer_leaves_them_lapsed()
    {
        // Found by a black-box run on a retail history: an email of recommendations to a customer last seen in 2011 made
        // them last seen now, staleness 0 and not dormant.
        var user = new ProfileUnderTest();
        var lastVisit = Now.AddYears(-3);
        user.Apply(Of(EventKind.PageView, lastVisit));
        user.Apply(Shown(Now.AddMinutes(-1), "email-2026-12", "a", "b"));

        Assert.Equal(lastVisit, user.Profile.Behavior.LastSeen);
        var view = ProfileViews.Build(user.Profile, user.Options, user.Now);
        Assert.True(view.Dormant, "still dormant");
        Assert.True(view.StalenessDays > 1000, $"staleness {view.StalenessDays}");
    }

    [Fact]
    public void The_view_and_the_document_show_what_a_marketer_reads_of_the_feedback()
    {
        var user = new ProfileUnderTest();
        Assert.DoesNotContain("feedback", user.Json(), StringComparison.Ordinal);  // nothing shown yet: left out

        user.Apply(
            Shown(Now.AddHours(-3), "rec-1", "a", "b", "c"),
            Shown(Now.AddHours(-2), "rec-2", "a", "d"),
            Clicked(Now.AddHours(-2).AddSeconds(9), "rec-2", "d"),
            Bought(Now.AddHours(-1), ("d", 1, 19.99m)));

        var feedback = ProfileViews.Build(user.Profile, user.Options, Now).Feedback;
        Assert.Equal((2, 5, 1), (feedback.Impressions, feedback.ItemsShown, feedback.Clicks));
        Assert.Equal(0.5, feedback.ClickThroughRate);
        Assert.Equal(new Money(19.99m, "EUR"), Assert.Single(feedback.AttributedRevenue));
        Assert.Equal(("a", 2), (feedback.MostIgnored[0].ItemId, feedback.MostIgnored[0].ShownSinceClick));
        Assert.DoesNotContain(feedback.MostIgnored, item => item.ItemId == "d");
        Assert.Equal(["rec-2", "rec-1"], feedback.RecentLists.Select(l => l.RecommendationId));
        Assert.Equal(("d", 2), (feedback.RecentLists[0].Clicks[0].ItemId, feedback.RecentLists[0].Clicks[0].Position));
        Assert.Equal(1, feedback.RecentLists[0].Conversions);

        var json = user.Json();
        Assert.Contains("\"attributedPurchases\":1", json, StringComparison.Ordinal);
        Assert.Contains("\"clickThroughRate\":0.5", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_served_in_an_experiment_count_for_the_variant_from_the_first_exposure_on()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Bought(Now.AddDays(-3), ("a", 1, 99m)),                                   // before the experiment: not its outcome
            Shown(Now.AddHours(-5), "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00-x3v1", "a", "b"),
            Clicked(Now.AddHours(-5).AddSeconds(10), "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00-x3v1", "b"),
            Shown(Now.AddHours(-4), "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f01-x3v1", "c"),
            Shown(Now.AddHours(-4), "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f02", "d"),      // outside the experiment
            Clicked(Now.AddHours(-4), "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f02", "d"),
            Cart(Now.AddHours(-3), "b"),
            Bought(Now.AddHours(-2), ("b", 2, 10m), ("d", 1, 5m)));

        var outcome = Assert.Single(user.Profile.Feedback.Experiments);
        Assert.Equal(3, outcome.Key);
        Assert.Equal(1, outcome.Value.Variant);
        Assert.Equal(Now.AddHours(-5), outcome.Value.FirstExposedAt);
        Assert.Equal((2, 1, 1, 1), (outcome.Value.Impressions, outcome.Value.Clicks, outcome.Value.CartAdds, outcome.Value.Purchases));
        Assert.Equal(20m * 1.16m, outcome.Value.Revenue);  // 2 x 10 EUR in USD, the reporting currency
        Assert.Equal(2, user.Profile.Feedback.AttributedPurchases);  // "d" too, outside the experiment
    }

    [Fact]
    public void An_experiments_clicks_are_those_of_lists_whose_impression_arrived_so_its_ctr_never_passes_one()
    {
        // probe67: a click quoting a list whose impression was lost (an ad blocker) counted for the variant, and its CTR
        // read 11 clicks over 10 lists shown. The click still proves exposure; it counts as a click once its list is shown.
        var user = new ProfileUnderTest();
        var lost = "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00-x3v1";
        var late = "rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f01-x3v1";

        user.Apply(
            Clicked(Now.AddHours(-5), lost, "b"),                   // its impression never comes
            Clicked(Now.AddHours(-4).AddSeconds(20), late, "c"),    // before its impression, which comes late
            Clicked(Now.AddHours(-4).AddSeconds(25), late, "d"));

        var exposed = user.Profile.Feedback.Experiments[3];
        Assert.Equal((Now.AddHours(-5), 0L, 0L), (exposed.FirstExposedAt, exposed.Impressions, exposed.Clicks));

        user.Apply(Shown(Now.AddHours(-4), late, "c", "d", "e"));
        var outcome = user.Profile.Feedback.Experiments[3];
        Assert.Equal((1L, 2L), (outcome.Impressions, outcome.Clicks));
        Assert.Equal(3, user.Profile.Feedback.Clicks); // the profile still counts every click; its CTR and the totals do not
        Assert.Equal(2, user.Profile.Feedback.ClicksOnShownLists);
        var report = FeedbackReport.Of("shop/u", user.Profile, new ProfileOptions(), Now);
        Assert.Equal((1L, 2L), (report.Totals.Impressions, report.Totals.Clicks));
        Assert.Equal((1L, 2L), (report.Experiments.Single().Impressions, report.Experiments.Single().Clicks));

        // An outcome stored before the rule counted its clicks as they came: it goes on so, and a click it counted does
        // not count again when the impression comes.
        var before = new ProfileUnderTest();
        before.Profile.Feedback.Experiments[3] = new ExperimentOutcome { Variant = 1, FirstExposedAt = Now.AddHours(-6) };
        before.Apply(Clicked(Now.AddHours(-4).AddSeconds(20), late, "c"));
        Assert.Equal(1, before.Profile.Feedback.Experiments[3].Clicks);
        before.Apply(Shown(Now.AddHours(-4), late, "c", "d"));
        Assert.Equal((1L, 1L), (before.Profile.Feedback.Experiments[3].Impressions, before.Profile.Feedback.Experiments[3].Clicks));
    }

    /// <summary>An id as the engine makes it for a list served at <paramref name="servedAt"/> in variant 1 of experiment 3.</summary>
    private static string ServedInExperimentAt(DateTimeOffset servedAt) =>
        "rec-" + Guid.CreateVersion7(servedAt).ToString("N") + ExperimentTag.Of(3, 1, TestEvents.User);

    [Fact]
    public void Feedback_dated_before_its_list_was_served_counts_from_the_serving_and_purchases_before_it_are_not_credited()
    {
        // probe59: a real list, its impression and click sent with occurred_at 9 days before it was served, and a
        // purchase of the clicked item 3 days before it. The profile said the user was exposed 9 days before the list
        // (before the experiment existed) and credited the purchase to the variant.
        var servedAt = Now.AddDays(-1);
        var listId = ServedInExperimentAt(servedAt);
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(servedAt.AddDays(-9), listId, "a", "b"),
            Clicked(servedAt.AddDays(-9).AddSeconds(30), listId, "b"),
            Bought(servedAt.AddDays(-3), ("b", 1, 10m)));

        var feedback = user.Profile.Feedback;
        var outcome = feedback.Experiments[3];
        Assert.Equal(servedAt, outcome.FirstExposedAt);
        Assert.Equal(servedAt, feedback.FirstExposedAt);
        Assert.Equal((1L, 1L), (outcome.Impressions, outcome.Clicks));  // the user did see and click the variant's list
        Assert.Equal((0L, 0m), (outcome.Purchases, outcome.Revenue));
        Assert.Equal(0, feedback.AttributedPurchases);

        // A purchase after the serving is the click's, as any purchase within the window after a click is.
        user.Apply(Bought(servedAt.AddHours(5), ("b", 1, 10m)));
        var after = user.Profile.Feedback.Experiments[3];
        Assert.Equal((1L, 10m * 1.16m), (after.Purchases, after.Revenue));
    }

    [Theory]
    [InlineData(7, true)]
    [InlineData(8, false)]
    public void The_attribution_window_of_a_click_dated_before_its_list_runs_from_the_serving(int daysAfterServing, bool credited)
    {
        var servedAt = Now.AddDays(-9);
        var listId = ServedInExperimentAt(servedAt);
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(servedAt.AddDays(-2), listId, "a"),
            Clicked(servedAt.AddDays(-2), listId, "a"),
            Bought(servedAt.AddDays(daysAfterServing), ("a", 1, 10m)));

        Assert.Equal(credited ? 1 : 0, user.Profile.Feedback.Experiments[3].Purchases);
    }

    [Fact]
    public void The_pre_period_of_a_user_whose_feedback_was_backdated_is_the_28_days_before_the_list_was_served()
    {
        var servedAt = Now.AddDays(-1);
        var listId = ServedInExperimentAt(servedAt);
        UserEvent[] history = [Bought(servedAt.AddDays(-35), ("old", 1, 15m)), Bought(servedAt.AddDays(-5), ("recent", 1, 40m))];

        var backdated = new ProfileUnderTest();
        backdated.Apply(history);
        backdated.Apply(Shown(servedAt.AddDays(-9), listId, "a"), Clicked(servedAt.AddDays(-9), listId, "a"));
        var onTime = new ProfileUnderTest();
        onTime.Apply(history);
        onTime.Apply(Shown(servedAt.AddSeconds(2), listId, "a"), Clicked(servedAt.AddSeconds(9), listId, "a"));

        var covariate = Assert.Single(FeedbackReport.Of("k", backdated.Profile, backdated.Options, Now).Experiments).PrePeriodRevenue;
        // The purchase 5 days before the serving is in the pre-period, the one 35 days before is not: a window measured
        // from the backdated exposure had it the other way round.
        Assert.Equal((double)(40m * 1.16m), covariate, 6);
        Assert.Equal(Assert.Single(FeedbackReport.Of("k", onTime.Profile, onTime.Options, Now).Experiments).PrePeriodRevenue, covariate);
    }

    [Fact]
    public void The_serving_time_is_read_from_ids_the_engine_makes_and_from_no_other()
    {
        var servedAt = new DateTimeOffset(2026, 12, 7, 5, 7, 55, 123, TimeSpan.Zero);
        var id = "rec-" + Guid.CreateVersion7(servedAt).ToString("N");

        Assert.Equal(servedAt, ServedTime.Read(id));
        Assert.Equal(servedAt, ServedTime.Read(id + "-s2" + ExperimentTag.Of(3, 1, "u-1")));
        Assert.Null(ServedTime.Read("rec-1"));                                              // a client's own list ids
        Assert.Null(ServedTime.Read("rec-" + Guid.NewGuid().ToString("N")));                // not time-ordered (v4)
        Assert.Null(ServedTime.Read(id.ToUpperInvariant().Replace("REC-", "rec-", StringComparison.Ordinal)));
        Assert.Null(ServedTime.Read(id + "7"));                                             // not the engine's form
        // An event dated after the serving keeps its time; one dated before is taken at the serving.
        Assert.Equal(servedAt.AddMinutes(3), ServedTime.NotBeforeServed(id, servedAt.AddMinutes(3)));
        Assert.Equal(servedAt, ServedTime.NotBeforeServed(id, servedAt.AddDays(-9)));
        // A device clock a few minutes behind dates its impression, click and purchase alike: taken as sent.
        Assert.Equal(servedAt.AddMinutes(-3), ServedTime.NotBeforeServed(id, servedAt.AddMinutes(-3)));
        Assert.Equal(servedAt, ServedTime.NotBeforeServed(id, servedAt.AddMinutes(-6)));
        Assert.Equal(servedAt.AddDays(-9), ServedTime.NotBeforeServed("homepage-7", servedAt.AddDays(-9)));
    }

    [Fact]
    public void Feedback_quoting_another_variant_of_the_same_experiment_is_not_counted()
    {
        var user = new ProfileUnderTest();

        user.Apply(
            Shown(Now.AddHours(-5), "rec-1-x3v0", "a"),
            Shown(Now.AddHours(-4), "rec-2-x3v1", "a"),
            Clicked(Now.AddHours(-4), "rec-2-x3v1", "a"));

        var outcome = user.Profile.Feedback.Experiments[3];
        Assert.Equal((0, 1L, 0L, 2L), (outcome.Variant, outcome.Impressions, outcome.Clicks, outcome.Mismatched));
    }

    [Theory]
    [InlineData("rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00-x3v1", true, 3, 1)]
    [InlineData("rec-x12v0", true, 12, 0)]
    [InlineData("rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00", false, 0, 0)]
    [InlineData("my-list-x0v1", false, 0, 0)]
    [InlineData("my-list-x3v", false, 0, 0)]
    [InlineData("my-list-x3v1b", false, 0, 0)]
    [InlineData("my-list-x+3v1", false, 0, 0)]
    [InlineData("rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00-x3v1u00ff", true, 3, 1)]
    [InlineData("rec-1-x3v1u0ff", false, 0, 0)]
    [InlineData("rec-1-x3v1uABCD", false, 0, 0)]
    [InlineData("rec-1-x3v1u+0ff", false, 0, 0)]
    public void The_experiment_tag_is_read_from_the_end_of_the_id(string id, bool tagged, int experiment, int variant)
    {
        Assert.Equal(tagged, ExperimentTag.TryParse(id, out var parsedExperiment, out var parsedVariant));
        if (tagged)
        {
            Assert.Equal((experiment, variant), (parsedExperiment, parsedVariant));
            Assert.Contains($"-x{experiment}v{variant}", id, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_list_served_to_another_user_counts_in_no_experiment_of_the_user_who_quotes_it()
    {
        var user = new ProfileUnderTest();
        var mine = "rec-1" + ExperimentTag.Of(3, 0, TestEvents.User);
        var theirs = "rec-2" + ExperimentTag.Of(3, 1, "someone-else");
        Assert.EndsWith($"-x3v1u{ExperimentTag.UserCheck("someone-else"):x4}", theirs, StringComparison.Ordinal);

        user.Apply(Shown(Now.AddHours(-5), mine, "a"), Shown(Now.AddHours(-4), theirs, "b"), Clicked(Now.AddHours(-4), theirs, "b"));

        var outcome = user.Profile.Feedback.Experiments[3];
        Assert.Equal((0, 1L, 0L, 1L), (outcome.Variant, outcome.Impressions, outcome.Clicks, outcome.Mismatched));
        // A user in no variant of it is not put in one by another user's list.
        var stranger = new ProfileUnderTest();
        stranger.Apply(Shown(Now.AddHours(-4), theirs, "b"), Clicked(Now.AddHours(-4), theirs, "b"));
        Assert.Empty(stranger.Profile.Feedback.Experiments);
        Assert.Equal(1, stranger.Profile.Feedback.Impressions);
    }

    [Fact]
    public void The_layer_stays_within_its_bounds_with_long_ids()
    {
        var user = new ProfileUnderTest();
        var longId = new string('é', 64);  // 128 UTF-8 bytes
        for (var i = 0; i < 200; i++)
        {
            var at = Now.AddMinutes(-1000 + i);
            user.Apply(
                Shown(at, $"rec-{i}-{longId}", Enumerable.Range(0, 10).Select(k => $"{longId}-{i}-{k}").ToArray()),
                Clicked(at.AddSeconds(1), $"rec-{i}-{longId}", $"{longId}-{i}-3"),
                Bought(at.AddSeconds(2), ($"never-shown-{i}-{longId}", 1, 1m)));
        }

        var feedback = user.Profile.Feedback;
        Assert.True(FeedbackLedger.StoredBytes(feedback) <= user.Options.FeedbackMaxBytes, $"{FeedbackLedger.StoredBytes(feedback)} bytes");
        Assert.InRange(feedback.RecentLists.Count, 1, user.Options.RecentListsCapacity);
        Assert.True(feedback.Unattributed.Count <= user.Options.UnattributedCapacity);
        Assert.Equal(200, feedback.Impressions);  // the counters keep counting
        Assert.Equal(200, feedback.Clicks);
        Assert.Contains(feedback.RecentLists, l => l.RecommendationId.StartsWith("rec-199-", StringComparison.Ordinal));  // the latest is kept
    }

    // Ids as the engine makes them: "rec-" and a GUID's 32 hex digits.
    private const string ServedId = "rec-0190a1b2c3d4e5f60718293a4b5c6d7e";
    private const string LaterId = "rec-0190a1b2c3d4e5f60718293a4b5c6d7f";

    [Fact]
    public void A_served_id_carries_the_segment_it_was_served_under_beside_its_experiment_tag()
    {
        Assert.Equal(3, ServedSegment.Read(ServedId + ServedSegment.Tag(3)));
        Assert.Equal(12, ServedSegment.Read(ServedId + "-s12" + ExperimentTag.Of(4, 1, "u-1")));
        Assert.Equal(ServedSegment.None, ServedSegment.Read(ServedId));
        Assert.Equal(ServedSegment.None, ServedSegment.Read(ServedId + ExperimentTag.Of(4, 1, "u-1")));
        Assert.Null(ServedSegment.Read("rec-1"));                 // a client's own list ids say nothing
        Assert.Null(ServedSegment.Read("homepage-list-s3"));
        Assert.Null(ServedSegment.Read(ServedId + "-sx"));
        Assert.Null(ServedSegment.Read("rec-0190A1B2C3D4E5F60718293A4B5C6D7E-s3"));

        Assert.True(ExperimentTag.TryParse(ServedId + "-s12" + ExperimentTag.Of(4, 1, "u-1"), out var experiment, out var variant, out var check));
        Assert.Equal((4, 1, ExperimentTag.UserCheck("u-1")), (experiment, variant, check));
    }

    [Fact]
    public void The_audit_groups_a_user_by_their_segment_and_visits_when_first_shown_a_list_not_by_what_the_list_led_to()
    {
        var exposed = Now.AddDays(-3);
        UserEvent[] events =
        [
            PageView(Now.AddYears(-6)),                                  // seen years ago: a returning visitor when shown the list
            Shown(exposed, ServedId + "-s2", "a", "b"),                  // served in segment 2 (say, inactive)
            Clicked(exposed.AddDays(1), ServedId + "-s2", "b"),
            Bought(exposed.AddDays(1).AddMinutes(5), ("b", 1, 30m)),
            Shown(exposed.AddDays(2), LaterId + "-s5", "c"),             // served later in the segment the purchase moved them to
        ];

        // In the order they happened, and backwards (an app sending its queue late): one answer.
        foreach (var arrival in new[] { events, events.Reverse().ToArray() })
        {
            var user = new ProfileUnderTest();
            foreach (var e in arrival)
            {
                user.Apply(e);
            }

            var groups = FeedbackReport.Of("k", user.Profile, user.Options, Now).Groups;
            Assert.True(groups.FirstExposureKnown);
            Assert.Equal(2, groups.SegmentAtFirstExposure);
            Assert.True(groups.Returning);
        }

        // A new visitor: first seen minutes before the list, in the same visit. The click the next day opens a second
        // visit, which made them "returning" when it was counted at the audit.
        var newcomer = new ProfileUnderTest();
        newcomer.Apply(ProductView(exposed.AddMinutes(-5), "shoes"));
        newcomer.Apply(Shown(exposed, ServedId, "a"));
        newcomer.Apply(Clicked(exposed.AddDays(1), ServedId, "a"));
        Assert.True(newcomer.Profile.Behavior.Sessions > 1, "the click opened a second visit");
        var newGroups = FeedbackReport.Of("k", newcomer.Profile, newcomer.Options, Now).Groups;
        Assert.False(newGroups.Returning);
        Assert.Equal(ServedSegment.None, newGroups.SegmentAtFirstExposure);

        // A list the grid did not serve says nothing of the segment; the audit then uses the segment now.
        var ownLists = new ProfileUnderTest();
        ownLists.Apply(Shown(exposed, "homepage-7", "a"));
        Assert.Null(FeedbackReport.Of("k", ownLists.Profile, ownLists.Options, Now).Groups.SegmentAtFirstExposure);
    }
}
