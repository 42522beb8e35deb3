using System.Collections.Frozen;

namespace ProfileGrid.Simulator;

/// <summary>
/// The hidden truth of how simulated users respond to a recommendation list: an examination hypothesis click model
/// (p(click at position k) = <see cref="Examination"/>(k) x <see cref="Attractiveness"/>(user, item)) and a purchase
/// model after a click. Both are derived from what the stream plants (taste groups, bestsellers, favourite categories,
/// the price level each user type favours), so what a recommender learned from the stream is what pays off here.
/// Pure and deterministic: equal seeds and options give equal probabilities.
/// </summary>
public sealed class ResponseModel
{
    private readonly int seed;
    private readonly FrozenDictionary<string, CatalogEntry> products;
    private readonly IReadOnlySet<string> bestsellers;

    internal ResponseModel(ProductCatalog catalog, SimulationOptions simulation, ResponseModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(simulation);
        ArgumentNullException.ThrowIfNull(options);
        simulation.Validate();
        options.Validate();
        Options = options;
        seed = simulation.Seed;
        products = ProductCatalog.Categories
            .SelectMany(category =>
            {
                var inCategory = catalog.InCategory(category);
                return inCategory.Select((product, rank) => new CatalogEntry(product, rank, inCategory.Count));
            })
            .ToFrozenDictionary(entry => entry.Product.ProductId, StringComparer.Ordinal);
        bestsellers = simulation.TasteGroups > 0 ? catalog.TastesFor(simulation.TasteGroups).Bestsellers : SimulatedUser.NoPreferredItems;
    }

    /// <summary>The options the model was built with.</summary>
    public ResponseModelOptions Options { get; }

    /// <summary>
    /// The bestsellers of every category (one product in five by price): popular with every taste, the natural
    /// content of a popularity list. Empty when the stream has no taste groups.
    /// </summary>
    public IReadOnlySet<string> Bestsellers => bestsellers;

    /// <summary>The catalogue product with this id, or null: an item the simulator does not know is never clicked.</summary>
    public Product? Product(string itemId) => products.TryGetValue(itemId, out var entry) ? entry.Product : null;

    /// <summary>
    /// The chance the user looks at position <paramref name="position"/> (1-based) of a list:
    /// (1 / log2(position + 1)) ^ <see cref="ResponseModelOptions.PositionBiasExponent"/>, and 0 past
    /// <see cref="ResponseModelOptions.ExaminedPositions"/>.
    /// </summary>
    public double Examination(int position)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(position, 1);
        if (position > Options.ExaminedPositions)
        {
            return 0;
        }

        return Math.Pow(1 / Math.Log2(position + 1), Options.PositionBiasExponent);
    }

    /// <summary>
    /// The user's hidden true preference for the item: the chance they click it once they examine it, in [0,
    /// <see cref="ResponseModelOptions.MaxAttractiveness"/>]. The base is the taste (<see cref="SimulatedUser.PreferredItems"/>),
    /// else bestseller, else any item; times a factor for the user's favourite categories, the fit of the price to the
    /// level the user's type favours, the type's click propensity, and a fixed personal factor per user and item.
    /// 0 for an item outside the catalogue.
    /// </summary>
    public double Attractiveness(SimulatedUser user, string itemId)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(itemId);
        if (!products.TryGetValue(itemId, out var entry))
        {
            return 0;
        }

        var baseline = user.PreferredItems.Contains(itemId) ? Options.PreferredAttractiveness
            : bestsellers.Contains(itemId) ? Options.BestsellerAttractiveness
            : Options.OtherAttractiveness;
        var favorite = user.FavoriteCategories.Contains(entry.Product.Category) ? Options.FavoriteCategoryFactor : 1;
        var attractiveness = baseline * favorite * PriceFit(user.Type, entry) * Options.ClickPropensity[user.Type] * PersonalFactor(user.UserId, itemId);
        return Math.Min(attractiveness, Options.MaxAttractiveness);
    }

    /// <summary>The chance the user clicks the item shown at <paramref name="position"/> (1-based): examination x attractiveness.</summary>
    public double ClickProbability(SimulatedUser user, string itemId, int position) =>
        Examination(position) * Attractiveness(user, itemId);

    /// <summary>
    /// The chance a click on the item ends in its purchase: <see cref="ResponseModelOptions.PurchaseAfterClick"/> of the
    /// user's type, times <see cref="ResponseModelOptions.PreferredPurchaseFactor"/> for an item of their taste, capped at 1.
    /// </summary>
    public double PurchaseProbabilityAfterClick(SimulatedUser user, string itemId)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(itemId);
        if (!products.ContainsKey(itemId))
        {
            return 0;
        }

        var purchase = Options.PurchaseAfterClick[user.Type] * (user.PreferredItems.Contains(itemId) ? Options.PreferredPurchaseFactor : 1);
        return Math.Min(purchase, 1);
    }

    /// <summary>
    /// The chance a click on the item puts it in the cart: the purchase chance over the share of carts that are bought
    /// (1 - <see cref="ResponseModelOptions.CartAbandonment"/>), capped at 1. Every purchase follows an add to cart.
    /// </summary>
    public double CartProbabilityAfterClick(SimulatedUser user, string itemId) =>
        Math.Min(PurchaseProbabilityAfterClick(user, itemId) / (1 - Options.CartAbandonment), 1);

    /// <summary>
    /// The known truth for one list shown to the user: per position and in total, the expected clicks, add to carts,
    /// purchases and revenue (sums of the probabilities). Comparing two ways of filling a list by this gives their true
    /// lift before any experiment runs.
    /// </summary>
    public ListExpectation Expect(SimulatedUser user, IReadOnlyList<string> itemIds)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(itemIds);
        var positions = new PositionExpectation[itemIds.Count];
        for (var i = 0; i < itemIds.Count; i++)
        {
            var itemId = itemIds[i];
            var click = ClickProbability(user, itemId, i + 1);
            var purchase = click * PurchaseProbabilityAfterClick(user, itemId);
            var price = products.TryGetValue(itemId, out var entry) ? ProductCatalog.PriceIn(entry.Product, user.Currency) : 0m;
            positions[i] = new PositionExpectation(i + 1, itemId, click, click * CartProbabilityAfterClick(user, itemId), purchase, purchase * (double)price);
        }

        return new ListExpectation(user.Currency, positions);
    }

    /// <summary>
    /// n x the chance that the type's price-level draw (a uniform to the power of the type's price-rank exponent, as the
    /// stream draws it) lands on the product's price rank: 1 for a type that does not care, more than 1 where the type
    /// buys most; to the power <see cref="ResponseModelOptions.PriceSensitivity"/>.
    /// </summary>
    private double PriceFit(UserType type, CatalogEntry entry)
    {
        var inverseExponent = 1 / BehaviorProfile.For(type).PriceRankExponent;
        var mass = Math.Pow((entry.Rank + 1.0) / entry.CategorySize, inverseExponent) - Math.Pow((double)entry.Rank / entry.CategorySize, inverseExponent);
        return Math.Pow(mass * entry.CategorySize, Options.PriceSensitivity);
    }

    /// <summary>A log-normal factor with mean 1, fixed for the user and item: how much this user likes this item.</summary>
    private double PersonalFactor(string userId, string itemId)
    {
        if (Options.PersonalSpread == 0)
        {
            return 1;
        }

        var key = Seeds.StableHash(itemId, Seeds.StableHash(userId, (ulong)(uint)seed ^ Seeds.PersonalTaste) * 31);
        // Box-Muller from two uniforms of the key.
        var u1 = 1 - Seeds.Uniform(key);
        var u2 = Seeds.Uniform(key ^ 0x9E3779B97F4A7C15UL);
        var normal = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        var spread = Options.PersonalSpread;
        return Math.Exp((spread * normal) - (spread * spread / 2));
    }

    private sealed record CatalogEntry(Product Product, int Rank, int CategorySize);
}

/// <summary>What the model expects of one position of a list.</summary>
/// <param name="Position">1-based.</param>
/// <param name="ItemId">The item shown there.</param>
/// <param name="Clicks">The chance it is clicked.</param>
/// <param name="AddToCarts">The chance it is clicked and put in the cart.</param>
/// <param name="Purchases">The chance it is clicked and bought.</param>
/// <param name="Revenue">Expected revenue in the user's currency (quantity 1 at the catalogue price).</param>
public sealed record PositionExpectation(int Position, string ItemId, double Clicks, double AddToCarts, double Purchases, double Revenue);

/// <summary>
/// The known truth for one list shown to one user: expected counts are sums over positions of the probabilities (each
/// position's outcome is independent of the others').
/// </summary>
/// <param name="Currency">ISO 4217 code of <see cref="Revenue"/>: the user's currency.</param>
/// <param name="Positions">Per position, first to last.</param>
public sealed record ListExpectation(string Currency, IReadOnlyList<PositionExpectation> Positions)
{
    /// <summary>Expected clicks on the list.</summary>
    public double Clicks => Positions.Sum(position => position.Clicks);

    /// <summary>Expected add to carts of clicked items.</summary>
    public double AddToCarts => Positions.Sum(position => position.AddToCarts);

    /// <summary>Expected purchases of clicked items.</summary>
    public double Purchases => Positions.Sum(position => position.Purchases);

    /// <summary>Expected revenue, in <see cref="Currency"/>.</summary>
    public double Revenue => Positions.Sum(position => position.Revenue);

    /// <summary>
    /// The variance of the number of clicks: each position is a Bernoulli trial, so the sum of p(1 - p). Its square root
    /// is the standard error a test allows an observed count to differ by.
    /// </summary>
    public double ClicksVariance => Positions.Sum(position => position.Clicks * (1 - position.Clicks));

    /// <summary>The variance of the number of purchases (sum of p(1 - p) over positions).</summary>
    public double PurchasesVariance => Positions.Sum(position => position.Purchases * (1 - position.Purchases));

    /// <summary>The variance of the revenue (sum of price^2 p(1 - p) over positions, p the purchase chance).</summary>
    public double RevenueVariance => Positions.Sum(position =>
        position.Purchases is > 0 and var p ? position.Revenue / p * (position.Revenue / p) * p * (1 - p) : 0);
}
