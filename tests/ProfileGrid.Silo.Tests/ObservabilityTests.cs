using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// What an operator sees of a real silo process: the Prometheus scrape after an ingest through the gateway, the
/// detailed health report, the Orleans dashboard and the admin switch and access rule. Each test starts its own silo,
/// so the counters it reads hold exactly what it sent.
/// </summary>
public class ObservabilityTests(ITestOutputHelper output)
{
    private static string Recently(int minutesAgo = 10) => DateTimeOffset.UtcNow.AddMinutes(-minutesAgo).ToString("O");

    private static WireEvent PageView(string user, string id, string source) => new()
    {
        EventId = id, Type = "page_view", UserId = user, OccurredAt = Recently(), Source = source, Page = new PageView { Url = "/" },
    };

    private static WireEvent SearchFor(string user, string id) => new()
    {
        EventId = id, Type = "search", UserId = user, OccurredAt = Recently(), Source = "web", Search = new Search { Query = "Schuhe größe 42" },
    };

    [Fact]
    public async Task The_scrape_after_an_ingest_counts_what_the_gateway_acknowledged_and_rejected_and_times_the_writes()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync("--ProfileGrid:Ingest:FlushInterval=00:00:00.200");

        // 4 web page views, 2 app page views, 3 crm page views, 2 web searches, over users with long and non-Latin ids;
        // and 5 bad events of four kinds in the same batches, which must not hold the good ones back.
        var users = new[] { "Zoë-" + Guid.NewGuid().ToString("N")[..6], "用户-" + Guid.NewGuid().ToString("N")[..6], "u/" + new string('x', 200) };
        var first = new IngestEventsRequest { Tenant = "shop (EU) #1" };
        first.Events.Add(Enumerable.Range(0, 4).Select(i => PageView(users[i % 3], $"w-{i}", "web")));
        first.Events.Add(Enumerable.Range(0, 2).Select(i => PageView(users[i], $"a-{i}", "app")));
        first.Events.Add(Future(PageView(users[0], "future", "web")));
        first.Events.Add(new WireEvent { EventId = "bad-type", Type = "teleport", UserId = users[0], OccurredAt = Recently(), Source = "web" });
        first.Events.Add(new WireEvent { EventId = "no-user", Type = "page_view", OccurredAt = Recently(), Source = "web", Page = new PageView { Url = "/" } });
        var second = new IngestEventsRequest { Tenant = "shop (EU) #1" };
        second.Events.Add(Enumerable.Range(0, 3).Select(i => PageView(users[i], $"c-{i}", "crm")));
        second.Events.Add(Enumerable.Range(0, 2).Select(i => SearchFor(users[i], $"s-{i}")));
        second.Events.Add(new WireEvent { EventId = "bad-type-2", Type = "Teleport!", UserId = users[1], OccurredAt = Recently(), Source = "web" });
        second.Events.Add(new WireEvent { EventId = "no-time", Type = "page_view", UserId = users[1], Source = "web", Page = new PageView { Url = "/" } });

        var answers = new[] { await silo.Client.IngestEventsAsync(first), await silo.Client.IngestEventsAsync(second) };
        Assert.Equal(11, answers.Sum(a => a.Accepted));
        Assert.Equal(5, answers.Sum(a => a.Rejected.Count));

        // The write-behind runs on its own schedule: poll the scrape until the writes are timed.
        var metrics = await ScrapeUntilAsync(silo, m => m.Sum("profilegrid_profile_write_duration_milliseconds_count") >= users.Length);

        Assert.Equal(11, metrics.Sum("profilegrid_events_acknowledged_total"));
        Assert.Equal(4, metrics.Sum("profilegrid_events_acknowledged_total", ("event_type", "page_view"), ("source", "web")));
        Assert.Equal(2, metrics.Sum("profilegrid_events_acknowledged_total", ("event_type", "page_view"), ("source", "app")));
        Assert.Equal(3, metrics.Sum("profilegrid_events_acknowledged_total", ("event_type", "page_view"), ("source", "crm")));
        Assert.Equal(2, metrics.Sum("profilegrid_events_acknowledged_total", ("event_type", "search"), ("source", "web")));

        Assert.Equal(5, metrics.Sum("profilegrid_events_rejected_total"));
        Assert.Equal(1, metrics.Sum("profilegrid_events_rejected_total", ("reason", "in_future")));
        Assert.Equal(2, metrics.Sum("profilegrid_events_rejected_total", ("reason", "invalid_value")));
        Assert.Equal(2, metrics.Sum("profilegrid_events_rejected_total", ("reason", "missing_field")));

        // No tenant or user reaches a label: the series stay bounded however many tenants and users there are.
        Assert.DoesNotContain("shop (EU)", metrics.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(users[0], metrics.Text, StringComparison.Ordinal);

        // Every profile wrote at least once; a write takes longer than nothing and less than the test.
        Assert.InRange(metrics.Sum("profilegrid_profile_write_duration_milliseconds_sum"), 0.0001, 60_000);

        // The backlog gauges exist per partition (16 by default) and come back to zero once everything is written.
        metrics = await ScrapeUntilAsync(silo, m => m.Sum("profilegrid_ingest_unwritten_profiles") == 0 && m.Has("profilegrid_ingest_unwritten_profiles"));
        Assert.Equal(16, metrics.LabelsOf("profilegrid_ingest_unwritten_profiles").Select(l => l["partition"]).Distinct().Count());
        Assert.Equal(0, metrics.Sum("profilegrid_ingest_records_awaiting_dispatch"));

        // Orleans' own meters, ASP.NET Core's and the runtime's come with them.
        Assert.True(metrics.Has("orleans_"), "the Microsoft.Orleans meters are exported");
        Assert.True(metrics.Has("orleans_catalog_activations"), "the activation count is exported");

        // But not the two gauges that walk every activation (or directory entry) whenever they are read.
        Assert.False(metrics.Has("orleans_messaging_processing_activation_data"));
        Assert.False(metrics.Has("orleans_directory_cache_size"));
        Assert.True(metrics.Has("http_server_request_duration_seconds"), "ASP.NET Core's request duration is exported");
        Assert.True(metrics.Has("dotnet_gc_"), "the runtime's meters are exported");
    }

    [Fact]
    public async Task The_unpacked_profiles_gauge_counts_profiles_in_use_and_falls_as_idle_ones_pack()
    {
        // Profiles pack after 3 to 6 s without a use (two residency checks); writes behind come 200 ms after the events.
        await using var silo = await SiloProcess.StartEphemeralAsync("--ProfileGrid:Residency:PackIdleAfter=00:00:03", "--ProfileGrid:Ingest:FlushInterval=00:00:00.200");
        const string Gauge = "profilegrid_profiles_unpacked";
        var tenant = "residency-" + Guid.NewGuid().ToString("N")[..6];
        var users = new[] { "Zoë", "用户-1", "u/" + new string('x', 200) };
        var request = new IngestEventsRequest { Tenant = tenant };
        request.Events.Add(users.Select((user, i) => PageView(user, $"p-{i}", "web")));
        Assert.Equal(3, (await silo.Client.IngestEventsAsync(request)).Accepted);

        // Each profile holds its state as objects while in use, then packs once idle.
        await ScrapeUntilAsync(silo, m => m.Sum(Gauge) == 3);
        await ScrapeUntilAsync(silo, m => m.Sum(Gauge) == 0);

        // A read of a packed profile answers from a copy and leaves it packed: the gauge does not move.
        var read = await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = users[1] });
        Assert.Equal(1, read.EventsApplied);
        Assert.Equal(0, (await PrometheusText.ScrapeAsync(silo.Http)).Sum(Gauge));

        // An event unpacks its profile (and only its profile) until that one is idle again.
        var more = new IngestEventsRequest { Tenant = tenant };
        more.Events.Add(PageView(users[2], "p-more", "app"));
        Assert.Equal(1, (await silo.Client.IngestEventsAsync(more)).Accepted);
        await ScrapeUntilAsync(silo, m => m.Sum(Gauge) == 1);
        await ScrapeUntilAsync(silo, m => m.Sum(Gauge) == 0);
    }

    [Fact]
    public async Task Operators_get_a_detailed_health_report_the_admin_api_and_the_Orleans_dashboard_from_this_machine()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync("--ProfileGrid:Admin:OrleansDashboard=true");

        using var plain = await silo.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal("Healthy", await plain.Content.ReadAsStringAsync());

        var report = await HealthAsync(silo);
        Assert.Equal("Healthy", report.Status);
        Assert.Equal(["ingest", "silo", "storage"], report.Checks.Keys.Order());
        Assert.StartsWith("started", report.Checks["silo"].Description);
        Assert.StartsWith("memory", report.Checks["storage"].Description);
        Assert.Contains("0 profiles with unwritten state", report.Checks["ingest"].Description);

        using var ingest = await silo.Http.GetAsync("/v1/admin/ingest");
        Assert.Equal(HttpStatusCode.OK, ingest.StatusCode);

        using var dashboard = await silo.Http.GetAsync("/orleans/");
        Assert.Equal(HttpStatusCode.OK, dashboard.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await dashboard.Content.ReadAsStringAsync());

        // The web dashboard's path stays free for it.
        using var web = await silo.Http.GetAsync("/dashboard");
        Assert.DoesNotContain("<title>Orleans Dashboard</title>", await web.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_Orleans_dashboard_is_off_unless_asked_for_and_says_which_setting_turns_it_on()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync();

        foreach (var path in new[] { "/orleans", "/orleans/", "/orleans/DashboardCounters" })
        {
            using var response = await silo.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path} answered {response.StatusCode}");
            Assert.Contains("ProfileGrid:Admin:OrleansDashboard=true", await response.Content.ReadAsStringAsync());
        }

        // The rest of the operator surface is there as before.
        using var ingest = await silo.Http.GetAsync("/v1/admin/ingest");
        Assert.Equal(HttpStatusCode.OK, ingest.StatusCode);
    }

    [Fact]
    public async Task With_the_admin_switch_off_the_dashboard_the_admin_api_and_the_detailed_report_are_not_there()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync("--ProfileGrid:Admin:Enabled=false", "--ProfileGrid:Admin:OrleansDashboard=true");

        foreach (var path in new[] { "/orleans", "/orleans/", "/v1/admin/ingest", "/v1/admin/cluster", "/healthz/detail" })
        {
            using var response = await silo.Http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path} answered {response.StatusCode}");
        }

        // What load balancers and scrapers use stays.
        using var health = await silo.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var metrics = await silo.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
    }

    [Fact]
    public async Task A_caller_from_another_machine_is_refused_the_operator_surface_unless_remote_access_is_allowed()
    {
        if (NonLoopbackAddress() is not { } address)
        {
            output.WriteLine("This machine has no non-loopback IPv4 address to call from; nothing to check.");
            return;
        }

        foreach (var allowRemote in new[] { false, true })
        {
            await using var silo = await SiloProcess.StartEphemeralAsync(
                "--ProfileGrid:Endpoints:ListenAddress=0.0.0.0", $"--ProfileGrid:Admin:AllowRemote={allowRemote}", "--ProfileGrid:Admin:OrleansDashboard=true");
            using var remote = new HttpClient { BaseAddress = new Uri($"http://{address}:{silo.HttpPort}") };
            foreach (var path in new[] { "/v1/admin/ingest", "/orleans/", "/healthz/detail" })
            {
                using var response = await remote.GetAsync(path);
                var expected = allowRemote ? HttpStatusCode.OK : HttpStatusCode.Forbidden;
                Assert.True(response.StatusCode == expected, $"{path} from {address} with AllowRemote={allowRemote} answered {response.StatusCode}");
                if (!allowRemote)
                {
                    Assert.Contains("ProfileGrid:Admin:AllowRemote", await response.Content.ReadAsStringAsync());
                }
            }

            // Scrapers and load balancers run elsewhere: /metrics and /healthz answer any caller.
            using var metrics = await remote.GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
            using var health = await remote.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
    }

    [Fact]
    public async Task The_ingest_check_degrades_above_its_backlog_limit_with_the_figures_and_recovers_once_written()
    {
        // Profiles wait a minute before writing behind (and no quiet-spell flush), so what is sent stays unwritten.
        await using var silo = await SiloProcess.StartEphemeralAsync(
            "--ProfileGrid:Health:MaxUnwrittenProfiles=2", "--ProfileGrid:Ingest:FlushInterval=00:01:00", "--ProfileGrid:Ingest:QuietFlushAfter=00:00:00",
            "--ProfileGrid:Ingest:StuckAfter=00:05:00");
        var request = new IngestEventsRequest { Tenant = "backlog" };
        request.Events.Add(Enumerable.Range(0, 3).Select(i => PageView($"user-{i}", $"e-{i}", "web")));
        Assert.Equal(3, (await silo.Client.IngestEventsAsync(request)).Accepted);

        var report = await HealthUntilAsync(silo, r => r.Checks["ingest"].Status == "Degraded");
        Assert.Equal("Degraded", report.Status);
        Assert.Contains("3 profiles with unwritten state (limit 2)", report.Checks["ingest"].Description);

        // Degraded is not down: the plain readiness answer stays 200 for the load balancer.
        using var plain = await silo.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);

        // The scrape shows the same backlog on the partitions that hold it.
        var metrics = await PrometheusText.ScrapeAsync(silo.Http);
        Assert.Equal(3, metrics.Sum("profilegrid_ingest_unwritten_profiles"));
    }

    [Fact]
    public async Task An_OTLP_endpoint_that_is_not_an_http_uri_stops_the_host_naming_the_setting()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll"));
        foreach (var argument in new[] { "--ProfileGrid:Storage=Memory", "--ProfileGrid:Telemetry:OtlpEndpoint=otel-collector:4317", "--ProfileGrid:Admin:AlowRemote=true" })
        {
            start.ArgumentList.Add(argument);
        }

        var (exitCode, _, errors) = await HostRun.ToExitAsync(start);

        Assert.Equal(2, exitCode);
        Assert.Contains("ProfileGrid:Telemetry:OtlpEndpoint 'otel-collector:4317' is not an absolute http:// or https:// URI", errors);
        Assert.Contains("ProfileGrid:Admin:AlowRemote is not a setting (did you mean ProfileGrid:Admin:AllowRemote?)", errors);
    }

    internal static async Task<PrometheusText> ScrapeUntilAsync(SiloProcess silo, Func<PrometheusText, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var metrics = await PrometheusText.ScrapeAsync(silo.Http);
            if (condition(metrics))
            {
                return metrics;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The scrape did not reach the expected state within 30 s:\n{metrics.Text}");
            }

            await Task.Delay(200);
        }
    }

    internal sealed record HealthCheck(string Status, string? Description);

    internal sealed record HealthReport(string Status, Dictionary<string, HealthCheck> Checks, int HttpStatus);

    internal static async Task<HealthReport> HealthAsync(SiloProcess silo)
    {
        using var response = await silo.Http.GetAsync("/healthz/detail");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var checks = json.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(
            c => c.GetProperty("name").GetString()!,
            c => new HealthCheck(c.GetProperty("status").GetString()!, c.GetProperty("description").GetString()));
        return new HealthReport(json.RootElement.GetProperty("status").GetString()!, checks, (int)response.StatusCode);
    }

    internal static async Task<HealthReport> HealthUntilAsync(SiloProcess silo, Func<HealthReport, bool> condition, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var report = await HealthAsync(silo);
            if (condition(report))
            {
                return report;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"The health report did not reach the expected state within {seconds} s: {JsonSerializer.Serialize(report)}");
            }

            await Task.Delay(250);
        }
    }

    private static WireEvent Future(WireEvent e)
    {
        e.OccurredAt = DateTimeOffset.UtcNow.AddDays(2).ToString("O");
        return e;
    }

    private static IPAddress? NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
}
