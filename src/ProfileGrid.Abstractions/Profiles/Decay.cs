namespace ProfileGrid.Abstractions.Profiles;

/// <summary>Exponential decay with a half-life, shared by engagement and category affinities (state and view).</summary>
public static class Decay
{
    /// <summary>The weight left after <paramref name="elapsed"/>; never above 1, so values are not inflated for the future.</summary>
    public static double Factor(TimeSpan elapsed, TimeSpan halfLife) =>
        elapsed <= TimeSpan.Zero ? 1d : Math.Pow(0.5, elapsed / halfLife);

    /// <summary>Decay rate per day (ln 2 / half-life in days): a decayed count times this is a rate per day.</summary>
    public static double RatePerDay(TimeSpan halfLife) => Math.Log(2) / halfLife.TotalDays;
}
