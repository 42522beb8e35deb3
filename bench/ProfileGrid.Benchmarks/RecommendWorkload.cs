using System.Globalization;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// The recommend benchmark's synthetic shop: a catalog whose items are ranked by popularity, and each user's item
/// history as ingest events. Every user's events come from a generator seeded by the user's index alone, so the history
/// is the same whatever order or laziness it is produced in, and 2M events never sit in memory at once.
/// </summary>
public sealed class RecommendWorkload
{
    public const string Tenant = "recbench";
    public const string Currency = "EUR";

    /// <summary>Interactions per user are uniform in [--per-user - spread, --per-user + spread].</summary>
    public const int PerUserSpread = 4;

    /// <summary>Share of a user's interactions drawn from their favourite category; the rest from the whole catalog.</summary>
    private const double FavouriteShare = 0.6;

    private readonly RecommendOptions _options;
    private readonly double[] _global;
    private readonly double[][] _byCategory;
    private readonly DateTimeOffset _now;

    public RecommendWorkload(RecommendOptions options, DateTimeOffset now)
    {
        _options = options;
        _now = now;

        // Item index = popularity rank (i0000000 is the most popular); item i is in category i % C, so each category
        // holds a long tail of its own and the head of the catalog spreads over every category.
        _global = Cumulative(options.Items, options.Zipf);
        _byCategory = Enumerable.Range(0, options.Categories)
            .Select(c => Cumulative((options.Items - c + options.Categories - 1) / options.Categories, options.Zipf))
            .ToArray();
    }

    public static string UserId(int index) => $"u{index:D7}";

    public static string ItemId(int index) => $"i{index:D7}";

    public string Category(int item) => $"cat-{item % _options.Categories:D2}";

    /// <summary>A price between 5.00 and 199.99 EUR, fixed per item, the same in the catalog and in events.</summary>
    public static string Price(int item) => (5m + (item * 7919L % 19_500) / 100m).ToString("F2", CultureInfo.InvariantCulture);

    /// <summary>The whole catalog, in UpsertItems requests of at most 1,000 items (the gateway's limit).</summary>
    public IEnumerable<UpsertItemsRequest> CatalogRequests()
    {
        for (var start = 0; start < _options.Items; start += 1000)
        {
            var request = new UpsertItemsRequest { Tenant = Tenant };
            for (var i = start; i < Math.Min(start + 1000, _options.Items); i++)
            {
                request.Items.Add(new CatalogItem { ItemId = ItemId(i), Category = Category(i), Price = Price(i), Currency = Currency });
            }

            yield return request;
        }
    }

    /// <summary>Every user's events, whole users per request, at most --batch events each.</summary>
    public IEnumerable<IngestEventsRequest> IngestRequests()
    {
        var request = new IngestEventsRequest { Tenant = Tenant };
        for (var u = 0; u < _options.Users; u++)
        {
            var events = UserEvents(u);
            if (request.Events.Count + events.Count > _options.Batch && request.Events.Count > 0)
            {
                yield return request;
                request = new IngestEventsRequest { Tenant = Tenant };
            }

            request.Events.AddRange(events);
        }

        if (request.Events.Count > 0)
        {
            yield return request;
        }
    }

    /// <summary>One user's interactions with distinct items, oldest first: one event each.</summary>
    public List<Event> UserEvents(int u)
    {
        var random = new Random(unchecked(_options.Seed * 1_000_003 + u));
        var count = _options.PerUser - PerUserSpread + random.Next(2 * PerUserSpread + 1);
        count = Math.Clamp(count, 1, _options.Items);
        var favourite = random.Next(_options.Categories);
        var items = new List<int>(count);
        var seen = new HashSet<int>();
        for (var attempt = 0; items.Count < count && attempt < count * 50; attempt++)
        {
            var item = random.NextDouble() < FavouriteShare
                ? favourite + Draw(_byCategory[favourite], random) * _options.Categories
                : Draw(_global, random);
            if (seen.Add(item))
            {
                items.Add(item);
            }
        }

        // Times within the last 29 days (the gateway refuses events older than its maximum age), oldest first.
        var ages = items.Select(_ => random.NextDouble() * 29 * 86_400).OrderDescending().ToArray();
        var userId = UserId(u);
        var events = new List<Event>(items.Count);
        for (var k = 0; k < items.Count; k++)
        {
            var item = items[k];
            var e = new Event
            {
                EventId = $"e{u:D7}-{k:D3}",
                UserId = userId,
                OccurredAt = _now.AddSeconds(-ages[k]).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
                Source = "web",
            };
            var kind = random.NextDouble();
            if (kind < 0.70)
            {
                e.Type = "product_view";
                e.Product = new ProductAction { ProductId = ItemId(item), Category = Category(item) };
            }
            else if (kind < 0.85)
            {
                e.Type = "add_to_cart";
                e.Product = new ProductAction { ProductId = ItemId(item), Category = Category(item), Quantity = 1, UnitPrice = Price(item), Currency = Currency };
            }
            else if (kind < 0.93)
            {
                e.Type = "purchase";
                e.Purchase = new Purchase { OrderId = $"o{u:D7}-{k:D3}", Currency = Currency };
                e.Purchase.Lines.Add(new PurchaseLine { ProductId = ItemId(item), Category = Category(item), Quantity = 1, UnitPrice = Price(item) });
            }
            else
            {
                e.Type = "rating";
                e.Rating = new Rating { ProductId = ItemId(item), Category = Category(item), Value = 1 + random.Next(5) };
            }

            events.Add(e);
        }

        return events;
    }

    private static double[] Cumulative(int count, double s)
    {
        var cumulative = new double[Math.Max(count, 1)];
        var total = 0.0;
        for (var r = 0; r < cumulative.Length; r++)
        {
            total += 1 / Math.Pow(r + 1, s);
            cumulative[r] = total;
        }

        return cumulative;
    }

    private static int Draw(double[] cumulative, Random random)
    {
        var at = Array.BinarySearch(cumulative, random.NextDouble() * cumulative[^1]);
        return Math.Min(at < 0 ? ~at : at, cumulative.Length - 1);
    }
}
