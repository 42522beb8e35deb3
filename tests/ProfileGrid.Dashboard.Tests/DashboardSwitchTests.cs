using System.Net;
using ProfileGrid.Silo.Tests;

namespace ProfileGrid.Dashboard.Tests;

/// <summary>ProfileGrid:Dashboard:Enabled: the dashboard is served by default and can be switched off.</summary>
[Collection(DashboardGridCollection.Name)]
public sealed class DashboardSwitchTests(DashboardGridFixture grid)
{
    [Fact]
    public async Task The_dashboard_is_served_with_its_chart_library_and_refuses_unknown_pages()
    {
        using var redirect = await grid.Silo.Http.GetAsync("/dashboard?tenant=shop");
        Assert.Equal("/dashboard/?tenant=shop", redirect.RequestMessage!.RequestUri!.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, redirect.StatusCode);
        Assert.Contains("<main id=\"page\"", await redirect.Content.ReadAsStringAsync());

        using var chartJs = await grid.Silo.Http.GetAsync("/dashboard/assets/lib/chart.umd.min.js");
        Assert.Equal(HttpStatusCode.OK, chartJs.StatusCode);
        Assert.Contains("4.6.1", await chartJs.Content.ReadAsStringAsync());

        using var unknown = await grid.Silo.Http.GetAsync("/dashboard/nonsense");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Switched_off_it_answers_404_and_the_api_still_answers()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync("--ProfileGrid:Dashboard:Enabled=false");
        foreach (var path in new[] { "/dashboard/", "/dashboard/segments", "/dashboard/assets/app.js" })
        {
            using var response = await silo.Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }

        using var segments = await silo.Http.GetAsync("/v1/tenants/shop/segments");
        Assert.Equal(HttpStatusCode.OK, segments.StatusCode);
    }
}
