using Orleans.Concurrency;

namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// One shard of a tenant's re-ranker training log (key: <see cref="SegmentKeys.Shard"/>, users by
/// <see cref="SegmentKeys.ShardOf"/>, as the feedback shard that knows their clicks). Serving sends each logged list
/// here once, one-way; the shard keeps the latest lists (bounded) and writes them behind. The re-ranker trains on what
/// the shards hold, joined with the feedback shards' clicks, so training never wakes a profile.
/// </summary>
public interface IRerankLogShardGrain : IGrainWithStringKey
{
    /// <summary>Keeps a served list with its feature vectors (the oldest list goes when the shard is full).</summary>
    [OneWay]
    Task LogAsync(RerankLoggedList list);

    /// <summary>Erasure: drops the logged lists with these recommendation ids, and writes the shard before it returns; answers how many it held.</summary>
    Task<int> ForgetAsync(string[] recommendationIds);

    /// <summary>Every list the shard holds, oldest first: training input.</summary>
    [ReadOnly]
    Task<RerankLoggedList[]> GetListsAsync();

    /// <summary>Lists held now, and lists ever logged here (what the retraining trigger counts).</summary>
    [AlwaysInterleave]
    Task<RerankLogCounts> CountAsync();
}

/// <summary>
/// A tenant's re-ranker (key: tenant): trains on the logged lists that were shown, evaluates against the base order,
/// publishes a new version only when the evaluation gate allows, and hands the published model to every silo.
/// </summary>
public interface IRerankerGrain : IGrainWithStringKey
{
    /// <summary>Gathers the log and the clicks, trains, evaluates, and publishes when the gate allows.</summary>
    Task<RerankerTrainResult> TrainAsync();

    /// <summary>The published model's bytes when its version differs from <paramref name="knownVersion"/>; otherwise the version only.</summary>
    [AlwaysInterleave]
    Task<RerankerModelBytes> GetModelAsync(long knownVersion);

    /// <summary>The published model and the last training's evaluation; null before the first training.</summary>
    [AlwaysInterleave]
    Task<RerankerStatus?> GetStatusAsync();

    /// <summary>Makes sure the retraining check is scheduled (called by log shards as lists arrive).</summary>
    [OneWay]
    Task EnsureScheduledAsync();
}

/// <summary>
/// One served list as the re-ranker's trainer needs it: the features each shown item was served with (logged at
/// serving time; rebuilding them later would leak the click into the history).
/// </summary>
/// <param name="RecommendationId">The served list's id (impression and click events quote it).</param>
/// <param name="LoggedAt">When it was served.</param>
/// <param name="Slot">The slot it was served to; null when the request named none.</param>
/// <param name="ItemIds">The items served, in order.</param>
/// <param name="Features">The items' feature vectors one after the other (<c>ItemIds.Length</c> x the feature count).</param>
[GenerateSerializer, Immutable, Alias("pg.rerank-logged-list")]
public sealed record RerankLoggedList(
    [property: Id(0)] string RecommendationId,
    [property: Id(1)] DateTimeOffset LoggedAt,
    [property: Id(2)] string? Slot,
    [property: Id(3)] string[] ItemIds,
    [property: Id(4)] float[] Features);

/// <summary>A log shard's lists held now and ever logged.</summary>
[GenerateSerializer, Immutable, Alias("pg.rerank-log-counts")]
public sealed record RerankLogCounts([property: Id(0)] int Held, [property: Id(1)] long Logged);

/// <summary>A published re-ranker: version 0 and no bytes before the first; bytes null when the caller has this version.</summary>
[GenerateSerializer, Immutable, Alias("pg.reranker-model-bytes")]
public sealed record RerankerModelBytes(
    [property: Id(0)] long Version,
    [property: Id(1)] string? Fingerprint,
    [property: Id(2)] byte[]? Bytes);

/// <summary>What came of a training request.</summary>
public enum RerankerTrainOutcome
{
    /// <summary>Trained and evaluated; published only if <see cref="RerankerEvaluationView.Publishable"/>.</summary>
    Trained,

    /// <summary>Not enough shown lists, or no clicks (or only clicks) to learn from.</summary>
    InsufficientData,

    /// <summary>A training is already running for the tenant.</summary>
    AlreadyRunning,

    Failed,
}

/// <summary>The outcome, why (when not trained), and the status after the request.</summary>
[GenerateSerializer, Immutable, Alias("pg.reranker-train-result")]
public sealed record RerankerTrainResult(
    [property: Id(0)] RerankerTrainOutcome Outcome,
    [property: Id(1)] string[] Problems,
    [property: Id(2)] RerankerStatus? Status);

/// <summary>A tenant's re-ranker: the published model (version 0: none yet) and the last training.</summary>
/// <param name="Version">The published model's version; 0 when none was published.</param>
/// <param name="Fingerprint">The published model's fingerprint (12 hex digits); null when none.</param>
/// <param name="PublishedAt">When the published model was trained.</param>
/// <param name="LastTrainedAt">When the last training ran (published or not).</param>
/// <param name="LastPublished">Whether the last training published its model.</param>
/// <param name="LoggedLists">Lists the log shards held at the last training.</param>
/// <param name="ShownLists">Of those, lists the feedback shards know were shown (the training examples).</param>
/// <param name="ListsWithClick">Shown lists with at least one click.</param>
/// <param name="Evaluation">The last training's offline evaluation.</param>
/// <param name="LoggedAtTraining">Lists ever logged, summed over the shards, when the last training ran (the retraining trigger's mark).</param>
[GenerateSerializer, Immutable, Alias("pg.reranker-status")]
public sealed record RerankerStatus(
    [property: Id(0)] long Version,
    [property: Id(1)] string? Fingerprint,
    [property: Id(2)] DateTimeOffset? PublishedAt,
    [property: Id(3)] DateTimeOffset LastTrainedAt,
    [property: Id(4)] bool LastPublished,
    [property: Id(5)] int LoggedLists,
    [property: Id(6)] int ShownLists,
    [property: Id(7)] int ListsWithClick,
    [property: Id(8)] RerankerEvaluationView Evaluation,
    [property: Id(9)] long LoggedAtTraining);

/// <summary>The offline evaluation of a trained re-ranker against the base order (see docs/reranker.md, "Evaluation gate").</summary>
[GenerateSerializer, Immutable, Alias("pg.reranker-evaluation")]
public sealed record RerankerEvaluationView(
    [property: Id(0)] int TrainingRows,
    [property: Id(1)] int TrainingLists,
    [property: Id(2)] int ValidationRows,
    [property: Id(3)] int ValidationLists,
    [property: Id(4)] int ValidationListsWithClick,
    [property: Id(5)] int K,
    [property: Id(6)] double ModelAuc,
    [property: Id(7)] double BaseAuc,
    [property: Id(8)] double ModelNdcg,
    [property: Id(9)] double BaseNdcg,
    [property: Id(10)] double NdcgGainLowerBound,
    [property: Id(11)] bool Publishable,
    [property: Id(12)] string[] Reasons,
    [property: Id(13)] TimeSpan TrainingTime);
