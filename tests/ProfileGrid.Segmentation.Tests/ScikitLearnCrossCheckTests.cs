namespace ProfileGrid.Segmentation.Tests;

/// <summary>The same data through ProfileGrid's clustering and through scikit-learn, in the same run.</summary>
public class ScikitLearnCrossCheckTests
{
    /// <summary>Overlapping Gaussian blobs: harder than well-separated ones, so local optima and ties would show.</summary>
    private static double[][] Blobs(int perBlob, int blobs, int dimensions, double spread, int seed)
    {
        var random = new Random(seed);
        var centres = Enumerable.Range(0, blobs).Select(_ => Enumerable.Range(0, dimensions).Select(_ => random.NextDouble() * 10).ToArray()).ToArray();
        return centres.SelectMany(centre => Enumerable.Range(0, perBlob).Select(_ =>
            centre.Select(c => c + spread * Gaussian(random)).ToArray())).ToArray();
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    [Fact]
    public void KMeans_inertia_is_within_one_percent_of_scikit_learn_at_the_same_k_and_initialisations()
    {
        var points = Blobs(perBlob: 150, blobs: 5, dimensions: 6, spread: 1.5, seed: 3);

        var ours = new KMeansClusterer { Initializations = 10 }.Fit(points, k: 5, seed: 0);
        var theirs = ScikitLearn.Run("""
            from sklearn.cluster import KMeans
            model = KMeans(n_clusters=5, n_init=10, random_state=0).fit(X)
            print(json.dumps({"inertia": float(model.inertia_)}))
            """, points);

        var sklearnInertia = theirs.GetProperty("inertia").GetDouble();
        Assert.InRange(ours.Inertia, 0, sklearnInertia * 1.01);
    }

    [Fact]
    public void KMeans_labels_match_scikit_learn_on_well_separated_blobs()
    {
        var points = Blobs(perBlob: 200, blobs: 4, dimensions: 5, spread: 0.5, seed: 13);

        var ours = new KMeansClusterer { Initializations = 3 }.Fit(points, k: 4, seed: 7);
        var theirs = ScikitLearnKMeans(points, k: 4, initializations: 3, seed: 7);

        Assert.InRange(ours.Inertia, 0, theirs.Inertia * 1.01);
        Assert.True(ClusterMetrics.AdjustedRandIndex(ours.Labels, theirs.Labels) >= 0.99);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(5, 10)]
    [InlineData(8, 3)]
    public void KMeans_starts_from_scikit_learns_seeds_and_reaches_its_partition_on_overlapping_blobs(int k, int initializations)
    {
        // The same seed gives the same k-means++ draws (numpy's generator), and the iterations are Lloyd's, so even
        // where the blobs overlap and local optima abound both sides end in the same partition.
        var points = Blobs(perBlob: 300, blobs: 6, dimensions: 8, spread: 2.5, seed: 17);

        var ours = new KMeansClusterer { Initializations = initializations }.Fit(points, k, seed: 42);
        var theirs = ScikitLearnKMeans(points, k, initializations, seed: 42);

        Assert.Equal(theirs.Inertia, ours.Inertia, theirs.Inertia * 1e-6);
        Assert.True(ClusterMetrics.AdjustedRandIndex(ours.Labels, theirs.Labels) >= 0.999);
    }

    private static (double Inertia, int[] Labels) ScikitLearnKMeans(double[][] points, int k, int initializations, int seed)
    {
        var result = ScikitLearn.Run($$"""
            from sklearn.cluster import KMeans
            model = KMeans(n_clusters={{k}}, n_init={{initializations}}, random_state={{seed}}, algorithm="lloyd").fit(X)
            print(json.dumps({"inertia": float(model.inertia_), "labels": [int(l) for l in model.labels_]}))
            """, points);
        return (result.GetProperty("inertia").GetDouble(), result.GetProperty("labels").EnumerateArray().Select(l => l.GetInt32()).ToArray());
    }

    [Fact]
    public void Silhouette_equals_scikit_learn_on_a_fixed_sample()
    {
        var points = Blobs(perBlob: 100, blobs: 3, dimensions: 4, spread: 2.0, seed: 5);
        var labels = new KMeansClusterer { Initializations = 3 }.Fit(points, k: 3, seed: 1).Labels;

        var ours = ClusterMetrics.Silhouette(points, labels);
        var theirs = ScikitLearn.Run("""
            from sklearn.metrics import silhouette_score
            print(json.dumps({"silhouette": float(silhouette_score(X, labels))}))
            """, points, labels);

        Assert.Equal(theirs.GetProperty("silhouette").GetDouble(), ours, 1e-6);
    }

    [Theory]
    [InlineData(3, 2.0)]
    [InlineData(5, 6.0)]
    public void Calinski_Harabasz_and_Davies_Bouldin_equal_scikit_learn(int k, double spread)
    {
        var points = Blobs(perBlob: 60, blobs: 4, dimensions: 3, spread: spread, seed: 9);
        var labels = new KMeansClusterer { Initializations = 2 }.Fit(points, k, seed: 4).Labels;

        var theirs = ScikitLearn.Run("""
            from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
            print(json.dumps({"ch": float(calinski_harabasz_score(X, labels)), "db": float(davies_bouldin_score(X, labels))}))
            """, points, labels);

        Assert.Equal(theirs.GetProperty("ch").GetDouble(), ClusterMetrics.CalinskiHarabasz(points, labels), 1e-6 * theirs.GetProperty("ch").GetDouble());
        Assert.Equal(theirs.GetProperty("db").GetDouble(), ClusterMetrics.DaviesBouldin(points, labels), 1e-9);
    }

    [Fact]
    public void Ward_labels_are_identical_to_scikit_learn_up_to_renaming()
    {
        var points = Blobs(perBlob: 50, blobs: 4, dimensions: 3, spread: 2.5, seed: 7);

        var ours = new WardClusterer().Fit(points, k: 4, seed: 0).Labels;
        var theirs = ScikitLearn.Run("""
            from sklearn.cluster import AgglomerativeClustering
            model = AgglomerativeClustering(n_clusters=4, linkage="ward").fit(X)
            print(json.dumps({"labels": [int(l) for l in model.labels_]}))
            """, points);

        var sklearnLabels = theirs.GetProperty("labels").EnumerateArray().Select(l => l.GetInt32()).ToArray();
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex(ours, sklearnLabels), 12);
    }

    [Fact]
    public void The_map_projection_equals_scikit_learn_pca_up_to_the_sign_of_each_axis()
    {
        var points = Blobs(perBlob: 80, blobs: 4, dimensions: 8, spread: 2.0, seed: 11);

        var ours = PcaProjection.Fit(points);
        var theirs = ScikitLearn.Run("""
            from sklearn.decomposition import PCA
            model = PCA(n_components=2, svd_solver="full").fit(X)
            print(json.dumps({"ratio": [float(r) for r in model.explained_variance_ratio_],
                              "components": [[float(v) for v in c] for c in model.components_],
                              "first": [float(v) for v in model.transform(X[:1])[0]]}))
            """, points);

        var ratio = theirs.GetProperty("ratio").EnumerateArray().Select(r => r.GetDouble()).ToArray();
        var components = theirs.GetProperty("components").EnumerateArray()
            .Select(c => c.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        var first = theirs.GetProperty("first").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var (x, y) = ours.Project(points[0]);
        for (var axis = 0; axis < 2; axis++)
        {
            Assert.Equal(ratio[axis], ours.ExplainedVarianceRatio[axis], 1e-9);
            var sign = Math.Sign(components[axis].Zip(ours.Components[axis], (a, b) => a * b).Sum());
            for (var j = 0; j < components[axis].Length; j++)
            {
                Assert.Equal(components[axis][j], sign * ours.Components[axis][j], 1e-6);
            }

            Assert.Equal(first[axis], sign * (axis == 0 ? x : y), 1e-6);
        }
    }
}
