using System.Diagnostics;

namespace ProfileGrid.Reranking.Tests;

/// <summary>
/// The costs docs/reranker.md reports, with bounds far above the measured figures so that a shared machine does not
/// make them flaky, yet low enough to catch a re-ranker that falls back to a per-call PredictionEngine or a slow trainer.
/// </summary>
[Collection(PlantedModelCollection.Name)]
public sealed class CostTests(PlantedModelFixture planted, ITestOutputHelper output)
{
    [Fact]
    public void Training_on_200k_impressions_takes_well_under_a_minute()
    {
        var examples = SyntheticImpressions.Generate(lists: 10_000, seed: 5, planted: true);
        Assert.Equal(200_000, examples.Count);

        var stopwatch = Stopwatch.StartNew();
        var result = RerankerTrainer.Train(examples);
        stopwatch.Stop();
        output.WriteLine($"200k impressions: {stopwatch.Elapsed.TotalSeconds:F1} s in all, fit {result.Evaluation.TrainingTime.TotalSeconds:F1} s; {result.Evaluation}");

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), $"training took {stopwatch.Elapsed}");
        Assert.True(result.Publishable);
    }

    [Fact]
    public void Reranking_50_candidates_costs_well_under_a_millisecond()
    {
        var model = planted.Result.Model;
        var random = new Random(1);
        var users = Enumerable.Range(0, 200).Select(_ => SyntheticImpressions.User(random).User).ToArray();
        var candidates = Enumerable.Range(0, 50)
            .Select(p => new RerankCandidate(
                new RerankItem($"i{p * 7}", SyntheticImpressions.CategoryOf($"i{p * 7}"), Price: 20, Popularity: 100),
                new RerankContext(p + 1, 1 - p * 0.01, "cf", "home")))
            .ToArray();

        // Warm-up, then the timed requests: a user summary, 50 feature vectors and 50 scores each.
        foreach (var user in users)
        {
            model.Rerank(RerankUserSummary.Create(user, SyntheticImpressions.CategoryOf, SyntheticImpressions.Now), candidates);
        }

        const int rounds = 10;
        var stopwatch = Stopwatch.StartNew();
        for (var round = 0; round < rounds; round++)
        {
            foreach (var user in users)
            {
                model.Rerank(RerankUserSummary.Create(user, SyntheticImpressions.CategoryOf, SyntheticImpressions.Now), candidates);
            }
        }

        var perRequest = stopwatch.Elapsed / (rounds * users.Length);
        output.WriteLine($"re-rank of 50 candidates ({model.TreeCount} trees): {perRequest.TotalMicroseconds:F1} us");
        Assert.True(perRequest < TimeSpan.FromMilliseconds(1), $"{perRequest.TotalMicroseconds} us per request");
    }
}
