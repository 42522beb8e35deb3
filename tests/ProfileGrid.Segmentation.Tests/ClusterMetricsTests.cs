using ProfileGrid.Segmentation;

namespace ProfileGrid.Segmentation.Tests;

public class ClusterMetricsTests
{
    private static double[][] OneD(params double[] xs) => xs.Select(x => new[] { x }).ToArray();

    [Fact]
    public void Inertia_is_sum_of_squared_distances_to_own_centroid()
    {
        // (0-.5)^2 + (1-.5)^2 + (4-4.5)^2 + (5-4.5)^2 = 4 * 0.25 = 1; in 2-D (3,4) from origin adds 25.
        Assert.Equal(1.0, ClusterMetrics.Inertia(OneD(0, 1, 4, 5), [0, 0, 1, 1], OneD(0.5, 4.5)), 12);
        Assert.Equal(25.0, ClusterMetrics.Inertia([[3.0, 4.0], [0.0, 0.0]], [0, 1], [[0.0, 0.0], [0.0, 0.0]]), 12);
    }

    [Fact]
    public void Silhouette_of_two_1d_clusters_worked_by_hand()
    {
        // Points 0, 1 | 4, 5.
        // x=0: a = |0-1| = 1, b = (4 + 5)/2 = 4.5, s = (4.5 - 1)/4.5 = 7/9
        // x=1: a = 1,         b = (3 + 4)/2 = 3.5, s = (3.5 - 1)/3.5 = 5/7
        // x=4: a = 1,         b = (4 + 3)/2 = 3.5, s = 5/7
        // x=5: a = 1,         b = (5 + 4)/2 = 4.5, s = 7/9
        // mean = (7/9 + 5/7)/2 = (49 + 45)/126 = 47/63 = 0.746031746...
        var s = ClusterMetrics.Silhouette(OneD(0, 1, 4, 5), [0, 0, 1, 1]);

        Assert.Equal(47.0 / 63.0, s, 12);
    }

    [Fact]
    public void Silhouette_does_not_depend_on_label_values()
    {
        Assert.Equal(47.0 / 63.0, ClusterMetrics.Silhouette(OneD(0, 1, 4, 5), [7, 7, -3, -3]), 12);
    }

    [Fact]
    public void Silhouette_scores_a_singleton_cluster_point_as_zero()
    {
        // Points 0, 1 | 10.
        // x=0: a = 1, b = 10, s = 9/10;  x=1: a = 1, b = 9, s = 8/9;  x=10: alone in its cluster -> 0 (sklearn rule).
        // mean = (0.9 + 8/9 + 0)/3 = (81 + 80)/270 = 161/270 = 0.596296...
        var s = ClusterMetrics.Silhouette(OneD(0, 1, 10), [0, 0, 1]);

        Assert.Equal(161.0 / 270.0, s, 12);
    }

    [Fact]
    public void Silhouette_is_negative_when_points_sit_in_the_wrong_cluster()
    {
        // Labels swapped across the gap: 0,4 | 1,5. x=0: a=4, b=(1+5)/2=3, s=(3-4)/4=-1/4; x=4: a=4, b=(3+1)/2=2, s=-1/2;
        // x=1: a=4, b=(1+3)/2=2, s=-1/2; x=5: a=4, b=(5+1)/2=3, s=-1/4. mean = -3/8.
        Assert.Equal(-0.375, ClusterMetrics.Silhouette(OneD(0, 1, 4, 5), [0, 1, 0, 1]), 12);
    }

    [Fact]
    public void Silhouette_matches_an_independent_sklearn_formula_reference_in_2d()
    {
        // Reference from a direct Python transcription of sklearn's silhouette_samples (math.dist, singleton -> 0);
        // three clusters, one of them a singleton at (9,0).
        double[][] points = [[0, 0], [1, 0], [0, 2], [5, 5], [6, 5], [5, 7], [9, 0]];
        int[] labels = [0, 0, 0, 1, 1, 1, 2];

        Assert.Equal(0.6399304666932925, ClusterMetrics.Silhouette(points, labels), 12);
    }

    [Fact]
    public void Silhouette_requires_between_2_and_n_minus_1_clusters()
    {
        Assert.Throws<ArgumentException>(() => ClusterMetrics.Silhouette(OneD(0, 1, 4), [0, 0, 0]));
        Assert.Throws<ArgumentException>(() => ClusterMetrics.Silhouette(OneD(0, 1, 4), [0, 1, 2]));
    }

    [Fact]
    public void SampledSilhouette_equals_exact_when_sample_covers_all_points()
    {
        var points = Blobs(30, seed: 1);
        var labels = Enumerable.Range(0, 30).Select(i => i % 3).ToArray();
        var exact = ClusterMetrics.Silhouette(points, labels);

        Assert.Equal(exact, ClusterMetrics.SampledSilhouette(points, labels, 30, seed: 5), 12);
        Assert.Equal(exact, ClusterMetrics.SampledSilhouette(points, labels, 1000, seed: 5), 12);
    }

    [Fact]
    public void SampledSilhouette_is_reproducible_for_a_seed_and_close_on_well_separated_blobs()
    {
        var points = Blobs(300, seed: 2);
        var labels = Enumerable.Range(0, 300).Select(i => i % 3).ToArray();
        var exact = ClusterMetrics.Silhouette(points, labels);

        var s1 = ClusterMetrics.SampledSilhouette(points, labels, 60, seed: 42);
        var s2 = ClusterMetrics.SampledSilhouette(points, labels, 60, seed: 42);

        Assert.Equal(s1, s2);
        Assert.True(exact > 0.8, $"blobs should separate well, got {exact}");
        Assert.InRange(s1, exact - 0.05, exact + 0.05);
    }

    [Fact]
    public void AdjustedRandIndex_is_1_for_identical_partitions_up_to_renaming()
    {
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex([0, 0, 1, 1, 2, 2], [5, 5, 3, 3, 9, 9]), 12);
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex([0, 0, 1, 1], [1, 1, 0, 0]), 12);
    }

    [Fact]
    public void AdjustedRandIndex_sklearn_docs_example_worked_by_hand()
    {
        // a = [0,0,1,1], b = [0,0,1,2]. Contingency: (a0,b0)=2, (a1,b1)=1, (a1,b2)=1.
        // index = sum C(n_ij,2) = 1; sum_a = C(2,2)+C(2,2) = 2; sum_b = C(2,2) = 1; C(4,2) = 6.
        // expected = 2*1/6 = 1/3; max = (2+1)/2 = 3/2; ARI = (1 - 1/3)/(3/2 - 1/3) = (2/3)/(7/6) = 4/7 = 0.5714285714.
        Assert.Equal(4.0 / 7.0, ClusterMetrics.AdjustedRandIndex([0, 0, 1, 1], [0, 0, 1, 2]), 12);
        Assert.Equal(4.0 / 7.0, ClusterMetrics.AdjustedRandIndex([0, 0, 1, 2], [0, 0, 1, 1]), 12); // symmetric
    }

    [Fact]
    public void AdjustedRandIndex_is_zero_or_negative_for_unrelated_partitions()
    {
        // All-in-one vs all-apart: index 0, sum_a 6, sum_b 0 -> expected 0, max 3 -> 0 (sklearn docs).
        Assert.Equal(0.0, ClusterMetrics.AdjustedRandIndex([0, 0, 0, 0], [0, 1, 2, 3]), 12);
        // Crossed: every cell 1 -> index 0, sum_a = sum_b = 2, expected 4/6, max 2 -> (0 - 2/3)/(2 - 2/3) = -1/2.
        Assert.Equal(-0.5, ClusterMetrics.AdjustedRandIndex([0, 0, 1, 1], [0, 1, 0, 1]), 12);
    }

    [Fact]
    public void AdjustedRandIndex_degenerate_single_cluster_is_1_like_sklearn()
    {
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex([3, 3, 3], [0, 0, 0]));
        Assert.Equal(1.0, ClusterMetrics.AdjustedRandIndex([0, 1, 2], [2, 0, 1]));
    }

    [Fact]
    public void Jaccard_compares_member_index_sets()
    {
        // A = {i : a_i = 1} = {2,3,4}; B = {i : b_i = 1} = {1,2,3}; |A∩B| = 2, |A∪B| = 4 -> 0.5.
        int[] a = [0, 0, 1, 1, 1];
        int[] b = [0, 1, 1, 1, 0];

        Assert.Equal(0.5, ClusterMetrics.Jaccard(a, 1, b, 1), 12);
        Assert.Equal(1.0 / 3.0, ClusterMetrics.Jaccard(a, 0, b, 0), 12); // {0,1} vs {0,4}
        Assert.Equal(0.0, ClusterMetrics.Jaccard(a, 0, b, 7), 12); // B empty
    }

    [Fact]
    public void MatchClusters_recovers_a_permutation_of_labels()
    {
        int[] previous = [0, 0, 1, 1, 2, 2];
        int[] current = [2, 2, 0, 0, 1, 1];

        var map = ClusterMetrics.MatchClusters(previous, current, 3);

        Assert.Equal([1, 2, 0], map);
        Assert.Equal(previous, current.Select(c => map[c]).ToArray()); // relabelled current == previous ids
    }

    [Fact]
    public void MatchClusters_is_optimal_one_to_one_not_greedy()
    {
        // Overlaps (current x previous): c0 = {p0: 5, p1: 4}, c1 = {p0: 4, p1: 0}.
        // Greedy would take c0->p0 (5) and leave c1->p1 (0), total 5; the optimum c0->p1, c1->p0 keeps 8 points.
        var previous = Enumerable.Repeat(0, 5).Concat(Enumerable.Repeat(1, 4)).Concat(Enumerable.Repeat(0, 4)).ToArray();
        var current = Enumerable.Repeat(0, 9).Concat(Enumerable.Repeat(1, 4)).ToArray();

        Assert.Equal([1, 0], ClusterMetrics.MatchClusters(previous, current, 2));
    }

    [Fact]
    public void MatchClusters_keeps_ids_stable_when_a_few_points_move()
    {
        int[] previous = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2];
        int[] current = [1, 1, 1, 2, 2, 2, 2, 2, 0, 0, 0, 0]; // renamed, and point 3 drifted to another segment

        var map = ClusterMetrics.MatchClusters(previous, current, 3);

        Assert.Equal([2, 0, 1], map);
    }

    private static double[][] Blobs(int n, int seed)
    {
        // Three tight 2-D blobs centred at (0,0), (10,0), (0,10); point i belongs to blob i % 3.
        var rng = new Random(seed);
        double[][] centres = [[0, 0], [10, 0], [0, 10]];
        return Enumerable.Range(0, n)
            .Select(i => new[] { centres[i % 3][0] + rng.NextDouble() - 0.5, centres[i % 3][1] + rng.NextDouble() - 0.5 })
            .ToArray();
    }
}
