using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace ProfileGrid.Reranking;

/// <summary>One logged impression: the features it was served with, the list it was shown in, and whether it was clicked.</summary>
/// <param name="ListId">The id of the served list (one request's response); the unit of the train/validation split.</param>
/// <param name="Features">The features as <see cref="RerankFeatures.Compute"/> gives them for the impression.</param>
/// <param name="Clicked">Whether the user clicked the item from this list.</param>
public sealed record RerankExample(string ListId, RerankFeatures Features, bool Clicked);

/// <summary>
/// The offline evaluation of a trained model on the validation lists, and the publishing decision.
/// nDCG@K is averaged over the validation lists that hold a click (relevance = clicked); the model's nDCG is that of
/// the order it serves (ties kept in base order), the base order's that of the positions.
/// </summary>
/// <param name="TrainingRows">Impressions the model was fitted on.</param>
/// <param name="TrainingLists">Lists the model was fitted on.</param>
/// <param name="ValidationRows">Impressions held out (the AUC's population).</param>
/// <param name="ValidationLists">Lists held out.</param>
/// <param name="ValidationListsWithClick">Validation lists with at least one click: the lists nDCG is averaged over.</param>
/// <param name="ModelAuc">AUC of the model's scores over all validation impressions (NaN without both classes).</param>
/// <param name="BaseAuc">AUC of the base order (a higher position scores higher).</param>
/// <param name="K">The depth of the nDCG.</param>
/// <param name="ModelNdcg">Mean nDCG@K of the order the model serves.</param>
/// <param name="BaseNdcg">Mean nDCG@K of the base order.</param>
/// <param name="NdcgGainLowerBound">Mean per-list nDCG gain minus <see cref="RerankerTrainingOptions.RequiredStandardErrors"/> standard errors.</param>
/// <param name="Publishable">True when the gain's lower bound beats the margin on enough lists with a click.</param>
/// <param name="Reasons">Why the model is not publishable (empty when it is).</param>
/// <param name="TrainingTime">Wall time of the ML.NET fit.</param>
public sealed record RerankerEvaluation(
    int TrainingRows,
    int TrainingLists,
    int ValidationRows,
    int ValidationLists,
    int ValidationListsWithClick,
    int K,
    double ModelAuc,
    double BaseAuc,
    double ModelNdcg,
    double BaseNdcg,
    double NdcgGainLowerBound,
    bool Publishable,
    IReadOnlyList<string> Reasons,
    TimeSpan TrainingTime);

/// <summary>A trained model and its evaluation; publish <see cref="Model"/> only when <see cref="Publishable"/>.</summary>
public sealed record RerankerTrainingResult(RerankerModel Model, RerankerEvaluation Evaluation)
{
    /// <summary>Whether the evaluation gate lets the model be published.</summary>
    public bool Publishable => Evaluation.Publishable;
}

/// <summary>
/// Trains the re-ranker with ML.NET's FastTree on logged impressions: splits the lists (not the rows) into training
/// and validation by a stable hash of the list id, fits on the training lists, and evaluates the model against the
/// base order on the validation lists (AUC, nDCG@K) to decide whether it may be published.
/// </summary>
public static class RerankerTrainer
{
    private sealed class Row
    {
        public bool Clicked { get; set; }

        public float Relevance { get; set; }

        public uint GroupId { get; set; }

        public float[] Features { get; set; } = [];
    }

    /// <summary>Trains and evaluates a model on <paramref name="examples"/>.</summary>
    /// <exception cref="ArgumentException">
    /// The options are invalid, the examples are empty or incomplete, or the training lists lack clicks or non-clicks
    /// (each message names the field).
    /// </exception>
    public static RerankerTrainingResult Train(IReadOnlyList<RerankExample> examples, RerankerTrainingOptions? options = null)
    {
        options ??= new RerankerTrainingOptions();
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }

        ArgumentNullException.ThrowIfNull(examples);
        if (examples.Count == 0)
        {
            throw new ArgumentException("examples is empty: there is no impression to train on.", nameof(examples));
        }

        // Lists in order of first appearance; each list's rows sorted by base position (the base order).
        var lists = new Dictionary<string, List<RerankExample>>(StringComparer.Ordinal);
        for (var i = 0; i < examples.Count; i++)
        {
            var example = examples[i] ?? throw new ArgumentException($"examples[{i}] is null.", nameof(examples));
            if (string.IsNullOrEmpty(example.ListId))
            {
                throw new ArgumentException($"examples[{i}].ListId is required.", nameof(examples));
            }

            if (example.Features is null)
            {
                throw new ArgumentException($"examples[{i}].Features is required.", nameof(examples));
            }

            if (!lists.TryGetValue(example.ListId, out var list))
            {
                lists[example.ListId] = list = [];
            }

            list.Add(example);
        }

        var training = new List<List<RerankExample>>();
        var validation = new List<List<RerankExample>>();
        var threshold = (uint)Math.Round(options.ValidationShare * 10_000);
        foreach (var (listId, list) in lists)
        {
            list.Sort((a, b) => BasePosition(a).CompareTo(BasePosition(b)));
            (RerankFeatures.Fnv1a(listId) % 10_000 < threshold ? validation : training).Add(list);
        }

        var trainingRows = training.Sum(l => l.Count);
        var trainingClicks = training.Sum(l => l.Count(e => e.Clicked));
        if (trainingClicks == 0 || trainingClicks == trainingRows)
        {
            throw new ArgumentException(
                $"examples: the {training.Count} training lists hold {trainingClicks} clicks in {trainingRows} impressions; training needs both clicks and non-clicks.",
                nameof(examples));
        }

        var stopwatch = Stopwatch.StartNew();
        var model = Fit(training, options);
        stopwatch.Stop();
        return new RerankerTrainingResult(model, Evaluate(model, training, validation, options, stopwatch.Elapsed));
    }

    private static RerankerModel Fit(List<List<RerankExample>> training, RerankerTrainingOptions options)
    {
        var context = new MLContext(options.Seed);
        var rows = new List<Row>(training.Sum(l => l.Count));
        for (var g = 0; g < training.Count; g++)
        {
            foreach (var example in training[g])
            {
                rows.Add(new Row
                {
                    Clicked = example.Clicked,
                    Relevance = example.Clicked ? 1 : 0,
                    GroupId = (uint)g + 1,
                    Features = example.Features.Array,
                });
            }
        }

        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, RerankFeatures.Length);
        // Key values are 1-based (0 is "missing"); the ranking trainer needs the list as a key.
        schema[nameof(Row.GroupId)].ColumnType = new KeyDataViewType(typeof(uint), training.Count + 1);
        var data = context.Data.LoadFromEnumerable(rows, schema);

        ITransformer transformer = options.Objective switch
        {
            RerankObjective.Binary => context.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                LabelColumnName = nameof(Row.Clicked),
                FeatureColumnName = nameof(Row.Features),
                NumberOfTrees = options.NumberOfTrees,
                NumberOfLeaves = options.NumberOfLeaves,
                MinimumExampleCountPerLeaf = options.MinimumExampleCountPerLeaf,
                LearningRate = options.LearningRate,
                NumberOfThreads = options.NumberOfThreads,
                Seed = options.Seed,
            }).Fit(data),
            _ => context.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
            {
                LabelColumnName = nameof(Row.Relevance),
                RowGroupColumnName = nameof(Row.GroupId),
                FeatureColumnName = nameof(Row.Features),
                NumberOfTrees = options.NumberOfTrees,
                NumberOfLeaves = options.NumberOfLeaves,
                MinimumExampleCountPerLeaf = options.MinimumExampleCountPerLeaf,
                LearningRate = options.LearningRate,
                NumberOfThreads = options.NumberOfThreads,
                Seed = options.Seed,
            }).Fit(data),
        };

        return RerankerModel.FromTrained(context, transformer, data.Schema, options.Objective);
    }

    private static RerankerEvaluation Evaluate(
        RerankerModel model,
        List<List<RerankExample>> training,
        List<List<RerankExample>> validation,
        RerankerTrainingOptions options,
        TimeSpan trainingTime)
    {
        var labels = new List<bool>();
        var modelScores = new List<double>();
        var baseScores = new List<double>();
        var gains = new List<double>();
        double modelNdcgSum = 0, baseNdcgSum = 0;
        foreach (var list in validation)
        {
            var features = list.Select(e => e.Features).ToArray();
            var scores = model.Score(features);
            labels.AddRange(list.Select(e => e.Clicked));
            modelScores.AddRange(scores);
            baseScores.AddRange(list.Select(e => -(double)BasePosition(e)));
            if (!list.Any(e => e.Clicked))
            {
                continue;
            }

            // nDCG of the served orders: the list is in base order, so a descending rank score describes each order
            // without ties.
            var relevance = list.Select(e => e.Clicked ? 1.0 : 0.0).ToArray();
            var servedRank = new double[list.Count];
            var order = RerankerModel.Order(scores);
            for (var rank = 0; rank < order.Length; rank++)
            {
                servedRank[order[rank]] = order.Length - rank;
            }

            var baseRank = Enumerable.Range(0, list.Count).Select(i => (double)(list.Count - i)).ToArray();
            var modelNdcg = RerankMetrics.NdcgAtK(relevance, servedRank, options.K);
            var baseNdcg = RerankMetrics.NdcgAtK(relevance, baseRank, options.K);
            modelNdcgSum += modelNdcg;
            baseNdcgSum += baseNdcg;
            gains.Add(modelNdcg - baseNdcg);
        }

        var withClick = gains.Count;
        var meanGain = withClick > 0 ? gains.Average() : double.NaN;
        var standardError = withClick > 1 ? Math.Sqrt(gains.Sum(g => (g - meanGain) * (g - meanGain)) / (withClick - 1) / withClick) : double.NaN;
        var lowerBound = meanGain - options.RequiredStandardErrors * standardError;
        var reasons = new List<string>();
        if (withClick < options.MinValidationListsWithClick)
        {
            reasons.Add($"only {withClick} validation lists hold a click (MinValidationListsWithClick is {options.MinValidationListsWithClick})");
        }

        if (!(lowerBound > options.PublishMargin))
        {
            reasons.Add(
                $"the nDCG@{options.K} gain over the base order ({meanGain:F4}, lower bound {lowerBound:F4} at {options.RequiredStandardErrors} standard errors) does not beat PublishMargin {options.PublishMargin}");
        }

        return new RerankerEvaluation(
            TrainingRows: training.Sum(l => l.Count),
            TrainingLists: training.Count,
            ValidationRows: labels.Count,
            ValidationLists: validation.Count,
            ValidationListsWithClick: withClick,
            K: options.K,
            ModelAuc: RerankMetrics.Auc(labels.ToArray(), modelScores.ToArray()),
            BaseAuc: RerankMetrics.Auc(labels.ToArray(), baseScores.ToArray()),
            ModelNdcg: withClick > 0 ? modelNdcgSum / withClick : double.NaN,
            BaseNdcg: withClick > 0 ? baseNdcgSum / withClick : double.NaN,
            NdcgGainLowerBound: lowerBound,
            Publishable: reasons.Count == 0,
            Reasons: reasons,
            TrainingTime: trainingTime);
    }

    private static float BasePosition(RerankExample example) => example.Features.Values[RerankFeatures.BaseRank];
}
