namespace ProfileGrid.Recommendations.Catalog;

/// <summary>
/// What events said of an item: its category and price as last seen (by event time), for items nobody upserted. Each
/// field keeps the time of the event it came from, so events folded out of order give the same answer as in order.
/// </summary>
/// <param name="CategoryAt">Event time of <paramref name="Category"/> (null: no event carried one).</param>
/// <param name="PriceAt">Event time of <paramref name="Price"/> and <paramref name="Currency"/>, which travel together.</param>
/// <param name="LastSeenAt">Event time of the latest event that named the item.</param>
public sealed record EventSeenItem(
    string ItemId,
    string? Category,
    DateTimeOffset? CategoryAt,
    decimal? Price,
    string? Currency,
    DateTimeOffset? PriceAt,
    DateTimeOffset LastSeenAt);

/// <summary>
/// How the catalog answers for one item from what was upserted and what events said, as pure functions. The upsert
/// wins outright; events fill an item that was never upserted (category and last price, available) and mark it
/// <see cref="CatalogItem.FromEvents"/>; a deleted item stays known but unavailable, so neither a model that still
/// scores it nor a later event brings it back.
/// </summary>
public static class CatalogMerge
{
    /// <summary>
    /// Folds one event's view of an item into what earlier events said: each field takes the value of the latest event
    /// (by event time) that carried one, whatever order the events come in; at equal times the one folded last wins.
    /// Price and currency travel together (a price without a valid ISO 4217 code, or below 0, is ignored). Categories
    /// are normalised as the catalog stores them (trimmed, lower case).
    /// </summary>
    public static EventSeenItem Observe(EventSeenItem? seen, string itemId, string? category, decimal? price, string? currency, DateTimeOffset at)
    {
        category = category?.Trim().ToLowerInvariant() is { Length: > 0 } c ? c : null;
        var code = price is >= 0 ? Iso4217.Normalize(currency) : null;
        seen ??= new EventSeenItem(itemId, null, null, null, null, null, at);
        var takeCategory = category is not null && (seen.CategoryAt is null || at >= seen.CategoryAt);
        var takePrice = code is not null && (seen.PriceAt is null || at >= seen.PriceAt);
        return seen with
        {
            Category = takeCategory ? category : seen.Category,
            CategoryAt = takeCategory ? at : seen.CategoryAt,
            Price = takePrice ? price : seen.Price,
            Currency = takePrice ? code : seen.Currency,
            PriceAt = takePrice ? at : seen.PriceAt,
            LastSeenAt = at > seen.LastSeenAt ? at : seen.LastSeenAt,
        };
    }

    /// <summary>
    /// The item as rules and filters see it: the upsert if there is one; else, if the item was deleted, an unavailable
    /// item (with what events said of it, if anything); else what events said (available, no tags or attributes,
    /// <see cref="CatalogItem.FromEvents"/>); else null (unknown).
    /// </summary>
    /// <param name="itemId">The item asked about.</param>
    /// <param name="upserted">The item as last upserted (a later upsert after a delete brings it back).</param>
    /// <param name="seen">What events said of it.</param>
    /// <param name="deleted">True when the item was deleted and not upserted again since.</param>
    public static CatalogItem? Resolve(string itemId, CatalogItem? upserted, EventSeenItem? seen, bool deleted = false)
    {
        if (upserted is not null)
        {
            return upserted.FromEvents ? upserted with { FromEvents = false } : upserted;
        }

        if (seen is null)
        {
            return deleted ? new CatalogItem(itemId, null, null, null, Available: false, [], Empty, FromEvents: false) : null;
        }

        return new CatalogItem(itemId, seen.Category, seen.Price, seen.Price is null ? null : seen.Currency, Available: !deleted, [], Empty, FromEvents: true);
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();
}
