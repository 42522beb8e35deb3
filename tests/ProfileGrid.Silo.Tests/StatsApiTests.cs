using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Grains.Stats;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The stats API end to end on the real host: the simulator's events through the real gateway, then the figures
/// compared with the truth recounted from the same events (and, for the distributions, with the profiles' own views).
/// </summary>
public class StatsApiTests
{
    private const string FastFlush = "--ProfileGrid:Stats:FlushInterval=00:00:00.200";

    // Odd characters on purpose: the tenant travels escaped in the path and is decoded once.
    private const string Shop = "shöp/1";
    private const string Archive = "archive";

    private static string UserKey(Event e) => string.IsNullOrEmpty(e.UserId) ? "anon:" + e.AnonymousId : e.UserId;

    private static string Path(string tenant, string rest = "") => $"/v1/tenants/{Uri.EscapeDataString(tenant)}/stats{rest}";

    [Fact]
    public async Task Stats_equal_the_truth_recounted_from_the_simulators_events_and_tenants_do_not_mix()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync(FastFlush, "--ProfileGrid:Recommendations:ShardFlushInterval=00:00:00.200",
            "--ProfileGrid:Recommendations:ServingRefreshInterval=00:00:00.200");
        var today = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero);

        // Shop: a year of history up to today, and three users whose whole history is four years old (an import).
        var shopStream = new SyntheticStream(new SimulationOptions { Users = 24, Seed = 11, Tenant = Shop, AsOf = today });
        var shopEvents = new List<Event>();
        foreach (var request in shopStream.IngestRequests(maxEventsPerRequest: 400))
        {
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
            shopEvents.AddRange(request.Events);
        }

        var old = new IngestEventsRequest { Tenant = Shop, Historical = true };
        for (var u = 0; u < 3; u++)
        {
            for (var i = 0; i < 1 + u * 2; i++)
            {
                old.Events.Add(new Event
                {
                    EventId = $"old-{u}-{i}", Type = "page_view", UserId = $"veteran-{u}", Source = "crm",
                    OccurredAt = today.AddYears(-4).AddDays(i).ToString("O"), Page = new PageView { Url = "/archive" },
                });
            }
        }

        Assert.Empty((await silo.Client.IngestEventsAsync(old)).Rejected);
        shopEvents.AddRange(old.Events);

        // The first request again: every event in it is a duplicate the profiles ignore.
        var repeated = shopStream.IngestRequests(maxEventsPerRequest: 400).First();
        Assert.Empty((await silo.Client.IngestEventsAsync(repeated)).Rejected);

        // A batch with known bad events: one of each reason, and one good event sent twice within the batch.
        var good = new Event { EventId = "fine-1", Type = "search", UserId = "newcomer", Source = "web", OccurredAt = today.AddHours(-1).ToString("O"), Search = new Search { Query = "boots" } };
        var bad = new IngestEventsRequest { Tenant = Shop };
        bad.Events.Add(new Event { EventId = "bad-1", Type = "purchase", UserId = "u", Source = "web", OccurredAt = today.ToString("O") });
        bad.Events.Add(new Event { EventId = "bad-2", Type = "page_view", UserId = "u", Source = "web", OccurredAt = today.AddYears(-5).ToString("O"), Page = new PageView { Url = "/" } });
        bad.Events.Add(new Event { EventId = "bad-3", Type = "page_view", UserId = "u", Source = "web", OccurredAt = today.AddDays(3).ToString("O"), Page = new PageView { Url = "/" } });
        bad.Events.Add(new Event { EventId = "bad-4", Type = "teleport", UserId = "u", Source = "web", OccurredAt = today.ToString("O") });
        bad.Events.Add(good);
        bad.Events.Add(good);
        var badResponse = await silo.Client.IngestEventsAsync(bad);
        Assert.Equal(1, badResponse.Accepted);
        shopEvents.Add(good);

        // Archive: a second tenant whose whole history is two to three years old.
        var archiveStream = new SyntheticStream(new SimulationOptions { Users = 10, Seed = 12, Tenant = Archive, AsOf = today.AddYears(-2) });
        var archiveEvents = new List<Event>();
        foreach (var request in archiveStream.IngestRequests(maxEventsPerRequest: 400))
        {
            request.Historical = true;
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
            archiveEvents.AddRange(request.Events);
        }

        var shopUsers = shopEvents.Select(UserKey).Distinct().ToArray();
        // The count is the feature shards' (profiles push there when they write their state), a write-behind after the rest.
        var shop = await WaitForAsync(silo, Shop, s => Int(s, "profiles", "eventsApplied") == shopEvents.Count && Int(s, "ingest", "duplicates") == repeated.Events.Count + 1
            && Int(s, "profiles", "count") == shopUsers.Length);
        var profiles = shop.GetProperty("profiles");
        Assert.Equal(shopUsers.Length, profiles.GetProperty("count").GetInt64());
        // New today: first events since 00:00 UTC, by when they happened; the veterans' import and the year's older
        // users were added today but are not new.
        var firstEvents = shopEvents.GroupBy(UserKey).Select(g => g.Min(e => DateTimeOffset.Parse(e.OccurredAt, System.Globalization.CultureInfo.InvariantCulture))).ToArray();
        Assert.Equal(firstEvents.Count(first => first >= today), profiles.GetProperty("newToday").GetInt64());
        Assert.True(firstEvents.Count(first => first >= today) < shopUsers.Length - 3, "the test needs users first seen before today");
        Assert.Equal(shopUsers.Length, profiles.GetProperty("addedToday").GetInt64());
        Assert.Equal(Counts(shopEvents.GroupBy(e => e.Source)), Map(profiles.GetProperty("eventsBySource")));
        Assert.Equal(Counts(shopEvents.GroupBy(e => e.Type)), Map(profiles.GetProperty("eventsByType")));

        var ingest = shop.GetProperty("ingest");
        Assert.Equal(shopEvents.Count + repeated.Events.Count, ingest.GetProperty("accepted").GetInt64());
        // The duplicates the clients were told of: the retried events the profiles ignored, and the id repeated within the
        // bad batch (answered as a duplicate, not a rejection; probe63 F16).
        Assert.Equal(repeated.Events.Count + 1, ingest.GetProperty("duplicates").GetInt64());
        Assert.Equal(
            new Dictionary<string, long> { ["missing_field"] = 1, ["too_old"] = 1, ["in_future"] = 1, ["invalid_value"] = 1 },
            Map(ingest.GetProperty("rejected")));
        Assert.True(ingest.GetProperty("lagMs").GetProperty("samples").GetInt64() > 0);
        Assert.NotEmpty(ingest.GetProperty("backlog").EnumerateArray());

        // Distributions against the profiles' own views.
        var views = new List<Profile>();
        foreach (var chunk in shopUsers.Chunk(100))
        {
            var read = await silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = Shop, UserIds = { chunk } });
            Assert.Empty(read.Missing);
            views.AddRange(read.Profiles);
        }

        var completeness = profiles.GetProperty("completeness").EnumerateArray().Select(b => b.GetProperty("count").GetInt64()).ToArray();
        Assert.Equal(10, completeness.Length);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)views.Count(v => StatsBuckets.Completeness(v.Completeness) == i)), completeness);
        var perProfile = profiles.GetProperty("eventsPerProfile").EnumerateArray().ToArray();
        for (var i = 0; i < perProfile.Length; i++)
        {
            Assert.Equal(StatsBuckets.EventCountLabel(i), perProfile[i].GetProperty("label").GetString());
            Assert.Equal(views.Count(v => StatsBuckets.EventCount(v.EventsApplied) == i), perProfile[i].GetProperty("count").GetInt64());
        }

        Assert.Equal(shopUsers.Length, perProfile.Sum(b => b.GetProperty("count").GetInt64()));
        var staleness = Labels(profiles.GetProperty("staleness"));
        Assert.Equal(shopUsers.Length, staleness.Values.Sum());
        Assert.Equal(3, staleness["> 1 y"]);

        // The second tenant: its own figures, all of them years old.
        var archiveUsers = archiveEvents.Select(UserKey).Distinct().Count();
        var archive = await WaitForAsync(silo, Archive, s => Int(s, "profiles", "eventsApplied") == archiveEvents.Count && Int(s, "profiles", "count") == archiveUsers);
        Assert.Equal(archiveUsers, archive.GetProperty("profiles").GetProperty("count").GetInt64());
        Assert.Equal(0, archive.GetProperty("profiles").GetProperty("newToday").GetInt64());
        Assert.Equal(archiveUsers, archive.GetProperty("profiles").GetProperty("addedToday").GetInt64());
        Assert.Equal(archiveUsers, Labels(archive.GetProperty("profiles").GetProperty("staleness"))["> 1 y"]);
        Assert.Equal(1.0, archive.GetProperty("profiles").GetProperty("dormantShare").GetDouble());
        Assert.Equal(Counts(archiveEvents.GroupBy(e => e.Type)), Map(archive.GetProperty("profiles").GetProperty("eventsByType")));
        Assert.Empty(Map(archive.GetProperty("ingest").GetProperty("rejected")));
        Assert.Equal(0, archive.GetProperty("ingest").GetProperty("duplicates").GetInt64());

        using var tenants = JsonDocument.Parse(await silo.Http.GetStringAsync("/v1/tenants"));
        var listed = tenants.RootElement.GetProperty("tenants").EnumerateArray().ToDictionary(t => t.GetProperty("tenant").GetString()!, t => t.GetProperty("profiles").GetInt64());
        Assert.Equal(shopUsers.Length, listed[Shop]);
        Assert.Equal(archiveUsers, listed[Archive]);

        // Recommendations: requests, the source mix of what was served, and the distinct items served.
        var recommendations = new RecommendationService.RecommendationServiceClient(silo.Calls);
        await ShopScenario.WaitForInteractionsAsync(recommendations, Shop, 5);
        await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = Shop });
        var served = new List<RecommendedItem>();
        foreach (var user in shopUsers.Take(6))
        {
            served.AddRange((await recommendations.RecommendAsync(new RecommendRequest { Tenant = Shop, UserId = user, N = 5 })).Items);
        }

        shop = await WaitForAsync(silo, Shop, s => Int(s, "recommendations", "requests") == 6);
        var recs = shop.GetProperty("recommendations");
        Assert.Equal(Counts(served.GroupBy(i => i.Source)), Map(recs.GetProperty("sources")));
        Assert.Equal(served.Select(i => i.ItemId).Distinct().Count(), recs.GetProperty("itemsRecommended24h").GetInt64());
        Assert.True(recs.GetProperty("catalogSize").GetInt64() >= recs.GetProperty("itemsRecommended24h").GetInt64());
        Assert.InRange(recs.GetProperty("coverage").GetDouble(), 0.0001, 1);
        Assert.Equal(6, recs.GetProperty("latencyMs").GetProperty("samples").GetInt64());

        // The minute series has the events of this run, oldest first; the hour series too; a bad resolution is named.
        using var minutes = JsonDocument.Parse(await silo.Http.GetStringAsync(Path(Shop, "/series")));
        Assert.Equal("minute", minutes.RootElement.GetProperty("resolution").GetString());
        var points = minutes.RootElement.GetProperty("points").EnumerateArray().ToArray();
        Assert.Equal(shopEvents.Count, points.Sum(p => p.GetProperty("events").GetInt64()));
        Assert.Equal(shopUsers.Length, points.Sum(p => p.GetProperty("newProfiles").GetInt64()));
        Assert.True(points.Select(p => p.GetProperty("t").GetDateTimeOffset()).SequenceEqual(points.Select(p => p.GetProperty("t").GetDateTimeOffset()).Order()));
        Assert.EndsWith("Z", points[0].GetProperty("t").GetString(), StringComparison.Ordinal);
        using var hours = JsonDocument.Parse(await silo.Http.GetStringAsync(Path(Shop, "/series?resolution=hour")));
        Assert.Equal(shopEvents.Count, hours.RootElement.GetProperty("points").EnumerateArray().Sum(p => p.GetProperty("events").GetInt64()));
        using var wrong = await silo.Http.GetAsync(Path(Shop, "/series?resolution=day"));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Contains("resolution", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var unknown = await silo.Http.GetAsync(Path("nobody"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("nobody", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_erased_user_leaves_every_distribution_not_only_the_count()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync(FastFlush);
        var tenant = "erasing";
        var now = DateTimeOffset.UtcNow.AddHours(-1);
        var request = new IngestEventsRequest { Tenant = tenant };
        for (var u = 0; u < 6; u++)
        {
            for (var i = 0; i < (u == 5 ? 10 : u + 1); i++)
            {
                request.Events.Add(new Event
                {
                    EventId = $"e-{u}-{i}", Type = "page_view", UserId = $"u-{u}", Source = "web",
                    OccurredAt = now.AddDays(-10 * u).AddMinutes(i).ToString("O"), Page = new PageView { Url = "/" },
                });
            }
        }

        Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
        static long Counted(JsonElement stats, string distribution) =>
            stats.GetProperty("profiles").GetProperty(distribution).EnumerateArray().Sum(b => b.GetProperty("count").GetInt64());
        var tenOrMore = StatsBuckets.EventCountLabel(StatsBuckets.EventCount(10));
        var before = await WaitForAsync(silo, tenant, s => Int(s, "profiles", "count") == 6 && Counted(s, "completeness") == 6 && Counted(s, "eventsPerProfile") == 6);
        Assert.Equal(1, Labels(before.GetProperty("profiles").GetProperty("eventsPerProfile"))[tenOrMore]);

        using (var erased = await silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/u-5"))
        {
            Assert.Equal(HttpStatusCode.OK, erased.StatusCode);
        }

        // u-5 was the only profile with ten events: its buckets go with it.
        var after = await WaitForAsync(silo, tenant, s => Int(s, "profiles", "count") == 5 && Counted(s, "completeness") == 5);
        Assert.Equal(5, Counted(after, "staleness"));
        Assert.Equal(5, Counted(after, "eventsPerProfile"));
        Assert.Equal(0, Labels(after.GetProperty("profiles").GetProperty("eventsPerProfile")).GetValueOrDefault(tenOrMore));
    }

    [Fact]
    public async Task With_stats_off_nothing_is_collected_and_the_api_says_so_instead_of_showing_zeros()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync(FastFlush, "--ProfileGrid:Stats:Enabled=false");
        var stream = new SyntheticStream(new SimulationOptions { Users = 3, Seed = 5, Tenant = "quiet" });
        foreach (var request in stream.IngestRequests())
        {
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
        }

        foreach (var path in new[] { Path("quiet"), Path("quiet", "/series"), "/v1/tenants" })
        {
            using var response = await silo.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.False(body.RootElement.GetProperty("statsEnabled").GetBoolean());
            Assert.Contains("ProfileGrid:Stats:Enabled", body.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.False(body.RootElement.TryGetProperty("profiles", out _));
        }
    }

    [Fact]
    public async Task A_mistyped_stats_setting_is_refused_at_start_up()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => SiloProcess.StartEphemeralAsync("--ProfileGrid:Stats:FlushIntervall=00:00:01"));
        Assert.Contains("ProfileGrid:Stats:FlushInterval", error.Message, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> WaitForAsync(SiloProcess silo, string tenant, Func<JsonElement, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var response = await silo.Http.GetAsync(Path(tenant));
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                var root = JsonDocument.Parse(last).RootElement.Clone();
                if (condition(root))
                {
                    return root;
                }
            }

            await Task.Delay(100);
        }

        Assert.Fail($"The stats of '{tenant}' did not reach the expected figures; last answer: {last}");
        return default;
    }

    private static long Int(JsonElement stats, string section, string field) => stats.GetProperty(section).GetProperty(field).GetInt64();

    private static Dictionary<string, long> Counts<T>(IEnumerable<IGrouping<string, T>> groups) =>
        groups.OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (long)g.Count());

    private static Dictionary<string, long> Map(JsonElement map) =>
        map.EnumerateObject().Where(p => p.Value.GetInt64() != 0).OrderBy(p => p.Name, StringComparer.Ordinal).ToDictionary(p => p.Name, p => p.Value.GetInt64());

    private static Dictionary<string, long> Labels(JsonElement buckets) =>
        buckets.EnumerateArray().ToDictionary(b => b.GetProperty("label").GetString()!, b => b.GetProperty("count").GetInt64());
}
