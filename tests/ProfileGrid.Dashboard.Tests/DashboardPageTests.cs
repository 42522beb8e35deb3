using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;
using static ProfileGrid.Dashboard.Tests.DashboardGridFixture;

namespace ProfileGrid.Dashboard.Tests;

/// <summary>
/// Every page of the dashboard in headless Chromium against the fixture's grid: each chart drawn with the API's data,
/// figures equal to the API's, live changes without a reload, the tenant selector, empty states and API errors shown
/// as messages, and no console error anywhere.
/// </summary>
[Collection(DashboardGridCollection.Name)]
public sealed class DashboardPageTests(DashboardGridFixture grid, ITestOutputHelper output)
{
    /// <summary>The charts each page must draw for the shop, which has data in every area.</summary>
    private static readonly Dictionary<string, string[]> ChartsByPage = new()
    {
        ["overview"] = ["activity"],
        ["profiles"] = ["new-profiles", "profiles-updated", "completeness", "staleness", "events-per-profile", "events-by-source", "events-by-type"],
        ["ingest"] = ["ingest-volume", "rejected-by-reason", "backlog", "lag"],
        ["segments"] = ["segment-sizes", "segment-moves", "segment-map", "segment-elbow", "segment-silhouette"],
        ["recommendations"] = ["recommendation-requests", "recommendation-latency", "recommendation-sources"],
        ["experiments"] = [$"intervals-{ExperimentId}", $"funnel-{ExperimentId}"],
        ["fairness"] = [],
        ["cluster"] = ["activations", "partition-backlog"],
    };

    /// <summary>Charts whose honest value in a settled grid is zero everywhere (nothing unwritten, no segment moves).</summary>
    private static readonly HashSet<string> MayBeAllZero = ["backlog", "partition-backlog", "segment-moves", "lag"];

    [Fact]
    public async Task Every_page_draws_each_chart_with_the_apis_data_and_logs_no_console_error()
    {
        var clock = Stopwatch.StartNew();
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        foreach (var page in ChartsByPage.Keys)
        {
            var charts = await ExpectedChartsAsync(page);
            await browser.OpenPageAsync(page, Shop);
            await Poll.EventuallyAsync(async () =>
            {
                var drawn = await browser.ChartsAsync();
                var messages = await browser.MessagesAsync();
                Assert.True(messages.Count == 0, $"{page}: panels show messages instead of data: {string.Join("; ", messages.Select(m => $"{m.Key}: {m.Value.Text}"))}");
                Assert.Equal(charts.Order(), drawn.Select(c => c.Id).Order());
                foreach (var chart in drawn)
                {
                    Assert.True(chart.Datasets.Count > 0, $"{page}/{chart.Id} has no datasets");
                    Assert.All(chart.Datasets, d => Assert.True(d.Points > 0, $"{page}/{chart.Id}/{d.Label} has no points"));
                    Assert.True(chart.Width > 100 && chart.Height > 100, $"{page}/{chart.Id} is {chart.Width}x{chart.Height}");
                    if (!MayBeAllZero.Contains(chart.Id))
                    {
                        Assert.True(chart.Datasets.Any(d => d.NonZero > 0), $"{page}/{chart.Id}: every value is zero");
                    }

                    if (chart.Datasets.Any(d => d.NonZero > 0))
                    {
                        Assert.True(chart.ColouredPixels > 100, $"{page}/{chart.Id} holds data but drew {chart.ColouredPixels} coloured pixels");
                    }
                }

                await AssertPointsMatchTheApiAsync(page, drawn);
            });

            Assert.Null(await browser.BannerAsync());
            var shot = await browser.ScreenshotAsync(page);
            output.WriteLine($"{page}: {string.Join(", ", (await browser.ChartsAsync()).Select(c => $"{c.Id} {c.Points} points"))} -> {shot}");
        }

        AssertNoErrors(browser);
        output.WriteLine($"{ChartsByPage.Count} pages in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    [Fact]
    public async Task The_figures_shown_equal_the_apis()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);

        await browser.OpenPageAsync("segments", Shop);
        using (var segments = await GetAsync(TenantPath(Shop, "/segments")))
        {
            var s = segments.RootElement;
            Assert.Equal(Shown.Int(s.GetProperty("modelVersion")), await browser.FigureAsync("segments.modelVersion"));
            Assert.Equal(Shown.Int(s.GetProperty("trainedOn")), await browser.FigureAsync("segments.trainedOn"));
            Assert.Equal(Shown.Fixed(s.GetProperty("silhouette").GetDouble(), 3), await browser.FigureAsync("segments.silhouette"));
            Assert.Equal(Shown.Int(s.GetProperty("usersWithFeatures")), await browser.FigureAsync("segments.usersWithFeatures"));
            foreach (var segment in s.GetProperty("segments").EnumerateArray())
            {
                var row = await browser.RowAsync("segment-table", segment.GetProperty("id").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal(Shown.Int(segment.GetProperty("size")), row[2]);
                Assert.Equal(Shown.Percent(segment.GetProperty("share").GetDouble()), row[3]);
                Assert.Equal(segment.GetProperty("description").GetString(), row[5]);
            }
        }

        await browser.OpenPageAsync("recommendations", Shop);
        using (var recommender = await GetAsync(TenantPath(Shop, "/recommender")))
        {
            var r = recommender.RootElement;
            Assert.Equal(Shown.Int(r.GetProperty("version")), await browser.FigureAsync("recommender.version"));
            Assert.Equal(Shown.Int(r.GetProperty("users")), await browser.FigureAsync("recommender.users"));
            Assert.Equal(Shown.Int(r.GetProperty("items")), await browser.FigureAsync("recommender.items"));
            Assert.Equal(Shown.Int(r.GetProperty("interactions")), await browser.FigureAsync("recommender.interactions"));
        }

        await browser.OpenPageAsync("experiments", Shop);
        using (var results = await GetAsync(TenantPath(Shop, $"/experiments/{ExperimentId}/results")))
        {
            foreach (var variant in results.RootElement.GetProperty("variants").EnumerateArray())
            {
                var row = await browser.RowAsync($"results-{ExperimentId}", variant.GetProperty("key").GetString()!);
                Assert.Equal(Shown.Int(variant.GetProperty("users")), row[1]);
                Assert.Equal(Shown.Int(variant.GetProperty("impressions")), row[3]);
                Assert.Equal(Shown.Int(variant.GetProperty("clicks")), row[4]);
                Assert.Equal(Shown.Percent(variant.GetProperty("ctr").GetDouble()), row[5]);
                Assert.Equal(Shown.Percent(variant.GetProperty("conversionRate").GetDouble()), row[7]);
            }
        }

        await browser.OpenPageAsync("fairness", Shop);
        using (var fairness = await GetAsync(TenantPath(Shop, "/fairness")))
        {
            var audit = fairness.RootElement.GetProperty("audit");
            Assert.Equal(Shown.Int(audit.GetProperty("flags")), await browser.FigureAsync("fairness.flags"));
            Assert.Equal(Shown.Fixed(audit.GetProperty("items").GetProperty("gini").GetDouble(), 3), await browser.FigureAsync("fairness.gini"));
            var segmentGroups = audit.GetProperty("dimensions").EnumerateArray().First(d => d.GetProperty("dimension").GetString() == "segment").GetProperty("groups");
            foreach (var group in segmentGroups.EnumerateArray())
            {
                var row = await browser.RowAsync("fairness-segment", group.GetProperty("group").GetString()!);
                Assert.Equal(Shown.Int(group.GetProperty("tally").GetProperty("users")), row[1]);
            }
        }

        await browser.OpenPageAsync("cluster", null);
        using (var cluster = await GetAsync("/v1/admin/cluster"))
        {
            Assert.Equal(Shown.Int(cluster.RootElement.GetProperty("activeSilos")), await browser.FigureAsync("cluster.silos"));
        }

        // The stats figures move while the grid works; the page follows within a refresh or two.
        foreach (var page in new[] { "overview", "profiles", "ingest", "recommendations" })
        {
            await browser.OpenPageAsync(page, Shop);
            await Poll.EventuallyAsync(async () =>
            {
                using var stats = await GetAsync(TenantPath(Shop, "/stats"));
                var s = stats.RootElement;
                var expected = new Dictionary<string, string>
                {
                    ["profiles.count"] = Shown.Int(s.GetProperty("profiles").GetProperty("count")),
                    ["profiles.newToday"] = Shown.Int(s.GetProperty("profiles").GetProperty("newToday")),
                    ["profiles.addedToday"] = Shown.Int(s.GetProperty("profiles").GetProperty("addedToday")),
                    ["profiles.dormantShare"] = Shown.Percent(s.GetProperty("profiles").GetProperty("dormantShare").GetDouble()),
                    ["ingest.accepted"] = Shown.Int(s.GetProperty("ingest").GetProperty("accepted")),
                    ["ingest.duplicates"] = Shown.Int(s.GetProperty("ingest").GetProperty("duplicates")),
                    ["ingest.rejected"] = Shown.Int(s.GetProperty("ingest").GetProperty("rejected").EnumerateObject().Sum(r => Shown.Number(r.Value))),
                    ["recommendations.requests"] = Shown.Int(s.GetProperty("recommendations").GetProperty("requests")),
                    ["recommendations.coverage"] = Shown.Percent(s.GetProperty("recommendations").GetProperty("coverage").GetDouble()),
                };
                var compared = 0;
                foreach (var (key, value) in expected)
                {
                    if (await browser.FigureAsync(key) is { } shown)
                    {
                        Assert.Equal((key, value), (key, shown));
                        compared++;
                    }
                }

                Assert.True(compared >= 2, $"{page} shows {compared} of the stats figures");
            });
        }

        await browser.OpenPageAsync("overview", Shop);
        Assert.Equal(Shown.Int(ShopUsers), await browser.FigureAsync("profiles.count"));
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task New_events_and_a_retrain_appear_without_a_reload()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        var newcomers = new SyntheticStream(new SimulationOptions { Users = 12, Seed = 77, Tenant = Outlet });
        var before = (await ProfilesAsync(Outlet));

        await browser.OpenPageAsync("overview", Outlet);
        await browser.Page.EvaluateAsync("() => { window.notReloaded = true; }");
        Assert.Equal(Shown.Int(before), await browser.FigureAsync("profiles.count"));

        // New users' events through the public API: the overview's profile count follows without a reload.
        var replay = await new GatewayReplayer(grid.Silo.Client).ReplayAsync(
            newcomers.IngestRequests(500).Select(r => WithUserPrefix(r, "live-")), null, CancellationToken.None);
        Assert.Equal(0L, replay.Rejected);
        await Poll.EventuallyAsync(async () => Assert.Equal(Shown.Int(before + 12), await browser.FigureAsync("profiles.count")), TimeSpan.FromSeconds(30));
        Assert.True(await browser.Page.EvaluateAsync<bool>("() => window.notReloaded === true"), "the page reloaded");

        // A retrain: the segments page shows the new model version, its map and its curves, still without a reload.
        await browser.FollowLinkAsync("segments");
        await browser.Page.EvaluateAsync("() => { window.notReloaded = true; }");
        var segments = new SegmentService.SegmentServiceClient(grid.Silo.Calls);
        var run = await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = Outlet });
        await Poll.EventuallyAsync(async () =>
        {
            Assert.Equal(Shown.Int(run.ModelVersion), await browser.FigureAsync("segments.modelVersion"));
            var map = (await browser.ChartsAsync()).Single(c => c.Id == "segment-map");
            Assert.Equal(run.TrainedOn, map.Points);
        }, TimeSpan.FromSeconds(30));

        var rerun = await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = Outlet });
        Assert.True(rerun.ModelVersion > run.ModelVersion);
        await Poll.EventuallyAsync(async () => Assert.Equal(Shown.Int(rerun.ModelVersion), await browser.FigureAsync("segments.modelVersion")), TimeSpan.FromSeconds(30));
        Assert.True(await browser.Page.EvaluateAsync<bool>("() => window.notReloaded === true"), "the page reloaded");
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task Segment_sizes_from_before_the_first_model_are_a_gap_and_the_legend_says_which_model_named_them()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        // The shop's series as the API answers it, after three minutes of a tenant's events before its first model, as
        // the API reads them: no sizes reported (null). Before the fix those points were drawn as 0 users in every
        // segment, each then seeming to grow from nothing (probe53).
        const int nulled = 3;
        await browser.Page.RouteAsync("**/v1/tenants/*/stats/series*", async route =>
        {
            var response = await route.FetchAsync();
            var series = JsonNode.Parse(await response.TextAsync())!;
            var points = series["points"]!.AsArray();
            var first = points[0]!;
            for (var minutes = 1; minutes <= nulled; minutes++)
            {
                var before = first.DeepClone();
                before["t"] = DateTimeOffset.Parse(first["t"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture).AddMinutes(-minutes).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
                before["segmentSizes"] = null;
                points.Insert(0, before);
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = series.ToJsonString() });
        });
        await browser.OpenPageAsync("segments", Shop);

        await Poll.EventuallyAsync(async () =>
        {
            using var segments = await GetAsync(TenantPath(Shop, "/segments"));
            var named = segments.RootElement.GetProperty("segments").EnumerateArray()
                .Select(x => $"{x.GetProperty("id").GetInt32()} {x.GetProperty("label").GetString()}");
            var sizes = (await browser.ChartsAsync()).Single(c => c.Id == "segment-sizes");
            Assert.All(sizes.Datasets, d => Assert.True(d.Gaps >= nulled, $"{d.Label}: {d.Gaps} gaps, expected at least the {nulled} minutes before any report"));
            Assert.All(sizes.Datasets, d => Assert.True(d.NonZero > 0, $"{d.Label}: no size drawn after the first report"));
            // Each line is named by its id and the current model's label, and the panel says whose labels they are.
            Assert.Equal(named.Order(), sizes.Datasets.Select(d => d.Label).Where(l => !l.EndsWith("(not in this model)", StringComparison.Ordinal)).Order());
            var note = await browser.Page.Locator("[data-panel=segment-sizes] .note").TextContentAsync();
            Assert.Contains($"names as model {Shown.Int(segments.RootElement.GetProperty("modelVersion"))}", note);
        });
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task Idle_minutes_between_two_points_are_drawn_as_zero_counts_and_unknown_latencies()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        // Two busy minutes six minutes apart, as the API answers them (only points with data); the second had events but
        // none applied, so its lag is null. Before the fix the chart drew them side by side with a slope between them,
        // and an idle minute's lag as 0 ms (probe63 F3).
        var start = new DateTimeOffset(2026, 3, 2, 8, 13, 0, TimeSpan.Zero);
        await browser.Page.RouteAsync("**/v1/tenants/*/stats/series*", route => route.FulfillAsync(new RouteFulfillOptions
        {
            ContentType = "application/json",
            Body = new JsonObject
            {
                ["resolution"] = "minute",
                ["points"] = new JsonArray(
                    new JsonObject { ["t"] = start.ToString("O"), ["accepted"] = 10, ["events"] = 10, ["rejected"] = 0, ["duplicates"] = 0, ["lagP95Ms"] = 40.0 },
                    new JsonObject { ["t"] = start.AddMinutes(6).ToString("O"), ["accepted"] = 3, ["events"] = 0, ["rejected"] = 1, ["duplicates"] = 0, ["lagP95Ms"] = null }),
            }.ToJsonString(),
        }));
        await browser.OpenPageAsync("ingest", Shop);

        await Poll.EventuallyAsync(async () =>
        {
            var charts = await browser.ChartsAsync();
            var accepted = charts.Single(c => c.Id == "ingest-volume").Datasets.Single(d => d.Label == "accepted");
            Assert.Equal(new DatasetState("accepted", 7, 2, 0), accepted);
            var lag = Assert.Single(charts.Single(c => c.Id == "lag").Datasets);
            Assert.Equal(7, lag.Points);
            Assert.Equal(6, lag.Gaps);
        });
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task New_drafts_do_not_push_a_running_experiment_off_the_page()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        // The shop's list as the API answers it, with seven drafts created after its running experiment. Before the fix
        // the six newest were shown, all drafts, and the running experiment's results were gone (probe63 F6).
        await browser.Page.RouteAsync(new System.Text.RegularExpressions.Regex("/v1/tenants/[^/]+/experiments$"), async route =>
        {
            var response = await route.FetchAsync();
            var list = JsonNode.Parse(await response.TextAsync())!;
            var experiments = list["experiments"]!.AsArray();
            var running = experiments.Single(e => (string)e!["id"]! == ExperimentId)!;
            for (var i = 1; i <= 7; i++)
            {
                var draft = running.DeepClone();
                draft["id"] = $"draft-{i}";
                draft["status"] = "draft";
                draft["startedAt"] = null;
                draft["createdAt"] = DateTimeOffset.UtcNow.AddMinutes(i).ToString("O");
                experiments.Add(draft);
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = list.ToJsonString() });
        });
        await browser.OpenPageAsync("experiments", Shop);

        await Poll.EventuallyAsync(async () =>
        {
            var charts = await browser.ChartsAsync();
            Assert.Contains(charts, c => c.Id == $"intervals-{ExperimentId}");
            Assert.Contains(charts, c => c.Id == $"funnel-{ExperimentId}");
            Assert.Equal(8, (await browser.Page.Locator("[data-panel=experiment-list] tbody tr").CountAsync()));
        });
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task An_experiment_that_can_assign_nobody_says_why_instead_of_waiting_for_traffic()
    {
        // probe63 F22: an experiment targeting a segment nobody can be in held its share of the layer and looked like one
        // waiting for traffic ("No users exposed yet"); its warning was in the start's answer only.
        var experiments = new ExperimentService.ExperimentServiceClient(grid.Silo.Calls);
        const string id = "vip-typo";
        await experiments.CreateExperimentAsync(new PutExperimentRequest
        {
            Tenant = Outlet,
            Experiment = new ExperimentDefinition
            {
                Id = id,
                Slot = "vip-page",
                Layer = "vip-page",
                Targeting = new ExperimentTargeting { Segments = { "vipp" } },
                Variants =
                {
                    new ExperimentVariant { Key = "popular", Control = true, Algorithm = "popular" },
                    new ExperimentVariant { Key = "model", Algorithm = "model" },
                },
            },
        });
        await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = Outlet, ExperimentId = id });

        await using var browser = await DashboardBrowser.OpenAsync(grid);
        await browser.OpenPageAsync("experiments", Outlet);

        await Poll.EventuallyAsync(async () =>
        {
            var text = await browser.Page.Locator($"[data-panel='results-{id}']").TextContentAsync() ?? "";
            Assert.Contains("Nobody can be assigned: targeting.segments:", text, StringComparison.Ordinal);
            Assert.Contains("'vipp'", text, StringComparison.Ordinal);
        });
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task A_tenant_name_of_the_longest_length_allowed_wraps_inside_the_page()
    {
        // probe63 F5: a 171-character tenant put its percent-encoded path in the empty-state hints as one unbreakable
        // word, and the pages grew 11,000 px wide.
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        var longest = "märkte-" + new string('ж', 249);
        foreach (var page in new[] { "overview", "segments", "experiments" })
        {
            await browser.OpenPageAsync(page, longest);
            var (scroll, viewport) = (await browser.Page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"), await browser.Page.EvaluateAsync<int>("() => window.innerWidth"));
            Assert.True(scroll <= viewport, $"{page}: the page is {scroll} px wide in a {viewport} px window");
        }

        AssertNoErrors(browser);
    }

    [Fact]
    public async Task The_tenant_selector_switches_tenants_and_an_empty_tenant_shows_what_to_do()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        await browser.OpenPageAsync("overview", Shop);
        Assert.Equal(Shown.Int(ShopUsers), await browser.FigureAsync("profiles.count"));

        // The tenants the API lists are the selector's options; choosing one redraws every figure for it.
        using (var tenants = await GetAsync("/v1/tenants"))
        {
            var listed = tenants.RootElement.GetProperty("tenants").EnumerateArray().Select(t => t.GetProperty("tenant").GetString()!).ToList();
            Assert.Contains(Shop, listed);
            Assert.Contains(Outlet, listed);
            var options = await browser.Page.Locator("#tenant option").EvaluateAllAsync<string[]>("options => options.map(o => o.value)");
            Assert.Equal(listed.Order(), options.Order());
        }

        await browser.Page.Locator("#tenant").SelectOptionAsync(Outlet);
        await Poll.EventuallyAsync(async () =>
        {
            Assert.Equal(Outlet, await browser.Page.EvaluateAsync<string>("() => new URLSearchParams(location.search).get('tenant')"));
            Assert.Equal(Shown.Int(await ProfilesAsync(Outlet)), await browser.FigureAsync("profiles.count"));
        });
        Assert.NotEqual(Shown.Int(ShopUsers), await browser.FigureAsync("profiles.count"));
        // The links keep the tenant: the next page opens on the same one.
        await browser.FollowLinkAsync("segments");
        Assert.Equal(Outlet, await browser.Page.Locator("#tenant").InputValueAsync());

        foreach (var page in ChartsByPage.Keys.Where(p => p != "cluster"))
        {
            await browser.OpenPageAsync(page, Nobody);
            var messages = await browser.MessagesAsync();
            Assert.NotEmpty(messages);
            Assert.All(messages, m => Assert.Equal("empty", m.Value.Kind));
            Assert.Empty(await browser.ChartsAsync());
            if (page is "overview" or "segments")
            {
                await browser.ScreenshotAsync($"empty-{page}");
            }
        }

        await browser.OpenPageAsync("profiles", Nobody);
        Assert.Contains("No profiles yet: send events to POST /v1/events:ingest or run ./run.sh", (await browser.MessagesAsync())["profile-figures"].Text);
        await browser.OpenPageAsync("segments", Nobody);
        Assert.Contains($"No segmentation model yet: POST /v1/tenants/{Nobody}/segments:run", (await browser.MessagesAsync())["segment-model"].Text);
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task A_tenant_whose_every_event_was_refused_is_shown_why_not_told_to_send_events()
    {
        var tenant = "refused-" + Guid.NewGuid().ToString("N")[..6];
        var future = DateTimeOffset.UtcNow.AddYears(5).ToString("O");
        var answer = await grid.Silo.Client.IngestEventsAsync(new IngestEventsRequest
        {
            Tenant = tenant,
            Events =
            {
                new Event { EventId = "r-1", Type = "page_view", UserId = "u-1", Source = "web", OccurredAt = future, Page = new PageView { Url = "/" } },
                new Event { EventId = "r-2", Type = "page_view", UserId = "u-2", Source = "fax", OccurredAt = DateTimeOffset.UtcNow.ToString("O"), Page = new PageView { Url = "/" } },
            },
        });
        Assert.Equal(2, answer.Rejected.Count);

        await using var browser = await DashboardBrowser.OpenAsync(grid);
        await browser.OpenPageAsync("ingest", tenant);
        await Poll.EventuallyAsync(async () => Assert.Equal(Shown.Int(2), await browser.FigureAsync("ingest.rejected")));
        Assert.Equal(Shown.Int(0), await browser.FigureAsync("ingest.accepted"));
        Assert.Contains(await browser.ChartsAsync(), c => c.Id == "rejected-by-reason" && c.Datasets.Sum(d => d.NonZero) == 2);
        await browser.OpenPageAsync("overview", tenant);
        await Poll.EventuallyAsync(async () => Assert.Equal(Shown.Int(2), await browser.FigureAsync("ingest.rejected")));
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task A_model_as_of_a_past_day_says_so_on_the_segments_page_with_its_warnings()
    {
        // A history that ended in 2011, segmented as of its end: "last purchase 8 days ago" is as of then, not this week.
        var tenant = "retail-" + Guid.NewGuid().ToString("N")[..6];
        var end = new DateTimeOffset(2011, 12, 9, 12, 0, 0, TimeSpan.Zero);
        var request = new IngestEventsRequest { Tenant = tenant, Historical = true };
        for (var u = 0; u < 24; u++)
        {
            for (var o = 0; o < 1 + u % 4; o++)
            {
                request.Events.Add(new Event
                {
                    EventId = $"o-{u}-{o}", Type = "purchase", UserId = $"c-{u}", Source = "crm", OccurredAt = end.AddDays(-(u * 13) - o * 5).ToString("O"),
                    Purchase = new Purchase { OrderId = $"o-{u}-{o}", Currency = "GBP", Lines = { new PurchaseLine { ProductId = "p-1", Category = "home", Quantity = 1 + u, UnitPrice = "2.55" } } },
                });
            }
        }

        Assert.Empty((await grid.Silo.Client.IngestEventsAsync(request)).Rejected);
        var segments = new SegmentService.SegmentServiceClient(grid.Silo.Calls);
        await Poll.EventuallyAsync(async () => Assert.Equal(24, (await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant })).UsersWithFeatures));
        var run = await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 2, AsOf = "2011-12-10T00:00:00Z" });
        Assert.NotEmpty(run.Warnings);

        await using var browser = await DashboardBrowser.OpenAsync(grid);
        await browser.OpenPageAsync("segments", tenant);
        await Poll.EventuallyAsync(async () => Assert.Equal("2011-12-10 00:00:00 UTC", await browser.FigureAsync("segments.evaluatedAt")));
        var note = await browser.Page.Locator("[data-panel='segment-model'] .note").TextContentAsync();
        Assert.Contains(run.Warnings[0], note);
        AssertNoErrors(browser);
    }

    [Fact]
    public async Task An_api_error_is_a_message_on_its_panels_not_a_blank_chart_or_an_exception()
    {
        await using var browser = await DashboardBrowser.OpenAsync(grid);
        // The segments API fails (as a storage outage would make it); the rest of the grid answers.
        await browser.Page.RouteAsync("**/v1/tenants/*/segments", route => route.FulfillAsync(new RouteFulfillOptions
        {
            Status = 503,
            ContentType = "application/json",
            Body = """{"code":14,"message":"Storage is unavailable; try again.","details":[]}""",
        }));
        await browser.OpenPageAsync("segments", Shop);
        var messages = await browser.MessagesAsync();
        Assert.Equal(("error", "GET /v1/tenants/shop/segments answered 503: Storage is unavailable; try again."), messages["segment-model"]);
        Assert.Empty(await browser.ChartsAsync());
        await browser.OpenPageAsync("overview", Shop);
        Assert.Equal("error", (await browser.MessagesAsync())["segments"].Kind);
        Assert.NotNull(await browser.FigureAsync("profiles.count"));

        // Only the browser's own note of the failed request reaches the console: nothing thrown, nothing else logged.
        Assert.DoesNotContain(browser.Errors, e => e.StartsWith("uncaught", StringComparison.Ordinal));
        Assert.All(browser.Errors, e => Assert.Contains("503", e));

        // When the API recovers, the page recovers on its next refresh.
        await browser.Page.UnrouteAllAsync();
        await Poll.EventuallyAsync(async () => Assert.NotNull(await browser.FigureAsync("segments.modelVersion")));
    }

    /// <summary>The page's charts; the fairness page draws one per dimension with a group large enough to judge.</summary>
    private async Task<string[]> ExpectedChartsAsync(string page)
    {
        if (page != "fairness")
        {
            return ChartsByPage[page];
        }

        using var fairness = await GetAsync(TenantPath(Shop, "/fairness"));
        return fairness.RootElement.GetProperty("audit").GetProperty("dimensions").EnumerateArray()
            .Where(d => d.GetProperty("groups").EnumerateArray().Any(g => g.GetProperty("four_fifths").EnumerateArray().Any(f => f.GetProperty("metric").GetString() is "ctr" or "conversion_rate" && f.GetProperty("verdict").GetString() != "too_small")))
            .Select(d => "ratios-" + d.GetProperty("dimension").GetString())
            .ToArray();
    }

    private static void AssertNoErrors(DashboardBrowser browser) =>
        Assert.True(browser.Errors.Count == 0, "The console logged errors:\n" + string.Join("\n", browser.Errors));

    private async Task AssertPointsMatchTheApiAsync(string page, IReadOnlyList<ChartState> drawn)
    {
        ChartState Chart(string id) => drawn.Single(c => c.Id == id);
        switch (page)
        {
            case "segments":
            {
                using var map = await GetAsync(TenantPath(Shop, "/segments/map"));
                var points = map.RootElement.GetProperty("points").EnumerateArray().ToList();
                Assert.Equal(points.Count, Chart("segment-map").Points);
                Assert.Equal(points.Select(p => p.GetProperty("segmentId").GetInt32()).Distinct().Count(), Chart("segment-map").Datasets.Count);
                using var curves = await GetAsync(TenantPath(Shop, "/segments/curves"));
                var ks = curves.RootElement.GetProperty("points").GetArrayLength();
                Assert.Equal(ks, Chart("segment-elbow").Points);
                Assert.Equal(ks, Chart("segment-silhouette").Points);
                break;
            }

            case "experiments":
            {
                using var results = await GetAsync(TenantPath(Shop, $"/experiments/{ExperimentId}/results"));
                var variants = results.RootElement.GetProperty("variants").GetArrayLength();
                var funnel = Chart($"funnel-{ExperimentId}");
                Assert.Equal(variants, funnel.Datasets.Count);
                Assert.All(funnel.Datasets, d => Assert.Equal(3, d.Points));
                Assert.Equal(3 * results.RootElement.GetProperty("comparisons").GetArrayLength(), Chart($"intervals-{ExperimentId}").Points);
                break;
            }

            case "cluster":
            {
                using var cluster = await GetAsync("/v1/admin/cluster");
                Assert.Equal(cluster.RootElement.GetProperty("activations").EnumerateObject().Count(), Chart("activations").Points);
                using var ingest = await GetAsync("/v1/admin/ingest");
                Assert.All(Chart("partition-backlog").Datasets, d => Assert.Equal(ingest.RootElement.GetProperty("partitions").GetArrayLength(), d.Points));
                break;
            }

            case "profiles":
            {
                using var stats = await GetAsync(TenantPath(Shop, "/stats"));
                var p = stats.RootElement.GetProperty("profiles");
                Assert.Equal(p.GetProperty("completeness").GetArrayLength(), Chart("completeness").Points);
                Assert.Equal(p.GetProperty("staleness").GetArrayLength(), Chart("staleness").Points);
                Assert.Equal(p.GetProperty("eventsBySource").EnumerateObject().Count(), Chart("events-by-source").Points);
                Assert.Equal(p.GetProperty("eventsByType").EnumerateObject().Count(), Chart("events-by-type").Points);
                break;
            }

            case "ingest":
            {
                using var stats = await GetAsync(TenantPath(Shop, "/stats"));
                var i = stats.RootElement.GetProperty("ingest");
                Assert.Equal(i.GetProperty("rejected").EnumerateObject().Count(r => Shown.Number(r.Value) > 0), Chart("rejected-by-reason").Points);
                Assert.All(Chart("backlog").Datasets, d => Assert.Equal(i.GetProperty("backlog").GetArrayLength(), d.Points));
                break;
            }
        }
    }

    private async Task<long> ProfilesAsync(string tenant)
    {
        using var stats = await GetAsync(TenantPath(tenant, "/stats"));
        return (long)Shown.Number(stats.RootElement.GetProperty("profiles").GetProperty("count"));
    }

    private static IngestEventsRequest WithUserPrefix(IngestEventsRequest request, string prefix)
    {
        var copy = request.Clone();
        foreach (var e in copy.Events)
        {
            e.UserId = prefix + e.UserId;
        }

        return copy;
    }

    private static string TenantPath(string tenant, string rest) => $"/v1/tenants/{Uri.EscapeDataString(tenant)}{rest}";

    private async Task<JsonDocument> GetAsync(string path)
    {
        using var response = await grid.Silo.Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body);
    }
}
