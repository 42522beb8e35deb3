namespace ProfileGrid.Segmentation;

/// <summary>
/// A partition of n points into k clusters: labels 0..k-1 per point, centroids in the space the points were given in,
/// and the inertia (sum of squared distances of points to their centroid).
/// </summary>
public sealed record ClusteringResult(int[] Labels, double[][] Centroids, double Inertia)
{
    public int K => Centroids.Length;
}

/// <summary>A clustering algorithm on rows of equal length (already normalised).</summary>
public interface IClusterer
{
    string Name { get; }

    ClusteringResult Fit(double[][] points, int k, int seed);
}
