using FsCheck.Xunit;
using static ProfileGrid.Domain.Tests.TestEvents;

namespace ProfileGrid.Domain.Tests;

/// <summary>
/// <see cref="ProfileFeatures.NextWindowChange"/>: the instant a windowed feature falls (or rises) with no new event is
/// exactly when <see cref="ProfileFeatures.Extract(UserProfile, ProfileOptions, DateTimeOffset, IReadOnlyList{string}?)"/>
/// starts showing the new value, at UTC day boundaries, with today counted in the window.
/// </summary>
public class WindowChangeTests
{
    private static readonly ProfileOptions Options = new();
    private static readonly string[] WindowedFeatures = ["frequency_365d", "monetary_365d"];

    private static UserProfile Bought(DateTimeOffset appliedAt, params DateTimeOffset[] orders)
    {
        var profile = new UserProfile { Tenant = Tenant, UserId = User };
        ProfileUpdater.Apply(profile, orders.Select(at => Purchase(at, "USD", 50m)).ToArray(), Options, appliedAt);
        return profile;
    }

    private static double[] Windowed(UserProfile profile, DateTimeOffset at) => ProfileFeatures.Extract(profile, Options, at, WindowedFeatures);

    [Fact]
    public void Orders_300_days_ago_leave_the_365_day_window_at_midnight_utc_65_days_on()
    {
        var profile = Bought(Now, Now.AddDays(-300));

        var change = ProfileFeatures.NextWindowChange(profile, Options, Now);

        var expected = new DateTimeOffset(Now.UtcDateTime.Date, TimeSpan.Zero).AddDays(65);
        Assert.Equal(expected, change);
        Assert.Equal([1, 50], Windowed(profile, expected.AddTicks(-1)));
        Assert.Equal([0, 0], Windowed(profile, expected));
        Assert.Null(ProfileFeatures.NextWindowChange(profile, Options, expected));
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(23, 59, 59)]
    [InlineData(12, 0, 0)]
    public void An_order_counts_for_365_utc_days_including_its_own_whatever_its_hour(int hour, int minute, int second)
    {
        var orderedAt = new DateTimeOffset(2025, 6, 10, hour, minute, second, TimeSpan.Zero);
        var profile = Bought(orderedAt, orderedAt);

        var change = ProfileFeatures.NextWindowChange(profile, Options, orderedAt);

        // 2025-06-10 is day 1 of the window; 2026-06-09 is day 365; it is gone on 2026-06-10.
        Assert.Equal(new DateTimeOffset(2026, 6, 10, 0, 0, 0, TimeSpan.Zero), change);
        Assert.Equal(1, Windowed(profile, new DateTimeOffset(2026, 6, 9, 23, 59, 59, 999, TimeSpan.Zero))[0]);
        Assert.Equal(0, Windowed(profile, change!.Value)[0]);
    }

    [Fact]
    public void The_next_change_is_the_oldest_order_day_still_in_the_window_then_the_one_after()
    {
        var profile = Bought(Now, Now.AddDays(-400), Now.AddDays(-200), Now.AddDays(-200).AddHours(1), Now.AddDays(-20));
        var midnight = new DateTimeOffset(Now.UtcDateTime.Date, TimeSpan.Zero);

        var first = ProfileFeatures.NextWindowChange(profile, Options, Now);
        var second = ProfileFeatures.NextWindowChange(profile, Options, first!.Value);

        Assert.Equal(midnight.AddDays(165), first);
        Assert.Equal(midnight.AddDays(345), second);
        Assert.Equal([3, 150], Windowed(profile, Now));
        Assert.Equal([1, 50], Windowed(profile, first.Value));
        Assert.Equal([0, 0], Windowed(profile, second!.Value));
    }

    [Fact]
    public void Nothing_changes_without_orders_or_without_windowed_features_or_without_a_365_day_window()
    {
        var browser = new UserProfile { Tenant = Tenant, UserId = User };
        ProfileUpdater.Apply(browser, [PageView(Now.AddDays(-10)), SessionStart(Now.AddDays(-10))], Options, Now);
        var buyer = Bought(Now, Now.AddDays(-10));
        var shortWindows = new ProfileOptions { WindowDays = [7, 30] };

        Assert.Null(ProfileFeatures.NextWindowChange(browser, Options, Now));
        Assert.Null(ProfileFeatures.NextWindowChange(buyer, Options, Now, ["frequency", "monetary", "recency_days"]));
        Assert.Null(ProfileFeatures.NextWindowChange(buyer, shortWindows, Now));
        Assert.NotNull(ProfileFeatures.NextWindowChange(buyer, Options, Now, ["monetary_365d"]));
        Assert.Throws<ArgumentException>(() => ProfileFeatures.NextWindowChange(buyer, Options, Now, ["frequency_366d"]));
    }

    [Fact]
    public void An_order_dated_after_today_enters_the_window_on_its_day_before_older_orders_leave()
    {
        var profile = Bought(Now.AddDays(2), Now.AddDays(-100), Now.AddDays(2));
        var midnight = new DateTimeOffset(Now.UtcDateTime.Date, TimeSpan.Zero);

        var change = ProfileFeatures.NextWindowChange(profile, Options, Now);

        Assert.Equal(midnight.AddDays(2), change);
        Assert.Equal(1, Windowed(profile, change!.Value.AddTicks(-1))[0]);
        Assert.Equal(2, Windowed(profile, change.Value)[0]);
    }

    /// <summary>Against a day-by-day walk: the windowed values stay put before the instant and differ at it.</summary>
    [Property(MaxTest = 60)]
    public void The_instant_is_the_first_midnight_at_which_the_windowed_values_differ(int seed)
    {
        var random = new Random(seed);
        var midnight = new DateTimeOffset(Now.UtcDateTime.Date, TimeSpan.Zero);
        var now = midnight.AddSeconds(random.Next(86_400));
        var orders = Enumerable.Range(0, random.Next(0, 7))
            .Select(_ => midnight.AddDays(-random.Next(0, 420)).AddSeconds(random.Next(86_400)))
            .Where(at => at <= now)
            .ToArray();
        var profile = Bought(now, orders);

        var change = ProfileFeatures.NextWindowChange(profile, Options, now);

        var current = Windowed(profile, now);
        DateTimeOffset? walked = null;
        for (var day = 1; day <= 370 && walked is null; day++)
        {
            if (!Windowed(profile, midnight.AddDays(day)).SequenceEqual(current))
            {
                walked = midnight.AddDays(day);
            }
        }

        Assert.Equal(walked, change);
    }
}
