using System.Globalization;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Simulator;

/// <summary>
/// Recounts events into what each user did with each product, in the shape recommenders train on
/// (<see cref="UserInteractions"/> of <see cref="ItemInteraction"/>): straight from the events, no profile logic, the
/// way <see cref="ExpectedTotals"/> recounts totals.
/// </summary>
public static class SimulatedInteractions
{
    /// <summary>
    /// One entry per user with any event (keyed by user id, the anonymous id when the user id is empty), in ordinal id
    /// order; each user's products in ordinal id order. Counted per event: <c>product_view</c> adds a view,
    /// <c>add_to_cart</c> a cart add (whatever the quantity), and a <c>purchase</c> one purchase of each product on its
    /// lines (an order, whatever the quantity). <see cref="ItemInteraction.LastAt"/> is the latest of those events;
    /// removals from the cart, wishlists and shares are not interactions here. No ratings: the stream has none.
    /// Users whose events touch no product have an empty list.
    /// </summary>
    public static IReadOnlyList<UserInteractions> From(IEnumerable<Event> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var users = new SortedDictionary<string, SortedDictionary<string, Counts>>(StringComparer.Ordinal);
        foreach (var @event in events)
        {
            var userId = string.IsNullOrEmpty(@event.UserId) ? @event.AnonymousId : @event.UserId;
            if (!users.TryGetValue(userId, out var items))
            {
                users.Add(userId, items = new SortedDictionary<string, Counts>(StringComparer.Ordinal));
            }

            switch (@event.Type)
            {
                case "product_view" when @event.Product is { ProductId.Length: > 0 } product:
                    Count(items, product.ProductId, @event).Views++;
                    break;
                case "add_to_cart" when @event.Product is { ProductId.Length: > 0 } product:
                    Count(items, product.ProductId, @event).CartAdds++;
                    break;
                case "purchase" when @event.Purchase is { } purchase:
                    // A product on two lines of one order is still one purchase of it.
                    foreach (var productId in purchase.Lines.Select(line => line.ProductId).Where(id => id.Length > 0).Distinct(StringComparer.Ordinal))
                    {
                        Count(items, productId, @event).Purchases++;
                    }

                    break;
            }
        }

        return users
            .Select(user => new UserInteractions(
                user.Key,
                user.Value.Select(item => new ItemInteraction(item.Key, item.Value.Views, item.Value.CartAdds, item.Value.Purchases, null, item.Value.LastAt)).ToList()))
            .ToList();
    }

    private static Counts Count(SortedDictionary<string, Counts> items, string productId, Event @event)
    {
        if (!items.TryGetValue(productId, out var counts))
        {
            items.Add(productId, counts = new Counts());
        }

        var occurredAt = DateTimeOffset.Parse(@event.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        if (occurredAt > counts.LastAt)
        {
            counts.LastAt = occurredAt;
        }

        return counts;
    }

    private sealed class Counts
    {
        public int Views;
        public int CartAdds;
        public int Purchases;
        public DateTimeOffset LastAt = DateTimeOffset.MinValue;
    }
}
