using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class SessionTests
{
    private static readonly DateTimeOffset Morning = Now.AddHours(-4);

    [Fact]
    public void Events_within_the_timeout_are_one_session_and_a_longer_gap_starts_another()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Morning), PageView(Morning.AddMinutes(20)), PageView(Morning.AddMinutes(45)), PageView(Morning.AddMinutes(90)));

        Assert.Equal(2, user.Profile.Behavior.Sessions);
        Assert.Equal((45 + 0) / 2d, ProfileMetrics.AverageSessionMinutes(user.Profile)!.Value, 6);
    }

    [Fact]
    public void The_session_timeout_is_configurable()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { SessionTimeout = TimeSpan.FromMinutes(10) } };

        user.Apply(PageView(Morning), PageView(Morning.AddMinutes(8)), PageView(Morning.AddMinutes(20)));

        Assert.Equal(2, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void A_session_start_event_starts_a_new_session_even_within_the_timeout()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Morning), SessionStart(Morning.AddMinutes(5)), PageView(Morning.AddMinutes(6)));

        Assert.Equal(2, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void A_session_start_followed_by_its_events_is_one_session()
    {
        var user = new ProfileUnderTest();

        user.Apply(SessionStart(Morning), PageView(Morning.AddMinutes(1)), PageView(Morning.AddMinutes(2)));

        Assert.Equal(1, user.Profile.Behavior.Sessions);
        Assert.Equal(2, ProfileMetrics.AverageSessionMinutes(user.Profile)!.Value, 6);
    }

    [Fact]
    public void A_late_event_that_bridges_two_sessions_merges_them()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Morning), PageView(Morning.AddMinutes(50)));
        Assert.Equal(2, user.Profile.Behavior.Sessions);
        Assert.Equal(2, user.Window("30d").Sessions);

        user.Apply(PageView(Morning.AddMinutes(25)));

        Assert.Equal(1, user.Profile.Behavior.Sessions);
        Assert.Equal(1, user.Window("30d").Sessions);
        Assert.Equal(50, ProfileMetrics.AverageSessionMinutes(user.Profile)!.Value, 6);
    }

    [Fact]
    public void A_late_event_just_before_a_session_extends_it_instead_of_counting_a_new_one()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Morning), PageView(Morning.AddMinutes(10)));

        user.Apply(PageView(Morning.AddMinutes(-20)));

        Assert.Equal(1, user.Profile.Behavior.Sessions);
        Assert.Equal(30, ProfileMetrics.AverageSessionMinutes(user.Profile)!.Value, 6);
    }

    [Fact]
    public void A_late_event_far_from_any_session_is_a_session_of_its_own()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Morning));

        user.Apply(PageView(Morning.AddHours(-3)));

        Assert.Equal(2, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void A_late_session_start_inside_a_session_splits_it_in_two()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Morning), PageView(Morning.AddMinutes(10)), PageView(Morning.AddMinutes(20)));

        user.Apply(SessionStart(Morning.AddMinutes(15)));

        Assert.Equal(2, user.Profile.Behavior.Sessions);
        // Events before the split still join the first session, events after it the second.
        user.Apply(PageView(Morning.AddMinutes(12)), PageView(Morning.AddMinutes(18)));
        Assert.Equal(2, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void A_late_session_start_at_the_beginning_of_a_session_adds_no_session()
    {
        var user = new ProfileUnderTest();
        user.Apply(PageView(Morning.AddMinutes(1)), PageView(Morning.AddMinutes(5)));

        user.Apply(SessionStart(Morning));

        Assert.Equal(1, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void Events_before_a_session_start_do_not_join_its_session()
    {
        var user = new ProfileUnderTest();
        user.Apply(SessionStart(Morning), PageView(Morning.AddMinutes(2)));

        user.Apply(PageView(Morning.AddMinutes(-5)));

        Assert.Equal(2, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void Session_history_is_bounded_and_events_older_than_it_are_taken_as_already_counted()
    {
        var user = new ProfileUnderTest { Options = new ProfileOptions { SessionHistoryCapacity = 3 } };
        var starts = Enumerable.Range(0, 6).Select(i => Morning.AddDays(-6 + i)).ToArray();
        user.Apply(starts.Select(start => PageView(start)).ToArray());
        Assert.Equal(6, user.Profile.Behavior.Sessions);
        Assert.Equal(3, user.Profile.Behavior.RecentSessions.Count);

        // Inside the forgotten history (documented approximation): not counted again.
        user.Apply(PageView(starts[0].AddMinutes(5)));
        Assert.Equal(6, user.Profile.Behavior.Sessions);

        // Inside the kept history: still exact.
        user.Apply(PageView(starts[5].AddHours(3)));
        Assert.Equal(7, user.Profile.Behavior.Sessions);
    }

    [Fact]
    public void Crm_records_are_not_visits_and_open_no_session()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Morning), Identify(Morning.AddHours(2), new DemographicsUpdate { City = "Rome" }));

        Assert.Equal(1, user.Profile.Behavior.Sessions);
        Assert.Equal(Morning.AddHours(2), user.Profile.Behavior.LastSeen);
    }

    [Fact]
    public void Sessions_started_per_day_feed_the_windows()
    {
        var user = new ProfileUnderTest();

        user.Apply(PageView(Now.AddDays(-40)), PageView(Now.AddDays(-2)), PageView(Now.AddDays(-1)));

        Assert.Equal(2, user.Window("30d").Sessions);
        Assert.Equal(3, user.Window("90d").Sessions);
        Assert.Equal(3, user.Window("all").Sessions);
    }
}
