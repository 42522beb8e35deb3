using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace ProfileGrid.Silo.Hosting;

/// <summary>
/// The web dashboard: static pages (Dashboard/ in the build output, Chart.js copied from node_modules at build time)
/// that read the public REST API from the browser, so they show exactly what an API client would see.
/// </summary>
public static class DashboardHostingExtensions
{
    /// <summary>The dashboard's pages; each is the same shell, which draws the page its path names.</summary>
    public static IReadOnlyList<string> Pages { get; } = ["overview", "profiles", "ingest", "segments", "recommendations", "experiments", "fairness", "cluster"];

    /// <summary>
    /// Serves the dashboard at /dashboard (pages at /dashboard/{page}, files at /dashboard/assets) unless
    /// ProfileGrid:Dashboard:Enabled is false.
    /// </summary>
    public static WebApplication MapProfileGridDashboard(this WebApplication app)
    {
        var options = app.Configuration.GetSection(DashboardOptions.Section).Get<DashboardOptions>() ?? new DashboardOptions();
        if (!options.Enabled)
        {
            return app;
        }

        var root = Path.Combine(AppContext.BaseDirectory, "Dashboard");
        var shell = Path.Combine(root, "index.html");
        if (!File.Exists(shell))
        {
            throw new InvalidOperationException($"The dashboard's files are missing from {root}; rebuild the host (npm ci first), or set ProfileGrid:Dashboard:Enabled=false.");
        }

        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new PhysicalFileProvider(Path.Combine(root, "assets")),
            RequestPath = "/dashboard/assets",
            // The pages poll; a new build must reach an open browser on its next load, not after a cache expiry.
            OnPrepareResponse = file => file.Context.Response.Headers[HeaderNames.CacheControl] = "no-cache",
        });

        app.MapGet("/dashboard/{page?}", (string? page, HttpContext http) =>
        {
            if (page is null && !http.Request.Path.Value!.EndsWith('/'))
            {
                // Relative links and the pages' own addresses assume the trailing slash.
                return Results.Redirect("/dashboard/" + http.Request.QueryString);
            }

            if (page is not null && !Pages.Contains(page, StringComparer.Ordinal))
            {
                return Results.NotFound();
            }

            http.Response.Headers[HeaderNames.CacheControl] = "no-cache";
            return Results.File(shell, "text/html; charset=utf-8");
        }).ExcludeFromDescription();
        return app;
    }
}
