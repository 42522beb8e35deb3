using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Recommendations;
using ProfileGrid.Reranking;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The re-ranker's training data in the grid: a log shard keeps only its latest lists, the feedback shard reports the
/// clicks of the lists that were shown, and a training counts only shown lists as examples (and refuses to publish a
/// model evaluated on too few of them).
/// </summary>
[Collection(ClusterCollection.Name)]
public class RerankLogTests(ClusterFixture fixture)
{
    public const int MaxListsPerShard = 5;

    private readonly string _tenant = "rr-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_log_shard_keeps_its_latest_lists_oldest_first_and_counts_every_list_it_was_sent()
    {
        var shard = fixture.Client.GetGrain<IRerankLogShardGrain>(SegmentKeys.Shard(_tenant, 0));
        RerankLogCounts counts = new(0, 0);
        for (var i = 1; i <= 8; i++)
        {
            // One-way messages may overtake each other: wait for each, so that "latest" is well defined.
            await shard.LogAsync(RerankLogTestLists.List($"rec-{i}", "a", "b"));
            counts = await PollAsync(shard.CountAsync, c => c.Logged == i);
        }

        Assert.Equal(MaxListsPerShard, counts.Held);
        Assert.Equal(["rec-4", "rec-5", "rec-6", "rec-7", "rec-8"], (await shard.GetListsAsync()).Select(l => l.RecommendationId));
    }

    [Fact]
    public async Task The_feedback_shard_reports_the_clicks_of_the_asked_lists_that_were_shown()
    {
        var feedback = fixture.Client.GetGrain<IFeedbackShardGrain>(SegmentKeys.Shard(_tenant, 1));
        await feedback.UpdateAsync(RerankLogTestLists.Update("u1", new ListClicksReport("rec-a", true, ["x"]), new ListClicksReport("rec-b", false, ["y"])));
        await feedback.UpdateAsync(RerankLogTestLists.Update("u2", new ListClicksReport("rec-c", true, []), new ListClicksReport("rec-d", true, ["z"])));

        var clicks = await feedback.GetListClicksAsync(["rec-a", "rec-b", "rec-c", "rec-unknown"]);

        // rec-b only had a click (no impression says what was shown); rec-d was not asked for.
        Assert.Equal([("rec-a", "x"), ("rec-c", "")], clicks.OrderBy(c => c.RecommendationId).Select(c => (c.RecommendationId, string.Join(",", c.ClickedItemIds))));
    }

    [Fact]
    public async Task A_training_learns_only_from_shown_lists_and_publishes_nothing_evaluated_on_too_few()
    {
        var shard = SegmentKeys.Shard(_tenant, 2);
        var log = fixture.Client.GetGrain<IRerankLogShardGrain>(shard);
        await log.LogAsync(RerankLogTestLists.List("rec-1", "a", "b", "c"));
        await log.LogAsync(RerankLogTestLists.List("rec-2", "a", "b", "c"));
        await log.LogAsync(RerankLogTestLists.List("rec-3", "a", "b", "c"));
        await PollAsync(log.CountAsync, c => c.Logged == 3);
        await fixture.Client.GetGrain<IFeedbackShardGrain>(shard).UpdateAsync(RerankLogTestLists.Update("u1",
            new ListClicksReport("rec-1", true, ["b"]), new ListClicksReport("rec-2", true, []), new ListClicksReport("rec-3", false, ["a"])));

        var result = await fixture.Client.GetGrain<IRerankerGrain>(_tenant).TrainAsync();

        Assert.Equal(RerankerTrainOutcome.Trained, result.Outcome);
        var status = result.Status!;
        Assert.Equal((3, 2, 1), (status.LoggedLists, status.ShownLists, status.ListsWithClick));
        Assert.Equal(6, status.Evaluation.TrainingRows + status.Evaluation.ValidationRows);
        Assert.False(status.LastPublished);
        Assert.NotEmpty(status.Evaluation.Reasons);
        Assert.Equal(0, status.Version);
        Assert.Null((await fixture.Client.GetGrain<IRerankerGrain>(_tenant).GetModelAsync(0)).Bytes);
    }

    [Fact]
    public void Examples_label_the_clicked_items_and_a_list_of_another_feature_layout_gives_none()
    {
        var list = RerankLogTestLists.List("rec-1", "a", "b", "c");
        var examples = RerankServing.Examples(list, ["b"]).ToList();
        Assert.Equal([false, true, false], examples.Select(e => e.Clicked));
        Assert.Equal([1f, 2f, 3f], examples.Select(e => e.Features.Values[0])); // base_rank, as logged
        Assert.Empty(RerankServing.Examples(list with { Features = new float[3 * (RerankFeatures.Length - 1)] }, ["b"]));
    }

    [Fact]
    public void Re_ranking_keeps_pinned_items_in_place_marks_the_others_and_serves_n_of_the_candidates()
    {
        var items = new List<ServedItem>
        {
            Item("pinned", RecommendationSources.Rule, 1.0 / 1),
            Item("b", RecommendationSources.Popular, 1.0 / 2),
            Item("c", RecommendationSources.Popular, 1.0 / 3),
            Item("d", RecommendationSources.Popular, 1.0 / 4),
            Item("e", RecommendationSources.Popular, 1.0 / 5),
            Item("f", RecommendationSources.Popular, 1.0 / 6),
        };
        var user = RerankUserSummary.Create(new RerankUser([]), _ => null, DateTimeOffset.UtcNow);
        var candidates = RerankServing.Candidates(items, "home", new Dictionary<string, double>(), null);
        var model = ReverseModel();

        var served = RerankServing.Rerank(model, user, items, candidates, 3);

        Assert.Equal(3, served.Count);
        Assert.Equal("pinned", served[0].ItemId);
        Assert.DoesNotContain(RerankServing.Reranked, served[0].Rules);
        // The model prefers later base positions: the last candidates come first.
        Assert.Equal(["pinned", "f", "e"], served.Select(i => i.ItemId));
        Assert.All(served.Skip(1), i => Assert.Contains(RerankServing.Reranked, i.Rules));
    }

    /// <summary>A model trained on lists whose clicks sit at the last positions, most at the last: it ranks late base positions first.</summary>
    private static RerankerModel ReverseModel()
    {
        var examples = new List<RerankExample>();
        var user = RerankUserSummary.Create(new RerankUser([]), _ => null, DateTimeOffset.UtcNow);
        for (var l = 0; l < 400; l++)
        {
            for (var p = 1; p <= 6; p++)
            {
                var candidate = new RerankCandidate(new RerankItem($"i{p}"), new RerankContext(p, 1.0 / p, RecommendationSources.Popular, "home"));
                examples.Add(new RerankExample($"l{l}", RerankFeatures.Compute(user, candidate), p == 6 ? l % 2 == 0 : p == 5 && l % 4 == 0));
            }
        }

        return RerankerTrainer.Train(examples, new RerankerTrainingOptions { NumberOfTrees = 10, MinimumExampleCountPerLeaf = 10 }).Model;
    }

    private static ServedItem Item(string id, string source, double score) => new(id, score, source, null, [], null);

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                Assert.True(done(value), $"not reached: {value}");
                return value;
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>Logged lists and feedback pushes as the re-ranker tests need them.</summary>
internal static class RerankLogTestLists
{
    public static RerankLoggedList List(string recommendationId, params string[] itemIds)
    {
        var features = new float[itemIds.Length * RerankFeatures.Length];
        for (var i = 0; i < itemIds.Length; i++)
        {
            features[i * RerankFeatures.Length] = i + 1; // base_rank
            features[(i * RerankFeatures.Length) + 1] = itemIds.Length - i; // base_score
        }

        return new RerankLoggedList(recommendationId, DateTimeOffset.UtcNow, "home", itemIds, features);
    }

    public static FeedbackUpdate Update(string user, params ListClicksReport[] lists) => new(
        new ProfileKey("t", user).ToString(), DateTimeOffset.UtcNow, new FeedbackTotals(lists.Length, 0, 0, 0, 0, 0),
        new UserGroups(null, null, null, false), [], [], [], lists);
}
