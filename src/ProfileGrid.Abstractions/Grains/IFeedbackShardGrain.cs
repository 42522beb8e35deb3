using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One shard of a tenant's feedback figures (key: <see cref="SegmentKeys.Shard"/>, users by <see cref="SegmentKeys.ShardOf"/>,
/// as the feature and interaction shards). Profiles push their absolute per-user figures after each write that changed
/// them, so a push repeated or lost is healed by the next one and no counter is ever incremented twice; experiment
/// results and the fairness audit sum the shards' tallies, so no grain sees every event.
/// </summary>
public interface IFeedbackShardGrain : IGrainWithStringKey, IWriteBehindShard
{
    /// <summary>Replaces the user's figures (a push older than the one held is ignored); answers which write will carry them.</summary>
    Task<ShardWriteTicket> UpdateAsync(FeedbackUpdate update);

    /// <summary>Erasure: drops these profiles' feedback and experiment figures, and writes the shard before it returns; answers how many it held.</summary>
    Task<int> ForgetAsync(string[] profileKeys);

    /// <summary>Per variant of experiment <paramref name="experimentNumber"/>: the sums over its users that the statistics need.</summary>
    [ReadOnly]
    Task<VariantTally[]> GetExperimentTalliesAsync(int experimentNumber);

    /// <summary>How many users the shard holds.</summary>
    [AlwaysInterleave]
    Task<int> CountAsync();

    // Re-ranker training (IRerankerGrain): the clicks of logged lists.

    /// <summary>Of <paramref name="recommendationIds"/>, the lists the shard's users were shown, with their clicked items.</summary>
    [ReadOnly]
    Task<ListClicksReport[]> GetListClicksAsync(string[] recommendationIds);
}

/// <summary>A user's feedback figures as the profile holds them now (absolute values, not increments).</summary>
/// <param name="ProfileKey">The profile's grain key.</param>
/// <param name="AsOf">When the profile built it: a shard keeps the latest.</param>
/// <param name="Totals">Every list shown to the user and what came of it, experiments or not.</param>
/// <param name="Groups">What the fairness audit groups the user by.</param>
/// <param name="Experiments">The user's outcome in each experiment they were exposed to.</param>
/// <param name="ShownItemIds">Items shown to the user (the profile's bounded exposure list), with <paramref name="ShownCounts"/>.</param>
/// <param name="ShownCounts">How often each of <paramref name="ShownItemIds"/> was shown.</param>
/// <param name="RecentLists">The user's recent lists and their clicks (null from a profile that predates them).</param>
[GenerateSerializer, Immutable, Alias("pg.feedback-update")]
public sealed record FeedbackUpdate(
    [property: Id(0)] string ProfileKey,
    [property: Id(1)] DateTimeOffset AsOf,
    [property: Id(2)] FeedbackTotals Totals,
    [property: Id(3)] UserGroups Groups,
    [property: Id(4)] ExperimentOutcomeReport[] Experiments,
    [property: Id(5)] string[] ShownItemIds,
    [property: Id(6)] int[] ShownCounts,
    // Re-ranker training: which lists were shown and what was clicked in them.
    [property: Id(7)] ListClicksReport[]? RecentLists = null,
    // The profile merged into another: the person's profile reports what both were shown, so this one counts in no
    // tally; its recent lists stay for the re-ranker, which matches a list's clicks in the shard it was logged in.
    [property: Id(8)] bool Left = false)
{
    /// <summary>
    /// What a profile sends its shard when it merges into another: count me no more (kept, with its <c>AsOf</c>, so that an
    /// older push still on its way cannot count it again).
    /// </summary>
    public static FeedbackUpdate Leaving(string profileKey, DateTimeOffset asOf, ListClicksReport[]? recentLists) =>
        new(profileKey, asOf, new FeedbackTotals(0, 0, 0, 0, 0, 0), new UserGroups(null, null, null, false), [], [], [], recentLists, Left: true);
}

/// <summary>One of a user's recent lists (the profile's bounded RecentLists): whether it was shown, and the items clicked in it.</summary>
/// <param name="Shown">True once the impression arrived (a click alone does not say which items were shown).</param>
[GenerateSerializer, Immutable, Alias("pg.list-clicks-report")]
public sealed record ListClicksReport(
    [property: Id(0)] string RecommendationId,
    [property: Id(1)] bool Shown,
    [property: Id(2)] string[] ClickedItemIds);

/// <summary>One user's feedback totals: lists shown, items shown, clicks, attributed conversions and revenue (reporting currency).</summary>
[GenerateSerializer, Immutable, Alias("pg.feedback-totals")]
public sealed record FeedbackTotals(
    [property: Id(0)] long Impressions,
    [property: Id(1)] long ItemsShown,
    [property: Id(2)] long Clicks,
    [property: Id(3)] long CartAdds,
    [property: Id(4)] long Purchases,
    [property: Id(5)] double Revenue);

/// <summary>The user attributes the fairness audit slices by; null when the profile does not know.</summary>
/// <param name="Returning">The user had been seen before the visit of their first exposure to a list (for a profile
/// whose feedback predates that record: more than one session so far).</param>
/// <param name="FirstExposureKnown">The profile knows its first exposure (a profile whose feedback predates that record does not).</param>
/// <param name="SegmentAtFirstExposure">The segment id the user's first list was served under: -1 when it was served
/// without one, null when the grid did not serve it (a client's own list) or the exposure is not known.</param>
[GenerateSerializer, Immutable, Alias("pg.user-groups")]
public sealed record UserGroups(
    [property: Id(0)] string? Gender,
    [property: Id(1)] int? BirthYear,
    [property: Id(2)] string? Country,
    [property: Id(3)] bool Returning,
    [property: Id(4)] bool FirstExposureKnown = false,
    [property: Id(5)] int? SegmentAtFirstExposure = null);

/// <summary>One user's figures in one experiment (see ExperimentOutcome), with the CUPED covariate.</summary>
/// <param name="PrePeriodRevenue">The user's purchase revenue (reporting currency) in the days before their first exposure
/// (ProfileOptions.PrePeriodDays): fixed before the variant could change anything, so it may reduce variance (CUPED).</param>
[GenerateSerializer, Immutable, Alias("pg.experiment-outcome-report")]
public sealed record ExperimentOutcomeReport(
    [property: Id(0)] int Experiment,
    [property: Id(1)] int Variant,
    [property: Id(2)] DateTimeOffset FirstExposedAt,
    [property: Id(3)] long Impressions,
    [property: Id(4)] long Clicks,
    [property: Id(5)] long CartAdds,
    [property: Id(6)] long Purchases,
    [property: Id(7)] double Revenue,
    [property: Id(8)] long Mismatched,
    [property: Id(9)] double PrePeriodRevenue);

/// <summary>
/// One variant's sums over its users (per-user aggregation: each user counts once, however active): what the z-test,
/// Welch's test, the delta method, the Bayesian comparison, the sequential test and CUPED need. Tallies of shards add up.
/// </summary>
[GenerateSerializer, Immutable, Alias("pg.variant-tally")]
public sealed record VariantTally
{
    [Id(0)] public int Variant { get; init; }

    /// <summary>Users exposed to the variant (at least one impression or click of its lists).</summary>
    [Id(1)] public long Users { get; init; }

    [Id(2)] public double Impressions { get; init; }

    [Id(3)] public double ImpressionSquares { get; init; }

    [Id(4)] public double Clicks { get; init; }

    [Id(5)] public double ClickSquares { get; init; }

    /// <summary>Sum over users of clicks x impressions: the covariance term of the CTR's delta method.</summary>
    [Id(6)] public double ClicksTimesImpressions { get; init; }

    /// <summary>Users with at least one click.</summary>
    [Id(7)] public long Clickers { get; init; }

    /// <summary>Users with at least one attributed purchase.</summary>
    [Id(8)] public long Converters { get; init; }

    [Id(9)] public double CartAdds { get; init; }

    [Id(10)] public double Purchases { get; init; }

    [Id(11)] public double Revenue { get; init; }

    [Id(12)] public double RevenueSquares { get; init; }

    [Id(13)] public double Covariate { get; init; }

    [Id(14)] public double CovariateSquares { get; init; }

    [Id(15)] public double RevenueTimesCovariate { get; init; }

    /// <summary>Users who also met lists of another variant of the experiment, or lists served to someone else.</summary>
    [Id(16)] public long UsersWithMismatches { get; init; }

    public static VariantTally Add(VariantTally a, VariantTally b) => new()
    {
        Variant = a.Variant,
        Users = a.Users + b.Users,
        Impressions = a.Impressions + b.Impressions,
        ImpressionSquares = a.ImpressionSquares + b.ImpressionSquares,
        Clicks = a.Clicks + b.Clicks,
        ClickSquares = a.ClickSquares + b.ClickSquares,
        ClicksTimesImpressions = a.ClicksTimesImpressions + b.ClicksTimesImpressions,
        Clickers = a.Clickers + b.Clickers,
        Converters = a.Converters + b.Converters,
        CartAdds = a.CartAdds + b.CartAdds,
        Purchases = a.Purchases + b.Purchases,
        Revenue = a.Revenue + b.Revenue,
        RevenueSquares = a.RevenueSquares + b.RevenueSquares,
        Covariate = a.Covariate + b.Covariate,
        CovariateSquares = a.CovariateSquares + b.CovariateSquares,
        RevenueTimesCovariate = a.RevenueTimesCovariate + b.RevenueTimesCovariate,
        UsersWithMismatches = a.UsersWithMismatches + b.UsersWithMismatches,
    };
}
