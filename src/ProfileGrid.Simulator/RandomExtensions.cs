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

    /// <summary>A count in [min, max] that is usually near <paramref name="typical"/> with a long tail upwards.</summary>
    public static int SkewedCount(this Random random, int min, int typical, int max) =>
        Math.Clamp(min + (int)random.Exponential(typical - min + 0.5), min, max);
}

/// <summary>An immutable table of items with relative weights, sampled in O(log n).</summary>
internal sealed class Weighted<T>
{
    private readonly T[] items;
    private readonly double[] cumulativeWeights;

    public Weighted(IEnumerable<(T Item, double Weight)> entries)
    {
        var list = entries.Where(entry => entry.Weight > 0).ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("At least one entry needs a positive weight.", nameof(entries));
        }

        items = list.Select(entry => entry.Item).ToArray();
        cumulativeWeights = new double[list.Count];
        var total = 0.0;
        for (var i = 0; i < list.Count; i++)
        {
            total += list[i].Weight;
            cumulativeWeights[i] = total;
        }
    }

    public IReadOnlyList<T> Items => items;

    public T Sample(Random random)
    {
        var target = random.NextDouble() * cumulativeWeights[^1];
        var index = Array.BinarySearch(cumulativeWeights, target);
        index = index < 0 ? ~index : index + 1;
        return items[Math.Min(index, items.Length - 1)];
    }
}

internal static class Weighted
{
    public static Weighted<T> Of<T>(params (T Item, double Weight)[] entries) => new(entries);
}
