using System.Buffers.Binary;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace ProfileGrid.Reranking;

/// <summary>
/// A trained re-ranker: immutable and safe to call from many threads at once. Scoring does not go through ML.NET's
/// PredictionEngine (not thread-safe, and an allocation per call): the trees are copied out of the ML.NET model into
/// flat arrays at load, and a score is the bias plus the sum of one leaf per tree, exactly as FastTree computes it.
/// <see cref="ToBytes"/> keeps the ML.NET model itself (its own zip format) behind a short header, so a model can be
/// stored in a grain, sent to every silo and loaded there with <see cref="FromBytes"/>.
/// </summary>
public sealed class RerankerModel
{
    // "PGRR": ProfileGrid re-ranker.
    private const uint Magic = 0x52524750;
    private const int FormatVersion = 1;
    private const int HeaderLength = 16;

    private readonly byte[] _mlNetModel;

    /// <summary>ML.NET's saved model, without the header (the tests compare its scores with these).</summary>
    internal ReadOnlyMemory<byte> MlNetModel => _mlNetModel;

    // Nodes of all trees; a child below 0 is a leaf, ~child indexing _leafValues. A tree with one leaf has root ~leaf.
    private readonly int[] _roots;
    private readonly int[] _splitFeatures;
    private readonly float[] _thresholds;
    private readonly int[] _lessOrEqualChild;
    private readonly int[] _greaterChild;
    private readonly double[] _leafValues;
    private readonly double _bias;

    private RerankerModel(RerankObjective objective, byte[] mlNetModel, TreeEnsemble<RegressionTree> ensemble)
    {
        Objective = objective;
        _mlNetModel = mlNetModel;
        _bias = ensemble.Bias;
        var trees = ensemble.Trees;
        _roots = new int[trees.Count];
        var nodes = trees.Sum(t => t.NumberOfNodes);
        var leaves = trees.Sum(t => t.NumberOfLeaves);
        _splitFeatures = new int[nodes];
        _thresholds = new float[nodes];
        _lessOrEqualChild = new int[nodes];
        _greaterChild = new int[nodes];
        _leafValues = new double[leaves];
        int nodeBase = 0, leafBase = 0;
        for (var t = 0; t < trees.Count; t++)
        {
            var tree = trees[t];
            if (tree.CategoricalSplitFlags.Any(c => c))
            {
                throw new NotSupportedException("Categorical splits are not used by the re-ranker's trainer.");
            }

            var weight = ensemble.TreeWeights[t];
            for (var l = 0; l < tree.NumberOfLeaves; l++)
            {
                _leafValues[leafBase + l] = weight * tree.LeafValues[l];
            }

            _roots[t] = tree.NumberOfNodes == 0 ? ~leafBase : nodeBase;
            for (var n = 0; n < tree.NumberOfNodes; n++)
            {
                _splitFeatures[nodeBase + n] = tree.NumericalSplitFeatureIndexes[n];
                _thresholds[nodeBase + n] = tree.NumericalSplitThresholds[n];
                _lessOrEqualChild[nodeBase + n] = Relocate(tree.LeftChild[n], nodeBase, leafBase);
                _greaterChild[nodeBase + n] = Relocate(tree.RightChild[n], nodeBase, leafBase);
            }

            nodeBase += tree.NumberOfNodes;
            leafBase += tree.NumberOfLeaves;
        }
    }

    /// <summary>The objective the trees were trained with.</summary>
    public RerankObjective Objective { get; }

    /// <summary>The number of trees.</summary>
    public int TreeCount => _roots.Length;

    /// <summary>
    /// A short id of what the model computes (12 hex digits of a SHA-256 over its trees and objective), for logs and
    /// for naming the model an experiment variant serves. Hashed from the trees rather than <see cref="ToBytes"/>
    /// because ML.NET's zip differs between two saves of the same model; two trainings that give the same scores give
    /// the same fingerprint.
    /// </summary>
    public string Fingerprint => _fingerprint ??= ComputeFingerprint();

    private string? _fingerprint;

    /// <summary>
    /// The model's score of one candidate: higher ranks first. A log-odds of a click for <see cref="RerankObjective.Binary"/>,
    /// a relevance score for <see cref="RerankObjective.LambdaRank"/>; comparable within one list.
    /// </summary>
    public double Score(RerankFeatures features)
    {
        ArgumentNullException.ThrowIfNull(features);
        return Score(features.Values);
    }

    /// <summary>The scores of <paramref name="candidates"/>, in their order.</summary>
    public double[] Score(IReadOnlyList<RerankFeatures> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var scores = new double[candidates.Count];
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = Score(candidates[i] ?? throw new ArgumentException($"candidates[{i}] is null.", nameof(candidates)));
        }

        return scores;
    }

    /// <summary>
    /// The new order of <paramref name="candidates"/> (given in their base order): indexes into the list, best first;
    /// candidates with equal scores keep their base order.
    /// </summary>
    public int[] Rerank(IReadOnlyList<RerankFeatures> candidates) => Order(Score(candidates));

    /// <summary>
    /// Re-ranks a served list: computes each candidate's features for <paramref name="user"/> and returns the
    /// candidates best first (equal scores keep their base order).
    /// </summary>
    public IReadOnlyList<RerankCandidate> Rerank(RerankUserSummary user, IReadOnlyList<RerankCandidate> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var scores = new double[candidates.Count];
        for (var i = 0; i < scores.Length; i++)
        {
            scores[i] = Score(RerankFeatures.Compute(user, candidates[i]));
        }

        var order = Order(scores);
        var result = new RerankCandidate[order.Length];
        for (var i = 0; i < order.Length; i++)
        {
            result[i] = candidates[order[i]];
        }

        return result;
    }

    /// <summary>The model as bytes: a header (format, feature layout, objective) and ML.NET's saved model.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[HeaderLength + _mlNetModel.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(0), Magic);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), RerankFeatures.Layout);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), (int)Objective);
        _mlNetModel.CopyTo(bytes, HeaderLength);
        return bytes;
    }

    /// <summary>Loads a model written by <see cref="ToBytes"/>.</summary>
    /// <exception cref="ArgumentException">The bytes are not a re-ranker model, or one saved with another feature layout.</exception>
    public static RerankerModel FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length <= HeaderLength || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic)
        {
            throw new ArgumentException("bytes do not hold a re-ranker model (no PGRR header).", nameof(bytes));
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes[4..]);
        if (version != FormatVersion)
        {
            throw new ArgumentException($"bytes hold re-ranker format {version}; this build reads {FormatVersion}.", nameof(bytes));
        }

        var layout = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (layout != RerankFeatures.Layout)
        {
            throw new ArgumentException(
                $"bytes hold a model trained on another feature layout ({layout:x8}, this build computes {RerankFeatures.Layout:x8}); retrain it.",
                nameof(bytes));
        }

        var objective = (RerankObjective)BinaryPrimitives.ReadInt32LittleEndian(bytes[12..]);
        var mlNetModel = bytes[HeaderLength..].ToArray();
        var context = new MLContext();
        context.ComponentCatalog.RegisterAssembly(typeof(FastTreeBinaryModelParameters).Assembly);
        using var stream = new MemoryStream(mlNetModel, writable: false);
        var transformer = context.Model.Load(stream, out _);
        return new RerankerModel(objective, mlNetModel, EnsembleOf(transformer));
    }

    /// <summary>Wraps a freshly trained ML.NET model (saved once here so that the bytes are those that load).</summary>
    internal static RerankerModel FromTrained(MLContext context, ITransformer transformer, DataViewSchema inputSchema, RerankObjective objective)
    {
        using var stream = new MemoryStream();
        context.Model.Save(transformer, inputSchema, stream);
        return new RerankerModel(objective, stream.ToArray(), EnsembleOf(transformer));
    }

    internal double Score(ReadOnlySpan<float> features)
    {
        if (features.Length != RerankFeatures.Length)
        {
            throw new ArgumentException($"features must hold {RerankFeatures.Length} values ({features.Length}).", nameof(features));
        }

        var score = _bias;
        foreach (var root in _roots)
        {
            var node = root;
            while (node >= 0)
            {
                node = features[_splitFeatures[node]] <= _thresholds[node] ? _lessOrEqualChild[node] : _greaterChild[node];
            }

            score += _leafValues[~node];
        }

        return score;
    }

    /// <summary>Indexes of <paramref name="scores"/> by descending score, ties in index order.</summary>
    internal static int[] Order(double[] scores)
    {
        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        // Array.Sort is not stable: the index breaks ties so that equal scores keep their base order.
        System.Array.Sort(order, (a, b) =>
        {
            var byScore = scores[b].CompareTo(scores[a]);
            return byScore != 0 ? byScore : a.CompareTo(b);
        });
        return order;
    }

    private string ComputeFingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(BitConverter.GetBytes((int)Objective));
        hash.AppendData(BitConverter.GetBytes(RerankFeatures.Layout));
        hash.AppendData(BitConverter.GetBytes(_bias));
        hash.AppendData(MemoryMarshal.AsBytes(_roots.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_splitFeatures.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_thresholds.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_lessOrEqualChild.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_greaterChild.AsSpan()));
        hash.AppendData(MemoryMarshal.AsBytes(_leafValues.AsSpan()));
        return Convert.ToHexStringLower(hash.GetHashAndReset())[..12];
    }

    private static int Relocate(int child, int nodeBase, int leafBase) => child >= 0 ? child + nodeBase : ~(~child + leafBase);

    private static TreeEnsemble<RegressionTree> EnsembleOf(ITransformer transformer)
    {
        if (transformer is TransformerChain<ITransformer> chain)
        {
            transformer = chain.LastTransformer;
        }

        object? model = transformer is IPredictionTransformer<object> prediction ? prediction.Model : null;
        if (model is CalibratedModelParametersBase calibrated)
        {
            // The calibrated wrapper (FastTree binary's Platt scaling) hides the trees behind its generic SubModel;
            // the score the re-ranker orders by is the uncalibrated one, which the calibration only squashes.
            model = null;
            for (var type = calibrated.GetType(); type is not null && model is null; type = type.BaseType)
            {
                model = type.GetProperty("SubModel", BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)?.GetValue(calibrated);
            }
        }

        return model is TreeEnsembleModelParametersBasedOnRegressionTree trees
            ? trees.TrainedTreeEnsemble
            : throw new ArgumentException($"The ML.NET model is not a FastTree ensemble ({model?.GetType().Name ?? transformer.GetType().Name}).", nameof(transformer));
    }
}
