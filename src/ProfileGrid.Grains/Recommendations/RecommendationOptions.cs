namespace ProfileGrid.Grains.Recommendations;

/// <summary>The recommender's grid settings (<c>ProfileGrid:Recommendations</c>), validated at start-up.</summary>
public sealed class RecommendationOptions
{
    public const string Section = "ProfileGrid:Recommendations";

    /// <summary>Catalog shards per tenant (items are spread over them by id). Fixed for the life of a deployment.</summary>
    public int CatalogShards { get; set; } = 8;

    /// <summary>How often a tenant's model is retrained (zero: only on demand).</summary>
    public TimeSpan RetrainInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long interaction and catalog shards hold changes before they write them.</summary>
    public TimeSpan ShardFlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a silo's serving cache asks whether a tenant's model, catalog or rules changed (a change made through
    /// this silo applies at once; one made through another silo within this interval).
    /// </summary>
    public TimeSpan ServingRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Serving forgets a tenant's model after this long without a request.</summary>
    public TimeSpan ServingIdleTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The most items one Recommend may ask for.</summary>
    public int MaxResults { get; set; } = 100;

    /// <summary>Candidates the model is asked for, per item requested, before rules filter and re-rank them.</summary>
    public int CandidateFactor { get; set; } = 4;

    /// <summary>
    /// An item shown this many times since the user last clicked it (or ever) is demoted: its score is multiplied by
    /// <see cref="IgnoredDemotionFactor"/> before the rules run, and the served item names "demoted:ignored" among its
    /// rules. 0 turns it off.
    /// </summary>
    public int IgnoredAfterImpressions { get; set; } = 3;

    /// <summary>What an ignored item's score is multiplied by (between 0 and 1).</summary>
    public double IgnoredDemotionFactor { get; set; } = 0.5;

    /// <summary>The problems that make these options unusable, each naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (CatalogShards is < 1 or > 1024)
        {
            problems.Add($"CatalogShards must be between 1 and 1024 (is {CatalogShards}).");
        }

        if (RetrainInterval != TimeSpan.Zero && RetrainInterval < TimeSpan.FromSeconds(1))
        {
            problems.Add($"RetrainInterval must be zero (off) or at least 1 second (is {RetrainInterval}).");
        }

        if (ShardFlushInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add($"ShardFlushInterval must be at least 10 ms (is {ShardFlushInterval}).");
        }

        if (ServingRefreshInterval < TimeSpan.FromMilliseconds(10))
        {
            problems.Add($"ServingRefreshInterval must be at least 10 ms (is {ServingRefreshInterval}).");
        }

        if (ServingIdleTimeout < TimeSpan.FromSeconds(1))
        {
            problems.Add($"ServingIdleTimeout must be at least 1 second (is {ServingIdleTimeout}).");
        }

        if (MaxResults is < 1 or > 1000)
        {
            problems.Add($"MaxResults must be between 1 and 1000 (is {MaxResults}).");
        }

        if (CandidateFactor is < 1 or > 50)
        {
            problems.Add($"CandidateFactor must be between 1 and 50 (is {CandidateFactor}).");
        }

        if (IgnoredAfterImpressions < 0)
        {
            problems.Add($"IgnoredAfterImpressions must be 0 (off) or more (is {IgnoredAfterImpressions}).");
        }

        if (!(IgnoredDemotionFactor is >= 0 and <= 1))
        {
            problems.Add($"IgnoredDemotionFactor must be between 0 and 1 (is {IgnoredDemotionFactor}).");
        }

        return problems;
    }
}
