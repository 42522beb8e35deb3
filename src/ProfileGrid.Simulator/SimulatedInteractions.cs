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
    /// lines (an order, whatever the quantity), and <c>rating</c> sets the rating (the latest by event time; the
    /// simulator plants none). <see cref="ItemInteraction.LastAt"/> is the latest of those events; removals from the
    /// cart, wishlists and shares are not interactions here. The same counts a profile keeps per item. Users whose events
    /// touch no product have an empty list.
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
                case "rating" when @event.Rating is { ProductId.Length: > 0, HasValue: true } rating:
                    var rated = Count(items, rating.ProductId, @event);
                    var ratedAt = ParseTime(@event);
                    // The latest by event time wins, whatever order the events come in.
                    if (rated.RatedAt is not { } previous || previous <= ratedAt)
                    {
                        (rated.Rating, rated.RatedAt) = (rating.Value, ratedAt);
                    }

                    break;
            }
        }

        return users
            .Select(user => new UserInteractions(
                user.Key,
                user.Value.Select(item => new ItemInteraction(item.Key, item.Value.Views, item.Value.CartAdds, item.Value.Purchases, item.Value.Rating, item.Value.LastAt)).ToList()))
            .ToList();
    }

    private static Counts Count(SortedDictionary<string, Counts> items, string productId, Event @event)
    {
        if (!items.TryGetValue(productId, out var counts))
        {
            items.Add(productId, counts = new Counts());
        }

        var occurredAt = ParseTime(@event);
        if (occurredAt > counts.LastAt)
        {
            counts.LastAt = occurredAt;
        }

        return counts;
    }

    private static DateTimeOffset ParseTime(Event @event) =>
        DateTimeOffset.Parse(@event.OccurredAt, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private sealed class Counts
    {
        public int Views;
        public int CartAdds;
        public int Purchases;
        public double? Rating;
        public DateTimeOffset? RatedAt;
        public DateTimeOffset LastAt = DateTimeOffset.MinValue;
    }
}
