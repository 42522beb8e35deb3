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
    }
}
