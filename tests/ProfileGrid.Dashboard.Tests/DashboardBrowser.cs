using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace ProfileGrid.Dashboard.Tests;

/// <summary>What a chart holds and shows: its datasets' point counts, and how many saturated (non-grey) pixels it drew.</summary>
public sealed record ChartState(string Id, string Type, IReadOnlyList<DatasetState> Datasets, int ColouredPixels, int Width, int Height)
{
    public int Points => Datasets.Sum(d => d.Points);
}

public sealed record DatasetState(string Label, int Points, int NonZero, int Gaps);

/// <summary>
/// One browser tab on the dashboard at a laptop's screen size, collecting console errors and uncaught exceptions.
/// </summary>
public sealed class DashboardBrowser : IAsyncDisposable
{
    private const string ChartsScript = """
        () => [...document.querySelectorAll('canvas[data-chart]')].filter(c => c.offsetParent !== null).map(c => {
          const chart = Chart.getChart(c);
          const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let coloured = 0;
          for (let i = 0; i < pixels.length; i += 4) {
            const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2], a = pixels[i + 3];
            if (a > 100 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
          }
          const nonZero = v => Array.isArray(v) ? v[1] !== v[0] : (v !== null && typeof v === 'object') ? true : Number(v) !== 0;
          return {
            id: c.dataset.chart, type: chart ? chart.config.type : 'none', coloured, width: c.width, height: c.height,
            datasets: chart ? chart.data.datasets.map(d => ({ label: String(d.label ?? ''), points: d.data.length, nonZero: d.data.filter(nonZero).length, gaps: d.data.filter(v => v === null).length })) : [],
          };
        })
        """;

    private readonly IBrowserContext _context;
    private readonly List<string> _errors = [];
    private readonly string _baseAddress;

    private DashboardBrowser(IBrowserContext context, IPage page, string baseAddress)
    {
        _context = context;
        Page = page;
        _baseAddress = baseAddress;
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_errors)
                {
                    _errors.Add($"console: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (_errors)
            {
                _errors.Add($"uncaught: {error}");
            }
        };
    }

    public IPage Page { get; }

    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors)
            {
                return [.. _errors];
            }
        }
    }

    public static async Task<DashboardBrowser> OpenAsync(DashboardGridFixture grid)
    {
        var context = await grid.Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        var page = await context.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        return new DashboardBrowser(context, page, grid.BaseAddress);
    }

    public static string Url(string baseAddress, string page, string? tenant, int refreshMs = 500)
    {
        var query = new List<string>();
        if (tenant is not null)
        {
            query.Add("tenant=" + Uri.EscapeDataString(tenant));
        }

        query.Add($"refresh={refreshMs}");
        return $"{baseAddress}/dashboard/{(page == "overview" ? "" : page)}?{string.Join('&', query)}";
    }

    /// <summary>Opens a page and waits for its first full refresh (every panel drawn from the API's answers).</summary>
    public async Task OpenPageAsync(string page, string? tenant, int refreshMs = 500)
    {
        await Page.GotoAsync(Url(_baseAddress, page, tenant, refreshMs));
        await WaitForRefreshesAsync(1);
    }

    public async Task<int> RefreshesAsync() =>
        int.Parse(await Page.EvaluateAsync<string?>("() => document.body?.dataset.refreshes ?? '0'") ?? "0", CultureInfo.InvariantCulture);

    /// <summary>Waits until the page has redrawn itself <paramref name="more"/> times after now.</summary>
    public async Task WaitForRefreshesAsync(int more)
    {
        var target = await RefreshesAsync() + more;
        await Page.WaitForFunctionAsync($"() => Number(document.body?.dataset.refreshes ?? 0) >= {target}");
    }

    /// <summary>Follows a link of the page (a[data-page=...]) and waits for the new page's first refresh.</summary>
    public async Task FollowLinkAsync(string page)
    {
        await Page.Locator($"nav a[data-page={page}]").ClickAsync();
        await Page.WaitForURLAsync(url => new Uri(url).AbsolutePath == $"/dashboard/{page}");
        await Page.WaitForFunctionAsync("() => Number(document.body?.dataset.refreshes ?? 0) >= 1");
    }

    public async Task<IReadOnlyList<ChartState>> ChartsAsync()
    {
        var json = await Page.EvaluateAsync<JsonElement>(ChartsScript);
        return json.EnumerateArray().Select(c => new ChartState(
            c.GetProperty("id").GetString()!,
            c.GetProperty("type").GetString()!,
            c.GetProperty("datasets").EnumerateArray().Select(d => new DatasetState(d.GetProperty("label").GetString()!, d.GetProperty("points").GetInt32(), d.GetProperty("nonZero").GetInt32(), d.GetProperty("gaps").GetInt32())).ToList(),
            c.GetProperty("coloured").GetInt32(),
            c.GetProperty("width").GetInt32(),
            c.GetProperty("height").GetInt32())).ToList();
    }

    /// <summary>The text of the figure <paramref name="key"/> (data-figure), or null when the page does not show it.</summary>
    public async Task<string?> FigureAsync(string key)
    {
        var figure = Page.Locator($"[data-figure=\"{key}\"]");
        return await figure.CountAsync() == 0 ? null : (await figure.First.TextContentAsync())?.Trim();
    }

    /// <summary>The cells of a table row (data-table, data-row).</summary>
    public async Task<IReadOnlyList<string>> RowAsync(string table, string row) =>
        (await Page.Locator($"table[data-table=\"{table}\"] tr[data-row=\"{row}\"] td").AllTextContentsAsync()).Select(t => t.Trim()).ToList();

    /// <summary>The visible panel messages (empty states and errors), by panel id.</summary>
    public async Task<IReadOnlyDictionary<string, (string Kind, string Text)>> MessagesAsync()
    {
        var json = await Page.EvaluateAsync<JsonElement>("""
            () => [...document.querySelectorAll('[data-panel] > .message:not([hidden])')].map(m => [m.parentElement.dataset.panel, m.dataset.kind ?? '', m.textContent])
            """);
        return json.EnumerateArray().ToDictionary(m => m[0].GetString()!, m => (m[1].GetString()!, m[2].GetString()!));
    }

    public async Task<string?> BannerAsync() =>
        await Page.Locator("#banner").IsVisibleAsync() ? (await Page.Locator("#banner").TextContentAsync())?.Trim() : null;

    /// <summary>A full-page screenshot: under docs/screenshots when PROFILEGRID_SCREENSHOTS=docs, in the test output otherwise.</summary>
    public async Task<string> ScreenshotAsync(string name)
    {
        var folder = Screenshots.Folder();
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, $"{name}.png");
        await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }

    public async ValueTask DisposeAsync() => await _context.DisposeAsync();
}

public static class Screenshots
{
    public const string Variable = "PROFILEGRID_SCREENSHOTS";

    /// <summary>docs/screenshots in the repository when PROFILEGRID_SCREENSHOTS=docs (to refresh the README's), else the test output, so CI leaves the tree clean.</summary>
    public static string Folder()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(Variable), "docs", StringComparison.OrdinalIgnoreCase))
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "ProfileGrid.sln")))
                {
                    return Path.Combine(dir.FullName, "docs", "screenshots");
                }
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "screenshots");
    }
}

/// <summary>The API's figures formatted as the dashboard formats them (en-US grouping, fixed decimals).</summary>
public static class Shown
{
    public static string Int(double value) => Math.Round(value, MidpointRounding.AwayFromZero).ToString("N0", CultureInfo.InvariantCulture);

    public static string Int(JsonElement value) => Int(Number(value));

    public static string Percent(double share, int digits = 1) => (share * 100).ToString("F" + digits, CultureInfo.InvariantCulture) + "%";

    public static string Fixed(double value, int digits) => value.ToString("F" + digits, CultureInfo.InvariantCulture);

    public static string Ms(double value) => value.ToString("F1", CultureInfo.InvariantCulture) + " ms";

    /// <summary>A JSON number, or a number in a string (proto3 JSON writes 64-bit integers as strings).</summary>
    public static double Number(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? double.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetDouble();
}
