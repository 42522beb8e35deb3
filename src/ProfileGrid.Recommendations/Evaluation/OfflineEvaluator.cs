using System.Diagnostics;

namespace ProfileGrid.Recommendations.Evaluation;

/// <summary>How an evaluation runs (validated by <see cref="Validate"/>).</summary>
/// <param name="K">Length of each recommended list (the k of every @k metric).</param>
/// <param name="Now">The instant models train at; for historical data, the data's last interaction.</param>
/// <param name="MaxDegreeOfParallelism">Threads recommending at once; null: all cores.</param>
public sealed record EvaluationOptions(int K, DateTimeOffset Now, int? MaxDegreeOfParallelism = null)
{
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (K is < 1 or > 1000)
        {
            problems.Add($"evaluation.k must be between 1 and 1000 ({K})");
        }

        if (MaxDegreeOfParallelism is < 1)
        {
            problems.Add($"evaluation.max_degree_of_parallelism must be positive ({MaxDegreeOfParallelism})");
        }

        return problems;
    }
}

/// <summary>Where an evaluation is (for a progress display).</summary>
/// <param name="Algorithm">The algorithm at work.</param>
/// <param name="Stage">"train" or "recommend".</param>
/// <param name="Done">Users recommended so far (0 while training).</param>
/// <param name="Total">Test users.</param>
public sealed record EvaluationProgress(string Algorithm, string Stage, int Done, int Total);

/// <summary>The whole figures of one algorithm.</summary>
/// <param name="Algorithm">The trainer's name.</param>
/// <param name="Metrics">Its metrics over all test users.</param>
/// <param name="TrainTime">Wall time of <see cref="IRecommenderTrainer.Train"/>.</param>
/// <param name="RecommendTime">Wall time of recommending for every test user.</param>
public sealed record AlgorithmResult(string Algorithm, MetricSet Metrics, TimeSpan TrainTime, TimeSpan RecommendTime);

/// <summary>One group of a slice (for example gender F) for one algorithm.</summary>
public sealed record SliceGroupResult(string Group, MetricSet Metrics);

/// <summary>
/// How evenly one metric is served across a slice's groups: the lowest and highest group values and their ratio
/// (min / max: 1 when every group fares the same; null when the highest is 0).
/// </summary>
public sealed record MetricSpread(string Metric, string MinGroup, double Min, string MaxGroup, double Max, double? Ratio);

/// <summary>
/// One slice (segment, gender, age band, country...) for one algorithm: each group's metrics and, per metric, the
/// min/max ratio across groups. Test users whose group is unknown form the group <see cref="SliceMaps.Unknown"/>.
/// </summary>
public sealed record SliceResult(string Slice, string Algorithm, IReadOnlyList<SliceGroupResult> Groups, IReadOnlyList<MetricSpread> Spreads);

/// <summary>What the split held: for the report's header.</summary>
public sealed record SplitSummary(
    string Method, double Ratio, int Seed, int TrainUsers, int TrainItems, int TrainPairs, int TestUsers, int HeldOutPairs, int TrainOnlyUsers);

/// <summary>An offline evaluation's result: plain records a grain can return or a CLI print.</summary>
public sealed record EvaluationReport(int K, SplitSummary Split, IReadOnlyList<AlgorithmResult> Algorithms, IReadOnlyList<SliceResult> Slices);

/// <summary>
/// Trains every given algorithm on a split's training part, recommends k items to every test user (with the user's
/// training items excluded: top-k with seen items removed) and computes <see cref="RankingMetrics"/> side by side,
/// overall and per slice. Recommending runs in parallel across users; each user's list lands in its own slot, so the
/// result does not depend on scheduling.
/// </summary>
public static class OfflineEvaluator
{
    /// <summary>
    /// Evaluates every trainer of <paramref name="trainers"/> (in that order) on <paramref name="split"/>, and each of
    /// them per slice of <paramref name="slices"/> (slice name → user → group).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid (the message names each field).</exception>
    public static EvaluationReport Evaluate(
        EvaluationSplit split,
        IReadOnlyList<IRecommenderTrainer> trainers,
        EvaluationOptions options,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? slices = null,
        IProgress<EvaluationProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }

        var train = split.Train;
        var stats = TrainingItemStats.Of(train);
        var queries = BuildQueries(split, options.K);
        var results = new List<AlgorithmResult>();
        var sliceResults = new List<SliceResult>();
        foreach (var trainer in trainers)
        {
            cancellationToken.ThrowIfCancellationRequested();
            progress?.Report(new EvaluationProgress(trainer.Algorithm, "train", 0, queries.Length));
            var clock = Stopwatch.StartNew();
            var model = trainer.Train(train, options.Now);
            var trainTime = clock.Elapsed;

            clock.Restart();
            var rankings = Recommend(model, split, queries, options, trainer.Algorithm, progress, cancellationToken);
            var recommendTime = clock.Elapsed;
            results.Add(new AlgorithmResult(trainer.Algorithm, RankingMetrics.Compute(rankings, options.K, stats), trainTime, recommendTime));

            foreach (var (slice, groups) in slices ?? new Dictionary<string, IReadOnlyDictionary<string, string>>())
            {
                sliceResults.Add(Slice(slice, trainer.Algorithm, rankings, groups, options.K, stats));
            }
        }

        var summary = new SplitSummary(
            split.Options.Method.ToString(), split.Options.Ratio, split.Options.Seed, train.UserCount, train.ItemCount, train.NonZeros,
            split.Test.Count, split.HeldOutPairs, split.TrainOnlyUsers);
        return new EvaluationReport(options.K, summary, results, sliceResults);
    }

    /// <summary>Each group's metrics and the min/max spread of every metric across the groups.</summary>
    public static SliceResult Slice(
        string slice, string algorithm, IReadOnlyList<UserRanking> rankings, IReadOnlyDictionary<string, string> groupOf, int k, TrainingItemStats stats)
    {
        var groups = rankings
            .GroupBy(r => groupOf.TryGetValue(r.User, out var group) && !string.IsNullOrWhiteSpace(group) ? group : SliceMaps.Unknown, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SliceGroupResult(g.Key, RankingMetrics.Compute(g.ToList(), k, stats)))
            .ToList();
        var spreads = new List<MetricSpread>();
        if (groups.Count > 0)
        {
            foreach (var metric in MetricSet.Names)
            {
                // The first group wins ties (groups are in ordinal order), so the report is stable.
                var min = groups[0];
                var max = groups[0];
                foreach (var group in groups)
                {
                    min = group.Metrics.Get(metric) < min.Metrics.Get(metric) ? group : min;
                    max = group.Metrics.Get(metric) > max.Metrics.Get(metric) ? group : max;
                }

                var high = max.Metrics.Get(metric);
                spreads.Add(new MetricSpread(metric, min.Group, min.Metrics.Get(metric), max.Group, high, high > 0 ? min.Metrics.Get(metric) / high : null));
            }
        }

        return new SliceResult(slice, algorithm, groups, spreads);
    }

    private static RecommendationQuery[] BuildQueries(EvaluationSplit split, int k)
    {
        var train = split.Train;
        var rowOf = new Dictionary<string, int>(train.UserCount, StringComparer.Ordinal);
        for (var u = 0; u < train.UserCount; u++)
        {
            rowOf[train.Users[u]] = u;
        }

        var queries = new RecommendationQuery[split.TestUsers.Count];
        for (var t = 0; t < queries.Length; t++)
        {
            var user = split.TestUsers[t];
            var history = new List<(string, double)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            if (rowOf.TryGetValue(user, out var row))
            {
                var items = train.ItemsOf(row);
                var weights = train.WeightsOf(row);
                for (var i = 0; i < items.Length; i++)
                {
                    history.Add((train.Items[items[i]], weights[i]));
                    seen.Add(train.Items[items[i]]);
                }
            }

            queries[t] = new RecommendationQuery(history, split.Segments.GetValueOrDefault(user), k, seen);
        }

        return queries;
    }

    private static UserRanking[] Recommend(
        IRecommender model,
        EvaluationSplit split,
        RecommendationQuery[] queries,
        EvaluationOptions options,
        string algorithm,
        IProgress<EvaluationProgress>? progress,
        CancellationToken cancellationToken)
    {
        var rankings = new UserRanking[queries.Length];
        var done = 0;
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount,
            CancellationToken = cancellationToken,
        };
        Parallel.For(0, queries.Length, parallel, t =>
        {
            var query = queries[t];
            var list = model.Recommend(query);
            // Seen items are removed here too, so a model that ignores Exclude is not credited with re-recommending
            // its training data (the reference refuses such lists outright).
            var items = new List<string>(Math.Min(list.Count, options.K));
            foreach (var scored in list)
            {
                if (items.Count == options.K)
                {
                    break;
                }

                if (!query.Exclude.Contains(scored.ItemId))
                {
                    items.Add(scored.ItemId);
                }
            }

            var user = split.TestUsers[t];
            rankings[t] = new UserRanking(user, items, split.Test[user]);
            var now = Interlocked.Increment(ref done);
            if (progress is not null && (now % 256 == 0 || now == queries.Length))
            {
                progress.Report(new EvaluationProgress(algorithm, "recommend", now, queries.Length));
            }
        });
        return rankings;
    }
}
