using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>The lake's admin routes on a real silo process (memory storage, lake in a folder), as an operator uses them.</summary>
public sealed class LakeAdminApiTests : IAsyncLifetime
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "pg-lake-api-" + Guid.NewGuid().ToString("N")[..10]);
    private SiloProcess _silo = null!;

    public async Task InitializeAsync() =>
        _silo = await SiloProcess.StartEphemeralAsync($"--ProfileGrid:Lake:Folder={_folder}", "--ProfileGrid:Lake:ArchiveInterval=00:00:00.500");

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public async Task Archive_rebuild_and_snapshot_through_the_admin_api_keep_the_profiles_and_their_counts()
    {
        var stream = new SyntheticStream(new SimulationOptions { Users = 25, Seed = 41 });
        var expected = stream.ComputeExpectedTotals();
        var tenant = stream.Options.Tenant;
        foreach (var request in stream.IngestRequests())
        {
            Assert.Empty((await _silo.Client.IngestEventsAsync(request)).Rejected);
        }

        await ProfileAssertions.WaitUntilAsync(_silo.Client, expected, tenant, TimeSpan.FromSeconds(60), exact: true);
        var asOf = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
        var before = await DocumentsAsync(tenant, expected.Users.Keys, asOf);

        // Archived to the end (a step archives nothing more), and the lake says where it is.
        string? last = null;
        for (var body = await PostAsync("/v1/admin/lake/archive", null); body != last; body = await PostAsync("/v1/admin/lake/archive", null))
        {
            last = body;
        }

        var lake = JsonNode.Parse(await _silo.Http.GetStringAsync("/v1/admin/lake"))!;
        Assert.Contains(_folder, (string)lake["location"]!, StringComparison.Ordinal);
        Assert.Contains(lake["partitions"]!.AsArray(), p => (long)p!["archivedThrough"]! >= 0);

        // DuckDB finds each user's events in the files.
        using (var duck = new DuckDBConnection("Data Source=:memory:"))
        {
            duck.Open();
            using var command = duck.CreateCommand();
            command.CommandText = $"SELECT user_id, count(DISTINCT event_id) FROM read_parquet('{_folder}/events/**/*.parquet', hive_partitioning = false) GROUP BY user_id";
            using var reader = command.ExecuteReader();
            var users = 0;
            while (reader.Read())
            {
                Assert.Equal(expected.Users[reader.GetString(0)].Events, reader.GetInt64(1));
                users++;
            }

            Assert.Equal(expected.Users.Count, users);
        }

        // Rebuilt from the lake: every profile as it was. A user who opted out of personalization has their context left
        // out of the lake (docs/privacy.md), so their rebuilt profile lacks it: their events are all there, their context not.
        var rebuilt = JsonNode.Parse(await PostAsync("/v1/admin/lake/rebuild", new { tenant }))!;
        Assert.Equal(expected.Users.Count, (int)rebuilt["profilesRebuilt"]!);
        var after = await DocumentsAsync(tenant, expected.Users.Keys, asOf);
        static bool OptedOut(string document) => JsonNode.Parse(document)!["preferences"]?["personalizationOptIn"]?.GetValue<bool>() == false;
        Assert.Contains(before, d => OptedOut(d.Value));
        Assert.Equal(before.Where(d => !OptedOut(d.Value)), after.Where(d => !OptedOut(d.Value)));
        foreach (var (user, document) in before.Where(d => OptedOut(d.Value)))
        {
            Assert.Equal((long)JsonNode.Parse(document)!["eventsApplied"]!, (long)JsonNode.Parse(after[user])!["eventsApplied"]!);
        }

        // One user, and a tenant the gateway would refuse.
        var one = expected.Users.Keys.First();
        Assert.Equal(1, (int)JsonNode.Parse(await PostAsync("/v1/admin/lake/rebuild", new { tenant, userId = one }))!["profilesRebuilt"]!);
        var refused = await _silo.Http.PostAsJsonAsync("/v1/admin/lake/rebuild", new { tenant = "a/../b" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        // Today's snapshot holds every profile once the feature shards have them all.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        JsonNode snapshot;
        while ((int)(snapshot = JsonNode.Parse(await PostAsync("/v1/admin/lake/snapshot", new { tenant }))!)["profiles"]! < expected.Users.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "The snapshot never held every profile: " + snapshot.ToJsonString());
            await Task.Delay(200);
        }

        Assert.True(File.Exists(Path.Combine(_folder, (string)snapshot["file"]!)));
    }

    private async Task<string> PostAsync(string path, object? body)
    {
        var response = body is null ? await _silo.Http.PostAsync(path, null) : await _silo.Http.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}\n{_silo.Output[^Math.Min(_silo.Output.Length, 4000)..]}");
        return text;
    }

    /// <summary>Each user's JSON document as of one instant, without the instants of processing.</summary>
    private async Task<Dictionary<string, string>> DocumentsAsync(string tenant, IEnumerable<string> users, string asOf)
    {
        var documents = new Dictionary<string, string>();
        foreach (var user in users.Order(StringComparer.Ordinal))
        {
            var json = JsonNode.Parse(await _silo.Http.GetStringAsync(
                $"/v1/tenants/{Uri.EscapeDataString(tenant)}/users/{Uri.EscapeDataString(user)}/document?asOf={asOf}"))!;
            Strip(json);
            documents[user] = json.ToJsonString();
        }

        return documents;
    }

    private static void Strip(JsonNode? node)
    {
        if (node is JsonObject o)
        {
            foreach (var name in o.Select(p => p.Key).Where(k => k is "updated_at" or "updatedAt").ToList())
            {
                o.Remove(name);
            }

            foreach (var child in o.Select(p => p.Value).ToList())
            {
                Strip(child);
            }
        }
        else if (node is JsonArray a)
        {
            foreach (var child in a)
            {
                Strip(child);
            }
        }
    }
}
