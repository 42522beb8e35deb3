namespace ProfileGrid.Domain.Tests;

/// <summary>Builds valid events the way the gateway would, with unique ids unless one is given.</summary>
internal static class TestEvents
{
    public const string Tenant = "acme";
    public const string User = "u-1";

    /// <summary>A fixed "now" for tests: Monday 2026-03-02 12:00 UTC.</summary>
    public static readonly DateTimeOffset Now = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    private static long sequence;

    public static string NextId() => "evt-" + Interlocked.Increment(ref sequence).ToString("D8");

    public static UserEvent Of(
        EventKind kind,
        DateTimeOffset at,
        string? id = null,
        DeviceType device = DeviceType.Unknown,
        Channel source = Channel.Web,
        string? country = null,
        string? locale = null,
        string? userAgent = null,
        string? anonymousId = null) => new()
    {
        EventId = id ?? NextId(),
        Kind = kind,
        Tenant = Tenant,
        UserId = User,
        AnonymousId = anonymousId,
        OccurredAt = at,
        Source = source,
        Context = device == DeviceType.Unknown && country is null && locale is null && userAgent is null
            ? null
            : new EventContext { Device = device, Country = country, Locale = locale, UserAgent = userAgent },
    };

    public static UserEvent PageView(DateTimeOffset at, string? id = null, string url = "https://shop.example/home") =>
        Of(EventKind.PageView, at, id) with { Page = new PageInfo { Url = url } };

    public static UserEvent SessionStart(DateTimeOffset at, string? id = null) => Of(EventKind.SessionStart, at, id);

    public static UserEvent Search(DateTimeOffset at, string query = "shoes") =>
        Of(EventKind.Search, at) with { Search = new SearchInfo { Query = query, ResultCount = 3 } };

    public static UserEvent ProductView(DateTimeOffset at, string category, string productId = "p-1") =>
        Of(EventKind.ProductView, at) with { Product = new ProductInfo { ProductId = productId, Category = category } };

    public static UserEvent AddToCart(DateTimeOffset at, string category, int quantity = 1) =>
        Of(EventKind.AddToCart, at) with { Product = new ProductInfo { ProductId = "p-1", Category = category, Quantity = quantity } };

    public static UserEvent RemoveFromCart(DateTimeOffset at, string category, int quantity = 1) =>
        Of(EventKind.RemoveFromCart, at) with { Product = new ProductInfo { ProductId = "p-1", Category = category, Quantity = quantity } };

    public static UserEvent Purchase(DateTimeOffset at, string currency, decimal amount, string category = "shoes", string? id = null) =>
        Purchase(at, currency, [(category, amount, 1)], id);

    public static UserEvent Purchase(DateTimeOffset at, string currency, (string Category, decimal UnitPrice, int Quantity)[] lines, string? id = null)
    {
        var eventId = id ?? NextId();
        return Of(EventKind.Purchase, at, eventId) with
        {
            Purchase = new PurchaseInfo
            {
                OrderId = "o-" + eventId,
                Currency = currency,
                Lines = lines.Select((l, i) => new PurchaseLine { ProductId = $"p-{i}", Category = l.Category, UnitPrice = l.UnitPrice, Quantity = l.Quantity }).ToArray(),
            },
        };
    }

    public static UserEvent Identify(DateTimeOffset at, DemographicsUpdate update) =>
        Of(EventKind.Identify, at, source: Channel.Crm) with { Identify = update };

    public static UserEvent Preference(DateTimeOffset at, PreferenceUpdate update) =>
        Of(EventKind.PreferenceSet, at) with { Preference = update };
}

/// <summary>A profile under test with the options and clock it is updated with.</summary>
internal sealed class ProfileUnderTest
{
    public UserProfile Profile { get; } = new() { Tenant = TestEvents.Tenant, UserId = TestEvents.User };

    public ProfileOptions Options { get; set; } = new();

    public DateTimeOffset Now { get; set; } = TestEvents.Now;

    public ApplyResult Apply(params UserEvent[] events) => ProfileUpdater.Apply(Profile, events, Options, Now);

    public string Json() => ProfileJson.Serialize(Profile, Options, Now);

    public ProfileDocument Document() => ProfileJson.ToDocument(Profile, Options, Now);

    public RfmWindow Window(string name) => ProfileMetrics.Windows(Profile, Options, Now).Single(w => w.Window == name);
}
