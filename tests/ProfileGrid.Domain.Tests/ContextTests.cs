using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

public class ContextTests
{
    [Fact]
    public void Last_context_comes_from_the_latest_event_even_when_an_older_one_arrives_later()
    {
        var user = new ProfileUnderTest();

        user.Apply(Of(EventKind.PageView, Now, device: DeviceType.Mobile, source: Channel.App, country: "de", locale: "de-DE", userAgent: "App/2"));
        user.Apply(Of(EventKind.PageView, Now.AddHours(-1), device: DeviceType.Desktop, source: Channel.Web, country: "FR", locale: "fr-FR", userAgent: "Firefox"));

        var context = user.Profile.Context;
        Assert.Equal((DeviceType.Mobile, Channel.App, "DE", "de-DE", "App/2"),
            (context.LastDevice, context.LastChannel, context.LastCountry, context.LastLocale, context.LastUserAgent));
    }

    [Fact]
    public void Two_events_of_the_same_instant_give_the_same_last_context_in_either_order()
    {
        // Minute-resolution exports: a web page view and a CRM record of the same minute, merged or replayed in any order.
        var web = Of(EventKind.PageView, Now, device: DeviceType.Desktop, source: Channel.Web, country: "FR", locale: "fr-FR", userAgent: "Firefox");
        var app = Of(EventKind.PageView, Now, device: DeviceType.Mobile, source: Channel.App, country: "de", locale: "de-DE", userAgent: "App/2");
        var first = new ProfileUnderTest();
        var second = new ProfileUnderTest();

        first.Apply(web, app);
        second.Apply(app, web);

        static object Last(ProfileUnderTest user) => (user.Profile.Context.LastDevice, user.Profile.Context.LastChannel,
            user.Profile.Context.LastCountry, user.Profile.Context.LastLocale, user.Profile.Context.LastUserAgent);
        Assert.Equal(Last(first), Last(second));
    }

    [Fact]
    public void An_event_without_context_keeps_the_last_known_device_and_place()
    {
        var user = new ProfileUnderTest();

        user.Apply(Of(EventKind.PageView, Now.AddMinutes(-1), device: DeviceType.Tablet, country: "ES"));
        user.Apply(Identify(Now, new DemographicsUpdate { City = "Madrid" }));

        Assert.Equal(DeviceType.Tablet, user.Profile.Context.LastDevice);
        Assert.Equal("ES", user.Profile.Context.LastCountry);
        Assert.Equal(Channel.Crm, user.Profile.Context.LastChannel);
    }

    [Fact]
    public void Channel_and_device_mixes_and_the_hour_histogram_count_every_event_in_utc()
    {
        var user = new ProfileUnderTest();
        var inParis = new DateTimeOffset(2026, 3, 2, 9, 30, 0, TimeSpan.FromHours(1));

        user.Apply(
            Of(EventKind.PageView, inParis, device: DeviceType.Mobile, source: Channel.App),
            Of(EventKind.PageView, inParis.AddMinutes(1), device: DeviceType.Mobile, source: Channel.Web),
            Of(EventKind.PageView, inParis.AddMinutes(2)));

        var document = user.Document().Context;
        Assert.Equal(1, document.ChannelMix["app"]);
        Assert.Equal(2, document.ChannelMix["web"]);
        Assert.Equal(2, document.DeviceMix["mobile"]);
        Assert.Equal(1, document.DeviceMix["unknown"]);
        Assert.Equal(3, document.HourOfDay[8]);
        Assert.Equal(24, document.HourOfDay.Count);
    }

    [Fact]
    public void A_long_user_agent_is_truncated()
    {
        var user = new ProfileUnderTest();

        user.Apply(Of(EventKind.PageView, Now, userAgent: new string('x', 5000)));

        Assert.Equal(ProfileUpdater.MaxUserAgentLength, user.Profile.Context.LastUserAgent!.Length);
    }
}
