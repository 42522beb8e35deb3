namespace ProfileGrid.Simulator;

/// <summary>
/// What to simulate. Two streams built from equal options are identical, event for event and byte for byte.
/// </summary>
public sealed record SimulationOptions
{
    /// <summary>The shortest history that still leaves room for dormant users (active, then silent for 180+ days).</summary>
    public const int MinimumHistoryDays = 240;

    /// <summary>Seeds every random choice: users, catalogue, sessions and ids.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Number of simulated users. Adding users leaves the events of the existing ones unchanged.</summary>
    public int Users { get; init; } = 3000;

    /// <summary>The tenant written on every ingest request.</summary>
    public string Tenant { get; init; } = "demo";

    /// <summary>
    /// The end of the simulated history: no event is later than this. Defaults to today's UTC midnight, so pin it
    /// when two runs on different days must produce the same stream.
    /// </summary>
    public DateTimeOffset AsOf { get; init; } = new(DateTime.UtcNow.Date, TimeSpan.Zero);

    /// <summary>How far back the history reaches from <see cref="AsOf"/>.</summary>
    public int HistoryDays { get; init; } = 365;

    /// <summary>The most taste groups the catalogue can keep apart (each category has at least 25 products).</summary>
    public const int MaximumTasteGroups = 25;

    /// <summary>
    /// Number of hidden taste groups (default 8). Each user belongs to one; each group prefers its own products in
    /// every category (about one in <see cref="TasteGroups"/> of them, across all price levels), so users of a group
    /// view, cart and buy the same products: the item-level structure collaborative filtering learns and popularity
    /// cannot. 0 turns tastes off: products are chosen by category and price level alone, event for event the stream of
    /// the simulator before taste groups. The amount of activity is the same either way (tastes draw from a generator
    /// of their own); only which product, and so its price within the price level, changes.
    /// </summary>
    public int TasteGroups { get; init; } = 8;

    /// <summary>
    /// The share of product choices (views, and so carts and purchases) a user's taste decides (default 0.8); the rest
    /// follow general popularity: the price level the user's type favours, which makes the cheapest products of each
    /// category bestsellers across all tastes. Ignored when <see cref="TasteGroups"/> is 0.
    /// </summary>
    public double TasteStrength { get; init; } = 0.8;

    /// <summary>Throws when the options cannot produce a meaningful stream.</summary>
    public void Validate()
    {
        if (Users < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Users), Users, "Users must not be negative.");
        }

        if (string.IsNullOrWhiteSpace(Tenant))
        {
            throw new ArgumentException("Tenant must not be empty.", nameof(Tenant));
        }

        if (HistoryDays < MinimumHistoryDays)
        {
            throw new ArgumentOutOfRangeException(
                nameof(HistoryDays), HistoryDays, $"HistoryDays must be at least {MinimumHistoryDays}.");
        }

        if (TasteGroups is < 0 or > MaximumTasteGroups)
        {
            throw new ArgumentOutOfRangeException(
                nameof(TasteGroups), TasteGroups, $"TasteGroups must be 0 (no tastes) to {MaximumTasteGroups}.");
        }

        if (!(TasteStrength is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TasteStrength), TasteStrength, "TasteStrength must be between 0 and 1.");
        }
    }
}
