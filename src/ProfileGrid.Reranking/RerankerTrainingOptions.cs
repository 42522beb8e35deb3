namespace ProfileGrid.Reranking;

/// <summary>What the trees learn to predict.</summary>
public enum RerankObjective
{
    /// <summary>FastTree binary classification: P(click) of each shown item, lists ignored while training.</summary>
    Binary,

    /// <summary>FastTree LambdaRank: the order within each shown list (the list is the query group).</summary>
    LambdaRank,
}

/// <summary>
/// How <see cref="RerankerTrainer"/> trains and gates a model (validated by <see cref="Validate"/>; the defaults are
/// those measured in docs/reranker.md).
/// </summary>
public sealed record RerankerTrainingOptions
{
    /// <summary>The objective; <see cref="RerankObjective.Binary"/> by default (docs/reranker.md says why).</summary>
    public RerankObjective Objective { get; init; } = RerankObjective.Binary;

    /// <summary>Seeds ML.NET; the same data, options and seed give the same model.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Share of the lists (not rows) held out for validation, chosen by a stable hash of the list id.</summary>
    public double ValidationShare { get; init; } = 0.2;

    /// <summary>Boosting rounds.</summary>
    public int NumberOfTrees { get; init; } = 100;

    /// <summary>Leaves per tree.</summary>
    public int NumberOfLeaves { get; init; } = 16;

    /// <summary>A leaf holds at least this many training rows (guards against fitting noise).</summary>
    public int MinimumExampleCountPerLeaf { get; init; } = 50;

    /// <summary>Shrinkage of each tree.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>FastTree's threads; null: one per core. The result does not depend on it.</summary>
    public int? NumberOfThreads { get; init; }

    /// <summary>The depth of the nDCG the gate compares (nDCG@K).</summary>
    public int K { get; init; } = 10;

    /// <summary>The model is published only if its validation nDCG@K beats the base order's by more than this.</summary>
    public double PublishMargin { get; init; }

    /// <summary>The model is published only if at least this many validation lists hold a click.</summary>
    public int MinValidationListsWithClick { get; init; } = 50;

    /// <summary>
    /// How many standard errors of the mean per-list nDCG gain must lie above <see cref="PublishMargin"/>, so that a
    /// model trained on noise is not published because it won a coin toss. 2.326 is a one-sided 99% bound: on
    /// clicks that are pure noise the gain's z is standard normal (measured in docs/reranker.md), so about one noise
    /// model in a hundred would pass, against one in twenty at 1.645. 0 compares the means alone.
    /// </summary>
    public double RequiredStandardErrors { get; init; } = 2.326;

    /// <summary>Every problem with these options, each naming its field; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Objective))
        {
            problems.Add($"{nameof(Objective)} must be Binary or LambdaRank ({Objective})");
        }

        if (!(ValidationShare > 0 && ValidationShare < 1))
        {
            problems.Add($"{nameof(ValidationShare)} must lie strictly between 0 and 1 ({ValidationShare})");
        }

        if (NumberOfTrees < 1)
        {
            problems.Add($"{nameof(NumberOfTrees)} must be at least 1 ({NumberOfTrees})");
        }

        if (NumberOfLeaves < 2)
        {
            problems.Add($"{nameof(NumberOfLeaves)} must be at least 2 ({NumberOfLeaves})");
        }

        if (MinimumExampleCountPerLeaf < 1)
        {
            problems.Add($"{nameof(MinimumExampleCountPerLeaf)} must be at least 1 ({MinimumExampleCountPerLeaf})");
        }

        if (!(LearningRate > 0 && LearningRate <= 1))
        {
            problems.Add($"{nameof(LearningRate)} must lie in (0, 1] ({LearningRate})");
        }

        if (NumberOfThreads is < 1)
        {
            problems.Add($"{nameof(NumberOfThreads)} must be at least 1 when set ({NumberOfThreads})");
        }

        if (K < 1)
        {
            problems.Add($"{nameof(K)} must be at least 1 ({K})");
        }

        if (!double.IsFinite(PublishMargin) || PublishMargin < 0)
        {
            problems.Add($"{nameof(PublishMargin)} must be a finite number, at least 0 ({PublishMargin})");
        }

        if (MinValidationListsWithClick < 1)
        {
            problems.Add($"{nameof(MinValidationListsWithClick)} must be at least 1 ({MinValidationListsWithClick})");
        }

        if (!double.IsFinite(RequiredStandardErrors) || RequiredStandardErrors < 0)
        {
            problems.Add($"{nameof(RequiredStandardErrors)} must be a finite number, at least 0 ({RequiredStandardErrors})");
        }

        return problems;
    }
}
