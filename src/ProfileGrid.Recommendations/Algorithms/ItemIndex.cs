namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>A model's items by index and back; built once per model (also after reading one), read-only afterwards.</summary>
internal sealed class ItemIndex
{
    private readonly Dictionary<string, int> _index;

    public ItemIndex(string[] items)
    {
        Items = items;
        _index = new Dictionary<string, int>(items.Length, StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            _index[items[i]] = i;
        }
    }

    public string[] Items { get; }

    public int Count => Items.Length;

    public int IndexOf(string itemId) => _index.TryGetValue(itemId, out var index) ? index : -1;
}

/// <summary>Checks shared by every model's <see cref="IRecommender.Recommend"/>.</summary>
internal static class Queries
{
    public static void Check(RecommendationQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Count < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Count, "count must not be negative.");
        }
    }
}
