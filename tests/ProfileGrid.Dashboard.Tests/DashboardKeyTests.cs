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
            using (var ingest = new HttpRequestMessage(HttpMethod.Post, "/v1/events:ingest"))
            {
                ingest.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                ingest.Content = JsonContent.Create(new
                {
                    tenant,
                    events = new[] { new { eventId = "e-1", type = "page_view", userId = "u-1", occurredAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), source = "web", page = new { url = "/" } } },
                });
                using var answer = await silo.Http.SendAsync(ingest);
                Assert.True(answer.IsSuccessStatusCode, await answer.Content.ReadAsStringAsync());
            }

            await using var context = await grid.Browser.NewContextAsync();
            var page = await context.NewPageAsync();
            page.SetDefaultTimeout(30_000);
            await page.GotoAsync($"http://127.0.0.1:{silo.HttpPort}/dashboard/?refresh=500");
            await Assertions.Expect(page.Locator("#banner")).ToContainTextAsync("An API key is needed");

            await page.Locator("#api-key").FillAsync(key);
            await page.Locator("#key-form button[type=submit]").ClickAsync();
            await Assertions.Expect(page.Locator("#tenant option", new() { HasText = tenant })).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#banner")).ToBeHiddenAsync();
            Assert.Equal(key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('profilegrid.apiKey')"));
            Assert.Null(await page.EvaluateAsync<string?>("() => localStorage.getItem('profilegrid.apiKey')"));

            await page.Locator("#api-key").FillAsync(key[..^3] + "xyz");
            await page.Locator("#key-form button[type=submit]").ClickAsync();
            await Assertions.Expect(page.Locator("#banner")).ToContainTextAsync("The API key was refused");
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
