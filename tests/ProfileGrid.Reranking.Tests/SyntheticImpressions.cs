using ProfileGrid.Recommendations;

namespace ProfileGrid.Reranking.Tests;

/// <summary>
/// Logged impressions from a simulated shop: users favour one of eight categories (most of their history is in it),
/// the base recommender ignores that, and clicks depend on the position (bias) and, when planted, on whether the item
/// is in the user's favourite category. With <c>planted: false</c> a click is a coin flip with a fixed probability.
/// </summary>
internal static class SyntheticImpressions
{
    public const int ListLength = 20;
    private const int Categories = 8;
    private const int Items = 400;

    public static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    public static string CategoryOf(string itemId) => $"c{int.Parse(itemId.AsSpan(1)) % Categories}";

    public static List<RerankExample> Generate(int lists, int seed, bool planted)
    {
        var random = new Random(seed);
        var examples = new List<RerankExample>(lists * ListLength);
        var sources = new[] { RecommendationSources.ItemItemCf, RecommendationSources.Ease, RecommendationSources.Popular };
        for (var l = 0; l < lists; l++)
        {
            var (user, favourite) = User(random);
            var summary = RerankUserSummary.Create(user, CategoryOf, Now);
            var candidates = Enumerable.Range(0, Items).OrderBy(_ => random.Next()).Take(ListLength).ToArray();
            for (var p = 0; p < ListLength; p++)
            {
                var itemId = $"i{candidates[p]}";
                var item = new RerankItem(itemId, CategoryOf(itemId), Price: 5 + candidates[p] % 97, Popularity: 1000.0 / (1 + candidates[p]),
                    TimesIgnored: random.Next(3));
                var context = new RerankContext(p + 1, BaseScore: 1 - p * 0.03 + random.NextDouble() * 0.01, sources[l % sources.Length],
                    Slot: l % 2 == 0 ? "home" : "cart");
                var positionBias = 1 / Math.Sqrt(p + 1);
                var probability = planted
                    ? positionBias * (CategoryOf(itemId) == favourite ? 0.45 : 0.04)
                    : 0.08;
                examples.Add(new RerankExample($"list-{seed}-{l}", RerankFeatures.Compute(summary, new RerankCandidate(item, context)),
                    random.NextDouble() < probability));
            }
        }

        return examples;
    }

    public static (RerankUser User, string Favourite) User(Random random)
    {
        var favourite = random.Next(Categories);
        var history = new List<ItemInteraction>();
        var size = 5 + random.Next(25);
        for (var i = 0; i < size; i++)
        {
            // Three in four history items are in the favourite category.
            var category = random.NextDouble() < 0.75 ? favourite : random.Next(Categories);
            var item = category + Categories * random.Next(Items / Categories);
            history.Add(new ItemInteraction($"i{item}", Views: 1 + random.Next(4), CartAdds: random.Next(2), Purchases: random.Next(10) == 0 ? 1 : 0,
                Rating: null, LastAt: Now.AddDays(-random.Next(90))));
        }

        var user = new RerankUser(history, SegmentId: favourite, Gender: random.Next(2) == 0 ? "female" : "male", AgeBand: "25_34",
            DaysSinceFirstSeen: random.Next(400));
        return (user, $"c{favourite}");
    }
}
