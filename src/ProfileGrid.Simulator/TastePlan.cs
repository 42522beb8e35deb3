using System.Collections.Frozen;

namespace ProfileGrid.Simulator;

/// <summary>
/// Which products each hidden taste group prefers: in every category, the products (cheapest first) are dealt out in
/// blocks of one product per group, each block in a seeded order. So every group has a product at every price level
/// of every category, the groups' products are disjoint, and a user who snaps a price-level draw to their group's
/// nearest product pays about what they would have paid without tastes. Besides, about one product in
/// <see cref="BestsellerSpacing"/> is a bestseller, where choices that follow general popularity rather than taste go.
/// </summary>
internal sealed class TastePlan
{
    // Per category, per group: the price ranks (indices into the category's products) the group prefers, ascending;
    // after the groups' rows, the bestsellers' ranks.
    private readonly Dictionary<string, int[][]> ranksByCategory;

    public TastePlan(ProductCatalog catalog, int seed, int groups)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(groups, 1);
        Groups = groups;
        var random = Seeds.For(seed, Seeds.TastePlan, groups);
        var deck = Enumerable.Range(0, groups).ToArray();
        ranksByCategory = new Dictionary<string, int[][]>(StringComparer.Ordinal);
        var preferred = Enumerable.Range(0, groups).Select(_ => new List<string>()).ToArray();
        var bestsellerIds = new List<string>();
        foreach (var category in ProductCatalog.Categories)
        {
            var products = catalog.InCategory(category);
            var ranks = Enumerable.Range(0, groups).Select(_ => new List<int>()).ToArray();
            // Blocks are counted from the priciest product down, so a short block falls among the cheap products,
            // where snapping to a farther product costs little; the priciest block gives every group a product.
            for (var blockEnd = products.Count; blockEnd > 0; blockEnd -= groups)
            {
                random.Shuffle(deck);
                for (var rank = Math.Max(blockEnd - groups, 0); rank < blockEnd; rank++)
                {
                    var group = deck[blockEnd - 1 - rank];
                    ranks[group].Add(rank);
                    preferred[group].Add(products[rank].ProductId);
                }
            }

            // The bestsellers: one product in every BestsellerSpacing by price, whatever the taste.
            var bestsellers = new List<int>();
            for (var blockEnd = products.Count; blockEnd > 0; blockEnd -= BestsellerSpacing)
            {
                bestsellers.Add(blockEnd - 1 - random.Next(Math.Min(BestsellerSpacing, blockEnd)));
            }

            bestsellerIds.AddRange(bestsellers.Select(rank => products[rank].ProductId));
            ranksByCategory.Add(category, ranks.Select(list => list.Order().ToArray()).Append(bestsellers.Order().ToArray()).ToArray());
        }

        PreferredItems = preferred.Select(ids => ids.ToFrozenSet(StringComparer.Ordinal)).ToArray();
        Bestsellers = bestsellerIds.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>One product in this many consecutive ones by price (per category) is a bestseller.</summary>
    public const int BestsellerSpacing = 5;

    public int Groups { get; }

    /// <summary>The product ids each group prefers, by group.</summary>
    public IReadOnlyList<IReadOnlySet<string>> PreferredItems { get; }

    /// <summary>The product ids of the bestsellers of every category, popular whatever the taste.</summary>
    public IReadOnlySet<string> Bestsellers { get; }

    /// <summary>
    /// The rank of <paramref name="group"/>'s product in <paramref name="category"/> nearest to the price level
    /// <paramref name="position"/> (a fractional rank), or -1 when the group has none there (more groups than products).
    /// </summary>
    public int NearestRank(string category, int group, double position) =>
        Nearest(ranksByCategory[category][group], position);

    /// <summary>
    /// The rank of the bestseller of <paramref name="category"/> nearest to the price level <paramref name="position"/>:
    /// general popularity, the same for every taste, so a few products of each category are popular with everyone.
    /// </summary>
    public int NearestBestsellerRank(string category, double position) => Nearest(ranksByCategory[category][Groups], position);

    private static int Nearest(int[] ranks, double position)
    {
        var best = -1;
        var bestDistance = double.MaxValue;
        foreach (var rank in ranks)
        {
            // Rank r covers positions [r, r + 1); its middle is the fair point to measure from.
            var distance = Math.Abs(rank + 0.5 - position);
            if (distance < bestDistance)
            {
                best = rank;
                bestDistance = distance;
            }
        }

        return best;
    }
}
