namespace ProfileGrid.Domain.Tests;

/// <summary>
/// A worst-case user: 100,000 events over two years with long GUID ids, URLs and user agents, hundreds of
/// categories, anonymous ids, traits and preferences, so every bounded collection is pushed past its bound.
/// </summary>
internal static class HeavyUser
{
    public const int EventCount = 100_000;

    private static readonly Lazy<(UserProfile Profile, DateTimeOffset Now, string LastEventId)> Built = new(Build);

    public static ProfileOptions Options { get; } = new();

    /// <summary>The id of the last event applied (so still in the dedupe window).</summary>
    public static string LastEventId => Built.Value.LastEventId;

    /// <summary>A copy (through grain storage's serializer), so tests can change it freely.</summary>
    public static (UserProfile Profile, DateTimeOffset Now) Create() => (StoredState.Deserialize(StoredState.Serialize(Built.Value.Profile)), Built.Value.Now);

    private static (UserProfile, DateTimeOffset, string) Build()
    {
        var random = new Random(7);
        var profile = new UserProfile();
        var start = TestEvents.Now.AddDays(-730);
        var step = TimeSpan.FromDays(730) / EventCount;
        var longPath = new string('p', 180);
        var userAgent = "Mozilla/5.0 " + new string('u', 700);
        var batch = new List<UserEvent>(100);
        var now = start;
        var lastId = "";
        for (var i = 0; i < EventCount; i++)
        {
            var at = start + step * i + TimeSpan.FromSeconds(random.Next(-3600, 3600));
            lastId = Guid.NewGuid().ToString();
            var baseEvent = TestEvents.Of(EventKind.PageView, at, lastId, DeviceType.Mobile, Channel.App, "US", "en-US", userAgent, anonymousId: $"anon-{Guid.NewGuid()}-{i % 40}");
            var category = $"category-with-a-long-name-{random.Next(300):D3}";
            batch.Add((i % 10) switch
            {
                0 => baseEvent with { Kind = EventKind.Purchase, Purchase = new PurchaseInfo { OrderId = $"order-{i}", Currency = i % 20 == 0 ? "EUR" : "USD", Lines = [new PurchaseLine { ProductId = "p", Category = category, Quantity = 1, UnitPrice = 12.34m }] } },
                1 => baseEvent with { Kind = EventKind.ProductView, Product = new ProductInfo { ProductId = $"product-{i}", Category = category } },
                2 => baseEvent with { Kind = EventKind.Identify, Identify = new DemographicsUpdate { City = "Springfield", Traits = new Dictionary<string, string> { [$"trait-{random.Next(500)}"] = new string('t', 40) } } },
                3 => baseEvent with { Kind = EventKind.PreferenceSet, Preference = new PreferenceUpdate { Key = $"preference-{random.Next(1000)}", Value = new string('v', 40), EmailOptIn = true } },
                4 => baseEvent with { Kind = EventKind.Search, Search = new SearchInfo { Query = new string('q', 300) } },
                5 => baseEvent with { Kind = EventKind.SessionStart },
                _ => baseEvent with { Page = new PageInfo { Url = $"https://shop.example/{longPath}/{i}?session={Guid.NewGuid()}" } },
            });

            if (batch.Count == 100)
            {
                now = at.AddMinutes(1);
                ProfileUpdater.Apply(profile, batch, Options, now);
                batch.Clear();
            }
        }

        return (profile, now, lastId);
    }
}
