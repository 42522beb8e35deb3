using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The whole loop through the real host: simulated users with hidden tastes build their profiles from a year of
/// history, the recommender trains on it, an experiment serves the hybrid to some and popularity to the others, the
/// users respond to what they were shown (position bias included), and the results find the effect the response model
/// says the lists cause; an A/A test afterwards finds none.
/// </summary>
[Collection(RecommendationSiloCollection.Name)]
public class ExperimentLoopTests(RecommendationSiloFixture fixture)
{
    private const int Users = 1200;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private SiloProcess Silo => fixture.Silo;

    [Fact]
    public async Task The_experiment_finds_the_lift_the_simulated_users_respond_with_and_an_a_a_test_finds_none()
    {
        // A fixed tenant: variants are assigned by a hash of tenant, experiment and user, and the responses are drawn by
        // user and visit, so that every run serves the same users the same arms and the intervals below are checked
        // on one outcome, not on a new draw each run (the fixture's silo is in memory and its own).
        const string tenant = "loop";
        var stream = new SyntheticStream(new SimulationOptions { Users = Users, Seed = 31, Tenant = tenant });
        var replay = await new GatewayReplayer(Silo.Client).ReplayAsync(stream.IngestRequests(500), null, CancellationToken.None);
        Assert.Equal(0L, replay.Rejected);

        var recommendations = new RecommendationService.RecommendationServiceClient(Silo.Calls);
        var withItems = stream.Interactions().Count;
        await SegmentScenario.PollAsync(
            () => recommendations.GetRecommenderStatusAsync(new GetRecommenderStatusRequest { Tenant = tenant }).ResponseAsync,
            status => status.UsersWithInteractions >= withItems,
            "every user's item history in the interaction shards", Timeout);
        await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });

        // Segments, so that the fairness audit has segment groups (the feature shards hear of every profile on its write).
        var segments = new SegmentService.SegmentServiceClient(Silo.Calls);
        await SegmentScenario.PollAsync(
            () => segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = tenant }).ResponseAsync,
            listed => listed.UsersWithFeatures >= Users,
            "every user's features in the feature shards", Timeout);
        await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = tenant });

        // A list carries the segment it was served under, so the audit below groups its feedback by it.
        var someone = stream.Users[0].UserId;
        var segmentOfSomeone = (await Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = someone })).Segment;
        Assert.NotNull(segmentOfSomeone);
        var served = await recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = someone, N = 3, Slot = "elsewhere" });
        Assert.Matches($"^rec-[0-9a-f]{{32}}-s{segmentOfSomeone.SegmentId}$", served.RecommendationId);

        var experiments = new ExperimentService.ExperimentServiceClient(Silo.Calls);
        await experiments.CreateExperimentAsync(new PutExperimentRequest
        {
            Tenant = tenant,
            Experiment = new ExperimentDefinition
            {
                Id = "hybrid-vs-popular",
                Slot = "home",
                Variants =
                {
                    new ExperimentVariant { Key = "popular", Control = true, Algorithm = "popular", Rules = false },
                    new ExperimentVariant { Key = "hybrid", Algorithm = "model" },
                },
            },
        });
        await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "hybrid-vs-popular" });

        // Every user's segment before any list: the segment the audit groups them by at the end, however their responses
        // to the lists moved them since.
        var segmentBefore = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var chunk in stream.Users.Select(u => u.UserId).Chunk(100))
        {
            var read = await Silo.Client.GetProfilesAsync(new GetProfilesRequest { Tenant = tenant, UserIds = { chunk } });
            foreach (var profile in read.Profiles)
            {
                var label = profile.Segment?.Label ?? "unknown";
                segmentBefore[label] = segmentBefore.GetValueOrDefault(label) + 1;
            }
        }

        var simulator = new ResponseSimulator(stream);
        var loop = new ExperimentLoop(Silo.Client, recommendations, simulator, tenant);
        var userIds = stream.Users.Select(u => u.UserId).ToList();
        // Every response of this test is sent before the A/A test's lists are served, and a purchase is credited when it
        // arrives to the latest click on its item that had: an A/A click on the same item dated before it moves nothing.
        var expected = await loop.RunAsync(userIds, new ExperimentLoopOptions { Rounds = 2, DrawSalt = "ab" });
        // Users who opted out of personalization get the default lists and stay out of experiments ("").
        Assert.Equal(["", "hybrid", "popular"], expected.Keys.Order());

        var results = await ResultsOnceEveryUserCountsAsync(experiments, tenant, "hybrid-vs-popular", expected);
        var control = results.Variants.Single(v => v.Key == "popular");
        var hybrid = results.Variants.Single(v => v.Key == "hybrid");

        // Exact counts: every user, list and click the loop sent counts once for the variant that served it.
        foreach (var (variant, sent) in new[] { (control, expected["popular"]), (hybrid, expected["hybrid"]) })
        {
            Assert.Equal(sent.Users, variant.Users);
            Assert.Equal(sent.Lists, variant.Impressions);
            Assert.Equal(sent.ClicksSent, variant.Clicks);
            Assert.Equal(sent.PurchasesSent, variant.Purchases);
        }

        Assert.False(results.SampleRatio.Mismatch, $"a 50/50 split flagged: {results.SampleRatio}");
        Assert.Equal(0.5, control.ExpectedShare);

        var comparison = Assert.Single(results.Comparisons);
        var trueCtrLift = expected["hybrid"].ExpectedCtr - expected["popular"].ExpectedCtr;
        var trueConversionLift = expected["hybrid"].ExpectedConversionRate - expected["popular"].ExpectedConversionRate;
        Assert.True(trueCtrLift > 0, $"the hybrid's lists should be better for these users: true CTR lift {trueCtrLift}");

        // The lift is found by the always-valid test, and the intervals cover the true effect. A 95% interval misses it one
        // run in twenty by design (and the lists depend on how much feedback had arrived when the next was served), so
        // the check widens it to 99.9%: a miss then says the estimate is biased, not unlucky.
        Assert.True(comparison.Ctr.Sequential.Significant, $"CTR lift {trueCtrLift:0.0000} not found: {comparison.Ctr}");
        Assert.True(comparison.Ctr.Difference > 0);
        Assert.True(Covers999(comparison.Ctr, trueCtrLift), $"CTR interval {comparison.Ctr.Interval} (widened to 99.9%) misses the true lift {trueCtrLift:0.00000}");
        Assert.True(Covers999(comparison.Conversion, trueConversionLift),
            $"conversion interval {comparison.Conversion.Interval} (widened to 99.9%) misses the true lift {trueConversionLift:0.00000}");
        Assert.True(comparison.BayesianConversion.ProbabilityToBeatControl is >= 0 and <= 1);
        Assert.Contains("higher ctr", comparison.Verdict);

        // A/A: the same configuration in both arms, the same users: nothing to find.
        await experiments.StopExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "hybrid-vs-popular" });
        await experiments.CreateExperimentAsync(new PutExperimentRequest
        {
            Tenant = tenant,
            Experiment = new ExperimentDefinition
            {
                Id = "a-a",
                Slot = "home",
                Variants = { new ExperimentVariant { Key = "a1", Control = true }, new ExperimentVariant { Key = "a2" } },
            },
        });
        await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "a-a" });
        var sameExpected = await loop.RunAsync(userIds, new ExperimentLoopOptions { Rounds = 2, DrawSalt = "aa" });
        var same = await ResultsOnceEveryUserCountsAsync(experiments, tenant, "a-a", sameExpected);
        Assert.False(same.SampleRatio.Mismatch);
        var aa = Assert.Single(same.Comparisons);
        foreach (var metric in new[] { aa.Conversion, aa.Ctr, aa.RevenuePerUser })
        {
            Assert.False(metric.Sequential.Significant, $"A/A declared a difference in {metric.Metric}: {metric}");
        }

        Assert.Contains("no difference", aa.Verdict);

        // The fairness audit over REST: every user in one group of each dimension, every list counted, the experiment's
        // effect per group.
        var listsShown = expected.Values.Sum(v => v.Lists) + sameExpected.Values.Sum(v => v.Lists);
        using var fairness = await SegmentScenario.SendJsonAsync(Silo.Http, HttpMethod.Get, $"/v1/tenants/{tenant}/fairness?experiment_id=hybrid-vs-popular");
        var audit = fairness.RootElement.GetProperty("audit");
        var dimensions = audit.GetProperty("dimensions").EnumerateArray().ToList();
        Assert.Equal(["segment", "gender", "age_band", "country", "visitor"], dimensions.Select(d => d.GetProperty("dimension").GetString()));
        foreach (var dimension in dimensions)
        {
            Assert.Equal(Users, dimension.GetProperty("users").GetInt64());
            Assert.Equal(listsShown, dimension.GetProperty("impressions").GetInt64());
            Assert.Equal(Users, dimension.GetProperty("groups").EnumerateArray().Sum(g => g.GetProperty("tally").GetProperty("users").GetInt64()));
        }

        Assert.DoesNotContain(dimensions[0].GetProperty("groups").EnumerateArray(), g => g.GetProperty("group").GetString() == "unknown");
        Assert.Equal(
            segmentBefore.OrderBy(p => p.Key, StringComparer.Ordinal),
            dimensions[0].GetProperty("groups").EnumerateArray()
                .Select(g => KeyValuePair.Create(g.GetProperty("group").GetString()!, g.GetProperty("tally").GetProperty("users").GetInt64()))
                .OrderBy(p => p.Key, StringComparer.Ordinal));
        var items = audit.GetProperty("items");
        Assert.InRange(items.GetProperty("gini").GetDouble(), 0, 1);
        Assert.True(items.GetProperty("catalog_size").GetInt64() >= items.GetProperty("distinct_items_shown").GetInt64());
        var byGroup = fairness.RootElement.GetProperty("experiment");
        Assert.Equal("popular", byGroup.GetProperty("control_variant").GetString());
        Assert.NotEmpty(fairness.RootElement.GetProperty("summary").GetString()!);
    }

    /// <summary>Whether the metric's 95% normal interval, widened to 99.9% (z 3.2905 for 1.9600), holds <paramref name="value"/>.</summary>
    private static bool Covers999(MetricComparison metric, double value)
    {
        Assert.True(metric.Interval.HasLower && metric.Interval.HasUpper, $"{metric.Metric} has an open interval: {metric.Interval}");
        var halfWidth = (metric.Interval.Upper - metric.Interval.Lower) / 2 * (3.2905 / 1.9600);
        return Math.Abs(value - metric.Difference) <= halfWidth;
    }

    /// <summary>Results once every exposed user's figures reached the feedback shards (profiles push after their write).</summary>
    private async Task<ExperimentResults> ResultsOnceEveryUserCountsAsync(
        ExperimentService.ExperimentServiceClient experiments, string tenant, string experimentId, IReadOnlyDictionary<string, VariantExpectation> expected)
    {
        try
        {
            return await ResultsOnceCountedAsync(experiments, tenant, experimentId, expected);
        }
        catch (Xunit.Sdk.XunitException ex)
        {
            var number = (await experiments.GetExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = experimentId })).Number;
            var profiles = await ProfileReader.GetAllAsync(Silo.Client, tenant, [.. Enumerable.Range(1, Users).Select(i => $"u-{i:D6}")], CancellationToken.None);
            var outcomes = profiles.Values.SelectMany(p => p.Feedback?.Experiments ?? []).Where(o => o.ExperimentNumber == number).ToList();
            var inProfiles = $"profiles hold {outcomes.Count} users, {outcomes.Sum(o => o.Impressions)} lists, {outcomes.Sum(o => o.Clicks)} clicks, {outcomes.Sum(o => o.Purchases)} purchases";
            var warnings = Silo.Output.Split('\n').Where(line => line.Contains("warn", StringComparison.OrdinalIgnoreCase) || line.Contains("fail", StringComparison.OrdinalIgnoreCase));
            throw new Xunit.Sdk.XunitException($"{ex.Message}\n{inProfiles}\nSilo warnings:\n{string.Join("\n", warnings.TakeLast(20))}");
        }
    }

    private static Task<ExperimentResults> ResultsOnceCountedAsync(
        ExperimentService.ExperimentServiceClient experiments, string tenant, string experimentId, IReadOnlyDictionary<string, VariantExpectation> expected)
    {
        var inExperiment = expected.Values.Where(v => v.Variant.Length > 0).ToList();
        var lists = inExperiment.Sum(v => v.Lists);
        var clicks = inExperiment.Sum(v => v.ClicksSent);
        var purchases = inExperiment.Sum(v => v.PurchasesSent);
        return SegmentScenario.PollAsync(
            () => experiments.GetExperimentResultsAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = experimentId }).ResponseAsync,
            r => r.Variants.Sum(v => v.Impressions) == lists && r.Variants.Sum(v => v.Clicks) == clicks && r.Variants.Sum(v => v.Purchases) == purchases,
            $"{lists} lists, {clicks} clicks and {purchases} purchases counted in {experimentId}'s results", Timeout);
    }
}
