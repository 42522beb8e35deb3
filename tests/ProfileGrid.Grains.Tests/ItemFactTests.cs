using ProfileGrid.Abstractions.Recommendations;

namespace ProfileGrid.Grains.Tests;

/// <summary>What events say of an item, folded: the catalog of items nobody upserted.</summary>
public class ItemFactTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_later_view_without_a_price_keeps_the_price_an_earlier_purchase_gave()
    {
        var purchase = new ItemFact("p-1", "books", 12.50m, "EUR", T0);
        var view = new ItemFact("p-1", "books", null, null, T0.AddDays(1));

        var merged = ItemFact.Merge(purchase, view);

        Assert.Equal((12.50m, "EUR", "books", T0.AddDays(1)), (merged.Price, merged.Currency, merged.Category, merged.SeenAt));
    }

    [Fact]
    public void The_later_price_and_category_win_and_the_order_of_folding_does_not_matter()
    {
        var facts = new[]
        {
            new ItemFact("p-1", "books", 10m, "EUR", T0),
            new ItemFact("p-1", null, 11m, "USD", T0.AddDays(2)),
            new ItemFact("p-1", "novels", null, null, T0.AddDays(1)),
        };

        var forward = facts.Aggregate((ItemFact?)null, (known, fact) => ItemFact.Merge(known, fact))!;
        var backward = facts.Reverse().Aggregate((ItemFact?)null, (known, fact) => ItemFact.Merge(known, fact))!;

        Assert.Equal((11m, "USD", "novels"), (forward.Price, forward.Currency, forward.Category));
        Assert.Equal(forward, backward);
    }
}
