using ProfileGrid.Recommendations;

namespace ProfileGrid.Reranking.Tests;

public sealed class FeatureTests
{
    private static readonly DateTimeOffset Now = SyntheticImpressions.Now;

    private static readonly Dictionary<string, string> Catalog = new()
    {
        ["shoe-1"] = "shoes", ["shoe-2"] = "shoes", ["shoe-3"] = "shoes", ["hat-1"] = "hats",
    };

    private static RerankUserSummary Summary(int segment = 4, string? gender = "Female", string? ageBand = "35_44") =>
        RerankUserSummary.Create(
            new RerankUser(
                [
                    new ItemInteraction("shoe-1", Views: 3, CartAdds: 1, Purchases: 1, Rating: null, LastAt: Now.AddDays(-6)),
                    new ItemInteraction("shoe-2", 1, 0, 0, null, Now.AddDays(-1)),
                    new ItemInteraction("hat-1", 1, 0, 0, null, Now.AddDays(-2)),
                    new ItemInteraction("unknown", 1, 0, 0, null, Now.AddDays(-2)),
                ],
                SegmentId: segment, Gender: gender, AgeBand: ageBand, DaysSinceFirstSeen: 30),
            id => Catalog.GetValueOrDefault(id),
            Now);

    private static float Feature(RerankFeatures features, string name) => features.Values[RerankFeatures.Names.ToList().IndexOf(name)];

    [Fact]
    public void Each_feature_reads_what_the_user_item_and_context_say()
    {
        var features = RerankFeatures.Compute(Summary(), new RerankCandidate(
            new RerankItem("shoe-1", "shoes", Price: 100, Popularity: Math.E - 1, TimesIgnored: 3),
            new RerankContext(Position: 4, BaseScore: 0.25, Source: "ease", Slot: "home")));

        Assert.Equal(4, Feature(features, "base_rank"));
        Assert.Equal(0.25f, Feature(features, "base_score"));
        Assert.Equal(1, Feature(features, "log_popularity"), 1e-6f);
        Assert.Equal(6, Feature(features, "price_band")); // log2(101) = 6.66
        Assert.Equal(0.5f, Feature(features, "category_affinity")); // two of four history items are shoes
        Assert.Equal((float)Math.Log(5), Feature(features, "user_activity"), 1e-6f);
        Assert.Equal(1, Feature(features, "interacted"));
        Assert.Equal(1, Feature(features, "purchased"));
        Assert.Equal((float)Math.Log(7), Feature(features, "days_since_item_interaction"), 1e-6f);
        Assert.Equal(3, Feature(features, "times_ignored"));
        Assert.Equal((float)Math.Log(31), Feature(features, "user_tenure"), 1e-6f);
        Assert.Equal(4, Feature(features, "age_band"));
        Assert.Equal(1, Feature(features, "source=ease"));
        Assert.Equal(1, Feature(features, "gender=female"));
        Assert.Equal(1, Feature(features, "segment=bucket4"));
        Assert.Equal(0, Feature(features, "slot=none"));
        Assert.Equal(1, features.Values[(RerankFeatures.Length - 8)..].ToArray().Sum()); // exactly one slot bucket
    }

    [Fact]
    public void Unknowns_get_their_own_values_instead_of_looking_like_zeros()
    {
        var user = RerankUserSummary.Create(new RerankUser([]), _ => null, Now);
        var features = RerankFeatures.Compute(user, new RerankCandidate(new RerankItem("new"), new RerankContext(1, 0, "something-new")));

        Assert.Equal(-1, Feature(features, "price_band"));
        Assert.Equal(-1, Feature(features, "days_since_item_interaction"));
        Assert.Equal(0, Feature(features, "category_affinity"));
        Assert.Equal(0, Feature(features, "age_band"));
        Assert.Equal(1, Feature(features, "source=other"));
        Assert.Equal(1, Feature(features, "gender=none"));
        Assert.Equal(1, Feature(features, "segment=none"));
        Assert.Equal(1, Feature(features, "slot=none"));
    }

    [Fact]
    public void The_slot_hash_is_stable_across_processes()
    {
        // FNV-1a: a process-randomised string hash would put "home" in another bucket on every silo.
        Assert.Equal(0x811C9DC5u, RerankFeatures.Fnv1a(""));
        var features = RerankFeatures.Compute(Summary(), new RerankCandidate(new RerankItem("x"), new RerankContext(1, 0, "cf", "Home")));
        var bucket = (int)(RerankFeatures.Fnv1a("home") % 7);

        Assert.Equal(1, Feature(features, $"slot=bucket{bucket}"));
    }

    [Fact]
    public void Names_match_the_vector_length_and_are_unique()
    {
        Assert.Equal(RerankFeatures.Length, RerankFeatures.Names.Count);
        Assert.Equal(RerankFeatures.Length, RerankFeatures.Names.Distinct().Count());
    }

    [Fact]
    public void Features_logged_as_values_come_back_unchanged()
    {
        var features = RerankFeatures.Compute(Summary(), new RerankCandidate(new RerankItem("hat-1", "hats"), new RerankContext(2, 0.5, "cf")));

        Assert.Equal(features.Values.ToArray(), RerankFeatures.FromValues(features.Values).Values.ToArray());
    }
}
