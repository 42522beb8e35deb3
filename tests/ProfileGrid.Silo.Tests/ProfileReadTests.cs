using System.Globalization;
using System.Net;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;
using WirePurchase = ProfileGrid.Contracts.V1.Purchase;

namespace ProfileGrid.Silo.Tests;

/// <summary>Profile reads over real gRPC and REST: unknown figures are absent, and as_of answers are reproducible.</summary>
[Collection(EphemeralSiloCollection.Name)]
public class ProfileReadTests(EphemeralSiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private static string NewUser() => "u-" + Guid.NewGuid().ToString("N")[..12];

    private static string DaysAgo(double days) => DateTimeOffset.UtcNow.AddDays(-days).ToString("O", CultureInfo.InvariantCulture);

    private static WireEvent PageView(string user, string id, string occurredAt) => new()
    {
        EventId = id, Type = "page_view", UserId = user, OccurredAt = occurredAt, Source = "web", Page = new PageView { Url = "/" },
    };

    private static WireEvent Purchase(string user, string id, string occurredAt, string price) => new()
    {
        EventId = id, Type = "purchase", UserId = user, OccurredAt = occurredAt, Source = "web",
        Purchase = new WirePurchase { OrderId = "o-" + id, Currency = "USD", Lines = { new PurchaseLine { ProductId = "p", Category = "books", Quantity = 1, UnitPrice = price } } },
    };

    private Task<Profile> IngestAndWaitAsync(string user, params WireEvent[] events) => IngestAndWaitAsync(user, historical: false, events);

    private async Task<Profile> IngestAndWaitAsync(string user, bool historical, params WireEvent[] events)
    {
        var response = await Silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = "shop", Events = { events }, Historical = historical });
        Assert.Empty(response.Rejected);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                var profile = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user });
                if (profile.EventsApplied == events.Length)
                {
                    return profile;
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, $"The events of {user} were not applied in time.");
            await Task.Delay(50);
        }
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Silo.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task A_user_who_never_bought_has_no_recency_and_no_average_order_value()
    {
        var user = NewUser();
        var profile = await IngestAndWaitAsync(user, PageView(user, "v1", DaysAgo(2)));

        Assert.False(profile.Behavior.HasRecencyDays);
        Assert.Null(profile.Behavior.AverageOrderValue);
        Assert.False(profile.Behavior.HasLastPurchaseAt);
        Assert.False(profile.Demographics.HasAgeBand);
        Assert.False(profile.Demographics.HasCountry);
        Assert.True(profile.HasStalenessDays);
        Assert.Equal(2, profile.StalenessDays, 2);
        Assert.Equal("0.00", profile.Behavior.Monetary.Amount);

        var rest = await GetJsonAsync($"/v1/tenants/shop/users/{user}/profile");
        var behavior = rest.GetProperty("behavior");
        Assert.False(behavior.TryGetProperty("recencyDays", out _));
        Assert.False(behavior.TryGetProperty("averageOrderValue", out _));
        Assert.False(behavior.TryGetProperty("lastPurchaseAt", out _));
        Assert.False(rest.GetProperty("demographics").TryGetProperty("ageBand", out _));
        Assert.True(rest.TryGetProperty("stalenessDays", out _));

        var document = await GetJsonAsync($"/v1/tenants/shop/users/{user}/document");
        Assert.False(document.GetProperty("behavior").TryGetProperty("recencyDays", out _));
        Assert.False(document.GetProperty("behavior").TryGetProperty("averageOrderValue", out _));
    }

    [Fact]
    public async Task A_buyer_gets_recency_and_average_order_value_as_soon_as_the_purchase_is_applied()
    {
        var user = NewUser();
        await IngestAndWaitAsync(user, PageView(user, "v1", DaysAgo(3)));
        var bought = await IngestAndWaitAsync(user, PageView(user, "v1", DaysAgo(3)), Purchase(user, "p1", DaysAgo(1), "30.00"));

        Assert.True(bought.Behavior.HasRecencyDays);
        Assert.Equal(1, bought.Behavior.RecencyDays, 2);
        Assert.Equal("30.00", bought.Behavior.AverageOrderValue.Amount);
        var rest = await GetJsonAsync($"/v1/tenants/shop/users/{user}/profile");
        Assert.Equal("30.00", rest.GetProperty("behavior").GetProperty("averageOrderValue").GetProperty("amount").GetString());
    }

    [Fact]
    public async Task A_read_as_of_a_past_instant_is_evaluated_then_and_gives_the_same_answer_later()
    {
        var user = NewUser();
        await IngestAndWaitAsync(user,
            Purchase(user, "p1", DaysAgo(100), "10.00"), Purchase(user, "p2", DaysAgo(50), "20.00"), PageView(user, "v1", DaysAgo(45)));
        var asOf = DateTimeOffset.UtcNow.AddDays(-40).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

        var first = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user, AsOf = asOf });
        await Task.Delay(1100);
        var again = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user, AsOf = asOf });
        var now = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user });

        Assert.Equal(asOf, first.AsOf.Replace(".000Z", "Z"));
        Assert.Equal(first, again);
        Assert.Equal(10, first.Behavior.RecencyDays, 1);
        Assert.Equal(5, first.StalenessDays, 1);
        Assert.False(first.Dormant);
        Assert.Equal(1, first.Behavior.Windows.Single(w => w.Window == "30d").Orders);
        Assert.Equal(2, first.Behavior.Windows.Single(w => w.Window == "90d").Orders);
        Assert.Equal(50, now.Behavior.RecencyDays, 1);
        Assert.Equal(0, now.Behavior.Windows.Single(w => w.Window == "30d").Orders);

        var rest = await GetJsonAsync($"/v1/tenants/shop/users/{user}/profile?asOf={asOf}");
        Assert.Equal(first.Behavior.RecencyDays, rest.GetProperty("behavior").GetProperty("recencyDays").GetDouble());
        var document = await GetJsonAsync($"/v1/tenants/shop/users/{user}/document?asOf={asOf}");
        Assert.Equal(asOf, document.GetProperty("asOf").GetString());
        Assert.Equal(first.Behavior.RecencyDays, document.GetProperty("behavior").GetProperty("recencyDays").GetDouble());

        var batch = await Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = "shop", UserIds = { user }, AsOf = asOf });
        Assert.Equal(first, Assert.Single(batch.Profiles));
    }

    [Fact]
    public async Task A_window_read_as_of_a_day_before_the_kept_daily_activity_says_it_is_partial()
    {
        // A 2009-2011 export: the profile keeps the daily activity of the year before its last order.
        var user = NewUser();
        await IngestAndWaitAsync(user, historical: true,
            Purchase(user, "p1", "2009-12-01T10:00:00Z", "10.00"), Purchase(user, "p2", "2010-06-01T10:00:00Z", "20.00"),
            Purchase(user, "p3", "2011-09-01T10:00:00Z", "30.00"), Purchase(user, "p4", "2011-12-09T10:00:00Z", "40.00"));

        var atEnd = await GetJsonAsync($"/v1/tenants/shop/users/{user}/profile?asOf=2011-12-10T00:00:00Z");
        var early = await GetJsonAsync($"/v1/tenants/shop/users/{user}/profile?asOf=2010-06-02T00:00:00Z");
        static Dictionary<string, bool> PartialOf(JsonElement profile) => profile.GetProperty("behavior").GetProperty("windows").EnumerateArray()
            .ToDictionary(w => w.GetProperty("window").GetString()!, w => w.TryGetProperty("partial", out var partial) && partial.GetBoolean());

        Assert.All(PartialOf(atEnd), w => Assert.False(w.Value, w.Key));
        // As of 2010-06-02 the order of 2010-06-01 is in no kept day: the windows say so instead of a silent 0.
        Assert.Equal(new Dictionary<string, bool> { ["all"] = false, ["30d"] = true, ["90d"] = true, ["365d"] = true }, PartialOf(early));
    }

    [Theory]
    [InlineData("2999-01-01T00:00:00Z", "as_of: 2999-01-01T00:00:00Z is in the future")]
    [InlineData("yesterday", "as_of: 'yesterday' is not an ISO-8601 timestamp")]
    public async Task A_future_or_unreadable_as_of_is_refused_naming_the_field(string asOf, string expected)
    {
        var user = NewUser();
        await IngestAndWaitAsync(user, PageView(user, "v1", DaysAgo(1)));

        var single = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "shop", UserId = user, AsOf = asOf }).ResponseAsync);
        var batch = await Assert.ThrowsAsync<RpcException>(() => Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = "shop", UserIds = { user }, AsOf = asOf }).ResponseAsync);

        Assert.Equal((StatusCode.InvalidArgument, StatusCode.InvalidArgument), (single.StatusCode, batch.StatusCode));
        Assert.StartsWith(expected, single.Status.Detail);
        Assert.StartsWith(expected, batch.Status.Detail);
        using var rest = await Silo.Http.GetAsync($"/v1/tenants/shop/users/{user}/profile?asOf={Uri.EscapeDataString(asOf)}");
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        using var document = await Silo.Http.GetAsync($"/v1/tenants/shop/users/{user}/document?asOf={Uri.EscapeDataString(asOf)}");
        Assert.Equal(HttpStatusCode.BadRequest, document.StatusCode);
        Assert.Contains("asOf", await document.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("GET", "document?asof=2011-01-01T00:00:00Z", null, "'asof' is not 'asOf'")]
    [InlineData("GET", "document?foo=1", null, "foo: is not a query parameter of this request")]
    [InlineData("GET", "export?asOf=2011-01-01T00:00:00Z", null, "this request takes no query parameters")]
    [InlineData("POST", "batchGet", """{"userIds": ["USER"], "asof": "2011-01-01T00:00:00Z"}""", "asof")]
    public async Task A_misspelt_or_unknown_parameter_is_refused_rather_than_answered_as_of_now(string method, string route, string? body, string expected)
    {
        // probe58: batchGet's "asof", the document route's ?asof= and ?foo=1, and export's ?asOf= answered 200 as of now.
        var user = NewUser();
        await IngestAndWaitAsync(user, PageView(user, "v1", DaysAgo(1)));
        var path = route == "batchGet" ? "/v1/tenants/shop/profiles:batchGet" : $"/v1/tenants/shop/users/{user}/{route}";
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body.Replace("USER", user, StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json");
        }

        using var answer = await Silo.Http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"{answer.StatusCode}: {text}");
        Assert.Contains(expected, text);
    }
}
