using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace ProfileGrid.Segmentation;

/// <summary>
/// k-means on top of ML.NET's <see cref="KMeansTrainer"/> (k-means++ initialisation, single-threaded for
/// determinism), selected with the algorithm name <c>kmeans-mlnet</c>. The default <c>kmeans</c> is
/// <see cref="KMeansClusterer"/>, which is faster and lighter (docs/benchmarks.md). Like scikit-learn's <c>n_init</c>,
/// the trainer is run <see cref="Initializations"/> times with seeds <c>seed .. seed + Initializations - 1</c> and the
/// run with the lowest inertia is kept.
/// Labels come from ML.NET's <c>PredictedLabel</c> (1..k, shifted to 0..k-1); centroids are recomputed in double
/// precision as the means of the members (an empty cluster keeps ML.NET's centroid); inertia is recomputed in double.
/// </summary>
public sealed class MlNetKMeansClusterer : IClusterer
{
    public string Name => "kmeans-mlnet";

    /// <summary>Number of independent k-means++ initialisations (scikit-learn's n_init). Default 10.</summary>
    public int Initializations { get; init; } = 10;

    /// <summary>Maximum Lloyd/Yinyang iterations per run. Default 1000.</summary>
    public int MaxIterations { get; init; } = 1000;

    /// <summary>Relative tolerance on the loss for convergence of one run. Default 1e-7.</summary>
    public float Tolerance { get; init; } = 1e-7f;

    private sealed class Row
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    public ClusteringResult Fit(double[][] points, int k, int seed)
    {
        var d = ClusterMath.CheckFitInput(points, k);
        var n = points.Length;
        if (Initializations < 1)
        {
            throw new InvalidOperationException("Initializations must be >= 1.");
        }

        // The float rows are built once for all initialisations. Each run still loads them into a view of its own
        // MLContext: the view's context seeds its cursors, so one shared view would change the runs' results.
        var rows = points.Select(p => new Row { Features = p.Select(v => (float)v).ToArray() }).ToList();
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);

        ClusteringResult? best = null;
        for (var r = 0; r < Initializations; r++)
        {
            var result = FitOnce(points, rows, schema, k, d, unchecked(seed + r));
            if (best is null || result.Inertia < best.Inertia)
            {
                best = result;
            }
        }
        return best!;
    }

    private ClusteringResult FitOnce(double[][] points, List<Row> rows, SchemaDefinition schema, int k, int d, int seed)
    {
        var ml = new MLContext(seed);
        IDataView data = ml.Data.LoadFromEnumerable(rows, schema);

        var trainer = ml.Clustering.Trainers.KMeans(new KMeansTrainer.Options
        {
            FeatureColumnName = "Features",
            NumberOfClusters = k,
            InitializationAlgorithm = KMeansTrainer.InitializationAlgorithm.KMeansPlusPlus,
            MaximumNumberOfIterations = MaxIterations,
            OptimizationTolerance = Tolerance,
            NumberOfThreads = 1,
        });
        var model = trainer.Fit(data);

        VBuffer<float>[] mlCentroids = Array.Empty<VBuffer<float>>();
        model.Model.GetClusterCentroids(ref mlCentroids, out var kOut);

        var predicted = model.Transform(data).GetColumn<uint>("PredictedLabel").ToArray();
        var labels = new int[points.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var l = (int)predicted[i] - 1;
            labels[i] = l >= 0 && l < k ? l : NearestFromMl(points[i], mlCentroids, kOut);
        }

        var fallback = new double[k][];
        for (var c = 0; c < k; c++)
        {
            fallback[c] = new double[d];
            if (c < kOut)
            {
                var dense = mlCentroids[c].DenseValues().ToArray();
                for (var j = 0; j < d && j < dense.Length; j++)
                {
                    fallback[c][j] = dense[j];
                }
            }
        }
        return ClusterMath.Summarise(points, labels, k, fallback);
    }

    private static int NearestFromMl(double[] p, VBuffer<float>[] centroids, int k)
    {
        var best = 0; var bestD = double.PositiveInfinity;
        for (var c = 0; c < k; c++)
        {
            var v = centroids[c].DenseValues().ToArray();
            double s = 0;
            for (var j = 0; j < p.Length; j++) { var t = p[j] - v[j]; s += t * t; }
            if (s < bestD) { bestD = s; best = c; }
        }
        return best;
    }
}
