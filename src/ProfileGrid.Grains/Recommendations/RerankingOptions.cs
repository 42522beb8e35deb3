namespace ProfileGrid.Grains.Recommendations;

/// <summary>The learned re-ranker's grid settings (<c>ProfileGrid:Reranking</c>), validated at start-up (docs/reranker.md).</summary>
public sealed class RerankingOptions
{
    public const string Section = "ProfileGrid:Reranking";

    /// <summary>A re-ranked list of n items is chosen from this many times n base candidates.</summary>
    public int CandidateFactor { get; set; } = 3;

    /// <summary>
    /// The share of served base-order lists whose feature vectors are logged for training (0: none, 1: all). A logged list
    /// costs its Recommend call about 50 us and 15 KB of allocation, and the shards keep only their latest lists, so 5%
    /// (50 lists a second at 1,000 calls a second: the default shards refill in about five minutes) is enough to train
    /// on without adding to every call's garbage.
    /// </summary>
    public double LogShare { get; set; } = 0.05;

    /// <summary>Lists each log shard keeps (the oldest go first); about 2.2 KB each for 10 items.</summary>
    public int MaxListsPerShard { get; set; } = 1000;

    /// <summary>How long a log shard holds new lists before it writes them.</summary>
    public TimeSpan LogFlushInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Retrain once this many lists were logged since the last training (0: only on demand).</summary>
    public int RetrainAfterLists { get; set; } = 500;

    /// <summary>
    /// How often the retraining trigger is checked: the most often a re-ranker retrains by itself (a reminder, so at
    /// least the reminder service's minimum period, 1 minute by default).
    /// </summary>
    public TimeSpan RetrainCheckInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The gate: the model's validation nDCG must beat the base order's by more than this.</summary>
    public double PublishMargin { get; set; }

    /// <summary>The gate: at least this many validation lists must hold a click.</summary>
    public int MinValidationListsWithClick { get; set; } = 50;

    /// <summary>The gate: standard errors of the nDCG gain that must lie above the margin (2.326: one-sided 99%).</summary>
    public double RequiredStandardErrors { get; set; } = 2.326;

    /// <summary>The problems that make these options unusable, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (CandidateFactor is < 1 or > 20)
        {
            problems.Add($"CandidateFactor must be between 1 and 20 (is {CandidateFactor}).");
        }

        if (!(LogShare is >= 0 and <= 1))
        {
            problems.Add($"LogShare must be between 0 and 1 (is {LogShare}).");
        }

        if (MaxListsPerShard is < 1 or > 100_000)
        {
            problems.Add($"MaxListsPerShard must be between 1 and 100000 (is {MaxListsPerShard}).");
        }

        if (LogFlushInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add($"LogFlushInterval must be at least 10 ms (is {LogFlushInterval}).");
        }

        if (RetrainAfterLists < 0)
        {
            problems.Add($"RetrainAfterLists must be 0 (only on demand) or more (is {RetrainAfterLists}).");
        }

        // A reminder: the reminder service refuses periods under its own minimum (1 minute unless configured lower).
        if (RetrainCheckInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add($"RetrainCheckInterval must be at least 1 second (is {RetrainCheckInterval}).");
        }

        if (!double.IsFinite(PublishMargin) || PublishMargin < 0)
        {
            problems.Add($"PublishMargin must be a finite number, at least 0 (is {PublishMargin}).");
        }

        if (MinValidationListsWithClick < 1)
        {
            problems.Add($"MinValidationListsWithClick must be at least 1 (is {MinValidationListsWithClick}).");
        }

        if (!double.IsFinite(RequiredStandardErrors) || RequiredStandardErrors < 0)
        {
            problems.Add($"RequiredStandardErrors must be a finite number, at least 0 (is {RequiredStandardErrors}).");
        }

        return problems;
    }
}
