namespace ProfileGrid.Simulator;

/// <summary>
/// The knobs of <see cref="ResponseModel"/>: how likely a simulated user clicks an item they examine, how much the
/// position in a list hides it, and how likely a click turns into a purchase (docs/simulator.md, "Responding users").
/// </summary>
public sealed record ResponseModelOptions
{
    /// <summary>The attribution window the purchases must fall in: the profile's default (<c>ProfileGrid:Profile:AttributionWindow</c>).</summary>
    public static readonly TimeSpan DefaultAttributionWindow = TimeSpan.FromDays(7);

    /// <summary>
    /// Click probability, once examined, of an item of the user's taste group (<see cref="SimulatedUser.PreferredItems"/>)
    /// before the category, price and user-type factors (default 0.10).
    /// </summary>
    public double PreferredAttractiveness { get; init; } = 0.10;

    /// <summary>Click probability of a bestseller outside the user's taste, before the other factors (default 0.04).</summary>
    public double BestsellerAttractiveness { get; init; } = 0.04;

    /// <summary>Click probability of any other catalogue item, before the other factors (default 0.015).</summary>
    public double OtherAttractiveness { get; init; } = 0.015;

    /// <summary>Factor on an item of one of the user's <see cref="SimulatedUser.FavoriteCategories"/> (default 1.5).</summary>
    public double FavoriteCategoryFactor { get; init; } = 1.5;

    /// <summary>
    /// How much the price level the user's type favours matters (default 0.5): the factor is (n x the chance that the
    /// type's price-level draw lands on the item's price rank among the category's n products) to this power; 0 ignores
    /// price, 1 follows the stream's price preference fully.
    /// </summary>
    public double PriceSensitivity { get; init; } = 0.5;

    /// <summary>
    /// Spread (standard deviation of the log) of a user's own liking of each item around the rest of the model (default
    /// 0.25): a fixed, hidden, mean-one factor per user and item, so two users of a group do not like its items equally.
    /// </summary>
    public double PersonalSpread { get; init; } = 0.25;

    /// <summary>Factor on the click probability by user type: how readily the type clicks recommendations.</summary>
    public IReadOnlyDictionary<UserType, double> ClickPropensity { get; init; } = new Dictionary<UserType, double>
    {
        [UserType.HighValue] = 1.2,
        [UserType.Casual] = 1.0,
        [UserType.New] = 1.1,
        [UserType.Dormant] = 0.7,
        [UserType.Browser] = 1.4,
    };

    /// <summary>No item, however well it fits, is clicked with a higher probability once examined (default 0.9).</summary>
    public double MaxAttractiveness { get; init; } = 0.9;

    /// <summary>
    /// Position bias: the chance the user examines position k (1-based) is (1 / log2(k + 1)) to this power (default 1:
    /// 1, 0.63, 0.5, 0.43, 0.39, ...); 0 means every position is examined, larger values a steeper drop.
    /// </summary>
    public double PositionBiasExponent { get; init; } = 1.0;

    /// <summary>
    /// When set, positions after this one are never examined (below the fold, past the end of a carousel), so never
    /// clicked; null (default) leaves every position to <see cref="PositionBiasExponent"/>.
    /// </summary>
    public int? ExaminedPositions { get; init; }

    /// <summary>The chance a click ends in a purchase of the clicked item, by user type.</summary>
    public IReadOnlyDictionary<UserType, double> PurchaseAfterClick { get; init; } = new Dictionary<UserType, double>
    {
        [UserType.HighValue] = 0.30,
        [UserType.Casual] = 0.12,
        [UserType.New] = 0.15,
        [UserType.Dormant] = 0.06,
        [UserType.Browser] = 0.01,
    };

    /// <summary>Factor on <see cref="PurchaseAfterClick"/> for an item of the user's taste (default 1.5); capped at 1.</summary>
    public double PreferredPurchaseFactor { get; init; } = 1.5;

    /// <summary>
    /// The share of carts that are not bought (default 0.5): a click puts the item in the cart with probability
    /// purchase / (1 - this), capped at 1, so some clicks end in a cart without a purchase.
    /// </summary>
    public double CartAbandonment { get; init; } = 0.5;

    /// <summary>Mean time from the impression to the first click, and between two clicks of one list (default 30 s).</summary>
    public TimeSpan MeanClickDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Mean time from a click to the add to cart (default 1 min).</summary>
    public TimeSpan MeanCartDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Mean time from the add to cart to the purchase (default 2 h).</summary>
    public TimeSpan MeanPurchaseDelay { get; init; } = TimeSpan.FromHours(2);

    /// <summary>
    /// The latest a purchase comes after its click (default 1 day); at most <see cref="DefaultAttributionWindow"/>, so
    /// that every simulated purchase is credited to the list.
    /// </summary>
    public TimeSpan MaxPurchaseDelay { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Every problem of the options, each naming its setting; empty when they are valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        Probability(nameof(PreferredAttractiveness), PreferredAttractiveness);
        Probability(nameof(BestsellerAttractiveness), BestsellerAttractiveness);
        Probability(nameof(OtherAttractiveness), OtherAttractiveness);
        Probability(nameof(MaxAttractiveness), MaxAttractiveness);
        Probability(nameof(CartAbandonment), CartAbandonment, allowOne: false);
        NonNegative(nameof(FavoriteCategoryFactor), FavoriteCategoryFactor);
        NonNegative(nameof(PriceSensitivity), PriceSensitivity);
        NonNegative(nameof(PersonalSpread), PersonalSpread);
        NonNegative(nameof(PositionBiasExponent), PositionBiasExponent);
        NonNegative(nameof(PreferredPurchaseFactor), PreferredPurchaseFactor);
        PerType(nameof(ClickPropensity), ClickPropensity, isProbability: false);
        PerType(nameof(PurchaseAfterClick), PurchaseAfterClick, isProbability: true);

        if (ExaminedPositions is < 1)
        {
            problems.Add($"{nameof(ExaminedPositions)} must be at least 1, or null for no cut-off ({ExaminedPositions}).");
        }

        Delay(nameof(MeanClickDelay), MeanClickDelay);
        Delay(nameof(MeanCartDelay), MeanCartDelay);
        Delay(nameof(MeanPurchaseDelay), MeanPurchaseDelay);
        if (MaxPurchaseDelay <= TimeSpan.Zero || MaxPurchaseDelay > DefaultAttributionWindow)
        {
            problems.Add($"{nameof(MaxPurchaseDelay)} must be positive and at most the attribution window ({DefaultAttributionWindow.TotalDays} days) ({MaxPurchaseDelay}).");
        }

        return problems;

        void Probability(string name, double value, bool allowOne = true)
        {
            if (!(value >= 0 && (allowOne ? value <= 1 : value < 1)))
            {
                problems.Add($"{name} must be a probability from 0 to {(allowOne ? "1" : "below 1")} ({value}).");
            }
        }

        void NonNegative(string name, double value)
        {
            if (!(value >= 0 && double.IsFinite(value)))
            {
                problems.Add($"{name} must be a finite number of at least 0 ({value}).");
            }
        }

        void PerType(string name, IReadOnlyDictionary<UserType, double>? values, bool isProbability)
        {
            foreach (var type in Enum.GetValues<UserType>())
            {
                if (values is null || !values.TryGetValue(type, out var value))
                {
                    problems.Add($"{name} has no value for {type}.");
                }
                else if (isProbability)
                {
                    Probability($"{name}[{type}]", value);
                }
                else
                {
                    NonNegative($"{name}[{type}]", value);
                }
            }
        }

        void Delay(string name, TimeSpan value)
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add($"{name} must be positive ({value}).");
            }
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming every problem at once when the options are not valid.</summary>
    public void Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid response model options: {string.Join(" ", problems)}");
        }
    }
}
