using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Cli;
using ProfileGrid.Contracts.V1;
using Spectre.Console.Testing;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// <c>profilegrid lake status|archive|rebuild|snapshot</c> against a silo process with keys on and a lake in a folder:
/// what an operator runs after a rule change, and what a tenant's key may not run.
/// </summary>
public sealed class LakeCommandTests : IAsyncLifetime
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-lake-cli-");
    private SiloProcess _silo = null!;

    private string KeyFile => Path.Combine(_folder.FullName, "admin.key");

    private string Grid => $"http://127.0.0.1:{_silo.HttpPort}";

    public async Task InitializeAsync() =>
        _silo = await SiloProcess.StartEphemeralAsync(
            $"--ProfileGrid:Auth:BootstrapKeyFile={KeyFile}", $"--ProfileGrid:Lake:Folder={Path.Combine(_folder.FullName, "lake")}",
            "--ProfileGrid:Lake:ArchiveInterval=01:00:00");

    public async Task DisposeAsync()
    {
        await _silo.DisposeAsync();
        _folder.Delete(recursive: true);
    }

    [Fact]
    public async Task An_operator_archives_rebuilds_and_snapshots_from_the_command_line_and_a_tenant_key_cannot()
    {
        const string tenant = "shop-ü";
        var operatorKey = File.ReadAllText(KeyFile).Trim();
        var auth = new Metadata { { "authorization", "Bearer " + operatorKey } };
        var request = new IngestEventsRequest { Tenant = tenant };
        var users = new[] { "alice", "bob", "user-" + new string('x', 100) };
        for (var i = 0; i < 30; i++)
        {
            var e = new Event
            {
                EventId = $"e-{i}", Type = "product_view", UserId = users[i % users.Length], Source = "web",
                OccurredAt = DateTimeOffset.UtcNow.Date.AddDays(-1 - i % 20).AddHours(10).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                Product = new ProductAction { ProductId = $"p-{i % 7}", Category = "shoes" },
            };
            request.Events.Add(e);
        }

        Assert.Empty((await _silo.Client.IngestEventsAsync(request, auth)).Rejected);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var before = await ProfileAsync(tenant, "alice", auth);
        while (before.Behavior.EventCounts.GetValueOrDefault("product_view") < 10 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            before = await ProfileAsync(tenant, "alice", auth);
        }


        var (exit, output) = Run("lake", "archive", "--grid", Grid, "--key-file", KeyFile);
        Assert.True(exit == 0, output);
        Assert.Contains("archived through", output);

        (exit, output) = Run("lake", "status", "--grid", Grid, "--key", operatorKey);
        Assert.True(exit == 0, output);
        Assert.Contains(Path.Combine(_folder.FullName, "lake"), output);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_folder.FullName, "lake"), "*.parquet", SearchOption.AllDirectories));

        (exit, output) = Run("lake", "rebuild", "--grid", Grid, "--key-file", KeyFile, "--tenant", tenant, "--user", "alice");
        Assert.True(exit == 0, output);
        Assert.Contains("Rebuilt 1 profile(s)", output);
        Assert.Contains("from 10 events", output);
        var after = await ProfileAsync(tenant, "alice", auth);
        Assert.Equal(10, after.Behavior.EventCounts["product_view"]);
        Assert.Equal(before.Behavior.EventCounts, after.Behavior.EventCounts);
        Assert.Equal(before.Behavior.FirstSeen, after.Behavior.FirstSeen);

        (exit, output) = Run("lake", "rebuild", "--grid", Grid, "--key-file", KeyFile, "--tenant", tenant);
        Assert.True(exit == 0, output);
        Assert.Contains("Rebuilt 3 profile(s)", output);
        Assert.Contains("from 30 events", output);

        (exit, output) = Run("lake", "snapshot", "--grid", Grid, "--key-file", KeyFile, "--tenant", tenant);
        Assert.True(exit == 0, output);
        Assert.Contains("snapshots/", output);

        // The grid's own words for a tenant the gateway refuses, and for a key that is not an operator's.
        (exit, output) = Run("lake", "rebuild", "--grid", Grid, "--key-file", KeyFile, "--tenant", "a/../b");
        Assert.NotEqual(0, exit);
        Assert.Contains("400", output);

        using var http = new HttpClient { BaseAddress = new Uri(Grid) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", operatorKey);
        var created = await http.PostAsJsonAsync("/v1/admin/keys", new { name = "tenant admin", scopes = new[] { "admin", "read", "ingest" }, tenants = new[] { tenant } });
        created.EnsureSuccessStatusCode();
        var tenantKey = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;
        (exit, output) = Run("lake", "rebuild", "--grid", Grid, "--key", tenantKey, "--tenant", tenant);
        Assert.NotEqual(0, exit);
        Assert.Contains("403", output);

        (exit, output) = Run("lake", "status", "--grid", Grid);
        Assert.NotEqual(0, exit);
        Assert.Contains("an operator key is needed", output);
    }

    private async Task<Profile> ProfileAsync(string tenant, string user, Metadata auth) =>
        await _silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user }, auth);

    private static (int Exit, string Output) Run(params string[] args)
    {
        var console = new TestConsole { Profile = { Width = 250 } };
        using var output = new StringWriter();
        var exit = CliApp.Run(args, console, output, output);
        return (exit, console.Output + output);
    }
}
