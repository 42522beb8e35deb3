using FsCheck.Xunit;
using ProfileGrid.Recommendations.Catalog;

namespace ProfileGrid.Recommendations.Tests.Catalog;

public class CatalogMergeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private static CatalogItem Upserted(string? category = "boots") =>
        new("sku", category, 99m, "EUR", true, ["premium"], new Dictionary<string, string> { ["brand"] = "Acme" });

    [Fact]
    public void An_upserted_item_wins_over_what_events_said()
    {
        var seen = CatalogMerge.Observe(null, "sku", "sneakers", 50m, "USD", T0);

        var item = CatalogMerge.Resolve("sku", Upserted(category: null), seen);

        Assert.Null(item!.Category); // the merchant said no category; an event does not overrule them
        Assert.Equal((99m, "EUR"), (item.Price!.Value, item.Currency));
        Assert.False(item.FromEvents);
        Assert.Equal(["premium"], item.Tags);
    }

    [Fact]
    public void An_item_only_events_named_is_known_by_its_last_category_and_price()
    {
        var seen = CatalogMerge.Observe(null, "sku", "Sneakers ", 50m, "usd", T0);
        seen = CatalogMerge.Observe(seen, "sku", "sneakers", 45m, "USD", T0.AddDays(2));
        seen = CatalogMerge.Observe(seen, "sku", null, null, null, T0.AddDays(3)); // a view without product details

        var item = CatalogMerge.Resolve("sku", null, seen)!;

        Assert.Equal(("sku", "sneakers", 45m, "USD", true, true), (item.ItemId, item.Category, item.Price!.Value, item.Currency, item.Available, item.FromEvents));
        Assert.Empty(item.Tags);
        Assert.Empty(item.Attributes);
        Assert.Equal(T0.AddDays(3), seen.LastSeenAt);
    }

    [Fact]
    public void A_late_event_does_not_overwrite_a_newer_price()
    {
        var seen = CatalogMerge.Observe(null, "sku", "a", 45m, "EUR", T0.AddDays(2));
        seen = CatalogMerge.Observe(seen, "sku", "b", 50m, "EUR", T0);

        Assert.Equal(("a", 45m), (seen.Category, seen.Price!.Value));
        Assert.Equal(T0.AddDays(2), seen.LastSeenAt);
    }

    [Fact]
    public void A_price_without_a_valid_currency_is_ignored()
    {
        var seen = CatalogMerge.Observe(null, "sku", "a", 45m, "EUR", T0);
        seen = CatalogMerge.Observe(seen, "sku", "a", 10m, null, T0.AddDays(1));
        seen = CatalogMerge.Observe(seen, "sku", "a", -3m, "EUR", T0.AddDays(2));

        Assert.Equal((45m, "EUR"), (seen.Price!.Value, seen.Currency));
    }

    [Fact]
    public void A_deleted_item_stays_unavailable_until_upserted_again()
    {
        var seen = CatalogMerge.Observe(null, "sku", "a", 45m, "EUR", T0);

        Assert.False(CatalogMerge.Resolve("sku", null, seen, deleted: true)!.Available);
        Assert.False(CatalogMerge.Resolve("sku", null, null, deleted: true)!.Available);
        Assert.True(CatalogMerge.Resolve("sku", Upserted(), seen, deleted: true)!.Available);
    }

    [Fact]
    public void An_item_nobody_named_is_unknown()
    {
        Assert.Null(CatalogMerge.Resolve("sku", null, null));
    }

    /// <summary>Events arrive out of order (partitions, replays): any order of the same events gives the same item.</summary>
    [Property(MaxTest = 300)]
    public void Events_in_any_order_give_the_same_item(int seed)
    {
        var random = new Random(seed);
        string?[] categories = [null, "a", "b", "C "];
        string?[] currencies = [null, "EUR", "usd", "XXX"];
        var events = Enumerable.Range(0, random.Next(1, 8))
            .Select(i => (
                Category: categories[random.Next(categories.Length)],
                Price: random.Next(4) == 0 ? (decimal?)null : random.Next(-5, 100),
                Currency: currencies[random.Next(currencies.Length)],
                At: T0.AddMinutes(i * 7 + random.Next(0, 5)))) // distinct times
            .ToArray();

        EventSeenItem? Fold(IEnumerable<(string? Category, decimal? Price, string? Currency, DateTimeOffset At)> order) =>
            order.Aggregate((EventSeenItem?)null, (seen, e) => CatalogMerge.Observe(seen, "sku", e.Category, e.Price, e.Currency, e.At));

        var inOrder = Fold(events);
        var shuffled = Fold(events.OrderBy(_ => random.Next()));

        Assert.Equal(inOrder, shuffled);
        // And it is the latest event's value for each field that any event carried.
        var lastCategory = events.LastOrDefault(e => !string.IsNullOrWhiteSpace(e.Category)).Category?.Trim().ToLowerInvariant();
        Assert.Equal(lastCategory, inOrder!.Category);
    }
}
