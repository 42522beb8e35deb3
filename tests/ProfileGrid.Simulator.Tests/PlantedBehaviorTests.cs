namespace ProfileGrid.Simulator.Tests;

public class PlantedBehaviorTests
{
    private static ExpectedTotals Totals => TotalsOnce.Value;

    private static readonly Lazy<ExpectedTotals> TotalsOnce = new(() => ExpectedTotals.From(SampleStream.Events));

    [Fact]
    public void Types_are_planted_in_the_documented_shares()
    {
        var users = SampleStream.Stream.Users;

        Assert.Equal(50, users.Count(user => user.Type == UserType.HighValue));
        Assert.Equal(225, users.Count(user => user.Type == UserType.Casual));
        Assert.Equal(100, users.Count(user => user.Type == UserType.New));
        Assert.Equal(100, users.Count(user => user.Type == UserType.Dormant));
        Assert.Equal(25, users.Count(user => user.Type == UserType.Browser));
    }

    [Fact]
    public void Every_user_has_events_and_a_stable_id()
    {
        Assert.Equal(
            Enumerable.Range(1, 500).Select(n => $"u-{n:D6}"),
            SampleStream.Stream.Users.Select(user => user.UserId));
        Assert.All(SampleStream.Stream.Users, user => Assert.True(Totals.Users[user.UserId].Sessions >= 1, user.UserId));
    }

    [Fact]
    public void Dormant_users_bought_before_and_have_no_event_in_the_last_180_days()
    {
        var silentSince = SampleStream.AsOf.AddDays(-180);

        Assert.All(SampleStream.UsersByType[UserType.Dormant], user =>
        {
            Assert.True(Totals.Users[user.UserId].LastEventAt < silentSince, $"{user.UserId} was last seen {Totals.Users[user.UserId].LastEventAt:O}");
            Assert.True(Totals.Users[user.UserId].Purchases >= 1, $"{user.UserId} never bought");
        });
    }

    [Fact]
    public void Casual_users_are_customers_of_months_who_bought_and_were_seen_in_the_last_two_months()
    {
        Assert.All(SampleStream.UsersByType[UserType.Casual], user =>
        {
            var totals = Totals.Users[user.UserId];
            Assert.True(totals.FirstEventAt < SampleStream.AsOf.AddDays(-55), $"{user.UserId} first seen {totals.FirstEventAt:O}");
            Assert.True(totals.LastEventAt > SampleStream.AsOf.AddDays(-60), $"{user.UserId} last seen {totals.LastEventAt:O}");
            Assert.True(totals.Purchases >= 1, $"{user.UserId} never bought");
        });
    }

    [Fact]
    public void New_users_are_first_seen_within_the_last_14_days_and_buy_exactly_once()
    {
        var firstSeenAfter = SampleStream.AsOf.AddDays(-14);

        Assert.All(SampleStream.UsersByType[UserType.New], user =>
        {
            Assert.True(Totals.Users[user.UserId].FirstEventAt >= firstSeenAfter, $"{user.UserId} first seen {Totals.Users[user.UserId].FirstEventAt:O}");
            Assert.Equal(1, Totals.Users[user.UserId].Purchases);
        });
    }

    [Fact]
    public void Other_users_were_first_seen_before_the_last_14_days()
    {
        var recent = SampleStream.AsOf.AddDays(-14);

        Assert.All(SampleStream.Stream.Users.Where(user => user.Type != UserType.New), user =>
            Assert.True(Totals.Users[user.UserId].FirstEventAt < recent, user.UserId));
    }

    [Fact]
    public void High_value_users_spend_far_more_than_casual_users()
    {
        // Compared within one currency, so no exchange rate enters the comparison.
        var highValue = MeanRevenueInEuro(UserType.HighValue);
        var casual = MeanRevenueInEuro(UserType.Casual);

        Assert.True(highValue > 10 * casual, $"high value {highValue:F2} EUR vs casual {casual:F2} EUR per user");
        // Casual users buy at least once (a third of their sessions convert), high-value users every few sessions all year.
        var highValueOrders = MeanOf(UserType.HighValue, totals => totals.Purchases);
        var casualOrders = MeanOf(UserType.Casual, totals => totals.Purchases);
        Assert.True(highValueOrders > 4 * casualOrders, $"high value {highValueOrders:F1} vs casual {casualOrders:F1} orders per user");
    }

    [Fact]
    public void High_value_users_are_active_all_year_in_app_and_web()
    {
        var users = SampleStream.UsersByType[UserType.HighValue].ToList();

        Assert.All(users, user => Assert.True(Totals.Users[user.UserId].LastEventAt > SampleStream.AsOf.AddDays(-60), user.UserId));
        Assert.True(MeanOf(UserType.HighValue, totals => totals.Sessions) > 3 * MeanOf(UserType.Casual, totals => totals.Sessions));
        var sources = SampleStream.Sessions.Where(session => session.UserType == UserType.HighValue && session.Source != "crm")
            .CountBy(session => session.Source).ToDictionary();
        Assert.InRange(sources["app"] / (double)(sources["app"] + sources["web"]), 0.3, 0.8);
    }

    [Fact]
    public void Casual_users_shop_mostly_on_the_web()
    {
        var sources = SampleStream.Sessions.Where(session => session.UserType == UserType.Casual && session.Source != "crm")
            .CountBy(session => session.Source).ToDictionary();

        Assert.True(sources["web"] > 3 * sources["app"]);
    }

    [Fact]
    public void Browsers_view_and_search_a_lot_but_almost_never_buy()
    {
        var browsing = MeanOf(UserType.Browser, totals => totals.CountOf("product_view") + totals.CountOf("search"));
        var casualBrowsing = MeanOf(UserType.Casual, totals => totals.CountOf("product_view") + totals.CountOf("search"));

        Assert.True(browsing > 5 * casualBrowsing, $"browser {browsing:F1} vs casual {casualBrowsing:F1} views and searches per user");
        Assert.True(MeanOf(UserType.Browser, totals => totals.Purchases) < 0.5);
    }

    private static double MeanRevenueInEuro(UserType type) =>
        SampleStream.UsersByType[type].Where(user => user.Currency == "EUR")
            .Average(user => (double)Totals.Users[user.UserId].RevenueIn("EUR"));

    private static double MeanOf(UserType type, Func<UserTotals, long> measure) =>
        SampleStream.UsersByType[type].Average(user => measure(Totals.Users[user.UserId]));
}
