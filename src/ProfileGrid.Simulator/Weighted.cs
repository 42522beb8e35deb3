namespace ProfileGrid.Simulator;

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
