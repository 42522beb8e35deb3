using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class WindowTests
{
    [Fact]
    public void An_order_40_days_ago_is_in_the_90_and_365_day_windows_but_not_in_the_30_day_window()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-40), "USD", 120m), Purchase(Now.AddDays(-3), "USD", 30m));

        Assert.Equal((1, 30m), (user.Window("30d").Orders, user.Window("30d").Revenue.Amount));
        Assert.Equal((2, 150m), (user.Window("90d").Orders, user.Window("90d").Revenue.Amount));
        Assert.Equal((2, 150m), (user.Window("365d").Orders, user.Window("365d").Revenue.Amount));
        Assert.Equal((2, 150m), (user.Window("all").Orders, user.Window("all").Revenue.Amount));
        Assert.Equal("USD", user.Window("30d").Revenue.Currency);
    }

    [Fact]
    public void Windows_slide_with_the_clock_without_any_new_event()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-40), "USD", 120m));

        user.Now = Now.AddDays(60);

        Assert.Equal(0, user.Window("90d").Orders);
        Assert.Equal(1, user.Window("365d").Orders);
        Assert.Equal(1, user.Window("all").Orders);
    }

    [Fact]
    public void Windows_count_events_per_utc_day_including_today()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Now), PageView(Now.AddDays(-29)), PageView(Now.AddDays(-30)));

        Assert.Equal(2, user.Window("30d").Events);
        Assert.Equal(3, user.Window("90d").Events);
    }

    [Fact]
    public void A_bucket_older_than_the_longest_window_is_pruned_on_the_next_update()
    {
        var user = new ProfileUnderTest();
        user.Apply(Purchase(Now.AddDays(-300), "USD", 50m));
        var oldDay = user.Profile.Behavior.DailyBuckets.Single().Day;

        user.Now = Now.AddDays(70);
        user.Apply(PageView(user.Now));

        Assert.DoesNotContain(user.Profile.Behavior.DailyBuckets, bucket => bucket.Day == oldDay);
        Assert.Equal(0, user.Window("365d").Orders);
        Assert.Equal(1, user.Window("all").Orders);
    }

    [Fact]
    public void An_event_older_than_the_longest_window_before_the_newest_counts_in_all_but_adds_no_bucket()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Now.AddDays(-1)), Purchase(Now.AddDays(-400), "USD", 50m));

        Assert.Equal([UtcDay.Of(Now.AddDays(-1))], user.Profile.Behavior.DailyBuckets.Select(bucket => bucket.Day));
        Assert.Equal(1, user.Window("all").Orders);
        Assert.Equal(0, user.Window("365d").Orders);
    }

    [Fact]
    public void An_old_history_keeps_its_days_but_counts_in_no_window_as_of_now()
    {
        var user = new ProfileUnderTest();

        user.Apply(Purchase(Now.AddDays(-400), "USD", 50m));

        Assert.Single(user.Profile.Behavior.DailyBuckets);
        Assert.Equal(1, user.Window("all").Orders);
        Assert.Equal(0, user.Window("365d").Orders);
    }

    [Fact]
    public void Daily_buckets_stay_within_the_longest_window_for_a_user_active_every_day_for_years()
    {
        var user = new ProfileUnderTest();

        for (var day = 0; day < 3 * 365; day++)
        {
            user.Now = Now.AddDays(day);
            user.Apply(PageView(user.Now));
        }

        Assert.InRange(user.Profile.Behavior.DailyBuckets.Count, 1, 365);
        Assert.Equal(365, user.Window("365d").Events);
        Assert.Equal(30, user.Window("30d").Events);
    }

    [Fact]
    public void A_window_as_of_a_day_before_the_kept_activity_says_it_is_partial()
    {
        // An imported history of two years: the days kept are the last year's, back from its newest event.
        var end = Now.AddYears(-10);
        var user = new ProfileUnderTest();
        user.Apply(Purchase(end.AddDays(-700), "USD", 10m), Purchase(end.AddDays(-500), "USD", 20m), Purchase(end.AddDays(-100), "USD", 30m),
            Purchase(end, "USD", 40m));
        RfmWindow[] AsOf(DateTimeOffset at) => [.. ProfileMetrics.Windows(user.Profile, user.Options, at)];

        // As of the history's end every window is whole; as of a day 400 days before it the 365-day window misses its
        // first days (the order of day -500 is gone from them), the 30-day one does too, and "all" never is.
        Assert.DoesNotContain(AsOf(end), w => w.Partial);
        var early = AsOf(end.AddDays(-400));
        Assert.All(early.Where(w => w.Days is not null), w => Assert.True(w.Partial, w.Window));
        Assert.False(early.Single(w => w.Window == "all").Partial);
        // Nothing was active before the kept days for a user whose history starts within them: no window is partial.
        var newcomer = new ProfileUnderTest();
        newcomer.Apply(Purchase(end.AddDays(-100), "USD", 30m), Purchase(end, "USD", 40m));
        Assert.DoesNotContain(ProfileMetrics.Windows(newcomer.Profile, newcomer.Options, end.AddDays(-200)), w => w.Partial);
        // Nor before the user's first event: nothing of theirs is missing there.
        Assert.DoesNotContain(AsOf(end.AddDays(-800)), w => w.Partial);
    }

    [Fact]
    public void Lists_shown_today_to_a_user_of_an_old_history_keep_its_days()
    {
        var end = Now.AddYears(-10);
        var user = new ProfileUnderTest();
        user.Apply(Purchase(end.AddDays(-100), "USD", 30m), Purchase(end, "USD", 40m));

        user.Apply(Of(EventKind.Impression, Now.AddMinutes(-1)) with { Feedback = new FeedbackInfo { RecommendationId = "r-1", Slot = "home", ItemIds = ["p-1"] } });

        var asOfEnd = ProfileMetrics.Windows(user.Profile, user.Options, end).Single(w => w.Window == "365d");
        Assert.Equal((2, 70m, false), (asOfEnd.Orders, asOfEnd.Revenue.Amount, asOfEnd.Partial));
    }

    [Fact]
    public void A_duplicate_re_dated_today_keeps_an_old_historys_days()
    {
        var end = Now.AddYears(-10);
        var user = new ProfileUnderTest();
        user.Apply(Purchase(end.AddDays(-100), "USD", 30m, id: "o-1"), Purchase(end, "USD", 40m, id: "o-2"));

        user.Apply(Purchase(Now.AddMinutes(-1), "USD", 40m, id: "o-2")); // the sender's retry, stamped with the time it was sent

        var asOfEnd = ProfileMetrics.Windows(user.Profile, user.Options, end).Single(w => w.Window == "365d");
        Assert.Equal((2, 70m, false), (asOfEnd.Orders, asOfEnd.Revenue.Amount, asOfEnd.Partial));
    }

    [Fact]
    public void Configured_windows_are_reported_shortest_first_after_all()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { WindowDays = [7, 28] } };

        var names = ProfileMetrics.Windows(user.Profile, user.Options, user.Now).Select(w => w.Window);

        Assert.Equal(["all", "7d", "28d"], names);
    }
}
