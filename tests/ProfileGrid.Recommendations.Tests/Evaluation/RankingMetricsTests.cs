using ProfileGrid.Recommendations.Evaluation;

namespace ProfileGrid.Recommendations.Tests.Evaluation;

public sealed class RankingMetricsTests
{
    private const int K = 3;

    // A: top 3 = i1 i2 i3, relevant {i1, i3, i5}: hits at ranks 1 and 3.
    // B: list of 2 = i5 i6, relevant {i6, i7, i8, i9}: hit at rank 2.
    // C: top 3 = i1 i2 i3, relevant {i9}: no hit.
    // D: no list at all, relevant {i1}: counts only for nDCG (as 0), as in the reference.
    private static readonly UserRanking[] Rankings =
    [
        new("A", ["i1", "i2", "i3", "i4"], Set("i1", "i3", "i5")),
        new("B", ["i5", "i6"], Set("i6", "i7", "i8", "i9")),
        new("C", ["i1", "i2", "i3"], Set("i9")),
        new("D", [], Set("i1")),
    ];

    // Training: i1 by 4 users, i2 by 2, i3..i6 by 1 each: 6 items, 10 interactions.
    private static readonly TrainingItemStats Train = new(new Dictionary<string, int>
    {
        ["i1"] = 4, ["i2"] = 2, ["i3"] = 1, ["i4"] = 1, ["i5"] = 1, ["i6"] = 1,
    });

    [Fact]
    public void Precision_divides_hits_by_k_even_for_a_short_list_and_skips_users_without_a_list()
    {
        // (2/3 + 1/3 + 0) / 3 users with a list = 1/3
        Assert.Equal(1 / 3d, RankingMetrics.PrecisionAtK(Rankings, K), 12);
    }

    [Fact]
    public void Recall_divides_hits_by_the_relevant_items()
    {
        // (2/3 + 1/4 + 0) / 3 = 0.305556
        Assert.Equal((2 / 3d + 1 / 4d) / 3, RankingMetrics.RecallAtK(Rankings, K), 12);
    }

    [Fact]
    public void Ndcg_is_binary_with_an_ideal_list_of_min_relevant_k_and_averages_over_every_test_user()
    {
        // A: (1/ln2 + 1/ln4) / (1/ln2 + 1/ln3 + 1/ln4) = 0.703918
        // B: (1/ln3) / (1/ln2 + 1/ln3 + 1/ln4) = 0.296082 (4 relevant, the ideal list is cut at k = 3)
        // C: 0, D: 0 (no list, but counted) -> (0.703918 + 0.296082) / 4 = 0.25
        var idcg = 1 / Math.Log(2) + 1 / Math.Log(3) + 1 / Math.Log(4);
        var a = (1 / Math.Log(2) + 1 / Math.Log(4)) / idcg;
        var b = 1 / Math.Log(3) / idcg;
        Assert.Equal(0.703918, a, 6);
        Assert.Equal((a + b) / 4, RankingMetrics.NdcgAtK(Rankings, K), 12);
    }

    [Fact]
    public void Map_divides_by_the_relevant_items_as_published_tables_and_map_at_k_by_min_relevant_k()
    {
        // A: (1/1 + 2/3) / 3 = 0.555556; B: (1/2) / 4 = 0.125; C: 0 -> map = 0.226852
        Assert.Equal((5 / 9d + 0.125) / 3, RankingMetrics.Map(Rankings, K), 12);
        // map@k: A: (5/3) / min(3, 3) = 0.555556; B: (1/2) / min(4, 3) = 0.166667 -> 0.240741
        Assert.Equal((5 / 9d + 0.5 / 3) / 3, RankingMetrics.MapAtK(Rankings, K), 12);
    }

    [Fact]
    public void Hit_rate_is_the_share_of_users_with_a_list_that_hit_at_least_once()
    {
        Assert.Equal(2 / 3d, RankingMetrics.HitRate(Rankings, K), 12);
    }

    [Fact]
    public void Coverage_counts_distinct_recommended_items_against_training_items()
    {
        // {i1, i2, i3, i5, i6} of 6 training items (i4 of A's list lies beyond k)
        Assert.Equal(5 / 6d, RankingMetrics.CatalogCoverage(Rankings, K, Train), 12);
    }

    [Fact]
    public void Novelty_averages_minus_log2_of_each_recommendation_s_share_of_training_interactions()
    {
        // 8 recommendations: i1 i2 i3 (A), i5 i6 (B), i1 i2 i3 (C)
        // -log2(4/10) = 1.321928, -log2(2/10) = 2.321928, -log2(1/10) = 3.321928
        // (2 * (1.321928 + 2.321928 + 3.321928) + 2 * 3.321928) / 8 = 2.571928
        Assert.Equal(2.571928, RankingMetrics.Novelty(Rankings, K, Train), 6);
    }

    [Fact]
    public void Compute_gathers_every_metric_and_counts_users_with_and_without_a_list()
    {
        var metrics = RankingMetrics.Compute(Rankings, K, Train);
        Assert.Equal(4, metrics.Users);
        Assert.Equal(3, metrics.UsersRecommended);
        Assert.Equal(1 / 3d, metrics.Get("precision"), 12);
        Assert.Equal(0.25, metrics.Get("ndcg"), 12);
        Assert.Equal(MetricSet.Names.Count, MetricSet.Names.Distinct().Count());
    }

    [Fact]
    public void A_perfect_list_scores_one_on_every_accuracy_metric_but_map_when_users_have_more_than_k_relevant_items()
    {
        var perfect = new[] { new UserRanking("A", ["a", "b", "c"], Set("a", "b", "c", "d")) };
        Assert.Equal(1, RankingMetrics.PrecisionAtK(perfect, 3), 12);
        Assert.Equal(1, RankingMetrics.NdcgAtK(perfect, 3), 12);
        Assert.Equal(1, RankingMetrics.MapAtK(perfect, 3), 12);
        // The published-tables MAP divides by all 4 relevant items: it cannot reach 1 (0.75 here).
        Assert.Equal(0.75, RankingMetrics.Map(perfect, 3), 12);
    }

    [Fact]
    public void Repeated_items_in_a_list_count_once()
    {
        var repeated = new[] { new UserRanking("A", ["a", "a", "b"], Set("a")) };
        // top 2 distinct = a, b: one hit of 2
        Assert.Equal(0.5, RankingMetrics.PrecisionAtK(repeated, 2), 12);
    }

    internal static IReadOnlySet<string> Set(params string[] items) => new HashSet<string>(items, StringComparer.Ordinal);
}
