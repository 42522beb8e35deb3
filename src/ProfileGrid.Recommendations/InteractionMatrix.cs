namespace ProfileGrid.Recommendations;

/// <summary>
/// Users × items implicit feedback in compressed sparse rows: row u holds the items user u interacted with, in
/// ascending item index, with their weights (<see cref="InteractionWeights.Weigh"/>). Immutable once built; every
/// algorithm trains on it and the evaluator splits it.
/// </summary>
public sealed class InteractionMatrix
{
    private readonly Dictionary<string, int> _itemIndex;

    public InteractionMatrix(string[] users, string?[] userSegments, string[] items, int[] rowStart, int[] itemIndices, float[] weights, float[] ageDays)
    {
        if (users.Length != userSegments.Length || rowStart.Length != users.Length + 1 || itemIndices.Length != weights.Length || ageDays.Length != weights.Length || rowStart[^1] != itemIndices.Length)
        {
            throw new ArgumentException("Inconsistent sparse rows.");
        }

        Users = users;
        UserSegments = userSegments;
        Items = items;
        RowStart = rowStart;
        ItemIndices = itemIndices;
        Weights = weights;
        AgeDays = ageDays;
        _itemIndex = new Dictionary<string, int>(items.Length, StringComparer.Ordinal);
        for (var i = 0; i < items.Length; i++)
        {
            _itemIndex[items[i]] = i;
        }
    }

    public string[] Users { get; }

    /// <summary>Each user's segment label at training time (null: none).</summary>
    public string?[] UserSegments { get; }

    public string[] Items { get; }

    /// <summary>Row u spans [RowStart[u], RowStart[u + 1]) of <see cref="ItemIndices"/> and <see cref="Weights"/>.</summary>
    public int[] RowStart { get; }

    public int[] ItemIndices { get; }

    public float[] Weights { get; }

    /// <summary>Days between each pair's last interaction and the build's now (for recency-weighted popularity).</summary>
    public float[] AgeDays { get; }

    public int UserCount => Users.Length;

    public int ItemCount => Items.Length;

    public int NonZeros => ItemIndices.Length;

    public ReadOnlySpan<int> ItemsOf(int user) => ItemIndices.AsSpan(RowStart[user], RowStart[user + 1] - RowStart[user]);

    public ReadOnlySpan<float> WeightsOf(int user) => Weights.AsSpan(RowStart[user], RowStart[user + 1] - RowStart[user]);

    /// <summary>The index of <paramref name="itemId"/>, or -1 when no user interacted with it.</summary>
    public int IndexOf(string itemId) => _itemIndex.TryGetValue(itemId, out var index) ? index : -1;

    /// <summary>
    /// Builds the matrix from users' raw interactions weighed at <paramref name="now"/>. Items are indexed in ordinal
    /// id order (so two builds of the same data agree); pairs that weigh nothing and users left with no item are dropped.
    /// </summary>
    public static InteractionMatrix Build(IEnumerable<UserInteractions> users, InteractionWeights weights, DateTimeOffset now)
    {
        var rows = new List<(string User, string? Segment, List<(string Item, float Weight, float Age)> Items)>();
        var itemIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var user in users)
        {
            var items = new List<(string, float, float)>(user.Items.Count);
            foreach (var interaction in user.Items)
            {
                var weight = weights.Weigh(interaction, now);
                if (weight > 0)
                {
                    items.Add((interaction.ItemId, (float)weight, (float)Math.Max(0, (now - interaction.LastAt).TotalDays)));
                    itemIds.Add(interaction.ItemId);
                }
            }

            if (items.Count > 0)
            {
                rows.Add((user.UserKey, user.Segment, items));
            }
        }

        var itemArray = itemIds.ToArray();
        Array.Sort(itemArray, StringComparer.Ordinal);
        var index = new Dictionary<string, int>(itemArray.Length, StringComparer.Ordinal);
        for (var i = 0; i < itemArray.Length; i++)
        {
            index[itemArray[i]] = i;
        }

        var rowStart = new int[rows.Count + 1];
        var nonZeros = rows.Sum(r => r.Items.Count);
        var columns = new int[nonZeros];
        var values = new float[nonZeros];
        var ages = new float[nonZeros];
        var at = 0;
        for (var u = 0; u < rows.Count; u++)
        {
            rowStart[u] = at;
            // The same item twice in one user's list (two summaries merged) adds up.
            var merged = new SortedDictionary<int, (float Weight, float Age)>();
            foreach (var (item, weight, age) in rows[u].Items)
            {
                var i = index[item];
                merged[i] = merged.TryGetValue(i, out var seen) ? (seen.Weight + weight, Math.Min(seen.Age, age)) : (weight, age);
            }

            foreach (var (i, (weight, age)) in merged)
            {
                columns[at] = i;
                values[at] = weight;
                ages[at] = age;
                at++;
            }
        }

        rowStart[rows.Count] = at;
        return new InteractionMatrix(
            rows.Select(r => r.User).ToArray(), rows.Select(r => r.Segment).ToArray(), itemArray, rowStart, columns, values, ages);
    }
}
