using System.Net;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Classic RFM through the real host, over gRPC and REST: the cells with sizes and quintile edges, each user's
/// scores in their segment answer, member pages per cell, and a bad cell name refused with the valid ones.
/// </summary>
[Collection(SegmentSiloCollection.Name)]
public class RfmApiTests(SegmentSiloFixture fixture)
{
    private static readonly string[] Cells =
    [
        "champions", "loyal", "potential-loyalists", "new", "promising", "need-attention", "about-to-sleep", "at-risk", "cant-lose-them", "hibernating", "lost",
    ];

    private SiloProcess Silo => fixture.Silo;

    private SegmentService.SegmentServiceClient Segments => new(Silo.Calls);

    [Fact]
    public async Task Grpc_lists_cells_with_edges_and_sizes_and_every_customer_is_in_the_pages_of_their_cell()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "rfm-grpc");
        var before = await Segments.ListRfmCellsAsync(new ListRfmCellsRequest { Tenant = planted.Tenant });
        Assert.Equal(0, before.ModelVersion);
        Assert.Equal(Cells, before.Cells.Select(c => c.Cell));
        Assert.All(before.Cells, c => Assert.Equal(0, c.Size));

        await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = planted.Tenant, K = 3 });
        var rfm = await Segments.ListRfmCellsAsync(new ListRfmCellsRequest { Tenant = planted.Tenant });

        // Spenders and lapsed users bought; browsers never did and are not customers.
        var customers = planted.Users.Count(u => u.Value != PlantedType.Browser);
        Assert.Equal(1, rfm.ModelVersion);
        Assert.Equal(customers, rfm.FittedOn);
        Assert.Equal(customers, rfm.Scored);
        Assert.Equal(planted.Users.Count, rfm.UsersWithFeatures);
        Assert.Equal(Cells, rfm.Cells.Select(c => c.Cell));
        Assert.Equal(customers, rfm.Cells.Sum(c => c.Size));
        Assert.Equal(1.0, rfm.Cells.Sum(c => c.Share), 9);
        Assert.Equal("Can't lose them", rfm.Cells.Single(c => c.Cell == "cant-lose-them").Name);
        Assert.Equal("R 1-2, F 5", rfm.Cells.Single(c => c.Cell == "cant-lose-them").Rule);
        foreach (var (edges, feature) in new[] { (rfm.Recency, "recency_days"), (rfm.Frequency, "frequency"), (rfm.Monetary, "monetary") })
        {
            Assert.Equal(feature, edges.Feature);
            Assert.Equal(4, edges.Edges.Count);
            Assert.Equal(edges.Edges.Order(), edges.Edges);
        }

        var memberships = await SegmentScenario.MembershipsAsync(Segments, planted);
        foreach (var (user, type) in planted.Users)
        {
            var score = memberships[user].Rfm;
            if (type == PlantedType.Browser)
            {
                Assert.Null(score);
                continue;
            }

            Assert.NotNull(score);
            Assert.Equal($"{score.Recency}{score.Frequency}{score.Monetary}", score.Code);
            Assert.Contains(score.Cell, Cells);
            if (type == PlantedType.Lapsed)
            {
                // One small order about 300 days ago: the fewest orders (one order ties the lowest edges, F 1) and
                // the least revenue; as half the customers they fill the lower two and a half quintiles of R and M.
                Assert.Equal(1, score.Frequency);
                Assert.True(score.Recency <= 3 && score.Monetary <= 3, $"{user} scored {score.Code}");
                Assert.Contains(score.Cell, new[] { "about-to-sleep", "hibernating", "lost" });
            }
            else
            {
                Assert.True(score.Recency >= 3 && score.Frequency >= 3, $"{user} scored {score.Code}");
            }

            // The profile read carries the same answer.
            var profile = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = planted.Tenant, UserId = user });
            Assert.Equal(score, profile.Segment.Rfm);
        }

        foreach (var cell in rfm.Cells)
        {
            var expected = memberships.Where(m => m.Value.Rfm?.Cell == cell.Cell).Select(m => m.Key).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected.Length, cell.Size);
            var members = await AllMembersAsync(planted.Tenant, cell.Cell, pageSize: 2);
            Assert.Equal(expected, members.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task Rest_lists_cells_shows_a_users_scores_and_pages_a_cell_in_camel_case_json()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "rfm-rest");
        var tenant = Uri.EscapeDataString(planted.Tenant);
        using var run = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3}""");

        using var listed = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/rfm");
        var root = listed.RootElement;
        Assert.Equal(1, Json.Int64(root, "modelVersion"));
        Assert.Equal(10, Json.Int64(root, "fittedOn"));
        Assert.Equal(4, root.GetProperty("recency").GetProperty("edges").GetArrayLength());
        Assert.Equal("monetary", root.GetProperty("monetary").GetProperty("feature").GetString());
        var cells = root.GetProperty("cells").EnumerateArray().ToArray();
        Assert.Equal(Cells, cells.Select(c => c.GetProperty("cell").GetString()));
        Assert.Equal(10, cells.Sum(c => Json.Int64(c, "size")));

        var spender = planted.Of(PlantedType.BigSpender).First();
        using var scored = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/users/{spender}/segment");
        var rfm = scored.RootElement.GetProperty("rfm");
        var cell = rfm.GetProperty("cell").GetString()!;
        Assert.Equal(3, rfm.GetProperty("code").GetString()!.Length);
        Assert.InRange(rfm.GetProperty("recency").GetInt32(), 1, 5);

        var browser = planted.Of(PlantedType.Browser).First();
        using var unscored = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/users/{browser}/segment");
        Assert.False(unscored.RootElement.TryGetProperty("rfm", out _), "a browser who never bought has no RFM score");

        var members = new List<string>();
        var token = "";
        for (var page = 0; ; page++)
        {
            Assert.True(page < 50, "the member pages never ended");
            using var response = await SegmentScenario.SendJsonAsync(
                Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/rfm/{cell}/members?pageSize=1&pageToken={Uri.EscapeDataString(token)}");
            var ids = response.RootElement.TryGetProperty("userIds", out var array) ? array.EnumerateArray().Select(u => u.GetString()!).ToArray() : [];
            Assert.InRange(ids.Length, 0, 1);
            members.AddRange(ids);
            token = response.RootElement.TryGetProperty("nextPageToken", out var next) ? next.GetString() ?? "" : "";
            if (token == "")
            {
                break;
            }
        }

        Assert.Contains(spender, members);
        Assert.Equal(Json.Int64(cells.Single(c => c.GetProperty("cell").GetString() == cell), "size"), members.Count);
    }

    [Fact]
    public async Task Bad_input_is_refused_with_the_code_and_what_to_fix()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "rfm-errors", perType: 2);
        var tenant = planted.Tenant;

        var noModel = await Assert.ThrowsAsync<RpcException>(() => Segments.ListRfmMembersAsync(new ListRfmMembersRequest { Tenant = tenant, Cell = "lost" }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, noModel.StatusCode);
        Assert.Contains("run segmentation first", noModel.Status.Detail);

        await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 2 });

        var unknown = await Assert.ThrowsAsync<RpcException>(() => Segments.ListRfmMembersAsync(new ListRfmMembersRequest { Tenant = tenant, Cell = "vips" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Equal($"cell: 'vips' is not an RFM cell; valid cells are {string.Join(", ", Cells)}", unknown.Status.Detail);

        // Cell ids are exact: the display name and another case are not ids.
        var named = await Assert.ThrowsAsync<RpcException>(() => Segments.ListRfmMembersAsync(new ListRfmMembersRequest { Tenant = tenant, Cell = "Champions" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, named.StatusCode);

        var garbage = await Assert.ThrowsAsync<RpcException>(() => Segments.ListRfmMembersAsync(
            new ListRfmMembersRequest { Tenant = tenant, Cell = "lost", PageToken = "%%not a token%%" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
        Assert.StartsWith("page_token:", garbage.Status.Detail);

        var huge = await Assert.ThrowsAsync<RpcException>(() => Segments.ListRfmMembersAsync(
            new ListRfmMembersRequest { Tenant = tenant, Cell = "lost", PageSize = 5000 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, huge.StatusCode);
        Assert.StartsWith("page_size:", huge.Status.Detail);

        var noTenant = await Assert.ThrowsAsync<RpcException>(() => Segments.ListRfmCellsAsync(new ListRfmCellsRequest { Tenant = "" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, noTenant.StatusCode);
        Assert.StartsWith("tenant", noTenant.Status.Detail);

        using var rest = await Silo.Http.GetAsync($"/v1/tenants/{Uri.EscapeDataString(tenant)}/rfm/big-spenders/members");
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        using var body = JsonDocument.Parse(await rest.Content.ReadAsStringAsync());
        var message = body.RootElement.GetProperty("message").GetString()!;
        Assert.StartsWith("cell: 'big-spenders' is not an RFM cell; valid cells are champions, loyal,", message);
        Assert.EndsWith("hibernating, lost", message);
    }

    private async Task<List<string>> AllMembersAsync(string tenant, string cell, int pageSize)
    {
        var members = new List<string>();
        var token = "";
        for (var page = 0; ; page++)
        {
            Assert.True(page < 100, "the member pages never ended");
            var response = await Segments.ListRfmMembersAsync(new ListRfmMembersRequest { Tenant = tenant, Cell = cell, PageSize = pageSize, PageToken = token });
            Assert.InRange(response.UserIds.Count, 0, pageSize);
            members.AddRange(response.UserIds);
            token = response.NextPageToken;
            if (token == "")
            {
                return members;
            }
        }
    }
}
