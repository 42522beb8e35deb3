using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class EngagementTests
{
    [Fact]
    public void Ten_events_a_day_for_months_gives_a_velocity_of_about_ten_a_day()
    {
        var user = new ProfileUnderTest();
        var start = Now.AddDays(-90);
        var events = Enumerable.Range(0, 90 * 10).Select(i => PageView(start.AddHours(i * 2.4))).ToArray();

        user.Apply(events);

        Assert.InRange(ProfileMetrics.EngagementVelocity(user.Profile, user.Options, Now), 9.5, 10.5);
    }

    [Fact]
    public void Velocity_halves_after_one_half_life_of_silence()
    {
        var user = new ProfileUnderTest();
        user.Apply(Enumerable.Range(0, 50).Select(i => PageView(Now.AddHours(-i))).ToArray());
        var active = ProfileMetrics.EngagementVelocity(user.Profile, user.Options, Now);

        var later = ProfileMetrics.EngagementVelocity(user.Profile, user.Options, Now.AddDays(7));

        Assert.Equal(active / 2, later, 9);
    }

    [Fact]
    public void A_late_event_adds_its_decayed_contribution()
    {
        var inOrder = new ProfileUnderTest();
        var late = new ProfileUnderTest();
        var early = PageView(Now.AddDays(-7));
        var recent = PageView(Now);

        inOrder.Apply(early, recent);
        late.Apply(recent);
        late.Apply(early);

        Assert.Equal(1.5, inOrder.Profile.Behavior.EngagementScore, 9);
        Assert.Equal(inOrder.Profile.Behavior.EngagementScore, late.Profile.Behavior.EngagementScore, 9);
    }

    [Fact]
    public void A_user_without_events_has_no_velocity()
    {
        Assert.Equal(0, ProfileMetrics.EngagementVelocity(new UserProfile(), new ProfileOptions(), Now));
    }
}
