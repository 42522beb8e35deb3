using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using DuckDB.NET.Data;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Erasure of a user from a real silo process on Azurite with a lake: afterwards every table, blob (log segments,
/// Parquet files read raw and with DuckDB, grain state, snapshots) and queue is searched for the user's ids and its
/// events' ids, and the API is asked; the other users' profiles and lake rows are unchanged.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class PrivacySiloTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    internal static readonly string[] Settings =
    [
        "--ProfileGrid:Lake:ArchiveInterval=00:00:00.200", "--ProfileGrid:Lake:CompactionThreshold=3",
        "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.100", "--ProfileGrid:Ingest:FlushInterval=00:00:00.200",
        "--ProfileGrid:Segmentation:ShardFlushInterval=00:00:00.100", "--ProfileGrid:Recommendations:ShardFlushInterval=00:00:00.100",
    ];

    [Fact]
    public async Task An_erased_user_is_found_in_no_store_and_the_others_are_untouched()
    {
        var serviceId = "p" + Guid.NewGuid().ToString("N")[..10];
        var stream = new SyntheticStream(new SimulationOptions { Users = 20, Seed = 7 });
        var tenant = stream.Options.Tenant;
        var tag = Guid.NewGuid().ToString("N")[..12];
        var victim = new VictimHistory(tenant, tag);

        await using var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, Settings);
        foreach (var request in stream.IngestRequests(maxEventsPerRequest: 40))
        {
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
        }

        foreach (var request in victim.Requests())
        {
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
        }

        var expected = stream.ComputeExpectedTotals();
        await ProfileAssertions.WaitUntilAsync(silo.Client, expected, tenant, TimeSpan.FromSeconds(90), exact: true);
        await WaitForAsync(async () => (await TryGetProfileAsync(silo, tenant, victim.UserId))?.EventsApplied == victim.MergedEvents, "the victim's profile");
        await WaitForAsync(async () => (await TryGetProfileAsync(silo, tenant, victim.AnonymousProfile))?.EventsApplied == victim.MergedEvents, "the anonymous profile, merged into the user's");

        // Everything archived, a snapshot taken with the victim in it: the search must find the victim everywhere first.
        await ArchiveEverythingAsync(silo);
        var search = new StoreSearch(azurite.ConnectionString, [tag]);
        await WaitForAsync(async () =>
        {
            (await silo.Http.PostAsync("/v1/admin/lake/snapshot", Json(new { tenant }))).EnsureSuccessStatusCode();
            var found = await search.FindAsync();
            return found.Any(f => f.Contains("-eventlog/")) && found.Any(f => f.Contains("/events/")) && found.Any(f => f.Contains("/snapshots/"))
                && found.Any(f => f.StartsWith("table ", StringComparison.Ordinal));
        }, "the victim in the log, the lake's events and snapshots, and the tables before the erasure");
        var before = await search.FindAsync();
        output.WriteLine($"Before the erasure the victim was found in {before.Count} places:\n  " + string.Join("\n  ", before.Take(40)));

        // The export holds what was sent: every event of the user and of its linked visitor, the link, the profile.
        var export = await silo.Http.GetAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(victim.UserId)}/export");
        Assert.Equal(HttpStatusCode.OK, export.StatusCode);
        using (var exported = JsonDocument.Parse(await export.Content.ReadAsStringAsync()))
        {
            var root = exported.RootElement;
            Assert.Equal(victim.UserId, root.GetProperty("userId").GetString());
            Assert.Equal(victim.MergedEvents, root.GetProperty("profile").GetProperty("eventsApplied").GetInt64());
            Assert.Equal([victim.AnonymousId], root.GetProperty("identityLinks").GetProperty("anonymousIds").EnumerateArray().Select(e => e.GetString()!).ToArray());
            var linkedProfile = root.GetProperty("identityLinks").GetProperty("profiles")[0];
            Assert.Equal(victim.AnonymousProfile, linkedProfile.GetProperty("userId").GetString());
            Assert.Equal(victim.AnonymousEvents, linkedProfile.GetProperty("profile").GetProperty("eventsApplied").GetInt64());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("consent").GetProperty("personalization").ValueKind);
            var events = root.GetProperty("events").EnumerateArray().ToList();
            Assert.Equal(
                victim.Requests().SelectMany(r => r.Events).Select(e => e.EventId).Order(StringComparer.Ordinal),
                events.Select(e => e.GetProperty("event_id").GetString()!).Order(StringComparer.Ordinal));
            var purchase = events.Single(e => e.GetProperty("type").GetString() == "purchase");
            Assert.Equal($"ord-{tag}", purchase.GetProperty("order_id").GetString());
            Assert.Equal(25m, purchase.GetProperty("order_total").GetDecimal());
            Assert.Equal("Zürich", events.First(e => e.GetProperty("type").GetString() == "page_view").GetProperty("city").GetString());
            Assert.True(root.GetProperty("feedback").GetProperty("clicks").GetInt64() >= 1);
        }

        var recommender = new RecommendationService.RecommendationServiceClient(silo.Calls);
        var trainedBefore = await recommender.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });

        var asOf = DateTimeOffset.UtcNow.ToString("O");
        var others = expected.Users.Keys.ToList();
        var documents = await DocumentsAsync(silo, tenant, others, asOf);

        var response = await silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(victim.UserId)}");
        var receiptText = await response.Content.ReadAsStringAsync();
        output.WriteLine(receiptText);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var receipt = JsonDocument.Parse(receiptText);
        Assert.True(receipt.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal([victim.UserId, victim.AnonymousProfile], receipt.RootElement.GetProperty("profilesErased").EnumerateArray().Select(e => e.GetString()!).ToArray());
        var profilesStep = receipt.RootElement.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("store").GetString() == "profiles");
        Assert.Equal(2, profilesStep.GetProperty("removed").GetProperty("profiles").GetInt64());

        // The log's last segments go once the checkpoint passes them (the next archive steps): poll, then nothing anywhere.
        var deadline = DateTime.UtcNow.AddSeconds(90);
        List<string> left;
        while ((left = await search.FindAsync()).Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        Assert.True(left.Count == 0, "After the erasure the user is still in:\n  " + string.Join("\n  ", left));

        // The API knows nothing of them.
        Assert.Null(await TryGetProfileAsync(silo, tenant, victim.UserId));
        Assert.Null(await TryGetProfileAsync(silo, tenant, victim.AnonymousProfile));
        Assert.Equal(HttpStatusCode.NotFound, (await silo.Http.GetAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(victim.UserId)}/export")).StatusCode);
        // Retrained, the recommender learns from one user fewer (the victim's item history left the interaction shards).
        var trainedAfter = await recommender.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });
        Assert.Equal(trainedBefore.UsersWithInteractions - 1, trainedAfter.UsersWithInteractions);

        // Everyone else: the same documents, and every one of their events still in the lake.
        Assert.Equal(documents, await DocumentsAsync(silo, tenant, others, asOf));

        // A rebuild of the whole tenant from the lake and the log brings nobody back.
        var rebuilt = await silo.Http.PostAsync("/v1/admin/lake/rebuild", Json(new { tenant }));
        Assert.True(rebuilt.IsSuccessStatusCode, await rebuilt.Content.ReadAsStringAsync());
        Assert.Null(await TryGetProfileAsync(silo, tenant, victim.UserId));
        Assert.Null(await TryGetProfileAsync(silo, tenant, victim.AnonymousProfile));
        foreach (var user in others)
        {
            Assert.Equal(expected.Users[user].Events, (await TryGetProfileAsync(silo, tenant, user))!.EventsApplied);
        }
        await ArchiveEverythingAsync(silo);
        var folder = await DownloadAsync(new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{serviceId}-lake"), "events/");
        try
        {
            using var duck = new DuckDBConnection("Data Source=:memory:");
            duck.Open();
            var rows = $"read_parquet('{folder}/events/**/*.parquet', hive_partitioning = false)";
            Assert.Equal(expected.Events, Scalar(duck, $"SELECT count(DISTINCT (user_id, event_id)) FROM {rows} WHERE tenant = '{tenant}'"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        // Sent again (a re-import of an old file), the erased events stay erased; a new event starts a new profile.
        foreach (var request in victim.Requests(ahead: false))
        {
            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
        }

        var fresh = new IngestEventsRequest { Tenant = tenant, Events = { victim.PageView("after-erasure", DateTimeOffset.UtcNow.AddSeconds(-1)) } };
        Assert.Empty((await silo.Client.IngestEventsAsync(fresh)).Rejected);
        await WaitForAsync(async () => (await TryGetProfileAsync(silo, tenant, victim.UserId))?.EventsApplied == 1, "a fresh profile with the one new event");
        await ArchiveEverythingAsync(silo);
        Assert.Equal(1, (await TryGetProfileAsync(silo, tenant, victim.UserId))!.EventsApplied);
        Assert.Null(await TryGetProfileAsync(silo, tenant, victim.AnonymousProfile));
    }

    // It once failed under the full suite's load: the resumed erasure archived at most 20 records per partition and left the
    // rest of the log, and so its trim, to archive steps that only this test's polling drove. Now the erasure itself gets
    // every sealed segment archived and deleted, and the test no longer archives anything after the restart.
    // Skipped for a while (2026-12-03): partitions whose process died between sealing a segment for the erasure and
    // creating the next one were left with the sealed segment last, which the trim always keeps. The log now creates the
    // missing segment when it resumes (AzureBlobEventLogTests covers that case on its own).
    [Fact]
    public async Task A_silo_killed_mid_erasure_finishes_it_after_its_restart_without_being_asked_again()
    {
        var serviceId = "q" + Guid.NewGuid().ToString("N")[..10];
        var stream = new SyntheticStream(new SimulationOptions { Users = 10, Seed = 9 });
        var tenant = stream.Options.Tenant;
        var tag = Guid.NewGuid().ToString("N")[..12];
        var victim = new VictimHistory(tenant, tag);

        // Archive steps of one record, and none by the timer: the erasure archives the log itself, which takes a while (the
        // window for the kill); after the restart the test archives nothing, so the resumed erasure has to. Log lines carry
        // their time, for the output of a failure.
        var settings = Settings.Where(s => !s.Contains("ArchiveInterval", StringComparison.Ordinal))
            .Concat(["--ProfileGrid:Lake:ArchiveInterval=01:00:00", "--ProfileGrid:Lake:MaxRecordsPerArchive=1", "--Logging:Console:TimestampFormat=HH:mm:ss.fff "]).ToArray();
        var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, settings);
        try
        {
            foreach (var request in victim.Requests().Concat(stream.IngestRequests(maxEventsPerRequest: 5)))
            {
                Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
            }

            await ProfileAssertions.WaitUntilAsync(silo.Client, stream.ComputeExpectedTotals(), tenant, TimeSpan.FromSeconds(90), exact: true);
            await WaitForAsync(async () => (await TryGetProfileAsync(silo, tenant, victim.UserId))?.EventsApplied == victim.MergedEvents, "the victim's profile");
            await ArchiveEverythingAsync(silo);

            // More history after the archive, so that the erasure has log to archive before it rewrites the lake.
            foreach (var request in stream.IngestRequests(maxEventsPerRequest: 3))
            {
                await silo.Client.IngestEventsAsync(request);
            }

            var erasing = silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(victim.UserId)}");
            await WaitForAsync(async () => await TryGetProfileAsync(silo, tenant, victim.UserId) is null, "the erasure to begin", 60);
            await silo.KillAsync();
            await Assert.ThrowsAnyAsync<Exception>(() => erasing);
        }
        catch
        {
            output.WriteLine(silo.Output);
            throw;
        }

        var search = new StoreSearch(azurite.ConnectionString, [tag]);
        var atKill = await search.FindAsync();
        output.WriteLine($"When the silo was killed the victim was still in {atKill.Count} places:\n  " + string.Join("\n  ", atKill));

        // Restarted, nobody asks again: the ledger's reminder finds the erasure pending and finishes it. Measured 73 s after
        // the restart on a quiet machine and 182-214 s with two more busy processes (the reminder's first tick alone came
        // about 100 s after the restart there), so the bound is five minutes. Two minutes to come back: on a loaded
        // machine a restart has been seen to take over one.
        await using var restarted = await silo.StartAgainAsync(TimeSpan.FromSeconds(120));
        await silo.DisposeAsync();
        var sinceRestart = System.Diagnostics.Stopwatch.StartNew();
        var deadline = DateTime.UtcNow.AddSeconds(300);
        List<string> left;
        string? shown = null;
        while ((left = await search.FindAsync()).Count > 0 && DateTime.UtcNow < deadline)
        {
            if (string.Join("\n  ", left) is var now && now != shown)
            {
                output.WriteLine($"{sinceRestart.Elapsed.TotalSeconds:F0} s after the restart the user is still in:\n  {now}");
                shown = now;
            }

            await Task.Delay(1000);
        }

        output.WriteLine($"{sinceRestart.Elapsed.TotalSeconds:F0} s after the restart the user is in {left.Count} places.");
        Assert.True(left.Count == 0, "After the restart the user is still in:\n  " + string.Join("\n  ", left) + "\n" + restarted.Output);
        Assert.Null(await TryGetProfileAsync(restarted, tenant, victim.UserId));
        Assert.Null(await TryGetProfileAsync(restarted, tenant, victim.AnonymousProfile));
    }

    internal static async Task<Profile?> TryGetProfileAsync(SiloProcess silo, string tenant, string userId)
    {
        try
        {
            return await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = userId });
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
    }

    internal static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 90)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(200);
        }
    }

    internal static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task<Dictionary<string, string>> DocumentsAsync(SiloProcess silo, string tenant, List<string> users, string asOf)
    {
        var documents = new Dictionary<string, string>();
        foreach (var user in users)
        {
            documents[user] = await silo.Http.GetStringAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(user)}/document?asOf={Uri.EscapeDataString(asOf)}");
        }

        return documents;
    }

    /// <summary>POST /v1/admin/lake/archive until no partition's watermark moves.</summary>
    internal static async Task ArchiveEverythingAsync(SiloProcess silo)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        string? last = null;
        while (true)
        {
            var response = await silo.Http.PostAsync("/v1/admin/lake/archive", null);
            response.EnsureSuccessStatusCode();
            var body = await response.Content.ReadAsStringAsync();
            if (body == last)
            {
                return;
            }

            last = body;
            Assert.True(DateTime.UtcNow < deadline, "The archive did not catch up with the log.");
        }
    }

    internal static async Task<string> DownloadAsync(BlobContainerClient container, string prefix)
    {
        var folder = Path.Combine(Path.GetTempPath(), "pg-privacy-" + Guid.NewGuid().ToString("N")[..10]);
        await foreach (var blob in container.GetBlobsAsync(new Azure.Storage.Blobs.Models.GetBlobsOptions { Prefix = prefix }))
        {
            var path = Path.Combine(folder, blob.Name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await container.GetBlobClient(blob.Name).DownloadToAsync(path);
        }

        return folder;
    }

    internal static long Scalar(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar());
    }
}

/// <summary>
/// A messy history of one user whose every id carries <c>tag</c>: a non-Latin user id, an anonymous visit linked at
/// login, events from almost three years ago and from today, a search, a purchase and its refund, identify traits, a list shown and clicked.
/// </summary>
internal sealed class VictimHistory(string tenant, string tag)
{
    public string UserId { get; } = $"zoë-用户 {tag}";

    public string AnonymousId { get; } = $"visitor-{tag}";

    public string AnonymousProfile => "anon:" + AnonymousId;

    public int UserEvents => 10;

    public int AnonymousEvents => 2;

    /// <summary>The user's profile after the login merged the visitor's history into it (docs/identity.md); the visitor's profile answers as the user's.</summary>
    public int MergedEvents => UserEvents + AnonymousEvents;

    public string Tag => tag;

    private static string At(DateTimeOffset at) => at.ToString("O");

    public WireEvent PageView(string id, DateTimeOffset at, bool anonymous = false) => new()
    {
        EventId = $"ev-{tag}-{id}",
        Type = "page_view",
        UserId = anonymous ? "" : UserId,
        AnonymousId = anonymous ? AnonymousId : "",
        OccurredAt = At(at),
        Source = "web",
        Context = new EventContext { Device = "mobile", Country = "CH", City = "Zürich", UserAgent = $"Mozilla/5.0 {tag}", SessionId = $"s-{tag}" },
        Page = new PageView { Url = $"/p?q={tag}", Referrer = "https://example.org/" },
    };

    // Taken at the first send: a later one sends the same events (the same file imported again), not events dated anew.
    private DateTimeOffset? _firstSent;

    /// <param name="ahead">With the event a device whose clock runs fast dated minutes ahead: after the erasure it is no
    /// event from before it (its time is past the cut-off), so a re-import to check that old events stay erased leaves it out.</param>
    public IEnumerable<IngestEventsRequest> Requests(bool ahead = true)
    {
        var now = _firstSent ??= DateTimeOffset.UtcNow;
        // The product is the catalogue's, not the user's (item ids stay in the item index): it carries no tag.
        const string product = "sku-books-0042";
        yield return new IngestEventsRequest
        {
            Tenant = tenant,
            Events = { PageView("a1", now.AddHours(-3), anonymous: true), PageView("a2", now.AddHours(-2).AddMinutes(-50), anonymous: true) },
        };
        yield return new IngestEventsRequest
        {
            Tenant = tenant,
            Events =
            {
                PageView("old", now.AddDays(-1000)),
                new WireEvent(PageView("login", now.AddHours(-2))) { Type = "identify", Page = null, AnonymousId = AnonymousId,
                    Identify = new Identify { Demographics = new Demographics { BirthYear = 1980, Country = "CH", City = "Zürich" }, Traits = { ["crm"] = $"crm-{tag}" } } },
                new WireEvent(PageView("view", now.AddHours(-1))) { Type = "product_view", Page = null,
                    Product = new ProductAction { ProductId = product, Category = "books", UnitPrice = "12.50", Currency = "CHF" } },
                new WireEvent(PageView("search", now.AddMinutes(-55))) { Type = "search", Page = null, Search = new Search { Query = $"rare {tag}", ResultCount = 3 } },
                new WireEvent(PageView("buy", now.AddMinutes(-50))) { Type = "purchase", Page = null,
                    Purchase = new Purchase { OrderId = $"ord-{tag}", Currency = "CHF", Lines = { new PurchaseLine { ProductId = product, Category = "books", Quantity = 2, UnitPrice = "12.50" } } } },
                new WireEvent(PageView("refund", now.AddMinutes(-45))) { Type = "refund", Page = null,
                    Refund = new Refund { RefundId = $"ref-{tag}", OrderId = $"ord-{tag}", Currency = "CHF", Amount = "12.50" } },
                new WireEvent(PageView("shown", now.AddMinutes(-40))) { Type = "impression", Page = null,
                    Feedback = new Feedback { RecommendationId = $"rec-{tag}", Slot = "home", ItemIds = { product, "other-item" } } },
                new WireEvent(PageView("clicked", now.AddMinutes(-39))) { Type = "click", Page = null,
                    Feedback = new Feedback { RecommendationId = $"rec-{tag}", Slot = "home", ItemId = product, Position = 0 } },
                PageView("last", now.AddMinutes(-30)),
            },
        };
        if (ahead)
        {
            // Acknowledged before the erasure, dated after it, within the gateway's skew (probe68: archived to the lake by
            // the erasure itself, and back as a profile with a rebuild).
            yield return new IngestEventsRequest { Tenant = tenant, Events = { PageView("ahead", now.AddMinutes(4)) } };
        }
    }
}

/// <summary>Every table entity, blob and queue message of an Azurite account, searched for strings (raw bytes, and Parquet through DuckDB).</summary>
internal sealed class StoreSearch(string connectionString, string[] needles)
{
    public async Task<List<string>> FindAsync()
    {
        var found = new List<string>();
        var tables = new TableServiceClient(connectionString);
        await foreach (var table in tables.QueryAsync())
        {
            await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                foreach (var (name, value) in entity)
                {
                    if (Contains(value))
                    {
                        found.Add($"table {table.Name} {entity.PartitionKey}|{entity.RowKey} .{name}");
                    }
                }
            }
        }

        var blobs = new BlobServiceClient(connectionString);
        await foreach (var container in blobs.GetBlobContainersAsync())
        {
            var client = blobs.GetBlobContainerClient(container.Name);
            await foreach (var blob in client.GetBlobsAsync())
            {
                byte[] bytes;
                try
                {
                    bytes = (await client.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToArray();
                }
                catch (Azure.RequestFailedException ex) when (ex.Status == 404)
                {
                    continue; // deleted since the listing (a compaction, a trim)
                }

                var where = $"blob {container.Name}/{blob.Name}";
                if (Contains(bytes) || Contains(blob.Name))
                {
                    found.Add(where);
                }
                else if (blob.Name.EndsWith(".parquet", StringComparison.Ordinal) && ParquetContains(bytes))
                {
                    found.Add(where + " (read with DuckDB)");
                }
            }
        }

        var queues = new QueueServiceClient(connectionString);
        await foreach (var queue in queues.GetQueuesAsync())
        {
            foreach (var message in (await queues.GetQueueClient(queue.Name).PeekMessagesAsync(32)).Value)
            {
                if (Contains(message.Body.ToArray()))
                {
                    found.Add($"queue {queue.Name} message {message.MessageId}");
                }
            }
        }

        return found;
    }

    private bool Contains(object? value) => value switch
    {
        string text => needles.Any(n => text.Contains(n, StringComparison.Ordinal) || Uri.UnescapeDataString(text).Contains(n, StringComparison.Ordinal)),
        byte[] bytes => needles.Any(n => bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(n)) >= 0 || bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(n)) >= 0),
        BinaryData data => Contains(data.ToArray()),
        _ => false,
    };

    private bool ParquetContains(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"pg-search-{Guid.NewGuid():N}.parquet");
        File.WriteAllBytes(path, bytes);
        try
        {
            using var duck = new DuckDBConnection("Data Source=:memory:");
            duck.Open();
            var filter = string.Join(" OR ", needles.Select(n => $"contains(CAST(t AS VARCHAR), '{n}')"));
            return PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM read_parquet('{path}') AS t WHERE {filter}") > 0;
        }
        finally
        {
            File.Delete(path);
        }
    }
}

/// <summary>Consent from the outside: an opted-out user is not personalized, in no experiment, and their context stays out of the lake.</summary>
public class ConsentSiloTests(ITestOutputHelper output)
{
    private int RunCli(string[] args)
    {
        var console = new Spectre.Console.Testing.TestConsole();
        using var writer = new StringWriter();
        var exit = Cli.CliApp.Run(args, console, writer, writer);
        output.WriteLine(console.Output + writer);
        return exit;
    }

    [Fact]
    public async Task An_opted_out_user_is_not_personalized_not_experimented_on_and_their_context_stays_out_of_the_lake()
    {
        var lake = Path.Combine(Path.GetTempPath(), "pg-consent-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            await using var silo = await SiloProcess.StartEphemeralAsync(
                $"--ProfileGrid:Lake:Folder={lake}", "--ProfileGrid:Ingest:FlushInterval=00:00:00.200",
                "--ProfileGrid:Recommendations:ShardFlushInterval=00:00:00.100");
            var tenant = await ShopScenario.FeedAsync(silo, "consent");
            var experiments = new ExperimentService.ExperimentServiceClient(silo.Calls);
            await experiments.CreateExperimentAsync(new PutExperimentRequest { Tenant = tenant, Experiment = ExperimentApiExamples.Valid("consent-test") });
            await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "consent-test" });

            var tag = Guid.NewGuid().ToString("N")[..8];
            var (optedOut, consenting) = ($"out-{tag}", $"in-{tag}");
            var now = DateTimeOffset.UtcNow;
            var request = new IngestEventsRequest { Tenant = tenant };
            request.Events.Add(new WireEvent
            {
                EventId = $"{optedOut}-pref", Type = "preference_set", UserId = optedOut, Source = "web", OccurredAt = now.AddMinutes(-30).ToString("O"),
                Preference = new PreferenceSet { PersonalizationOptIn = false },
            });
            foreach (var user in new[] { optedOut, consenting })
            {
                for (var i = 0; i < 3; i++)
                {
                    request.Events.Add(new WireEvent
                    {
                        EventId = $"{user}-view-{i}", Type = "product_view", UserId = user, Source = "web", OccurredAt = now.AddMinutes(-20 + i).ToString("O"),
                        Context = new EventContext { Device = "mobile", Country = "FR", Region = "ARA", City = "Lyon", UserAgent = "Mozilla/5.0 test", SessionId = $"s-{user}" },
                        Product = new ProductAction { ProductId = $"a-{i + 1}", Category = "books" },
                    });
                }

                request.Events.Add(new WireEvent
                {
                    EventId = $"{user}-search", Type = "search", UserId = user, Source = "web", OccurredAt = now.AddMinutes(-10).ToString("O"),
                    Context = new EventContext { City = "Lyon", SessionId = $"s-{user}" },
                    Search = new Search { Query = "my private words", ResultCount = 2 },
                });
            }

            Assert.Empty((await silo.Client.IngestEventsAsync(request)).Rejected);
            var recommendations = new RecommendationService.RecommendationServiceClient(silo.Calls);
            await PrivacySiloTests.WaitForAsync(async () => (await PrivacySiloTests.TryGetProfileAsync(silo, tenant, optedOut))?.EventsApplied == 5, "the opted-out user's events applied", 30);
            await PrivacySiloTests.WaitForAsync(async () => (await PrivacySiloTests.TryGetProfileAsync(silo, tenant, consenting))?.EventsApplied == 4, "the consenting user's events applied", 30);
            var outList = await recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = optedOut, N = 5, Slot = "home" });
            var inList = await recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = consenting, N = 5, Slot = "home" });

            // Not personalized, and in no experiment; the consenting user is in the experiment.
            Assert.False(outList.Personalized);
            Assert.Equal("", outList.ExperimentId);
            Assert.Equal("", outList.Variant);
            Assert.Equal("consent-test", inList.ExperimentId);

            // Both are shown their list and click it: only the consenting user's feedback counts for the experiment.
            var feedback = new IngestEventsRequest { Tenant = tenant };
            foreach (var (user, list) in new[] { (optedOut, outList), (consenting, inList) })
            {
                feedback.Events.Add(new WireEvent
                {
                    EventId = $"{user}-shown", Type = "impression", UserId = user, Source = "web", OccurredAt = DateTimeOffset.UtcNow.AddSeconds(-2).ToString("O"),
                    Feedback = new Feedback { RecommendationId = list.RecommendationId, Slot = "home", ItemIds = { list.Items.Select(i => i.ItemId) } },
                });
                feedback.Events.Add(new WireEvent
                {
                    EventId = $"{user}-click", Type = "click", UserId = user, Source = "web", OccurredAt = DateTimeOffset.UtcNow.AddSeconds(-1).ToString("O"),
                    Feedback = new Feedback { RecommendationId = list.RecommendationId, Slot = "home", ItemId = list.Items[0].ItemId, Position = 0 },
                });
            }

            Assert.Empty((await silo.Client.IngestEventsAsync(feedback)).Rejected);
            await PrivacySiloTests.WaitForAsync(async () =>
            {
                using var export = JsonDocument.Parse(await silo.Http.GetStringAsync($"/v1/tenants/{tenant}/users/{optedOut}/export"));
                return export.RootElement.GetProperty("feedback").GetProperty("clicks").GetInt64() == 1;
            }, "the opted-out user's click applied", seconds: 30);
            var results = await SegmentScenario.PollAsync(
                () => experiments.GetExperimentResultsAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "consent-test" }).ResponseAsync,
                r => r.Variants.Sum(v => v.Clicks) >= 1, "the consenting user's click counted");
            Assert.Equal(1, results.Variants.Sum(v => v.Users));
            Assert.Equal(1, results.Variants.Sum(v => v.Clicks));

            // The lake keeps the opted-out user's events without their context and words; the consenting user's keep theirs.
            await PrivacySiloTests.ArchiveEverythingAsync(silo);
            using var duck = new DuckDBConnection("Data Source=:memory:");
            duck.Open();
            var rows = $"read_parquet('{lake}/events/**/*.parquet', hive_partitioning = false, union_by_name = true)";
            Assert.Equal(7, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {rows} WHERE user_id = '{optedOut}'"));
            Assert.Equal(0, PrivacySiloTests.Scalar(duck,
                $"SELECT count(*) FROM {rows} WHERE user_id = '{optedOut}' AND (city IS NOT NULL OR region IS NOT NULL OR user_agent IS NOT NULL OR session_id IS NOT NULL OR query IS NOT NULL)"));
            Assert.Equal(3, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {rows} WHERE user_id = '{optedOut}' AND country = 'FR' AND product_id IS NOT NULL"));
            Assert.Equal(4, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {rows} WHERE user_id = '{consenting}' AND city = 'Lyon' AND session_id IS NOT NULL"));
            Assert.Equal(1, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {rows} WHERE user_id = '{consenting}' AND query = 'my private words'"));
            output.WriteLine($"Lake in {lake}: the opted-out user's 7 rows carry no context.");

            // The CLI: the export writes their events (without the context the lake left out); delete erases them.
            var file = Path.Combine(lake, "export.json");
            Assert.Equal(0, RunCli(["users", "export", "--grid", $"http://127.0.0.1:{silo.HttpPort}", "--tenant", tenant, "--user", optedOut, "--key", "unused", "--out", file]));
            using (var exported = JsonDocument.Parse(File.ReadAllText(file)))
            {
                var events = exported.RootElement.GetProperty("events").EnumerateArray().ToList();
                Assert.Equal(7, events.Count);
                Assert.All(events, e => Assert.Equal(JsonValueKind.Null, e.GetProperty("city").ValueKind));
                Assert.False(exported.RootElement.GetProperty("consent").GetProperty("personalization").GetBoolean());
            }

            Assert.Equal(0, RunCli(["users", "delete", "--grid", $"http://127.0.0.1:{silo.HttpPort}", "--tenant", tenant, "--user", optedOut, "--key", "unused"]));
            Assert.Null(await PrivacySiloTests.TryGetProfileAsync(silo, tenant, optedOut));
            Assert.Equal(0, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {rows} WHERE user_id = '{optedOut}'"));
            Assert.Equal(6, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {rows} WHERE user_id = '{consenting}'"));
        }
        finally
        {
            if (Directory.Exists(lake))
            {
                Directory.Delete(lake, recursive: true);
            }
        }
    }
}
