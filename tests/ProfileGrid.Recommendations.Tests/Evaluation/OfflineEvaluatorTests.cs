using ProfileGrid.Recommendations.Evaluation;

namespace ProfileGrid.Recommendations.Tests.Evaluation;

public sealed class OfflineEvaluatorTests
{
    /// <summary>Recommends a fixed order of items, skipping excluded ones: rankings worked out by hand.</summary>
    internal sealed class FixedOrderTrainer(string name, params string[] order) : IRecommenderTrainer
    {
        public string Algorithm => name;

        public string[] Order { get; } = order;

        public InteractionMatrix? TrainedOn { get; private set; }

        public List<RecommendationQuery> Queries { get; } = [];

        public bool IgnoreExclude { get; init; }

        public IRecommender Train(InteractionMatrix data, DateTimeOffset now)
        {
            TrainedOn = data;
            return new Model(this);
        }

        private sealed class Model(FixedOrderTrainer trainer) : IRecommender
        {
            public string Algorithm => trainer.Algorithm;

            public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query)
            {
                lock (trainer.Queries)
                {
                    trainer.Queries.Add(query);
                }

                return trainer.Order.Where(i => trainer.IgnoreExclude || !query.Exclude.Contains(i)).Take(query.Count)
                    .Select((item, r) => new ScoredItem(item, -r, "fixed")).ToList();
            }
        }
    }

    // Each user's newest item is held out by the per-user time split (ratio 0.75 of 4 items: 3 train, 1 test):
    // u1: a b c | d     u2: a c e | f     u3: b d e | a
    // Training items a b c d e (f only in u2's test); counts a 2, b 2, c 2, d 1, e 2 = 9 interactions.
    internal static EvaluationSplit Split() => DataSplitter.Split(
        SplitTests.Matrix(
        [
            ("u1", "a", 4), ("u1", "b", 3), ("u1", "c", 2), ("u1", "d", 1),
            ("u2", "a", 4), ("u2", "c", 3), ("u2", "e", 2), ("u2", "f", 1),
            ("u3", "b", 4), ("u3", "d", 3), ("u3", "e", 2), ("u3", "a", 1),
        ]),
        new SplitOptions(SplitMethod.TimePerUser));

    private static readonly EvaluationOptions Options = new(2, SplitTests.Now);

    [Fact]
    public void Every_algorithm_is_scored_side_by_side_on_hand_worked_lists()
    {
        var report = OfflineEvaluator.Evaluate(
            Split(), [new FixedOrderTrainer("forward", "d", "f", "a", "b", "c", "e"), new FixedOrderTrainer("backward", "e", "c", "b", "a", "f", "d")], Options);

        // forward, seen items removed, k = 2: u1 [d f] hit at 1; u2 [d f] hit at 2; u3 [f a] hit at 2.
        var forward = report.Algorithms[0].Metrics;
        Assert.Equal("forward", report.Algorithms[0].Algorithm);
        Assert.Equal(0.5, forward.Precision, 12);
        Assert.Equal(1, forward.Recall, 12);
        Assert.Equal(1, forward.HitRate, 12);
        // nDCG: u1 1; u2 and u3 (1/ln3)/(1/ln2) = 0.630930 -> 0.753953
        Assert.Equal((1 + 2 * Math.Log(2) / Math.Log(3)) / 3, forward.Ndcg, 12);
        // MAP: 1, 1/2, 1/2 -> 0.666667 (one relevant item each, so map = map@k)
        Assert.Equal(2 / 3d, forward.Map, 12);
        Assert.Equal(2 / 3d, forward.MapAtK, 12);
        // Coverage: {d, f, a} of 5 training items = 0.6 (f is recommended though nobody has it in training).
        Assert.Equal(0.6, forward.CatalogCoverage, 12);
        // Novelty: d twice at -log2(1/9) = 3.169925, a once at -log2(2/9) = 2.169925, f three times at 0; / 6 = 1.418296
        Assert.Equal(1.418296, forward.Novelty, 6);

        // backward: u1 [e f] no hit; u2 [b f] hit at 2; u3 [c a] hit at 2 -> precision (0 + 1/2 + 1/2) / 3
        var backward = report.Algorithms[1].Metrics;
        Assert.Equal(1 / 3d, backward.Precision, 12);
        Assert.Equal(2 / 3d, backward.HitRate, 12);
        Assert.Equal(3, report.Split.TestUsers);
        Assert.Equal(5, report.Split.TrainItems);
    }

    [Fact]
    public void Models_train_on_the_training_part_only_and_are_asked_with_the_user_s_training_history_excluded()
    {
        var split = Split();
        var trainer = new FixedOrderTrainer("forward", "d");
        OfflineEvaluator.Evaluate(split, [trainer], Options);

        Assert.Same(split.Train, trainer.TrainedOn);
        Assert.Equal(-1, trainer.TrainedOn!.IndexOf("f"));
        var u1 = Assert.Single(trainer.Queries, q => q.History.Count == 3 && q.Exclude.Contains("b") && q.Exclude.Contains("c") && q.Exclude.Contains("a") && !q.Exclude.Contains("d"));
        Assert.Equal(2, u1.Count);
    }

    [Fact]
    public void Seen_items_a_model_returns_anyway_are_removed_before_scoring()
    {
        // A model that ignores Exclude returns [a b] to everyone; with seen items removed u1 gets nothing (no list:
        // out of precision's denominator, as in the reference), u2 [b] (no hit) and u3 [a] (hit at 1).
        var report = OfflineEvaluator.Evaluate(Split(), [new FixedOrderTrainer("greedy", "a", "b", "c", "e", "d", "f") { IgnoreExclude = true }], Options);

        // Precision divides by k = 2 though the lists are shorter: (0 + 1/2) / 2 users with a list.
        var metrics = report.Algorithms[0].Metrics;
        Assert.Equal(2, metrics.UsersRecommended);
        Assert.Equal((0 + 0.5) / 2, metrics.Precision, 12);
    }

    [Fact]
    public void Slices_give_each_group_s_metrics_and_the_min_max_ratio_across_groups()
    {
        var split = Split();
        var gender = new Dictionary<string, string> { ["u1"] = "F", ["u2"] = "M" }; // u3 unknown
        var report = OfflineEvaluator.Evaluate(
            split, [new FixedOrderTrainer("forward", "d", "f", "a", "b", "c", "e")], Options,
            new Dictionary<string, IReadOnlyDictionary<string, string>> { ["gender"] = gender });

        var slice = Assert.Single(report.Slices);
        Assert.Equal(["F", "M", SliceMaps.Unknown], slice.Groups.Select(g => g.Group));
        // F = u1: nDCG 1, MAP 1; M = u2 and unknown = u3: nDCG 0.630930, MAP 0.5
        Assert.Equal(1, slice.Groups[0].Metrics.Ndcg, 12);
        var ndcg = slice.Spreads.Single(s => s.Metric == "ndcg");
        Assert.Equal(("M", "F"), (ndcg.MinGroup, ndcg.MaxGroup));
        Assert.Equal(Math.Log(2) / Math.Log(3), ndcg.Ratio!.Value, 12);
        Assert.Equal(0.5, slice.Spreads.Single(s => s.Metric == "map").Ratio!.Value, 12);
        // Precision is 1/2 for everyone: ratio 1.
        Assert.Equal(1, slice.Spreads.Single(s => s.Metric == "precision").Ratio!.Value, 12);
    }

    [Fact]
    public void A_metric_that_is_zero_in_every_group_has_no_ratio()
    {
        var report = OfflineEvaluator.Evaluate(
            Split(), [new FixedOrderTrainer("nothing")], Options,
            new Dictionary<string, IReadOnlyDictionary<string, string>> { ["gender"] = new Dictionary<string, string> { ["u1"] = "F" } });

        Assert.All(report.Slices[0].Spreads.Where(s => s.Metric != "novelty"), s => Assert.Null(s.Ratio));
    }

    [Fact]
    public void Results_do_not_depend_on_how_many_threads_recommend()
    {
        var data = SplitTests.Matrix(Enumerable.Range(0, 300).SelectMany(u => Enumerable.Range(0, 9).Select(i => ($"u{u}", $"i{(u * 13 + i * 7) % 97}", (double)(u + i) % 30))));
        var split = DataSplitter.Split(data, new SplitOptions(Seed: 3));
        var one = OfflineEvaluator.Evaluate(split, [new RandomTrainer(5)], Options with { K = 10, MaxDegreeOfParallelism = 1 });
        var many = OfflineEvaluator.Evaluate(split, [new RandomTrainer(5)], Options with { K = 10, MaxDegreeOfParallelism = 4 });

        Assert.Equal(one.Algorithms[0].Metrics, many.Algorithms[0].Metrics);
        Assert.True(one.Algorithms[0].Metrics.CatalogCoverage > 0.5);
    }

    [Fact]
    public void Progress_reports_training_and_the_last_user()
    {
        var seen = new List<EvaluationProgress>();
        OfflineEvaluator.Evaluate(Split(), [new FixedOrderTrainer("forward", "d")], Options, progress: new SyncProgress<EvaluationProgress>(seen.Add));

        Assert.Contains(new EvaluationProgress("forward", "train", 0, 3), seen);
        Assert.Contains(new EvaluationProgress("forward", "recommend", 3, 3), seen);
    }

    [Fact]
    public void The_registry_creates_registered_trainers_and_names_the_known_ones_for_an_unknown_name()
    {
        TrainerRegistry.Register("fixed-test", () => new FixedOrderTrainer("fixed-test", "a"));

        Assert.Equal("fixed-test", TrainerRegistry.Create(["fixed-test"])[0].Algorithm);
        var error = Assert.Throws<ArgumentException>(() => TrainerRegistry.Create(["nope"]));
        Assert.Contains("random", error.Message);
    }

    /// <summary>Calls back on the reporting thread (Progress&lt;T&gt; posts to the thread pool, which a test cannot await).</summary>
    internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value)
        {
            lock (this)
            {
                report(value);
            }
        }
    }
}
