namespace ProfileGrid.Reranking.Tests;

/// <summary>The planted-signal data set and the model trained on it, shared by the tests of one class.</summary>
public sealed class PlantedModelFixture
{
    public PlantedModelFixture()
    {
        Examples = SyntheticImpressions.Generate(lists: 2500, seed: 7, planted: true);
        Result = RerankerTrainer.Train(Examples);
    }

    internal List<RerankExample> Examples { get; }

    public RerankerTrainingResult Result { get; }
}

/// <summary>Trains the planted model once for every test class that needs it.</summary>
[CollectionDefinition(Name)]
public sealed class PlantedModelCollection : ICollectionFixture<PlantedModelFixture>
{
    public const string Name = "planted model";
}

[Collection(PlantedModelCollection.Name)]
public sealed class TrainerTests(PlantedModelFixture planted, ITestOutputHelper output)
{
    [Fact]
    public void A_model_that_learns_the_planted_category_affinity_beats_the_base_order_and_is_published()
    {
        var evaluation = planted.Result.Evaluation;
        output.WriteLine(evaluation.ToString());

        Assert.True(evaluation.ModelNdcg > evaluation.BaseNdcg, $"model nDCG {evaluation.ModelNdcg} <= base {evaluation.BaseNdcg}");
        Assert.True(evaluation.ModelAuc > 0.6, $"AUC {evaluation.ModelAuc}");
        Assert.True(evaluation.ModelAuc > evaluation.BaseAuc);
        Assert.True(planted.Result.Publishable, string.Join("; ", evaluation.Reasons));
        Assert.Empty(evaluation.Reasons);
    }

    [Fact]
    public void Lists_not_rows_are_split_about_80_20()
    {
        var evaluation = planted.Result.Evaluation;

        Assert.Equal(2500, evaluation.TrainingLists + evaluation.ValidationLists);
        Assert.Equal(evaluation.ValidationLists * SyntheticImpressions.ListLength, evaluation.ValidationRows);
        Assert.InRange(evaluation.ValidationLists, 400, 600);
    }

    [Fact]
    public void A_model_trained_on_pure_noise_is_not_published()
    {
        var result = RerankerTrainer.Train(SyntheticImpressions.Generate(lists: 2500, seed: 11, planted: false));
        output.WriteLine(result.Evaluation.ToString());

        Assert.False(result.Publishable);
        Assert.Contains(result.Evaluation.Reasons, r => r.Contains("PublishMargin"));
        Assert.True(result.Evaluation.ValidationListsWithClick >= 50, "the gate refused for the gain, not for want of lists");
    }

    [Fact]
    public void Too_few_validation_lists_with_a_click_keep_a_good_model_unpublished()
    {
        var result = RerankerTrainer.Train(planted.Examples, new RerankerTrainingOptions { MinValidationListsWithClick = 100_000 });

        Assert.False(result.Publishable);
        Assert.Contains(result.Evaluation.Reasons, r => r.Contains("MinValidationListsWithClick"));
    }

    [Fact]
    public void A_margin_larger_than_the_gain_keeps_the_model_unpublished()
    {
        var result = RerankerTrainer.Train(planted.Examples, new RerankerTrainingOptions { PublishMargin = 0.9 });

        Assert.False(result.Publishable);
    }

    [Fact]
    public void Training_twice_on_the_same_data_gives_the_same_scores()
    {
        var again = RerankerTrainer.Train(planted.Examples);
        var features = planted.Examples.Take(2000).Select(e => e.Features).ToArray();

        Assert.Equal(planted.Result.Model.Score(features), again.Model.Score(features));
        Assert.Equal(planted.Result.Model.Fingerprint, again.Model.Fingerprint);
        Assert.Equal(planted.Result.Evaluation.ModelNdcg, again.Evaluation.ModelNdcg);
        Assert.Equal(planted.Result.Evaluation.ModelAuc, again.Evaluation.ModelAuc);
    }

    [Fact]
    public void The_ranking_objective_also_learns_the_planted_signal()
    {
        var result = RerankerTrainer.Train(planted.Examples, new RerankerTrainingOptions { Objective = RerankObjective.LambdaRank });
        output.WriteLine(result.Evaluation.ToString());

        Assert.Equal(RerankObjective.LambdaRank, result.Model.Objective);
        Assert.True(result.Evaluation.ModelNdcg > result.Evaluation.BaseNdcg);
    }
}
