namespace ProfileGrid.Experiments.Statistics;

/// <summary>
/// Users of one variant and how many of them converted (clicked, bought): the input of the rate tests. One success per
/// user at most, so that heavy users do not dominate.
/// </summary>
public readonly record struct BinomialCounts
{
    /// <exception cref="ArgumentOutOfRangeException">A count is negative.</exception>
    /// <exception cref="ArgumentException"><paramref name="successes"/> exceeds <paramref name="trials"/>.</exception>
    public BinomialCounts(long successes, long trials)
    {
        Guard.NotNegative(successes, nameof(successes));
        Guard.NotNegative(trials, nameof(trials));
        if (successes > trials)
        {
            throw new ArgumentException($"Successes ({successes}) cannot exceed trials ({trials}).", nameof(successes));
        }

        Successes = successes;
        Trials = trials;
    }

    /// <summary>Users who converted.</summary>
    public long Successes { get; }

    /// <summary>Exposed users.</summary>
    public long Trials { get; }

    /// <summary>Users who did not convert.</summary>
    public long Failures => Trials - Successes;

    /// <summary>The observed rate; 0 when there are no users yet.</summary>
    public double Rate => Trials == 0 ? 0 : (double)Successes / Trials;
}
