using ProfileGrid.Recommendations.Algorithms;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

public class OptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        Assert.Empty(new RecommenderOptions().Validate());
    }

    [Fact]
    public void Every_problem_names_its_field()
    {
        var problems = new RecommenderOptions
        {
            Popularity = new PopularityOptions { MinSegmentUsers = 0, TrendingHalfLifeDays = -1 },
            ItemCf = new ItemCfOptions { Shrink = double.NaN, Neighbours = 0, TrainingThreads = 0 },
            Ease = new EaseOptions { MaxItems = 1, LambdaGrid = [], LambdaGridExtensionSteps = -1, LambdaGridExtensionFactor = 1, ValidationFraction = 1, ValidationUsers = 0, ValidationMinItems = 1, ValidationMaxItems = 1, ValidationK = 0 },
            Hybrid = new HybridOptions { Personalized = "popularity", LowHistoryItems = -1, PopularityFloor = 0 },
        }.Validate();

        foreach (var field in new[]
                 {
                     "popularity.min_segment_users", "popularity.trending_half_life_days", "item_cf.shrink", "item_cf.neighbours",
                     "item_cf.training_threads", "ease.max_items", "ease.lambda_grid ", "ease.lambda_grid_extension_steps", "ease.lambda_grid_extension_factor",
                     "ease.validation_fraction", "ease.validation_users",
                     "ease.validation_min_items", "ease.validation_max_items", "ease.validation_k", "hybrid.personalized", "hybrid.low_history_items", "hybrid.popularity_floor",
                 })
        {
            Assert.Contains(problems, p => p.StartsWith(field, StringComparison.Ordinal));
        }

        Assert.Equal(17, problems.Count);
    }

    [Fact]
    public void Factory_knows_every_algorithm_by_name_and_refuses_others()
    {
        foreach (var name in RecommenderAlgorithms.All)
        {
            Assert.Equal(name, RecommenderTrainers.Create(name).Algorithm);
        }

        Assert.Contains("algorithm: 'svd'", Assert.Throws<ArgumentException>(() => RecommenderTrainers.Create("svd")).Message);
        Assert.Contains("item_cf.neighbours", Assert.Throws<ArgumentException>(
            () => RecommenderTrainers.Create("item-cf", new RecommenderOptions { ItemCf = new ItemCfOptions { Neighbours = 0 } })).Message);
    }
}
