namespace ProfileGrid.Recommendations;

/// <summary>
/// An item of a tenant's catalog as rules and filters see it. Items referenced by events but never upserted are known
/// by what events said of them (category and last price seen; available).
/// </summary>
/// <param name="ItemId">The item (product) id as events carry it.</param>
/// <param name="Category">Category code, or null when unknown.</param>
/// <param name="Price">Unit price in <paramref name="Currency"/>, or null when unknown.</param>
/// <param name="Currency">ISO 4217 code of <paramref name="Price"/>.</param>
/// <param name="Available">False: never recommended (sold out, withdrawn).</param>
/// <param name="Tags">Free labels a rule can match (e.g. <c>premium</c>), lower case.</param>
/// <param name="Attributes">Free attributes (brand, colour, ...), returned as they were given.</param>
/// <param name="FromEvents">True when nobody upserted the item: what is known of it comes from events.</param>
public sealed record CatalogItem(
    string ItemId,
    string? Category,
    decimal? Price,
    string? Currency,
    bool Available,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, string> Attributes,
    bool FromEvents = false);
