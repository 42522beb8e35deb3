using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Segmentation through the real host, over gRPC and REST: users of three planted behaviour types are ingested as
/// events, segmented, listed, paged, mapped, moved by new behaviour, and refused with a reason when the input is bad.
/// </summary>
[Collection(SegmentSiloCollection.Name)]
public class SegmentApiTests(SegmentSiloFixture fixture, ITestOutputHelper output)
{
    private SiloProcess Silo => fixture.Silo;

    private SegmentService.SegmentServiceClient Segments => new(Silo.Calls);

    [Fact]
    public async Task Grpc_run_assigns_every_user_and_members_map_and_curves_agree_with_the_model()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "grpc");

        var run = await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = planted.Tenant, MinK = 2, MaxK = 5 });

        Assert.Equal(1, run.ModelVersion);
        Assert.Equal(planted.Users.Count, run.UsersWithFeatures);
        Assert.Equal(0, run.Unassigned);
        Assert.Equal(run.UsersWithFeatures, run.Segments.Sum(s => s.Size));
        Assert.Equal(3, run.K);
        Assert.Equal(run.K, run.Segments.Count);
        Assert.NotEmpty(run.Features);
        Assert.All(run.Segments, segment =>
        {
            Assert.False(string.IsNullOrWhiteSpace(segment.Label), $"segment {segment.Id} has no label");
            Assert.Equal(run.Features, segment.Centroid.Select(c => c.Feature));
        });
        Assert.Equal(run.Segments.Count, run.Segments.Select(s => s.Id).Distinct().Count());

        // Every user's segment, read where it lives, is the one their profile shows.
        var memberships = await SegmentScenario.MembershipsAsync(Segments, planted);
        foreach (var (user, membership) in memberships)
        {
            Assert.Equal(1, membership.ModelVersion);
            Assert.Contains(run.Segments, s => s.Id == membership.SegmentId && s.Label == membership.Label);
            var profile = await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = planted.Tenant, UserId = user });
            Assert.Equal(membership, profile.Segment);
        }

        SegmentScenario.AssertTypesSeparated(planted, memberships);
        foreach (var segment in run.Segments)
        {
            var expected = memberships.Where(m => m.Value.SegmentId == segment.Id).Select(m => m.Key).Order(StringComparer.Ordinal).ToArray();
            Assert.Equal(expected.Length, segment.Size);
            var members = await SegmentScenario.AllMembersAsync(Segments, planted.Tenant, segment.Id, pageSize: 2);
            Assert.Equal(members.Count, members.Distinct().Count());
            Assert.Equal(expected, members.Order(StringComparer.Ordinal));
        }

        var map = await Segments.GetSegmentMapAsync(new GetSegmentMapRequest { Tenant = planted.Tenant });
        Assert.Equal(1, map.ModelVersion);
        Assert.Equal(planted.Users.Count, map.Points.Count);
        Assert.All(map.Points, p => Assert.Contains(run.Segments, s => s.Id == p.SegmentId));
        foreach (var segment in run.Segments)
        {
            Assert.Equal(segment.TrainingSize, map.Points.Count(p => p.SegmentId == segment.Id));
        }

        foreach (var axis in new[] { map.XAxis, map.YAxis })
        {
            Assert.Equal(run.Features, axis.Loadings.Select(l => l.Feature));
            Assert.All(axis.Loadings, l => Assert.True(double.IsFinite(l.Value)));
            Assert.InRange(axis.ExplainedVarianceRatio, 0.0, 1.0);
        }

        Assert.True(map.XAxis.ExplainedVarianceRatio >= map.YAxis.ExplainedVarianceRatio);

        var curves = await Segments.GetSegmentCurvesAsync(new GetSegmentCurvesRequest { Tenant = planted.Tenant });
        Assert.Equal(1, curves.ModelVersion);
        Assert.Equal([2, 3, 4, 5], curves.Points.Select(p => p.K));
        Assert.Equal(run.K, curves.ChosenK);
        Assert.False(string.IsNullOrWhiteSpace(curves.Reason));
    }

    [Fact]
    public async Task Segments_of_two_kinds_of_identical_users_have_no_stability_rather_than_nan()
    {
        // probe69: a tenant whose users had only a few different vectors answered every segment's stability as the JSON
        // string "NaN" (the bootstrap cannot refit k clusters on k different vectors, so it is not measured).
        var tenant = SegmentScenario.NewTenant("two-kinds");
        var at = DateTimeOffset.UtcNow.AddDays(-20);
        var request = new IngestEventsRequest { Tenant = tenant };
        for (var u = 0; u < 6; u++)
        {
            request.Events.Add(u < 3 ? SegmentScenario.Buy($"b-{u}", $"b-{u}-1", at, 80m, "home") : SegmentScenario.View($"v-{u}", $"v-{u}-1", at));
        }

        Assert.Equal(6, (await Silo.Client.IngestEventsAsync(request)).Accepted);
        await SegmentScenario.PollAsync(
            () => Segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }).ResponseAsync,
            o => o.UsersWithFeatures == 6,
            "six users holding features");

        using var run = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 2, "algorithm": "kmeans"}""");
        var segments = run.RootElement.GetProperty("segments").EnumerateArray().ToArray();
        Assert.Equal([3L, 3L], segments.Select(s => Json.Int64(s, "size")));
        Assert.False(run.RootElement.TryGetProperty("stabilityAdjustedRandIndex", out _), run.RootElement.ToString());
        Assert.All(segments, s => Assert.False(s.TryGetProperty("stability", out _), s.ToString()));
        Assert.DoesNotContain("NaN", run.RootElement.ToString(), StringComparison.Ordinal);

        // Nor in the curve (every point sits on its centre: Calinski-Harabasz is 1 then, as scikit-learn has it).
        using var curves = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/segments/curves");
        var point = Assert.Single(curves.RootElement.GetProperty("points").EnumerateArray());
        Assert.Equal((1.0, 0.0), (point.GetProperty("calinskiHarabasz").GetDouble(), point.GetProperty("daviesBouldin").GetDouble()));
        Assert.DoesNotContain("NaN", curves.RootElement.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rest_runs_lists_and_pages_segments_in_camel_case_json()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "rest");
        var tenant = Uri.EscapeDataString(planted.Tenant);

        using var run = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3, "algorithm": "kmeans"}""");
        var root = run.RootElement;
        Assert.Equal(1, Json.Int64(root, "modelVersion"));
        Assert.Equal(3, Json.Int64(root, "k"));
        Assert.Equal(planted.Users.Count, Json.Int64(root, "usersWithFeatures"));
        Assert.Equal(0, Json.Int64(root, "unassigned"));
        Assert.Equal("kmeans", root.GetProperty("algorithm").GetString());
        var segments = root.GetProperty("segments").EnumerateArray().ToArray();
        Assert.Equal(3, segments.Length);
        Assert.Equal(planted.Users.Count, segments.Sum(s => Json.Int64(s, "size")));
        Assert.All(segments, s =>
        {
            Assert.False(string.IsNullOrWhiteSpace(s.GetProperty("label").GetString()));
            Assert.True(s.TryGetProperty("trainingSize", out _));
            Assert.NotEmpty(s.GetProperty("centroid").EnumerateArray().Select(c => c.GetProperty("feature").GetString()));
            Assert.True(s.TryGetProperty("distinguishingFeatures", out _));
            // Measured with the model's bootstrap, as a number in 0..1 (never the JSON string "NaN": probe69).
            Assert.InRange(s.GetProperty("stability").GetDouble(), 0, 1);
        });
        Assert.InRange(root.GetProperty("stabilityAdjustedRandIndex").GetDouble(), -1, 1);
        var sizes = segments.ToDictionary(s => Json.Int64(s, "id"), s => Json.Int64(s, "size"));

        using var listed = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/segments");
        Assert.Equal(1, Json.Int64(listed.RootElement, "modelVersion"));
        Assert.Equal(sizes, listed.RootElement.GetProperty("segments").EnumerateArray().ToDictionary(s => Json.Int64(s, "id"), s => Json.Int64(s, "size")));

        var memberships = new Dictionary<string, long>();
        foreach (var user in planted.Users.Keys)
        {
            using var segment = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(user)}/segment");
            var grpc = await Segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = user });
            Assert.Equal(grpc.SegmentId, Json.Int64(segment.RootElement, "segmentId"));
            Assert.Equal((user, user), (grpc.UserId, segment.RootElement.GetProperty("userId").GetString()));
            Assert.Equal(grpc.Label, segment.RootElement.GetProperty("label").GetString());
            Assert.Equal(1, Json.Int64(segment.RootElement, "modelVersion"));
            Assert.False(string.IsNullOrEmpty(segment.RootElement.GetProperty("since").GetString()));
            memberships[user] = grpc.SegmentId;
        }

        SegmentScenario.AssertTypesSeparated(planted, memberships.ToDictionary(m => m.Key, m => new SegmentMembership { SegmentId = (int)m.Value }));
        foreach (var (id, size) in sizes)
        {
            var members = new List<string>();
            var token = "";
            for (var page = 0; ; page++)
            {
                Assert.True(page < 50, "the member pages never ended");
                using var response = await SegmentScenario.SendJsonAsync(
                    Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/segments/{id}/members?pageSize=2&pageToken={Uri.EscapeDataString(token)}");
                var ids = response.RootElement.TryGetProperty("userIds", out var array) ? array.EnumerateArray().Select(u => u.GetString()!).ToArray() : [];
                Assert.InRange(ids.Length, 0, 2);
                members.AddRange(ids);
                token = response.RootElement.TryGetProperty("nextPageToken", out var next) ? next.GetString() ?? "" : "";
                if (token == "")
                {
                    break;
                }
            }

            Assert.Equal(
                memberships.Where(m => m.Value == id).Select(m => m.Key).Order(StringComparer.Ordinal),
                members.Order(StringComparer.Ordinal));
            Assert.Equal(size, members.Count);
        }
    }

    [Fact]
    public async Task A_users_segment_is_explained_over_grpc_and_rest_against_the_nearest_other_segment()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "explain", perType: 4);
        var tenant = planted.Tenant;

        // Two more users whose ids differ only in escaping: "w%41" buys big and often, "wA" lapsed long ago.
        var suffix = Guid.NewGuid().ToString("N")[..6];
        string encodedUser = "w%41" + suffix, plainUser = "wA" + suffix;
        var now = DateTimeOffset.UtcNow;
        var extra = new IngestEventsRequest { Tenant = tenant };
        extra.Events.AddRange(Enumerable.Range(0, 12).Select(i =>
            SegmentScenario.Buy(encodedUser, $"enc-{i}", now.AddDays(-1 - 2 * i), 390m, SegmentScenario.Categories[i % SegmentScenario.Categories.Length])));
        extra.Events.Add(SegmentScenario.View(plainUser, "plain-view", now.AddDays(-298)));
        extra.Events.Add(SegmentScenario.Buy(plainUser, "plain-buy", now.AddDays(-298).AddMinutes(5), 21m, "home"));
        Assert.Empty((await Silo.Client.IngestEventsAsync(extra)).Rejected);
        await SegmentScenario.PollAsync(
            () => Segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }).ResponseAsync,
            o => o.UsersWithFeatures == planted.Users.Count + 2,
            "the two extra users holding features");

        // No model yet: NotFound, saying what to do.
        var spender = planted.Of(PlantedType.BigSpender).First();
        var early = await Assert.ThrowsAsync<RpcException>(() => Segments.ExplainUserSegmentAsync(
            new ExplainUserSegmentRequest { Tenant = tenant, UserId = spender }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, early.StatusCode);
        Assert.Contains("no segmentation model yet; run segmentation first", early.Status.Detail);

        var run = await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 3 });
        var memberships = await SegmentScenario.MembershipsAsync(Segments, planted);
        SegmentScenario.AssertTypesSeparated(planted, memberships);
        foreach (var (user, membership) in memberships)
        {
            var explained = await Segments.ExplainUserSegmentAsync(new ExplainUserSegmentRequest { Tenant = tenant, UserId = user });
            output.WriteLine($"{user}: {explained.Summary}");

            Assert.Equal((tenant, user, run.ModelVersion), (explained.Tenant, explained.UserId, explained.ModelVersion));
            Assert.Equal((membership.SegmentId, membership.Label), (explained.Segment.SegmentId, explained.Segment.Label));
            Assert.Equal(membership, explained.Listed);
            var own = run.Segments.Single(s => s.Id == explained.Segment.SegmentId);
            var other = run.Segments.Single(s => s.Id == explained.NearestOther.SegmentId);
            Assert.NotEqual(own.Id, other.Id);
            Assert.Equal(other.Label, explained.NearestOther.Label);
            Assert.Equal(explained.NearestOther.Distance - explained.Segment.Distance, explained.Margin, 9);
            Assert.True(explained.Margin > 0, $"{user}: {explained}");

            // Features by name, the centroids as ListSegments shows them, and the two distances they add up to.
            Assert.Equal(run.Features, explained.Features.Select(f => f.Feature));
            Assert.Equal(own.Centroid.Select(c => c.Value), explained.Features.Select(f => f.Centroid));
            Assert.Equal(other.Centroid.Select(c => c.Value), explained.Features.Select(f => f.NearestOtherCentroid));
            Assert.Equal(explained.Segment.Distance * explained.Segment.Distance, explained.Features.Sum(f => f.Contribution), 9);
            Assert.Equal(explained.NearestOther.Distance * explained.NearestOther.Distance, explained.Features.Sum(f => f.NearestOtherContribution), 9);
            Assert.InRange(explained.FavouringFeatures.Count, 1, 3);
            Assert.All(explained.FavouringFeatures, name =>
            {
                var feature = explained.Features.Single(f => f.Feature == name);
                Assert.True(feature.Contribution < feature.NearestOtherContribution, $"{user}: {name} does not favour the own segment");
                Assert.Contains(name, explained.Summary);
            });
            Assert.StartsWith(
                $"In '{own.Label}' (distance {explained.Segment.Distance.ToString("0.00", CultureInfo.InvariantCulture)}) rather than '{other.Label}' "
                + $"(distance {explained.NearestOther.Distance.ToString("0.00", CultureInfo.InvariantCulture)}): ",
                explained.Summary);
        }

        // A spender's figures are their own, in the units a person reads.
        var spent = await Segments.ExplainUserSegmentAsync(new ExplainUserSegmentRequest { Tenant = tenant, UserId = spender });
        if (run.Features.Contains("frequency"))
        {
            Assert.Equal(11, spent.Features.Single(f => f.Feature == "frequency").Value);
        }

        Assert.Matches(@"\d (orders?|USD|days?|sessions?|categories|events/day)\b", spent.Summary);

        // REST: the same explanation as JSON, under the verb route.
        using var rest = await SegmentScenario.SendJsonAsync(
            Silo.Http, HttpMethod.Get, $"/v1/tenants/{Uri.EscapeDataString(tenant)}/users/{Uri.EscapeDataString(spender)}/segment:explain");
        var root = rest.RootElement;
        Assert.Equal(spender, root.GetProperty("userId").GetString());
        Assert.Equal(run.ModelVersion, Json.Int64(root, "modelVersion"));
        Assert.Equal(spent.Segment.SegmentId, Json.Int64(root.GetProperty("segment"), "segmentId"));
        Assert.Equal(spent.NearestOther.SegmentId, Json.Int64(root.GetProperty("nearestOther"), "segmentId"));
        Assert.Equal(spent.Features.Select(f => f.Feature), root.GetProperty("features").EnumerateArray().Select(f => f.GetProperty("feature").GetString()));
        Assert.Equal(spent.FavouringFeatures, root.GetProperty("favouringFeatures").EnumerateArray().Select(f => f.GetString()));
        Assert.StartsWith($"In '{spent.Segment.Label}'", root.GetProperty("summary").GetString());
        Assert.True(DateTimeOffset.Parse(root.GetProperty("asOf").GetString()!, CultureInfo.InvariantCulture) >= DateTimeOffset.Parse(spent.AsOf, CultureInfo.InvariantCulture));

        // "%25" is '%': "w%2541" names user "w%41" (a spender), while "w%41" names user "wA" (lapsed).
        var spenders = memberships[spender].SegmentId;
        var lapsed = memberships[planted.Of(PlantedType.Lapsed).First()].SegmentId;
        var (encodedStatus, encodedBody) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/{tenant}/users/w%2541{suffix}/segment:explain");
        Assert.True(encodedStatus == HttpStatusCode.OK, $"{encodedStatus} {encodedBody}");
        using var encoded = JsonDocument.Parse(encodedBody);
        Assert.Equal(encodedUser, encoded.RootElement.GetProperty("userId").GetString());
        Assert.Equal(spenders, Json.Int64(encoded.RootElement.GetProperty("segment"), "segmentId"));
        var (plainStatus, plainBody) = await RawHttp.SendAsync(Silo.HttpPort, "GET", $"/v1/tenants/{tenant}/users/w%41{suffix}/segment:explain");
        Assert.True(plainStatus == HttpStatusCode.OK, $"{plainStatus} {plainBody}");
        using var plain = JsonDocument.Parse(plainBody);
        Assert.Equal(plainUser, plain.RootElement.GetProperty("userId").GetString());
        Assert.Equal(lapsed, Json.Int64(plain.RootElement.GetProperty("segment"), "segmentId"));

        // A user the tenant has never seen: NotFound over gRPC and 404 over REST, each saying why.
        var stranger = "nobody-" + suffix;
        var unknown = await Assert.ThrowsAsync<RpcException>(() => Segments.ExplainUserSegmentAsync(
            new ExplainUserSegmentRequest { Tenant = tenant, UserId = stranger }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(
            $"User '{stranger}' in tenant '{tenant}' has no segment to explain: no features are held for the user (an unknown user, or one without behavioral events yet).",
            unknown.Status.Detail);
        using var missing = await Silo.Http.GetAsync($"/v1/tenants/{Uri.EscapeDataString(tenant)}/users/{stranger}/segment:explain");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var missingBody = JsonDocument.Parse(await missing.Content.ReadAsStringAsync());
        Assert.Equal(unknown.Status.Detail, missingBody.RootElement.GetProperty("message").GetString());

        var invalid = await Assert.ThrowsAsync<RpcException>(() => Segments.ExplainUserSegmentAsync(
            new ExplainUserSegmentRequest { Tenant = tenant, UserId = "" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.StartsWith("user_id:", invalid.Status.Detail);
    }

    [Fact]
    public async Task Segments_are_named_by_the_tenants_thresholds_and_a_label_whose_rule_no_longer_holds_is_replaced()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "names");
        var tenant = Uri.EscapeDataString(planted.Tenant);

        using var first = await SegmentScenario.SendJsonAsync(
            Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3, "dormantAfterDays": 200, "atRiskAfterDays": 100}""");
        var segments = first.RootElement.GetProperty("segments").EnumerateArray().ToArray();
        JsonElement SegmentOf(JsonDocument run, PlantedType type)
        {
            var user = planted.Of(type).First();
            var id = Segments.GetUserSegment(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = user }).SegmentId;
            return run.RootElement.GetProperty("segments").EnumerateArray().Single(s => Json.Int64(s, "id") == id);
        }

        var lapsed = SegmentOf(first, PlantedType.Lapsed);
        Assert.Equal("dormant", lapsed.GetProperty("label").GetString());
        Assert.Equal("dormant", lapsed.GetProperty("rule").GetString());
        Assert.StartsWith("Lapsed one-time buyers: 33% of users, last purchase about 10 months ago, 1 order, 22 USD spent",
            lapsed.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.InRange(lapsed.GetProperty("facts").GetProperty("daysSinceLastPurchase").GetDouble(), 295, 305);
        Assert.Equal(1, lapsed.GetProperty("facts").GetProperty("orders").GetDouble());
        Assert.Equal("high-value", SegmentOf(first, PlantedType.BigSpender).GetProperty("label").GetString());
        Assert.Equal("browser", SegmentOf(first, PlantedType.Browser).GetProperty("label").GetString());
        Assert.Equal(3, segments.Select(s => s.GetProperty("label").GetString()).Distinct().Count());
        Assert.Contains(first.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.StartsWith("frequency and spend count the whole history", StringComparison.Ordinal));
        Assert.Equal(200, first.RootElement.GetProperty("labelThresholds").GetProperty("dormantAfterDays").GetDouble());
        Assert.Equal(100, first.RootElement.GetProperty("labelThresholds").GetProperty("atRiskAfterDays").GetDouble());
        Assert.Equal(60, first.RootElement.GetProperty("labelThresholds").GetProperty("newWithinDays").GetDouble());

        // The first model has no previous one to agree with: the figure is absent, not the string "NaN" that numeric readers refuse.
        Assert.False(first.RootElement.TryGetProperty("agreementWithPrevious", out _), first.RootElement.ToString());

        // A stricter tenant: 300 days without buying is not yet dormant, nor at risk. The lapsed segment keeps its id,
        // but not a label its rule no longer gives it.
        using var second = await SegmentScenario.SendJsonAsync(
            Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3, "dormantAfterDays": 400, "atRiskAfterDays": 350}""");
        var relabelled = SegmentOf(second, PlantedType.Lapsed);
        Assert.Equal(Json.Int64(lapsed, "id"), Json.Int64(relabelled, "id"));
        Assert.Equal("casual", relabelled.GetProperty("rule").GetString());
        Assert.Equal("casual", relabelled.GetProperty("label").GetString());
        Assert.Equal("high-value", SegmentOf(second, PlantedType.BigSpender).GetProperty("label").GetString());
        Assert.InRange(second.RootElement.GetProperty("agreementWithPrevious").GetDouble(), 0.0, 1.0);

        // The tenant's thresholds stay until a run names others: a run that names none keeps 400 / 350.
        using var third = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3}""");
        Assert.Equal(400, third.RootElement.GetProperty("labelThresholds").GetProperty("dormantAfterDays").GetDouble());
        Assert.Equal(350, third.RootElement.GetProperty("labelThresholds").GetProperty("atRiskAfterDays").GetDouble());
        Assert.Equal("casual", SegmentOf(third, PlantedType.Lapsed).GetProperty("label").GetString());

        // Checked as a combination with the tenant's: at-risk 450 against the kept dormancy of 400 is refused by name.
        using var clash = new StringContent("""{"atRiskAfterDays": 450}""", Encoding.UTF8, "application/json");
        using var clashed = await Silo.Http.PostAsync($"/v1/tenants/{tenant}/segments:run", clash);
        Assert.Equal(HttpStatusCode.BadRequest, clashed.StatusCode);
        Assert.Contains("at_risk_after_days: must be positive and below dormant_after_days (400); got 450.", await clashed.Content.ReadAsStringAsync());

        using var curves = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/segments/curves");
        var point = curves.RootElement.GetProperty("points").EnumerateArray().Single();
        Assert.True(point.GetProperty("calinskiHarabasz").GetDouble() > 1);
        Assert.True(point.GetProperty("daviesBouldin").GetDouble() > 0);

        using var content = new StringContent("""{"dormantAfterDays": 60, "atRiskAfterDays": 90}""", Encoding.UTF8, "application/json");
        using var refused = await Silo.Http.PostAsync($"/v1/tenants/{tenant}/segments:run", content);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
        Assert.Contains("at_risk_after_days: must be positive and below dormant_after_days (60); got 90.", body.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_history_that_ended_years_ago_is_segmented_as_of_its_end_and_live_assignment_measures_to_the_same_instant()
    {
        // As an Online Retail export of 2010-2011 imported today: the spenders bought through 2011-12-09.
        var end = new DateTimeOffset(2011, 12, 9, 12, 0, 0, TimeSpan.Zero);
        var planted = await SegmentScenario.FeedAsync(Silo, "asof", endingAt: end);
        var tenant = Uri.EscapeDataString(planted.Tenant);
        JsonElement SegmentOf(JsonDocument run, string user)
        {
            var id = Segments.GetUserSegment(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = user }).SegmentId;
            return run.RootElement.GetProperty("segments").EnumerateArray().Single(s => Json.Int64(s, "id") == id);
        }

        static string EvaluatedAt(JsonDocument run) => run.RootElement.TryGetProperty("evaluatedAt", out var at) ? at.GetString()! : "";

        string LabelOf(JsonDocument run, PlantedType type) => SegmentOf(run, planted.Of(type).First()).GetProperty("label").GetString()!;

        // Measured to today everyone lapsed long ago: no segment is high-value or a recent browser.
        using var today = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3}""");
        Assert.Equal("", EvaluatedAt(today));
        Assert.DoesNotContain(today.RootElement.GetProperty("segments").EnumerateArray(), s => s.GetProperty("rule").GetString() is "high-value" or "browser");
        // RFM ranks the lapsed base against itself: its champions are lapsed too, and both answers say so.
        Assert.Contains(today.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.StartsWith("rfm: four fifths of buyers last bought", StringComparison.Ordinal));
        Assert.Contains((await Segments.ListRfmCellsAsync(new ListRfmCellsRequest { Tenant = planted.Tenant })).Warnings, w => w.StartsWith("rfm: ", StringComparison.Ordinal));
        long SegmentIdOf(PlantedType type) => Segments.GetUserSegment(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = planted.Of(type).First() }).SegmentId;
        var plantedTypes = new[] { PlantedType.BigSpender, PlantedType.Browser, PlantedType.Lapsed };
        var liveIds = plantedTypes.ToDictionary(type => type, SegmentIdOf);

        using var asOfEnd = await SegmentScenario.SendJsonAsync(
            Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3, "asOf": "2011-12-10T00:00:00Z", "dormantAfterDays": 200, "atRiskAfterDays": 100}""");
        Assert.Equal(
            new DateTimeOffset(2011, 12, 10, 0, 0, 0, TimeSpan.Zero),
            DateTimeOffset.Parse(EvaluatedAt(asOfEnd), CultureInfo.InvariantCulture));
        Assert.Equal("high-value", LabelOf(asOfEnd, PlantedType.BigSpender));
        Assert.Equal("browser", LabelOf(asOfEnd, PlantedType.Browser));
        Assert.Equal("dormant", LabelOf(asOfEnd, PlantedType.Lapsed));
        var lapsed = SegmentOf(asOfEnd, planted.Of(PlantedType.Lapsed).First());
        Assert.InRange(lapsed.GetProperty("facts").GetProperty("daysSinceLastPurchase").GetDouble(), 295, 305);
        Assert.Contains(asOfEnd.RootElement.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("the run is as of 2011-12-10T00:00:00Z", StringComparison.Ordinal));
        Assert.Empty((await Segments.ListRfmCellsAsync(new ListRfmCellsRequest { Tenant = planted.Tenant })).Warnings);
        SegmentScenario.AssertTypesSeparated(planted, await SegmentScenario.MembershipsAsync(Segments, planted));
        // The same groups keep their ids from the live run to the run as of the history's end: the live model's
        // segments are matched with the users as that model measured them, not as of 2011.
        Assert.InRange(asOfEnd.RootElement.GetProperty("agreementWithPrevious").GetDouble(), 0.9, 1.0);
        Assert.All(plantedTypes, type => Assert.Equal(liveIds[type], SegmentIdOf(type)));

        // The explanation measures to the model's instant too.
        var explained = await Segments.ExplainUserSegmentAsync(new ExplainUserSegmentRequest { Tenant = planted.Tenant, UserId = planted.Of(PlantedType.Lapsed).First() });
        Assert.StartsWith("2011-12-10T00:00:00", explained.AsOf, StringComparison.Ordinal);

        // A late part of that history (orders of its last weeks found in another export) is assigned as of the same
        // instant: a lapsed user who turns out to have bought big every other day moves to the spenders, without a retrain.
        var mover = planted.Of(PlantedType.Lapsed).Last();
        var late = new IngestEventsRequest { Tenant = planted.Tenant, Historical = true };
        late.Events.AddRange(Enumerable.Range(0, 12).Select(i => SegmentScenario.Buy(mover, $"{mover}-late-{i}", end.AddDays(-1 - (2 * i)), 400m, "home")));
        Assert.Empty((await Silo.Client.IngestEventsAsync(late)).Rejected);
        var spenders = Segments.GetUserSegment(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = planted.Of(PlantedType.BigSpender).First() }).SegmentId;
        await SegmentScenario.PollAsync(
            () => Segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = mover }).ResponseAsync,
            m => m.SegmentId == spenders,
            $"{mover} in the spenders' segment {spenders}");

        // A run without asOf is live again.
        using var live = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Post, $"/v1/tenants/{tenant}/segments:run", """{"k": 3}""");
        Assert.Equal("", EvaluatedAt(live));
        Assert.InRange(live.RootElement.GetProperty("agreementWithPrevious").GetDouble(), 0.9, 1.0);
        Assert.All(plantedTypes, type => Assert.Equal(liveIds[type], SegmentIdOf(type)));

        // Refused by name: an instant in the future, one that is not a timestamp, and the 365-day counts as of a past instant.
        foreach (var (body, expected) in new[]
        {
            ("""{"asOf": "2999-01-01T00:00:00Z"}""", "as_of: 2999-01-01T00:00:00Z is in the future"),
            ("""{"asOf": "last tuesday"}""", "as_of: 'last tuesday' is not an ISO-8601 timestamp"),
            ("""{"asOf": "2000-01-01T00:00:00Z"}""", "as_of: 2000-01-01T00:00:00Z is before the first event of every one of the"),
            ("""{"asOf": "2011-12-10T00:00:00Z", "window": "365d"}""", "as_of: the 365-day counts"),
            ("""{"asOf": "2011-12-10T00:00:00Z", "features": ["recency_days", "frequency_365d"]}""", "as_of: the 365-day counts"),
        })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var refused = await Silo.Http.PostAsync($"/v1/tenants/{tenant}/segments:run", content);
            var text = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{body}: {(int)refused.StatusCode} {text}");
            Assert.Contains(expected, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_history_of_the_nineties_segmented_as_of_its_end_keeps_engagement_velocity()
    {
        // As CDNOW (1997-98) or MovieLens 100k: some 1,500 seven-day half-lives before today, so the velocity a vector
        // holds as of today has decayed to 0; as of the history's end the planted types differ in it by far.
        var end = new DateTimeOffset(1998, 6, 30, 12, 0, 0, TimeSpan.Zero);
        var planted = await SegmentScenario.FeedAsync(Silo, "nineties", endingAt: end);

        var run = await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = planted.Tenant, K = 3, AsOf = "1998-07-01T00:00:00Z" });

        Assert.Contains("engagement_velocity", run.Features);
        Assert.DoesNotContain(run.Warnings, w => w.StartsWith("engagement_velocity", StringComparison.Ordinal));
        var velocities = run.Segments.Select(s => s.Centroid.Single(c => c.Feature == "engagement_velocity").Value).ToArray();
        Assert.All(velocities, v => Assert.True(v > 0, $"a segment's average velocity as of 1998 is {v}"));
        SegmentScenario.AssertTypesSeparated(planted, await SegmentScenario.MembershipsAsync(Segments, planted));
    }

    [Fact]
    public async Task Bad_input_is_refused_with_the_code_and_the_field_to_fix()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "errors", perType: 2);
        var tenant = planted.Tenant;

        var unknown = await Assert.ThrowsAsync<RpcException>(() => Segments.RunSegmentationAsync(
            new RunSegmentationRequest { Tenant = tenant, Algorithm = "dbscan", Features = { "recency_days", "shoe_size" } }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, unknown.StatusCode);
        Assert.Contains("algorithm: 'dbscan'", unknown.Status.Detail);
        Assert.Contains("features: 'shoe_size'", unknown.Status.Detail);

        var oneSegment = await Assert.ThrowsAsync<RpcException>(() => Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 1 }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, oneSegment.StatusCode);
        Assert.StartsWith("k:", oneSegment.Status.Detail);

        var empty = await Assert.ThrowsAsync<RpcException>(() => Segments.RunSegmentationAsync(
            new RunSegmentationRequest { Tenant = SegmentScenario.NewTenant("empty") }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, empty.StatusCode);
        Assert.Contains("not enough users with features", empty.Status.Detail);

        // Nothing was published by the refused runs.
        Assert.Equal(0, (await Segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant })).ModelVersion);
        var run = await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant, K = 2 });
        Assert.Equal(1, run.ModelVersion);

        var stranger = await Assert.ThrowsAsync<RpcException>(() => Segments.GetUserSegmentAsync(
            new GetUserSegmentRequest { Tenant = tenant, UserId = "nobody-" + Guid.NewGuid().ToString("N")[..8] }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, stranger.StatusCode);

        var garbage = await Assert.ThrowsAsync<RpcException>(() => Segments.ListSegmentMembersAsync(
            new ListSegmentMembersRequest { Tenant = tenant, SegmentId = run.Segments[0].Id, PageToken = "%%not a token%%" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, garbage.StatusCode);
        Assert.StartsWith("page_token:", garbage.Status.Detail);

        var missing = await Assert.ThrowsAsync<RpcException>(() => Segments.ListSegmentMembersAsync(
            new ListSegmentMembersRequest { Tenant = tenant, SegmentId = 99 }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Contains("99", missing.Status.Detail);

        using var content = new StringContent("""{"k": 1}""", Encoding.UTF8, "application/json");
        using var rest = await Silo.Http.PostAsync($"/v1/tenants/{Uri.EscapeDataString(tenant)}/segments:run", content);
        Assert.Equal(HttpStatusCode.BadRequest, rest.StatusCode);
        using var body = JsonDocument.Parse(await rest.Content.ReadAsStringAsync());
        Assert.StartsWith("k: must be between 2 and 50", body.RootElement.GetProperty("message").GetString());

        // Still the first model: a refused run leaves the published one alone.
        Assert.Equal(1, (await Segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant })).ModelVersion);
    }

    [Fact]
    public async Task A_browser_who_starts_buying_big_moves_to_the_spenders_without_a_retrain()
    {
        var planted = await SegmentScenario.FeedAsync(Silo, "move");
        var run = await Segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = planted.Tenant, K = 3 });
        var memberships = await SegmentScenario.MembershipsAsync(Segments, planted);
        SegmentScenario.AssertTypesSeparated(planted, memberships);
        var browser = planted.Of(PlantedType.Browser).First();
        var browsers = memberships[browser].SegmentId;
        var spenders = memberships[planted.Of(PlantedType.BigSpender).First()].SegmentId;

        var now = DateTimeOffset.UtcNow;
        var request = new IngestEventsRequest { Tenant = planted.Tenant };
        request.Events.AddRange(Enumerable.Range(0, 14).Select(i =>
            SegmentScenario.Buy(browser, $"{browser}-converted-{i}", now.AddDays(-i).AddMinutes(-5), 400m, SegmentScenario.Categories[i % SegmentScenario.Categories.Length])));
        var ingested = await Silo.Client.IngestEventsAsync(request);
        Assert.Empty(ingested.Rejected);

        var moved = await SegmentScenario.PollAsync(
            () => Segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = browser }).ResponseAsync,
            m => m.SegmentId == spenders,
            $"{browser} moving from segment {browsers} to the spenders' segment {spenders}");

        Assert.Equal(1, moved.ModelVersion);
        Assert.True(DateTimeOffset.Parse(moved.Since, CultureInfo.InvariantCulture) > DateTimeOffset.Parse(run.TrainedAt, CultureInfo.InvariantCulture));
        var overview = await SegmentScenario.PollAsync(
            () => Segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = planted.Tenant }).ResponseAsync,
            o => o.Segments.Single(s => s.Id == spenders).Size == run.Segments.Single(s => s.Id == spenders).Size + 1,
            "the spenders' segment growing by one");
        Assert.Equal(1, overview.ModelVersion);
        Assert.Equal(run.Segments.Single(s => s.Id == browsers).Size - 1, overview.Segments.Single(s => s.Id == browsers).Size);
        Assert.Equal(0, overview.Unassigned);
        Assert.Contains(browser, await SegmentScenario.AllMembersAsync(Segments, planted.Tenant, spenders, pageSize: 100));
    }
}

/// <summary>Segments on Azure storage across a silo restart: the model and every membership come back from the shards' blobs.</summary>
[Collection(AzuriteCollection.Name)]
public class SegmentApiDurabilityTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Theory]
    [InlineData("stop")]
    [InlineData("kill")]
    public async Task A_restart_keeps_the_model_and_every_membership_without_waking_profiles(string shutdown)
    {
        var serviceId = "s" + Guid.NewGuid().ToString("N")[..10];
        PlantedTenant planted;
        SegmentsResponse before;
        Dictionary<string, SegmentMembership> memberships;
        var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, SegmentSiloFixture.Settings);
        try
        {
            var segments = new SegmentService.SegmentServiceClient(silo.Calls);
            planted = await SegmentScenario.FeedAsync(silo, "durable", perType: 4);
            var run = await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = planted.Tenant, K = 3 });
            var trained = await SegmentScenario.MembershipsAsync(segments, planted);

            // One browser starts buying after the model is published: the shard's written-behind update must survive too.
            var mover = planted.Of(PlantedType.Browser).First();
            var spenders = trained[planted.Of(PlantedType.BigSpender).First()].SegmentId;
            var purchases = new IngestEventsRequest { Tenant = planted.Tenant };
            purchases.Events.AddRange(Enumerable.Range(0, 14).Select(i => SegmentScenario.Buy(
                mover, $"{mover}-converted-{i}", DateTimeOffset.UtcNow.AddDays(-i).AddMinutes(-5), 400m, SegmentScenario.Categories[i % SegmentScenario.Categories.Length])));
            Assert.Empty((await silo.Client.IngestEventsAsync(purchases)).Rejected);
            await SegmentScenario.PollAsync(
                () => segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = mover }).ResponseAsync,
                m => m.SegmentId == spenders,
                $"{mover} moving to the spenders' segment {spenders}");
            before = await SegmentScenario.PollAsync(
                () => segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = planted.Tenant }).ResponseAsync,
                o => o.Segments.Single(s => s.Id == spenders).Size == run.Segments.Single(s => s.Id == spenders).Size + 1,
                "the spenders' segment growing by one");
            memberships = await SegmentScenario.MembershipsAsync(segments, planted);

            // Profiles written and the log checkpoint past them, so a restart has nothing to replay into profile grains;
            // then more than every write-behind interval (200 ms here), since the saved checkpoint is not reported.
            await SegmentScenario.PollAsync(
                async () => JsonDocument.Parse(await silo.Http.GetStringAsync("/v1/admin/ingest")).RootElement.GetProperty("allWritten").GetBoolean(),
                written => written,
                "every profile written");
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (shutdown == "kill")
            {
                await silo.KillAsync();
            }
            else
            {
                await silo.StopAsync();
            }
        }
        finally
        {
            await silo.DisposeAsync();
        }

        await using var restarted = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, SegmentSiloFixture.Settings);
        try
        {
            var segments = new SegmentService.SegmentServiceClient(restarted.Calls);
            var after = await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = planted.Tenant });
            Assert.Equal(before.ModelVersion, after.ModelVersion);
            Assert.Equal(before.TrainedAt, after.TrainedAt);
            Assert.Equal(planted.Users.Count, after.UsersWithFeatures);
            Assert.Equal(0, after.Unassigned);
            Assert.Equal(before.Segments.Select(s => (s.Id, s.Label, s.Size)), after.Segments.Select(s => (s.Id, s.Label, s.Size)));

            foreach (var (user, membership) in memberships)
            {
                var now = await segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = user });
                Assert.Equal(membership, now);
                if (planted.Users[user] != PlantedType.Browser)
                {
                    Assert.NotNull(now.Rfm); // customers keep their RFM scores too (the converted browser is one now as well)
                }
            }

            // The shards answered from their own storage: no profile grain was activated to rebuild them.
            using var cluster = JsonDocument.Parse(await restarted.Http.GetStringAsync("/v1/admin/cluster"));
            var activations = cluster.RootElement.GetProperty("activations");
            var profiles = activations.TryGetProperty("UserProfileGrain", out var count) ? count.GetInt32() : 0;
            Assert.True(profiles == 0, $"{profiles} profile grains were activated after the restart; activations: {activations}");
            Assert.True(activations.TryGetProperty("FeatureShardGrain", out var shards) && shards.GetInt32() > 0, $"activations: {activations}");

            // Only now read a profile: it shows the same segment, and the cluster view does count the woken profile.
            var (someone, itsSegment) = memberships.First();
            var profile = await restarted.Client.GetProfileAsync(new GetProfileRequest { Tenant = planted.Tenant, UserId = someone });
            Assert.Equal(itsSegment, profile.Segment);
            using var woken = JsonDocument.Parse(await restarted.Http.GetStringAsync("/v1/admin/cluster"));
            Assert.True(woken.RootElement.GetProperty("activations").TryGetProperty("UserProfileGrain", out var afterRead) && afterRead.GetInt32() >= 1);
        }
        catch
        {
            output.WriteLine(restarted.Output);
            throw;
        }
    }
}

public enum PlantedType
{
    BigSpender,
    Browser,
    Lapsed,
}

/// <summary>A tenant's users and the behaviour type each was given.</summary>
public sealed record PlantedTenant(string Tenant, IReadOnlyDictionary<string, PlantedType> Users)
{
    public IEnumerable<string> Of(PlantedType type) => Users.Where(u => u.Value == type).Select(u => u.Key).Order(StringComparer.Ordinal);
}

/// <summary>Builds users of clearly different behaviour from realistic events, and reads segments back.</summary>
public static class SegmentScenario
{
    public static readonly string[] Categories = ["electronics", "home", "fashion", "sports"];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static string NewTenant(string purpose) => $"seg-{purpose}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>
    /// Ingests <paramref name="perType"/> users of each type into a fresh tenant (big recent spenders, browsers who
    /// never buy, users lapsed since one small purchase about 300 days ago), and waits until every one of them holds a
    /// feature vector in its shard. With <paramref name="endingAt"/> the whole history is that much older: it ends then
    /// (a history imported years after it happened).
    /// </summary>
    public static async Task<PlantedTenant> FeedAsync(SiloProcess silo, string purpose, int perType = 5, DateTimeOffset? endingAt = null)
    {
        var tenant = NewTenant(purpose);
        var now = endingAt ?? DateTimeOffset.UtcNow;
        var users = new Dictionary<string, PlantedType>();
        var request = new IngestEventsRequest { Tenant = tenant, Historical = endingAt is not null };
        for (var n = 0; n < perType; n++)
        {
            var spender = $"spender-{n}";
            users[spender] = PlantedType.BigSpender;
            request.Events.AddRange(Enumerable.Range(0, 11 + n % 3).Select(i =>
                Buy(spender, $"{spender}-buy-{i}", now.AddDays(-1 - 2 * i).AddHours(-n), 380m + 10 * (n % 5), Categories[(i + n) % Categories.Length])));

            var browser = $"browser-{n}";
            users[browser] = PlantedType.Browser;
            request.Events.AddRange(Enumerable.Range(0, 38 + n % 5).Select(i =>
                View(browser, $"{browser}-view-{i}", now.AddHours(-1 - 11 * i).AddMinutes(-7 * n))));

            var lapsed = $"lapsed-{n}";
            users[lapsed] = PlantedType.Lapsed;
            var lapsedAt = now.AddDays(-295 - 2 * n);
            request.Events.Add(View(lapsed, $"{lapsed}-view", lapsedAt));
            request.Events.Add(Buy(lapsed, $"{lapsed}-buy", lapsedAt.AddMinutes(5), 20m + n, Categories[n % Categories.Length]));
        }

        var response = await silo.Client.IngestEventsAsync(request);
        Assert.Empty(response.Rejected);
        Assert.Equal(request.Events.Count, response.Accepted);

        var segments = new SegmentService.SegmentServiceClient(silo.Calls);
        var overview = await PollAsync(
            () => segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }).ResponseAsync,
            o => o.UsersWithFeatures >= users.Count,
            $"{users.Count} users of {tenant} holding features");
        Assert.Equal(users.Count, overview.UsersWithFeatures);
        Assert.Equal(0, overview.ModelVersion);
        // Before a model there is nothing to describe it: absent, not "" or 0 (REST leaves the fields out).
        Assert.False(overview.HasTrainedAt || overview.HasAlgorithm || overview.HasKReason || overview.HasSilhouette || overview.HasInertia || overview.HasEvaluatedAt);
        return new PlantedTenant(tenant, users);
    }

    public static WireEvent Buy(string user, string id, DateTimeOffset at, decimal unitPrice, string category) => new()
    {
        EventId = id,
        Type = "purchase",
        UserId = user,
        OccurredAt = at.ToString("O", CultureInfo.InvariantCulture),
        Source = "web",
        Context = new EventContext { Device = "desktop", Country = "DE", Locale = "de-DE" },
        Purchase = new Purchase
        {
            OrderId = "order-" + id,
            Currency = "USD",
            Lines = { new PurchaseLine { ProductId = $"{category}-{unitPrice:0}", Category = category, Quantity = 1, UnitPrice = unitPrice.ToString("0.00", CultureInfo.InvariantCulture) } },
        },
    };

    public static WireEvent View(string user, string id, DateTimeOffset at) => new()
    {
        EventId = id,
        Type = "page_view",
        UserId = user,
        OccurredAt = at.ToString("O", CultureInfo.InvariantCulture),
        Source = "web",
        Context = new EventContext { Device = "mobile", Country = "FR" },
        Page = new PageView { Url = "/catalog?page=" + id.Length, Title = "Catalog" },
    };

    public static async Task<Dictionary<string, SegmentMembership>> MembershipsAsync(SegmentService.SegmentServiceClient segments, PlantedTenant planted)
    {
        var memberships = new Dictionary<string, SegmentMembership>();
        foreach (var user in planted.Users.Keys)
        {
            memberships[user] = await segments.GetUserSegmentAsync(new GetUserSegmentRequest { Tenant = planted.Tenant, UserId = user });
        }

        return memberships;
    }

    /// <summary>Every user of a planted type shares one segment, and the three types have three different segments.</summary>
    public static void AssertTypesSeparated(PlantedTenant planted, IReadOnlyDictionary<string, SegmentMembership> memberships)
    {
        var segmentsByType = Enum.GetValues<PlantedType>().ToDictionary(
            type => type,
            type => planted.Of(type).Select(u => memberships[u].SegmentId).Distinct().ToArray());
        foreach (var (type, ids) in segmentsByType)
        {
            Assert.True(ids.Length == 1, $"{type} users are spread over segments {string.Join(", ", ids)}");
        }

        Assert.Equal(3, segmentsByType.Values.Select(ids => ids[0]).Distinct().Count());
    }

    /// <summary>Pages through a segment's members over gRPC; fails on an over-full page or pages that never end.</summary>
    public static async Task<List<string>> AllMembersAsync(SegmentService.SegmentServiceClient segments, string tenant, int segmentId, int pageSize)
    {
        var members = new List<string>();
        var token = "";
        for (var page = 0; ; page++)
        {
            Assert.True(page < 100, "the member pages never ended");
            var response = await segments.ListSegmentMembersAsync(new ListSegmentMembersRequest { Tenant = tenant, SegmentId = segmentId, PageSize = pageSize, PageToken = token });
            Assert.InRange(response.UserIds.Count, 0, pageSize);
            members.AddRange(response.UserIds);
            token = response.NextPageToken;
            if (token == "")
            {
                return members;
            }
        }
    }

    public static async Task<JsonDocument> SendJsonAsync(HttpClient http, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text);
    }

    public static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var within = timeout ?? Timeout;
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Not reached within {within}: {what}. Last read: {value}");
            await Task.Delay(100);
        }
    }
}

/// <summary>Reads proto3 JSON: 64-bit integers arrive as strings, and fields holding their default are left out.</summary>
internal static class Json
{
    public static long Int64(JsonElement element, string name) =>
        !element.TryGetProperty(name, out var value) ? 0
        : value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, CultureInfo.InvariantCulture)
        : value.GetInt64();
}
