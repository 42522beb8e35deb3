using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Recommendations.Tests.Rules;

/// <summary>A small shop the rule tests work by hand.</summary>
internal static class Shop
{
    public static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    //   id  category  price EUR  tags      available
    //   a   shoes      50                  yes
    //   b   shoes     120        premium   yes
    //   c   shirts     30                  yes
    //   d   shirts    200        premium   yes
    //   e   hats       20                  NO
    //   f   hats       15                  yes
    //   g   bags      300        premium   yes
    //   h   bags       80                  yes
    public static readonly IReadOnlyDictionary<string, CatalogItem> Items = new[]
    {
        Item("a", "shoes", 50),
        Item("b", "shoes", 120, "premium"),
        Item("c", "shirts", 30),
        Item("d", "shirts", 200, "premium"),
        Item("e", "hats", 20, available: false),
        Item("f", "hats", 15),
        Item("g", "bags", 300, "premium"),
        Item("h", "bags", 80),
    }.ToDictionary(i => i.ItemId);

    /// <summary>The model's candidates, best first: a c e f h b d g (scores 1.0 down to 0.3).</summary>
    public static readonly IReadOnlyList<ScoredItem> Candidates =
    [
        Cf("a", 1.0), Cf("c", 0.9), Cf("e", 0.8), Cf("f", 0.7), Cf("h", 0.6), Cf("b", 0.5), Cf("d", 0.4), Cf("g", 0.3),
    ];

    public static CatalogItem? Lookup(string id) => Items.GetValueOrDefault(id);

    public static ScoredItem Cf(string id, double score) => new(id, score, RecommendationSources.ItemItemCf, "x");

    public static CatalogItem Item(string id, string category, decimal price, string? tag = null, bool available = true, string currency = "EUR") =>
        new(id, category, price, currency, available, tag is null ? [] : [tag], new Dictionary<string, string>());

    public static ServingContext Context(int n = 5, params string[] segments) => new() { Count = n, Now = Now, Segments = segments };

    public static RuleSet Set(params RecommendationRule[] rules)
    {
        var change = RuleSetEditor.Replace(RuleSet.Empty, rules, Now);
        Assert.True(change.Succeeded, string.Join("; ", change.Problems));
        return change.RuleSet!;
    }

    public static RecommendationRule Rule(string id, RuleAction action, string? segment = null, int priority = 0) =>
        new() { Id = id, Name = id, Segment = segment, Priority = priority, Action = action };

    public static RuleAction Pin(int position, params string[] items) => new() { Type = RuleActionTypes.Pin, Items = items, Position = position };

    public static RuleAction Boost(double factor, string? category = null, string? tag = null, PriceBand? band = null) =>
        new() { Type = RuleActionTypes.Boost, Factor = factor, Match = new RuleMatch { Category = category, Tag = tag, PriceBand = band } };

    public static RuleOutcome Apply(RuleSet set, ServingContext context, IReadOnlyList<ScoredItem>? candidates = null) =>
        RuleEngine.Apply(set, candidates ?? Candidates, Lookup, context);

    public static string Ids(RuleOutcome outcome) => string.Join(" ", outcome.Items.Select(i => i.Item.ItemId));
}
