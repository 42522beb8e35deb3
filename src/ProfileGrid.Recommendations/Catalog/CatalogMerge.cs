namespace ProfileGrid.Recommendations.Catalog;

/// <summary>
/// What events said of an item: its category and price as last seen (by event time), for items nobody upserted.
/// </summary>
/// <param name="LastSeenAt">Event time of the latest observation (out-of-order events do not overwrite a later one).</param>
public sealed record EventSeenItem(string ItemId, string? Category, decimal? Price, string? Currency, DateTimeOffset LastSeenAt);

/// <summary>
/// How the catalog answers for one item from what was upserted and what events said, as pure functions. The upsert
/// wins outright; events fill an item that was never upserted (category and last price, available) and mark it
/// <see cref="CatalogItem.FromEvents"/>; a deleted item stays known but unavailable, so neither a model that still
/// scores it nor a later event brings it back.
/// </summary>
public static class CatalogMerge
{
    /// <summary>
    /// Folds one event's view of an item into what earlier events said. A later event (by event time; ties: the one
    /// folded last) overwrites what it carries; an earlier one only fills what is still unknown. Price and currency
    /// travel together. Categories are normalised as the catalog stores them (trimmed, lower case).
    /// </summary>
    public static EventSeenItem Observe(EventSeenItem? seen, string itemId, string? category, decimal? price, string? currency, DateTimeOffset at)
    {
        category = category?.Trim().ToLowerInvariant() is { Length: > 0 } c ? c : null;
        var priced = price is >= 0 && Iso4217.Normalize(currency) is not null;
        if (seen is null)
        {
            return new EventSeenItem(itemId, category, priced ? price : null, priced ? Iso4217.Normalize(currency) : null, at);
        }

        var newer = at >= seen.LastSeenAt;
        var keepPrice = !priced || (!newer && seen.Price is not null);
        return seen with
        {
            Category = newer ? category ?? seen.Category : seen.Category ?? category,
            Price = keepPrice ? seen.Price : price,
            Currency = keepPrice ? seen.Currency : Iso4217.Normalize(currency),
            LastSeenAt = newer ? at : seen.LastSeenAt,
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
