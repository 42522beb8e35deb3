namespace ProfileGrid.Simulator;

/// <summary>Relative weights of the browsing actions inside a session.</summary>
internal sealed record ActionMix(double PageView, double ProductView, double Search, double AddToCart, double RemoveFromCart, double Custom)
{
    public Weighted<BrowsingAction> ToTable() => Weighted.Of(
        (BrowsingAction.PageView, PageView),
        (BrowsingAction.ProductView, ProductView),
        (BrowsingAction.Search, Search),
        (BrowsingAction.AddToCart, AddToCart),
        (BrowsingAction.RemoveFromCart, RemoveFromCart),
        (BrowsingAction.Custom, Custom));
}

internal enum BrowsingAction
{
    PageView,
    ProductView,
    Search,
    AddToCart,
    RemoveFromCart,
    Custom,
}

/// <summary>The knobs that make one planted user type behave differently from the others.</summary>
internal sealed record BehaviorProfile
{
    /// <summary>Share of each type in every block of <see cref="BlockSize"/> consecutive users.</summary>
    public static readonly IReadOnlyList<(UserType Type, int Count)> TypesPerBlock =
    [
        (UserType.HighValue, 2), (UserType.Casual, 9), (UserType.New, 4), (UserType.Dormant, 4), (UserType.Browser, 1),
    ];

    public static readonly int BlockSize = TypesPerBlock.Sum(entry => entry.Count);

    public required double MeanDaysBetweenSessions { get; init; }
    public required int MinSessionEvents { get; init; }
    public required int TypicalSessionEvents { get; init; }
    public required int MaxSessionEvents { get; init; }
    public required double MeanSecondsBetweenEvents { get; init; }
    public required double PurchaseProbabilityPerSession { get; init; }
    public int MaxPurchases { get; init; } = int.MaxValue;

    /// <summary>Purchases the user makes whatever the per-session chance: their first sessions convert until this many.</summary>
    public int MinPurchases { get; init; }

    /// <summary>
    /// When set, a user whose sessions stop earlier comes back once within this many days of the end of their active
    /// span, so "was active recently" holds for every user of the type.
    /// </summary>
    public double? LastSessionWithinDays { get; init; }
    public required int MaxBasketLines { get; init; }
    public required int MaxQuantity { get; init; }

    /// <summary>Exponent on the price rank within a category: below 1 favours pricier products, above 1 cheaper ones.</summary>
    public required double PriceRankExponent { get; init; }

    /// <summary>Typical share of sessions in the mobile app rather than on the web site.</summary>
    public required double AppShare { get; init; }
    public required double CrmRecordProbability { get; init; }
    public required double MeanBirthYear { get; init; }
    public required Weighted<string> LoyaltyTiers { get; init; }
    public required ActionMix Actions { get; init; }

    public static BehaviorProfile For(UserType type) => type switch
    {
        UserType.HighValue => HighValue,
        UserType.Casual => Casual,
        UserType.New => New,
        UserType.Dormant => Dormant,
        UserType.Browser => Browser,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    private static readonly BehaviorProfile HighValue = new()
    {
        MeanDaysBetweenSessions = 10,
        MinSessionEvents = 4, TypicalSessionEvents = 9, MaxSessionEvents = 30,
        MeanSecondsBetweenEvents = 50,
        PurchaseProbabilityPerSession = 0.35,
        MaxBasketLines = 4, MaxQuantity = 3,
        PriceRankExponent = 0.6,
        AppShare = 0.55,
        CrmRecordProbability = 0.9,
        MeanBirthYear = 1979,
        LoyaltyTiers = Weighted.Of(("silver", 0.15), ("gold", 0.5), ("platinum", 0.35)),
        Actions = new(PageView: 3, ProductView: 5, Search: 2, AddToCart: 2.2, RemoveFromCart: 0.4, Custom: 0.4),
    };

    private static readonly BehaviorProfile Casual = new()
    {
        MeanDaysBetweenSessions = 40,
        MinSessionEvents = 3, TypicalSessionEvents = 6, MaxSessionEvents = 18,
        MeanSecondsBetweenEvents = 40,
        PurchaseProbabilityPerSession = 0.3,
        MinPurchases = 1,
        LastSessionWithinDays = 45,
        MaxBasketLines = 2, MaxQuantity = 1,
        PriceRankExponent = 2.5,
        AppShare = 0.12,
        CrmRecordProbability = 0.6,
        MeanBirthYear = 1986,
        LoyaltyTiers = Weighted.Of(("bronze", 0.65), ("silver", 0.3), ("gold", 0.05)),
        Actions = new(PageView: 5, ProductView: 4, Search: 1.5, AddToCart: 0.8, RemoveFromCart: 0.3, Custom: 0.2),
    };

    private static readonly BehaviorProfile New = new()
    {
        MeanDaysBetweenSessions = 2.5,
        MinSessionEvents = 3, TypicalSessionEvents = 8, MaxSessionEvents = 22,
        MeanSecondsBetweenEvents = 45,
        PurchaseProbabilityPerSession = 0.25,
        MinPurchases = 1, MaxPurchases = 1,
        MaxBasketLines = 2, MaxQuantity = 2,
        PriceRankExponent = 1.3,
        AppShare = 0.3,
        CrmRecordProbability = 0.35,
        MeanBirthYear = 1993,
        LoyaltyTiers = Weighted.Of(("bronze", 1.0)),
        Actions = new(PageView: 5, ProductView: 5, Search: 2, AddToCart: 1, RemoveFromCart: 0.3, Custom: 0.3),
    };

    private static readonly BehaviorProfile Dormant = new()
    {
        MeanDaysBetweenSessions = 12,
        MinSessionEvents = 3, TypicalSessionEvents = 7, MaxSessionEvents = 20,
        MeanSecondsBetweenEvents = 45,
        PurchaseProbabilityPerSession = 0.15,
        MinPurchases = 1,
        MaxBasketLines = 2, MaxQuantity = 2,
        PriceRankExponent = 1.5,
        AppShare = 0.2,
        CrmRecordProbability = 0.7,
        MeanBirthYear = 1983,
        LoyaltyTiers = Weighted.Of(("bronze", 0.7), ("silver", 0.3)),
        Actions = new(PageView: 4, ProductView: 4, Search: 1.5, AddToCart: 1, RemoveFromCart: 0.3, Custom: 0.2),
    };

    private static readonly BehaviorProfile Browser = new()
    {
        MeanDaysBetweenSessions = 14,
        MinSessionEvents = 10, TypicalSessionEvents = 15, MaxSessionEvents = 30,
        MeanSecondsBetweenEvents = 35,
        PurchaseProbabilityPerSession = 0.005,
        MaxBasketLines = 1, MaxQuantity = 1,
        PriceRankExponent = 1.0,
        AppShare = 0.25,
        CrmRecordProbability = 0.3,
        MeanBirthYear = 1996,
        LoyaltyTiers = Weighted.Of(("bronze", 1.0)),
        Actions = new(PageView: 5, ProductView: 7, Search: 5, AddToCart: 0.15, RemoveFromCart: 0.1, Custom: 0.2),
    };
}
