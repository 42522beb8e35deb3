namespace ProfileGrid.Reranking.Tests;

public sealed class ValidationTests
{
    public static TheoryData<RerankerTrainingOptions, string> BadOptions => new()
    {
        { new RerankerTrainingOptions { ValidationShare = 1 }, "ValidationShare" },
        { new RerankerTrainingOptions { ValidationShare = 0 }, "ValidationShare" },
        { new RerankerTrainingOptions { NumberOfTrees = 0 }, "NumberOfTrees" },
        { new RerankerTrainingOptions { NumberOfLeaves = 1 }, "NumberOfLeaves" },
        { new RerankerTrainingOptions { MinimumExampleCountPerLeaf = 0 }, "MinimumExampleCountPerLeaf" },
        { new RerankerTrainingOptions { LearningRate = 0 }, "LearningRate" },
        { new RerankerTrainingOptions { NumberOfThreads = 0 }, "NumberOfThreads" },
        { new RerankerTrainingOptions { K = 0 }, "K" },
        { new RerankerTrainingOptions { PublishMargin = -0.1 }, "PublishMargin" },
        { new RerankerTrainingOptions { PublishMargin = double.NaN }, "PublishMargin" },
        { new RerankerTrainingOptions { MinValidationListsWithClick = 0 }, "MinValidationListsWithClick" },
        { new RerankerTrainingOptions { RequiredStandardErrors = -1 }, "RequiredStandardErrors" },
        { new RerankerTrainingOptions { Objective = (RerankObjective)7 }, "Objective" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Bad_options_are_refused_with_a_message_naming_the_field(RerankerTrainingOptions options, string field)
    {
        var error = Assert.Throws<ArgumentException>(() => RerankerTrainer.Train(SyntheticImpressions.Generate(5, 1, planted: true), options));

        Assert.Equal("options", error.ParamName);
        Assert.StartsWith(field + " must", error.Message);
    }

    [Fact]
    public void Every_bad_option_is_reported_at_once()
    {
        var problems = new RerankerTrainingOptions { K = 0, NumberOfTrees = -3 }.Validate();

        Assert.Equal(2, problems.Count);
    }

    [Fact]
    public void Empty_input_is_refused_with_a_message_naming_the_examples()
    {
        var error = Assert.Throws<ArgumentException>(() => RerankerTrainer.Train([]));

        Assert.Equal("examples", error.ParamName);
        Assert.Contains("examples is empty", error.Message);
    }

    [Fact]
    public void Training_data_without_a_click_is_refused_rather_than_fitting_a_constant()
    {
        var noClicks = SyntheticImpressions.Generate(50, 3, planted: true).Select(e => e with { Clicked = false }).ToList();

        var error = Assert.Throws<ArgumentException>(() => RerankerTrainer.Train(noClicks));
        Assert.Equal("examples", error.ParamName);
        Assert.Contains("0 clicks", error.Message);
    }

    [Fact]
    public void An_example_without_a_list_id_is_named_by_its_index()
    {
        var examples = SyntheticImpressions.Generate(5, 1, planted: true);
        examples[3] = examples[3] with { ListId = "" };

        var error = Assert.Throws<ArgumentException>(() => RerankerTrainer.Train(examples));
        Assert.Contains("examples[3].ListId", error.Message);
    }

    [Fact]
    public void A_feature_vector_of_the_wrong_length_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => RerankFeatures.FromValues(new float[3]));

        Assert.Contains($"{RerankFeatures.Length} features", error.Message);
    }

    [Fact]
    public void A_position_that_is_not_one_based_is_refused()
    {
        var user = RerankUserSummary.Create(new RerankUser([]), _ => null, SyntheticImpressions.Now);

        var error = Assert.Throws<ArgumentException>(() =>
            RerankFeatures.Compute(user, new RerankCandidate(new RerankItem("i1"), new RerankContext(0, 1, "cf"))));
        Assert.Contains("context.Position", error.Message);
    }
}
