using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Algorithms;
using ProfileGrid.Recommendations.Evaluation;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>The offline evaluation of a tenant's own interactions: the library's split and evaluator, the grid's settings and slices.</summary>
public static class RecommenderEvaluation
{
    public static readonly string[] DefaultSlices = ["segment", "gender", "age-band", "country"];

    /// <exception cref="ArgumentException">The request is invalid (each problem names its field).</exception>
    public static RecommenderEvaluationView Run(
        IReadOnlyList<UserInteractions> users,
        IReadOnlyDictionary<string, UserAttributesView> attributes,
        IReadOnlyDictionary<string, string> segmentLabels,
        RecommenderTrainRequest settings,
        RecommenderEvaluationRequest request,
        DateTimeOffset now)
    {
        var problems = new List<string>();
        var method = request.Split switch
        {
            "random" => SplitMethod.Random,
            "time" => SplitMethod.TimePerUser,
            "time-global" => SplitMethod.TimeGlobal,
            _ => (SplitMethod?)null,
        };
        if (method is null)
        {
            problems.Add($"split: must be random, time or time-global ('{request.Split}')");
        }

        if (request.K is < 1 or > 100)
        {
            problems.Add($"k: must be between 1 and 100 ({request.K})");
        }

        var algorithms = request.Algorithms.Length == 0 ? RecommenderAlgorithms.All.ToArray() : request.Algorithms;
        foreach (var unknown in algorithms.Where(a => !RecommenderAlgorithms.All.Contains(a)))
        {
            problems.Add($"algorithms: '{unknown}' is not one of {string.Join(", ", RecommenderAlgorithms.All)}");
        }

        problems.AddRange(Repeats("algorithms", algorithms));
        var slices = request.Slices.Length == 0 ? DefaultSlices : request.Slices;
        foreach (var unknown in slices.Where(s => !DefaultSlices.Contains(s)))
        {
            problems.Add($"slices: '{unknown}' is not one of {string.Join(", ", DefaultSlices)}");
        }

        problems.AddRange(Repeats("slices", slices));

        var splitOptions = new SplitOptions(method ?? SplitMethod.Random, request.Ratio, request.Seed);
        problems.AddRange(splitOptions.Validate());
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems));
        }

        // Segments are named by label in the report (the recommender keys them by id, which carries over between models).
        var labelled = users.Select(u => u.Segment is { } id ? u with { Segment = segmentLabels.GetValueOrDefault(id, $"segment {id}") } : u).ToList();
        var reference = RecommenderTraining.ReferenceTime(users, now);
        var matrix = InteractionMatrix.Build(labelled, RecommenderSettings.Weights(settings), reference);
        if (matrix.UserCount < 2 || matrix.ItemCount < 2)
        {
            throw new InsufficientTrainingDataException($"the tenant has {matrix.UserCount} users with {matrix.ItemCount} distinct items; an evaluation needs at least two of each");
        }

        var split = DataSplitter.Split(matrix, splitOptions);
        var options = RecommenderModels.Options(settings);
        var trainers = algorithms.Select(name => RecommenderTrainers.Create(name, options)).ToList();
        var userAttributes = attributes.ToDictionary(
            pair => pair.Key,
            pair => (IReadOnlyDictionary<string, string>)new Dictionary<string, string?>
            {
                ["gender"] = pair.Value.Gender,
                // As of the data, like every other age here: users of a 1998 file are sliced by their ages then.
                ["age-band"] = ProfileView.AgeBandOf(pair.Value.BirthYear, reference),
                ["country"] = pair.Value.Country,
            }.Where(a => a.Value is not null).ToDictionary(a => a.Key, a => a.Value!, StringComparer.Ordinal),
            StringComparer.Ordinal);
        var sliceMaps = SliceMaps.Build(slices, split, userAttributes);
        var report = OfflineEvaluator.Evaluate(split, trainers, new EvaluationOptions(request.K, reference), sliceMaps);
        return new RecommenderEvaluationView
        {
            K = report.K,
            Split = request.Split,
            Ratio = request.Ratio,
            Seed = request.Seed,
            TrainUsers = report.Split.TrainUsers,
            TrainItems = report.Split.TrainItems,
            TrainPairs = report.Split.TrainPairs,
            TestUsers = report.Split.TestUsers,
            HeldOutPairs = report.Split.HeldOutPairs,
            TrainOnlyUsers = report.Split.TrainOnlyUsers,
            Algorithms = report.Algorithms.Select(a => new AlgorithmMetricsView(a.Algorithm, View(a.Metrics), a.TrainTime.TotalSeconds, a.RecommendTime.TotalSeconds)).ToArray(),
            Slices = report.Slices.Select(s => new SliceMetricsView(
                s.Slice, s.Algorithm,
                s.Groups.Select(g => new SliceGroupView(g.Group, View(g.Metrics))).ToArray(),
                s.Spreads.Select(m => new MetricSpreadView(m.Metric, m.MinGroup, m.Min, m.MaxGroup, m.Max, m.Ratio)).ToArray())).ToArray(),
            EvaluatedAt = now,
            AgesAsOf = reference,
        };
    }

    /// <summary>
    /// A name given twice would be trained and reported twice: refused, as an item twice in one upsert is, rather than
    /// quietly evaluated once.
    /// </summary>
    private static IEnumerable<string> Repeats(string field, IReadOnlyList<string> names)
    {
        var firstAt = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            if (!firstAt.TryAdd(names[i], i))
            {
                yield return $"{field}[{i}]: '{names[i]}' repeats {field}[{firstAt[names[i]]}]; name each once";
            }
        }
    }

    private static MetricsView View(MetricSet m) =>
        new(m.Users, m.UsersRecommended, m.Precision, m.Recall, m.Ndcg, m.Map, m.MapAtK, m.HitRate, m.CatalogCoverage, m.Novelty);
}
