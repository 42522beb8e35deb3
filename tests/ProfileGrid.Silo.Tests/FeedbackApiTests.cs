using System.Globalization;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Domain;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The feedback loop through the real host over gRPC: a served list is shown and clicked, the purchase that follows is
/// credited to the list and position in the profile, and items the user keeps passing by are demoted in the next list.
/// </summary>
[Collection(RecommendationSiloCollection.Name)]
public class FeedbackApiTests(RecommendationSiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private RecommendationService.RecommendationServiceClient Recommendations => new(Silo.Calls);

    private static string Time(DateTimeOffset at) => at.ToString("O", CultureInfo.InvariantCulture);

    private static WireEvent Impression(string user, string id, DateTimeOffset at, string recommendationId, IEnumerable<string> items)
    {
        var feedback = new Feedback { RecommendationId = recommendationId, Slot = "home" };
        feedback.ItemIds.AddRange(items);
        return new WireEvent { EventId = id, Type = "impression", UserId = user, Source = "app", OccurredAt = Time(at), Feedback = feedback };
    }

    private static WireEvent Click(string user, string id, DateTimeOffset at, string recommendationId, string item) => new()
    {
        EventId = id, Type = "click", UserId = user, Source = "app", OccurredAt = Time(at),
        Feedback = new Feedback { RecommendationId = recommendationId, Slot = "home", ItemId = item },
    };

    /// <summary>Creates and starts the experiment "home-test" on the home slot (control: popularity; the hybrid).</summary>
    private async Task<ExperimentService.ExperimentServiceClient> StartHomeTestAsync(string tenant)
    {
        var experiments = new ExperimentService.ExperimentServiceClient(Silo.Calls);
        await experiments.CreateExperimentAsync(new PutExperimentRequest { Tenant = tenant, Experiment = ExperimentApiExamples.Valid("home-test") });
        await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "home-test" });
        return experiments;
    }

    [Fact]
    public async Task A_purchase_after_a_click_on_a_served_list_is_credited_to_that_list_and_position()
    {
        var tenant = await ShopScenario.FeedAsync(Silo, "feedback-credit");
        var served = await Recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "alice", N = 4 });
        var shown = served.Items.Select(i => i.ItemId).ToArray();
        var clicked = shown[1];
        // Feedback dated before the list was served counts from the serving, so the responses follow it (within the
        // minutes of clock skew the gateway allows ahead of its time).
        var servedAt = DateTimeOffset.UtcNow;

        var request = new IngestEventsRequest { Tenant = tenant };
        // Sent in the order a phone that was offline would: the web's purchase first, then the app's queue.
        request.Events.Add(ShopScenario.Buy("alice", "alice-after-click", servedAt.AddMinutes(2), "books", [clicked]));
        request.Events.Add(Impression("alice", "alice-shown", servedAt.AddSeconds(1), served.RecommendationId, shown));
        request.Events.Add(Click("alice", "alice-click", servedAt.AddMinutes(1), served.RecommendationId, clicked));
        request.Events.Add(Click("alice", "alice-click-again", servedAt.AddMinutes(1).AddSeconds(3), served.RecommendationId, clicked));
        Assert.Equal(4, (await Silo.Client.IngestEventsAsync(request)).Accepted);

        var profile = await SegmentScenario.PollAsync(
            () => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "alice" }).ResponseAsync,
            p => p.Feedback?.AttributedPurchases == 1,
            "alice's purchase credited to the list she clicked");

        var feedback = profile.Feedback;
        Assert.Equal((1, 4, 1), (feedback.Impressions, feedback.ItemsShown, feedback.Clicks));
        Assert.Equal(1.0, feedback.ClickThroughRate);
        var revenue = Assert.Single(feedback.AttributedRevenue);
        Assert.Equal(("EUR", 12.50m), (revenue.Currency, decimal.Parse(revenue.Amount, CultureInfo.InvariantCulture)));
        var list = Assert.Single(feedback.RecentLists);
        Assert.Equal(served.RecommendationId, list.RecommendationId);
        Assert.Equal("home", list.Slot);
        Assert.Equal((clicked, 2), (Assert.Single(list.Clicks).ItemId, list.Clicks[0].Position));
        Assert.Equal(1, list.Conversions);
        Assert.Equal(3, feedback.MostIgnored.Count);  // the three items shown and not clicked
        Assert.DoesNotContain(feedback.MostIgnored, i => i.ItemId == clicked);
    }

    /// <summary>
    /// probe51: impressions quoting a real list's id with its experiment number made up were accepted, and 20 of them
    /// pushed the user's real experiment out of the profile (it keeps the latest 20), and out of the experiment's results;
    /// and a list's id with the other variant's tag, arriving first, moved the user into that variant.
    /// </summary>
    [Fact]
    public async Task Feedback_tagged_with_an_experiment_or_variant_that_never_served_the_user_is_refused_naming_the_field()
    {
        var tenant = await ShopScenario.FeedAsync(Silo, "feedback-tags");
        var experiments = await StartHomeTestAsync(tenant);
        var number = (await experiments.GetExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "home-test" })).Number;
        var served = await Recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "alice", N = 4, Slot = "home" });
        Assert.Equal("home-test", served.ExperimentId);
        var assigned = served.Variant == "control" ? 0 : 1;
        var list = served.RecommendationId[..served.RecommendationId.LastIndexOf("-x", StringComparison.Ordinal)];
        var shown = served.Items.Select(i => i.ItemId).ToArray();
        var now = DateTimeOffset.UtcNow;

        var request = new IngestEventsRequest { Tenant = tenant };
        request.Events.Add(Impression("alice", "other-variant", now.AddMinutes(-20), list + ExperimentTag.Of(number, 1 - assigned, "alice"), shown));
        for (var i = 0; i < 25; i++)
        {
            request.Events.Add(Impression("alice", $"made-up-{i}", now.AddMinutes(-19 + i / 5.0), list + ExperimentTag.Of(200 + i, 0, "alice"), shown));
        }

        request.Events.Add(Click("alice", "no-such-variant", now.AddMinutes(-12), list + ExperimentTag.Of(number, 7, "alice"), shown[0]));
        request.Events.Add(Impression("alice", "served", now.AddMinutes(-30), served.RecommendationId, shown));
        request.Events.Add(Impression("alice", "bobs-list", now.AddMinutes(-11), list + ExperimentTag.Of(number, 1 - assigned, "bob"), shown)); // someone else's: the profile sets it aside
        request.Events.Add(Impression("alice", "own-list", now.AddMinutes(-10), "shop-list-x", shown));
        var answer = await Silo.Client.IngestEventsAsync(request);

        Assert.Equal(3, answer.Accepted);
        Assert.Equal(Enumerable.Range(0, 27).Select(i => $"events[{i}].feedback.recommendation_id"), answer.Rejected.Select(r => r.Field));
        Assert.Contains($"serves this user variant {assigned}", answer.Rejected[0].Reason, StringComparison.Ordinal);
        Assert.Contains("experiment number 200", answer.Rejected[1].Reason, StringComparison.Ordinal);
        Assert.Contains("variant 7 of experiment 'home-test'", answer.Rejected[^1].Reason, StringComparison.Ordinal);

        var profile = await SegmentScenario.PollAsync(
            () => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "alice" }).ResponseAsync,
            p => p.Feedback?.Impressions == 3,
            "alice's three impressions applied");
        var outcome = Assert.Single(profile.Feedback.Experiments);
        Assert.Equal((number, assigned, 1L), (outcome.ExperimentNumber, outcome.VariantIndex, outcome.Impressions));
    }

    /// <summary>
    /// probe73 F2: a visitor shown a list who then logged in stayed in the feedback shard beside the person it merged into,
    /// so every login after an exposure counted one person twice in the experiment's results and the fairness audit.
    /// </summary>
    [Fact]
    public async Task A_visitor_shown_a_list_who_logs_in_counts_once_in_the_experiment_and_the_audit()
    {
        var tenant = await ShopScenario.FeedAsync(Silo, "feedback-login");
        var experiments = await StartHomeTestAsync(tenant);
        var now = DateTimeOffset.UtcNow;
        var first = new IngestEventsRequest { Tenant = tenant };
        first.Events.Add(new WireEvent { EventId = "vis-arrives", Type = "page_view", AnonymousId = "vis-1", Source = "web", OccurredAt = Time(now.AddMinutes(-5)) });
        Assert.Equal(1, (await Silo.Client.IngestEventsAsync(first)).Accepted);
        // ' Home' is the home slot the experiment names (probe73 F7: it served lists outside every experiment).
        var served = await Recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "anon:vis-1", N = 4, Slot = " Home" });
        Assert.Equal("home-test", served.ExperimentId);

        var shown = new IngestEventsRequest { Tenant = tenant };
        var impression = Impression("", "vis-shown", now.AddMinutes(-4), served.RecommendationId, served.Items.Select(i => i.ItemId));
        impression.AnonymousId = "vis-1";
        shown.Events.Add(impression);
        Assert.Equal(1, (await Silo.Client.IngestEventsAsync(shown)).Accepted);
        var request = new ExperimentRequest { Tenant = tenant, ExperimentId = "home-test" };
        await SegmentScenario.PollAsync(
            () => experiments.GetExperimentResultsAsync(request).ResponseAsync,
            r => r.Variants.Sum(v => v.Users) == 1,
            "the visitor's impression in the results");

        var login = new IngestEventsRequest { Tenant = tenant };
        login.Events.Add(new WireEvent { EventId = "vis-logs-in", Type = "page_view", UserId = "carol", AnonymousId = "vis-1", Source = "web", OccurredAt = Time(now.AddMinutes(-3)) });
        Assert.Equal(1, (await Silo.Client.IngestEventsAsync(login)).Accepted);
        await SegmentScenario.PollAsync(
            () => Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "carol" }).ResponseAsync,
            p => p.Feedback?.Impressions == 1,
            "the visitor's impression in carol's profile");

        // Carol's profile reports the impression now; the visitor's own report must be gone, not counted beside it.
        var results = await SegmentScenario.PollAsync(
            () => experiments.GetExperimentResultsAsync(request).ResponseAsync,
            r => r.Variants.Sum(v => v.Users) == 1 && r.Variants.Sum(v => v.Impressions) == 1
                && Silo.Client.GetProfile(new GetProfileRequest { Tenant = tenant, UserId = "carol" }).Feedback.Experiments.Count == 1,
            "one person, one impression in the results");
        await Task.Delay(TimeSpan.FromSeconds(1));
        results = await experiments.GetExperimentResultsAsync(request);
        Assert.Equal((1L, 1.0), (results.Variants.Sum(v => v.Users), results.Variants.Sum(v => v.Impressions)));
        using var response = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/fairness");
        using var audit = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var groups = audit.RootElement.GetProperty("audit").GetProperty("dimensions")[0].GetProperty("groups").EnumerateArray();
        Assert.Equal(1L, groups.Sum(g => g.GetProperty("tally").GetProperty("exposed_users").GetInt64()));
    }

    /// <summary>
    /// probe73 F13: feedback sent after the user opted out of personalization still counted for their variant. What they
    /// do while opted out counts for no variant; what they did before stays (dropping it would bias the results towards
    /// the variant that put users off), and after an opt-in they count again.
    /// </summary>
    [Fact]
    public async Task What_a_user_does_while_opted_out_counts_for_no_variant()
    {
        var tenant = await ShopScenario.FeedAsync(Silo, "feedback-optout");
        var experiments = await StartHomeTestAsync(tenant);
        var served = await Recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "alice", N = 4, Slot = "home" });
        Assert.Equal("home-test", served.ExperimentId);
        var shown = served.Items.Select(i => i.ItemId).ToArray();
        var now = DateTimeOffset.UtcNow;
        var request = new ExperimentRequest { Tenant = tenant, ExperimentId = "home-test" };

        async Task SendAsync(params WireEvent[] events)
        {
            var ingest = new IngestEventsRequest { Tenant = tenant };
            ingest.Events.AddRange(events);
            Assert.Equal(events.Length, (await Silo.Client.IngestEventsAsync(ingest)).Accepted);
        }

        WireEvent Consent(string id, DateTimeOffset at, bool optIn) => new()
        {
            EventId = id, Type = "preference_set", UserId = "alice", Source = "web", OccurredAt = Time(at),
            Preference = new PreferenceSet { PersonalizationOptIn = optIn },
        };

        // Every click of the user in the feedback shards (experiments or not): the audit's tallies.
        async Task<long> ClicksInShardsAsync()
        {
            using var audit = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/fairness");
            return audit.RootElement.GetProperty("audit").GetProperty("dimensions")[0].GetProperty("groups").EnumerateArray()
                .Sum(g => g.GetProperty("tally").GetProperty("clicks").GetInt64());
        }

        await SendAsync(Impression("alice", "shown", now.AddSeconds(-50), served.RecommendationId, shown));
        await SegmentScenario.PollAsync(() => experiments.GetExperimentResultsAsync(request).ResponseAsync,
            r => r.Variants.Sum(v => v.Impressions) == 1, "alice's impression counted");

        await SendAsync(Consent("out", now.AddSeconds(-40), optIn: false));
        await SendAsync(Click("alice", "clicked-while-out", now.AddSeconds(-30), served.RecommendationId, shown[0]));
        await SegmentScenario.PollAsync(ClicksInShardsAsync, clicks => clicks == 1, "the click in the feedback shards");
        var whileOut = await experiments.GetExperimentResultsAsync(request);
        Assert.Equal((1L, 1.0, 0.0), (whileOut.Variants.Sum(v => v.Users), whileOut.Variants.Sum(v => v.Impressions), whileOut.Variants.Sum(v => v.Clicks)));

        await SendAsync(Consent("in-again", now.AddSeconds(-20), optIn: true));
        await SendAsync(Click("alice", "clicked-when-back", now.AddSeconds(-10), served.RecommendationId, shown[1]));
        var results = await SegmentScenario.PollAsync(() => experiments.GetExperimentResultsAsync(request).ResponseAsync,
            r => r.Variants.Sum(v => v.Clicks) == 1, "the click after the opt-in counted");
        Assert.Equal((1L, 1.0), (results.Variants.Sum(v => v.Users), results.Variants.Sum(v => v.Impressions)));
    }

    [Fact]
    public async Task An_item_shown_three_times_without_a_click_is_demoted_in_the_next_list()
    {
        var tenant = await ShopScenario.FeedAsync(Silo, "feedback-demote");
        var before = await Recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "alice", N = 10 });
        var passedBy = before.Items[0];
        var now = DateTimeOffset.UtcNow;

        var request = new IngestEventsRequest { Tenant = tenant };
        for (var i = 0; i < 3; i++)
        {
            request.Events.Add(Impression("alice", $"shown-{i}", now.AddMinutes(-10 + i), $"rec-list-{i}", [passedBy.ItemId, before.Items[1].ItemId]));
        }

        request.Events.Add(Click("alice", "clicked-second", now.AddMinutes(-7).AddSeconds(30), "rec-list-2", before.Items[1].ItemId));
        Assert.Equal(4, (await Silo.Client.IngestEventsAsync(request)).Accepted);

        var after = await SegmentScenario.PollAsync(
            () => Recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "alice", N = 10 }).ResponseAsync,
            l => l.Items.Any(i => i.Rules.Contains("demoted:ignored")),
            "the item alice passed by three times demoted");

        var demoted = Assert.Single(after.Items, i => i.Rules.Contains("demoted:ignored"));
        Assert.Equal(passedBy.ItemId, demoted.ItemId);
        Assert.Equal(passedBy.Score * 0.5, demoted.Score, 9);
        Assert.NotEqual(passedBy.ItemId, after.Items[0].ItemId);
        // The item clicked in the last list was shown three times too, but the click resets its count.
        Assert.DoesNotContain("demoted:ignored", after.Items.Single(i => i.ItemId == before.Items[1].ItemId).Rules);
    }
}
