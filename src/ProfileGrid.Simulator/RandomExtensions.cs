namespace ProfileGrid.Simulator;

internal static class RandomExtensions
{
    public static bool Chance(this Random random, double probability) => random.NextDouble() < probability;

    public static double Between(this Random random, double min, double max) => min + (random.NextDouble() * (max - min));

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    public static double Exponential(this Random random, double mean) => -mean * Math.Log(1 - random.NextDouble());

    public static double Normal(this Random random, double mean, double standardDeviation)
    {
        // Box-Muller; one of the pair is enough here.
        var u1 = 1 - random.NextDouble();
        var u2 = random.NextDouble();
        return mean + (standardDeviation * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }

    /// <summary>A count in [min, max] averaging about <paramref name="typical"/>: mostly short, with a long tail upwards.</summary>
    public static int SkewedCount(this Random random, int min, int typical, int max) =>
        Math.Clamp(min + (int)random.Exponential(typical - min + 0.5), min, max);
}
