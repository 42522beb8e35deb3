using System.Net.Http.Json;
using Microsoft.Playwright;
using ProfileGrid.Silo.Tests;

namespace ProfileGrid.Dashboard.Tests;

/// <summary>
/// With API keys on (the default), the dashboard's files load without a key, the page says a key is needed, takes one,
/// keeps it for the tab only and sends it on its calls, and says so when the key is refused.
/// </summary>
[Collection(DashboardGridCollection.Name)]
public sealed class DashboardKeyTests(DashboardGridFixture grid)
{
    [Fact]
    public async Task The_page_asks_for_a_key_uses_it_and_says_when_it_is_refused()
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-dashboard-keys-");
        try
        {
            var keyFile = Path.Combine(folder.FullName, "admin.key");
            await using var silo = await SiloProcess.StartEphemeralAsync($"--ProfileGrid:Auth:BootstrapKeyFile={keyFile}", "--ProfileGrid:Stats:FlushInterval=00:00:00.200");
            var key = File.ReadAllText(keyFile).Trim();
            const string tenant = "keyed-shop";
            await IngestAsync(silo, key, tenant, "u-1");

            await using var context = await grid.Browser.NewContextAsync();
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(30_000);
            await page.GotoAsync($"http://127.0.0.1:{silo.HttpPort}/dashboard/?refresh=500");
            await Assertions.Expect(page.Locator("#banner")).ToContainTextAsync("An API key is needed");
            // Without a key the grid's tenants are unknown, not absent: no panel says there are no profiles (probe63 F17).
            await Assertions.Expect(page.Locator("[data-panel=profiles]")).ToContainTextAsync("The tenant list is unavailable");
            await Assertions.Expect(page.Locator("#tenant option")).ToHaveTextAsync("tenant list unavailable");
            Assert.DoesNotContain("No profiles yet", await page.Locator("main").InnerTextAsync());

            await page.Locator("#api-key").FillAsync(key);
            await page.Locator("#key-form button[type=submit]").ClickAsync();
            await Assertions.Expect(page.Locator("#tenant option", new() { HasText = tenant })).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#banner")).ToBeHiddenAsync();
            await Assertions.Expect(page.Locator("#tenant option", new() { HasText = tenant })).ToHaveTextAsync($"{tenant} (1)", new() { Timeout = 30_000 });
            // The selector's count follows the grid while the page is open (probe63 F2: it kept the first load's).
            await IngestAsync(silo, key, tenant, "u-2");
            // The count is the profiles the feature shards hold: the new profile's write reaches them within seconds.
            await Assertions.Expect(page.Locator("#tenant option", new() { HasText = tenant })).ToHaveTextAsync($"{tenant} (2)", new() { Timeout = 30_000 });
            Assert.Equal(key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('profilegrid.apiKey')"));
            Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('profilegrid.apiKey')"));

            // A key for the tenant alone: the cluster panel says it needs an operator key, and the page asks for the admin
            // view once, not on every refresh (each refusal is an error in the browser's console; probe63 F9).
            using (var create = new HttpRequestMessage(HttpMethod.Post, "/v1/admin/keys"))
            {
                create.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                create.Content = JsonContent.Create(new { name = "shop-reader", scopes = new[] { "read" }, tenants = new[] { tenant } });
                using var created = await silo.Http.SendAsync(create);
                var body = await created.Content.ReadAsStringAsync();
                Assert.True(created.IsSuccessStatusCode, body);
                var tenantKey = System.Text.Json.Nodes.JsonNode.Parse(body)!["secret"]!.GetValue<string>();
                var clusterRequests = 0;
                page.Request += (_, request) => clusterRequests += request.Url.Contains("/v1/admin/cluster", StringComparison.Ordinal)
                    && request.Headers.TryGetValue("authorization", out var sent) && sent == "Bearer " + tenantKey ? 1 : 0;
                await page.Locator("#api-key").FillAsync(tenantKey);
                await page.Locator("#key-form button[type=submit]").ClickAsync();
                await Assertions.Expect(page.Locator("[data-panel=cluster]")).ToContainTextAsync("needs an operator key");
                var refreshes = int.Parse(await page.EvaluateAsync<string>("() => document.body.dataset.refreshes"), System.Globalization.CultureInfo.InvariantCulture);
                await page.WaitForFunctionAsync($"() => Number(document.body.dataset.refreshes) >= {refreshes + 4}");
                Assert.Equal(1, clusterRequests);
            }

            await page.Locator("#api-key").FillAsync(key[..^3] + "xyz");
            await page.Locator("#key-form button[type=submit]").ClickAsync();
            await Assertions.Expect(page.Locator("#banner")).ToContainTextAsync("The API key was refused");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task IngestAsync(SiloProcess silo, string key, string tenant, string user)
    {
        using var ingest = new HttpRequestMessage(HttpMethod.Post, "/v1/events:ingest");
        ingest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        ingest.Content = JsonContent.Create(new
        {
            tenant,
            events = new[] { new { eventId = "e-" + user, type = "page_view", userId = user, occurredAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), source = "web", page = new { url = "/" } } },
        });
        using var answer = await silo.Http.SendAsync(ingest);
        Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
    }
}
