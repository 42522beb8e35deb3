using System.Globalization;

namespace ProfileGrid.Simulator;

/// <summary>A product of the simulated shop.</summary>
/// <param name="ProductId">Stable id, e.g. <c>p-electronics-007</c>.</param>
/// <param name="Name">Display name, used in page titles.</param>
/// <param name="Category">One of <see cref="ProductCatalog.Categories"/>.</param>
/// <param name="Keyword">What a shopper would type to find it, e.g. <c>headphones</c>.</param>
/// <param name="PriceEur">List price in euros; <see cref="ProductCatalog.PriceIn"/> gives the price in another currency.</param>
public sealed record Product(string ProductId, string Name, string Category, string Keyword, decimal PriceEur);

/// <summary>
/// The simulated shop's catalogue: a few hundred products in twelve categories, each category with its own price
/// range. Products of a category are sorted by price, cheapest first.
/// </summary>
public sealed class ProductCatalog
{
    private static readonly CategorySpec[] Specs =
    [
        new("fashion", 16, 12m, 320m, ["dress", "jeans", "sneakers", "jacket", "t-shirt", "boots", "scarf", "handbag"]),
        new("electronics", 12, 15m, 1600m, ["headphones", "laptop", "smartphone", "tablet", "speaker", "camera", "monitor", "smartwatch"]),
        new("home", 11, 8m, 650m, ["lamp", "rug", "sofa cushion", "coffee maker", "bedding set", "vase", "knife set", "armchair"]),
        new("beauty", 10, 5m, 120m, ["face cream", "perfume", "lipstick", "shampoo", "serum", "mascara", "hair dryer"]),
        new("books", 9, 5m, 60m, ["novel", "cookbook", "biography", "travel guide", "comic", "children's book"]),
        new("grocery", 9, 1.5m, 45m, ["coffee beans", "olive oil", "green tea", "chocolate", "pasta", "honey", "spices"]),
        new("sports", 8, 10m, 900m, ["running shoes", "yoga mat", "bicycle", "tent", "dumbbells", "backpack", "tennis racket"]),
        new("toys", 7, 8m, 220m, ["building blocks", "puzzle", "board game", "doll", "remote control car", "plush toy"]),
        new("garden", 5, 5m, 550m, ["lawn mower", "garden hose", "plant pot", "barbecue", "seeds", "garden chair"]),
        new("pets", 5, 3m, 160m, ["dog food", "cat litter", "pet bed", "leash", "scratching post", "aquarium"]),
        new("automotive", 4, 8m, 420m, ["car charger", "dash cam", "tyre pump", "seat cover", "roof box", "car wax"]),
        new("jewelry", 4, 20m, 2200m, ["necklace", "ring", "earrings", "bracelet", "watch"]),
    ];

    private static readonly string[] Adjectives =
    [
        "Classic", "Essential", "Premium", "Compact", "Deluxe", "Everyday", "Eco", "Pro", "Vintage", "Urban",
        "Nordic", "Signature", "Ultra", "Soft", "Smart",
    ];

    private readonly Dictionary<string, IReadOnlyList<Product>> productsByCategory;
    private readonly int seed;

    // Built on first use and shared: a replay of a million users one at a time asks for the plan once per user.
    private volatile TastePlan? tastePlan;

    internal ProductCatalog(int seed)
    {
        this.seed = seed;
        var random = Seeds.For(seed, Seeds.Catalog, 0);
        productsByCategory = new Dictionary<string, IReadOnlyList<Product>>(StringComparer.Ordinal);
        foreach (var spec in Specs)
        {
            var count = random.Next(25, 36);
            var products = Enumerable.Range(0, count)
                .Select(_ => (Keyword: random.Pick(spec.Keywords), Adjective: random.Pick(Adjectives), Price: LogUniformPrice(random, spec)))
                .OrderBy(draft => draft.Price)
                .Select((draft, index) => new Product(
                    $"p-{spec.Name}-{index + 1:D3}",
                    $"{draft.Adjective} {draft.Keyword}",
                    spec.Name,
                    draft.Keyword,
                    draft.Price))
                .ToList();
            productsByCategory.Add(spec.Name, products);
        }

        Products = productsByCategory.Values.SelectMany(products => products).ToList();
        CategoriesByPopularity = new Weighted<string>(Specs.Select(spec => (spec.Name, spec.Popularity)));
    }

    /// <summary>The category names, most popular first.</summary>
    public static IReadOnlyList<string> Categories { get; } = Specs.Select(spec => spec.Name).ToList();

    /// <summary>Every product, grouped by category and cheapest first within one.</summary>
    public IReadOnlyList<Product> Products { get; }

    internal Weighted<string> CategoriesByPopularity { get; }

    /// <summary>The products of one category, cheapest first.</summary>
    public IReadOnlyList<Product> InCategory(string category) => productsByCategory[category];

    /// <summary>Which products each of <paramref name="groups"/> taste groups prefers; the same for equal seeds.</summary>
    internal TastePlan TastesFor(int groups)
    {
        var plan = tastePlan;
        if (plan is null || plan.Groups != groups)
        {
            // A race builds an equal plan twice; either copy will do.
            tastePlan = plan = new TastePlan(this, seed, groups);
        }

        return plan;
    }

    /// <summary>
    /// The shelf price in <paramref name="currency"/>: converted from euros and ending in .99 the way shops price,
    /// so every price has exactly two decimals.
    /// </summary>
    public static decimal PriceIn(Product product, string currency)
    {
        var converted = product.PriceEur * Geography.UnitsPerEuro[currency];
        return converted < 1m ? Math.Round(converted, 2) : decimal.Floor(converted) + 0.99m;
    }

    /// <summary>Formats a price the way the wire contract expects: invariant culture, two decimals.</summary>
    public static string FormatPrice(decimal price) => price.ToString("F2", CultureInfo.InvariantCulture);

    private static decimal LogUniformPrice(Random random, CategorySpec spec)
    {
        var logMin = Math.Log((double)spec.MinPriceEur);
        var logMax = Math.Log((double)spec.MaxPriceEur);
        return Math.Round((decimal)Math.Exp(random.Between(logMin, logMax)), 2);
    }

    private sealed record CategorySpec(string Name, double Popularity, decimal MinPriceEur, decimal MaxPriceEur, string[] Keywords);
}
