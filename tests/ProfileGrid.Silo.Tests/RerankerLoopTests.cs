using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The learned re-ranker through the real host: simulated users with hidden tastes build their profiles, the
/// recommender trains, every served list is logged with its feature vectors, the users respond to what they were shown
/// (position bias included), the re-ranker trains on the shown lists and their clicks, reports AUC and nDCG for itself
/// and the base order, is published because it beats the base order, and a variant with the re-ranker on then serves
/// re-ordered lists that name it; the published re-ranker outlives a restart of the silo (Azurite).
/// </summary>
[Collection(AzuriteCollection.Name)]
public class RerankerLoopTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const int Users = 400;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static readonly string[] Settings =
    [
        .. RecommendationSiloFixture.Settings,
        "--ProfileGrid:Reranking:LogFlushInterval=00:00:00.200",
        "--ProfileGrid:Reranking:LogShare=1",
    ];

    /// <summary>
    /// Users who care more about their taste and favourite categories, and less about the position, than the simulator's
    /// defaults: with the defaults, 2,000 lists are too few for the model to beat the base order, and the gate (rightly)
    /// refuses it (docs/reranker.md).
    /// </summary>
    private static readonly ResponseModelOptions Responses = new() { PreferredAttractiveness = 0.5, FavoriteCategoryFactor = 4, PositionBiasExponent = 0.5 };

    [Fact]
    public async Task The_re_ranker_learns_from_shown_lists_beats_the_base_order_serves_its_variant_and_outlives_a_restart()
    {
        var serviceId = "rr" + Guid.NewGuid().ToString("N")[..10];
        var tenant = $"rerank-{Guid.NewGuid().ToString("N")[..8]}";
        var stream = new SyntheticStream(new SimulationOptions { Users = Users, Seed = 31, Tenant = tenant });
        var userIds = stream.Users.Select(u => u.UserId).ToList();
        RerankerStatusResponse published;
        var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, Settings);
        try
        {
            var started = DateTime.UtcNow;
            var replay = await new GatewayReplayer(silo.Client).ReplayAsync(stream.IngestRequests(500), null, CancellationToken.None);
            Assert.Equal(0L, replay.Rejected);
            var recommendations = new RecommendationService.RecommendationServiceClient(silo.Calls);
            var withItems = stream.Interactions().Count;
            await SegmentScenario.PollAsync(
                () => recommendations.GetRecommenderStatusAsync(new GetRecommenderStatusRequest { Tenant = tenant }).ResponseAsync,
                status => status.UsersWithInteractions >= withItems,
                "every user's item history in the interaction shards", Timeout);
            await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });
            output.WriteLine($"fed and trained the recommender in {DateTime.UtcNow - started}");

            // Before any list was shown there is nothing to learn from, and the error says what to send.
            var early = await Assert.ThrowsAsync<RpcException>(() => recommendations.TrainRerankerAsync(new TrainRerankerRequest { Tenant = tenant }).ResponseAsync);
            Assert.Equal(StatusCode.FailedPrecondition, early.StatusCode);

            // Base-order lists of the popularity list (the base the re-ranker can personalize), every one logged; the
            // simulated users respond to them.
            started = DateTime.UtcNow;
            var experiments = new ExperimentService.ExperimentServiceClient(silo.Calls);
            await StartExperimentAsync(experiments, tenant, "collect", new ExperimentVariant { Key = "popular-b", Algorithm = "popular" });
            var loop = new ExperimentLoop(silo.Client, recommendations, new ResponseSimulator(stream, Responses), tenant);
            var collected = await loop.RunAsync(userIds, new ExperimentLoopOptions { Rounds = 6, DrawSalt = "collect" });
            var sent = (Lists: collected.Values.Sum(v => v.Lists), Clicks: collected.Values.Sum(v => v.ClicksSent));
            output.WriteLine($"{sent.Lists} lists shown, {sent.Clicks} clicks, in {DateTime.UtcNow - started}");

            // Trained once every logged list's impression reached the feedback shards (profiles push after their write).
            // Lists of users who opted out of personalization are shown but not logged.
            started = DateTime.UtcNow;
            published = await SegmentScenario.PollAsync(
                async () =>
                {
                    try
                    {
                        return await recommendations.TrainRerankerAsync(new TrainRerankerRequest { Tenant = tenant });
                    }
                    catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
                    {
                        return new RerankerStatusResponse();
                    }
                },
                status => status.LoggedLists > 0 && status.ShownLists == status.LoggedLists,
                $"a training on every logged list of the {sent.Lists} shown", Timeout);
            var evaluation = published.Evaluation;
            output.WriteLine($"trained in {DateTime.UtcNow - started}: {published}");
            // Users who opted out of personalization are in no experiment and not logged.
            Assert.InRange(published.LoggedLists, sent.Lists * 8 / 10, sent.Lists);
            Assert.True(published.ListsWithClick > 0);
            Assert.InRange(evaluation.ModelAuc, 0.5, 1);
            Assert.InRange(evaluation.BaseAuc, 0, 1);
            Assert.InRange(evaluation.BaseNdcg, 0, 1);
            Assert.True(evaluation.ModelNdcg > evaluation.BaseNdcg, $"the model's nDCG {evaluation.ModelNdcg} should beat the base order's {evaluation.BaseNdcg}");
            Assert.True(published.LastPublished, $"not published: {string.Join("; ", evaluation.Reasons)}");
            Assert.True(published.Version >= 1); // a training on the impressions that had arrived may have published first
            Assert.Matches("^[0-9a-f]{12}$", published.Fingerprint);
            Assert.Equal(published.Fingerprint, (await recommendations.GetRerankerStatusAsync(new GetRerankerStatusRequest { Tenant = tenant })).Fingerprint);

            await experiments.StopExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = "collect" });
            await StartExperimentAsync(experiments, tenant, "reranker", new ExperimentVariant { Key = "reranked", Algorithm = "popular", Reranker = true });
            await AssertVariantServesReRankedListsAsync(recommendations, tenant, userIds, published.Fingerprint);

            // What the simulated users' hidden preferences say of the two variants' lists (the true effect an experiment would estimate).
            var truth = await loop.RunAsync(userIds, new ExperimentLoopOptions { Rounds = 1, DrawSalt = "truth" });
            output.WriteLine($"expected clicks per list: popular {truth["popular"].ExpectedCtr:0.0000}, popular + re-ranker {truth["reranked"].ExpectedCtr:0.0000}");
            Assert.True(truth["reranked"].ExpectedCtr > truth["popular"].ExpectedCtr * 1.1, "the re-ranked lists should suit the simulated users better");
        }
        finally
        {
            await silo.KillAsync();
            await silo.DisposeAsync();
        }

        // The same service started again: the published re-ranker is read back from storage and served.
        await using var restarted = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, Settings);
        try
        {
            var recommendations = new RecommendationService.RecommendationServiceClient(restarted.Calls);
            var status = await recommendations.GetRerankerStatusAsync(new GetRerankerStatusRequest { Tenant = tenant });
            Assert.Equal(published.Version, status.Version);
            Assert.Equal(published.Fingerprint, status.Fingerprint);
            Assert.Equal(published.Evaluation.ModelNdcg, status.Evaluation.ModelNdcg);
            // The same over REST.
            var rest = await restarted.Http.GetStringAsync($"/v1/tenants/{tenant}/reranker");
            Assert.Contains($"\"fingerprint\":\"{published.Fingerprint}\"", rest.Replace(" ", "", StringComparison.Ordinal));
            await AssertVariantServesReRankedListsAsync(recommendations, tenant, userIds, published.Fingerprint);
        }
        catch
        {
            output.WriteLine(restarted.Output);
            throw;
        }
    }

    /// <summary>Starts an experiment on the home slot: the popularity list as control against <paramref name="treatment"/>.</summary>
    private static async Task StartExperimentAsync(ExperimentService.ExperimentServiceClient experiments, string tenant, string id, ExperimentVariant treatment)
    {
        await experiments.CreateExperimentAsync(new PutExperimentRequest
        {
            Tenant = tenant,
            Experiment = new ExperimentDefinition
            {
                Id = id,
                Slot = "home",
                Variants = { new ExperimentVariant { Key = "popular", Control = true, Algorithm = "popular" }, treatment },
            },
        });
        await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = tenant, ExperimentId = id });
    }

    /// <summary>
    /// Users of the re-ranker's variant get lists that name the re-ranker and mark their items, in an order that is not
    /// the base scores' (so the model re-ordered them); the control variant's lists name none.
    /// </summary>
    private static async Task AssertVariantServesReRankedListsAsync(
        RecommendationService.RecommendationServiceClient recommendations, string tenant, IReadOnlyList<string> userIds, string fingerprint)
    {
        var lists = await SegmentScenario.PollAsync(
            async () =>
            {
                var served = new List<RecommendResponse>();
                foreach (var userId in userIds.Take(60))
                {
                    served.Add(await recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = userId, N = 10, Slot = "home" }));
                }

                return served;
            },
            served => served.Any(l => l.ExperimentId == "reranker"),
            "the experiment in the serving snapshot", Timeout);
        var reranked = lists.Where(l => l.Variant == "reranked" && l.Items.Count > 0).ToList();
        var control = lists.Where(l => l.Variant == "popular" && l.Items.Count > 0).ToList();
        Assert.NotEmpty(reranked);
        Assert.NotEmpty(control);
        Assert.All(reranked, l =>
        {
            Assert.Equal(fingerprint, l.Reranker);
            Assert.Equal(10, l.Items.Count);
            Assert.All(l.Items.Where(i => i.Source != "rule"), i => Assert.Contains("reranked", i.Rules));
        });
        Assert.All(control, l =>
        {
            Assert.Equal("", l.Reranker);
            Assert.All(l.Items, i => Assert.DoesNotContain("reranked", i.Rules));
        });
        // The items keep their base scores: a list whose scores are out of order is one the model re-ordered.
        Assert.Contains(reranked, l => l.Items.Zip(l.Items.Skip(1)).Any(pair => pair.First.Score < pair.Second.Score));
    }
}
