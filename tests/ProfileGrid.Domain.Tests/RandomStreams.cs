namespace ProfileGrid.Domain.Tests;

/// <summary>Seeded, realistic event streams: bursts of activity separated by pauses, every kind of event.</summary>
internal static class RandomStreams
{
    private static readonly string[] Categories = ["shoes", "hats", "bags", "toys", "books", "garden", "music", "games"];
    private static readonly string[] Currencies = ["USD", "EUR", "GBP", "BRL"];
    private static readonly string[] Countries = ["DE", "FR", "US", "JP"];

    /// <summary>Events in time order with distinct timestamps, ending shortly before <paramref name="end"/>.</summary>
    public static List<UserEvent> Generate(int seed, int count, DateTimeOffset end, bool withSessionStarts = true, string idPrefix = "e")
    {
        var random = new Random(seed);
        var times = new List<DateTimeOffset>(count);
        var time = end.AddDays(-6);
        for (var i = 0; i < count; i++)
        {
            // Mostly browsing within a session, sometimes a pause that ends it.
            var gapSeconds = random.NextDouble() < 0.85 ? random.Next(1, 20 * 60) : random.Next(31 * 60, 12 * 3600);
            time = time.AddSeconds(gapSeconds);
            times.Add(time);
        }

        var events = new List<UserEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var at = times[i];
            var id = $"{idPrefix}{seed}-{i:D5}";
            var roll = random.Next(100);
            var device = (DeviceType)random.Next(0, 4);
            var channel = (Channel)random.Next(0, 4);
            var country = random.Next(3) == 0 ? null : Countries[random.Next(Countries.Length)];
            var category = Categories[random.Next(Categories.Length)];
            var baseEvent = TestEvents.Of(EventKind.PageView, at, id, device, channel, country, locale: random.Next(2) == 0 ? "en-US" : null, anonymousId: "anon-1");
            events.Add(roll switch
            {
                < 35 => baseEvent with { Page = new PageInfo { Url = $"https://shop.example/{random.Next(50)}" } },
                < 50 => baseEvent with { Kind = EventKind.ProductView, Product = new ProductInfo { ProductId = $"p{random.Next(30)}", Category = category } },
                < 58 => baseEvent with { Kind = EventKind.AddToCart, Product = new ProductInfo { ProductId = $"p{random.Next(30)}", Category = category, Quantity = random.Next(1, 4) } },
                < 61 => baseEvent with { Kind = EventKind.RemoveFromCart, Product = new ProductInfo { ProductId = $"p{random.Next(30)}", Category = category } },
                < 69 => baseEvent with { Kind = EventKind.Search, Search = new SearchInfo { Query = $"q{random.Next(10)}" } },
                < 75 => baseEvent with
                {
                    Kind = EventKind.Purchase,
                    Purchase = new PurchaseInfo
                    {
                        OrderId = "o" + id,
                        Currency = Currencies[random.Next(Currencies.Length)],
                        Lines = [new PurchaseLine { ProductId = "p1", Category = category, Quantity = random.Next(1, 3), UnitPrice = random.Next(100, 10000) / 100m }],
                    },
                },
                < 83 when withSessionStarts => baseEvent with { Kind = EventKind.SessionStart },
                < 88 => baseEvent with
                {
                    Kind = EventKind.Identify,
                    Identify = new DemographicsUpdate
                    {
                        Country = Countries[random.Next(Countries.Length)],
                        BirthYear = random.Next(2) == 0 ? 1970 + random.Next(40) : null,
                        Traits = new Dictionary<string, string> { [$"t{random.Next(5)}"] = $"v{random.Next(100)}" },
                    },
                },
                < 93 => baseEvent with
                {
                    Kind = EventKind.PreferenceSet,
                    Preference = new PreferenceUpdate { Key = $"k{random.Next(4)}", Value = $"v{random.Next(100)}", EmailOptIn = random.Next(3) == 0 ? random.Next(2) == 0 : null },
                },
                _ => baseEvent with { Kind = EventKind.Custom, Custom = new CustomInfo { Name = $"c{random.Next(5)}" } },
            });
        }

        return events;
    }

    public static List<T> Shuffle<T>(IEnumerable<T> items, int seed)
    {
        var list = items.ToList();
        var random = new Random(seed);
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }

        return list;
    }

    /// <summary>Cuts <paramref name="events"/> into consecutive batches of 1 to <paramref name="maxBatch"/> events.</summary>
    public static IEnumerable<UserEvent[]> Batches(IReadOnlyList<UserEvent> events, int seed, int maxBatch = 25)
    {
        var random = new Random(seed);
        for (var start = 0; start < events.Count;)
        {
            var size = Math.Min(random.Next(1, maxBatch + 1), events.Count - start);
            yield return events.Skip(start).Take(size).ToArray();
            start += size;
        }
    }
}
