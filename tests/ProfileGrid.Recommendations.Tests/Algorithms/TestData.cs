using ProfileGrid.Recommendations.Algorithms;

namespace ProfileGrid.Recommendations.Tests.Algorithms;

/// <summary>Small matrices written as (user, item, weight) triples, and queries.</summary>
internal static class TestData
{
    public static InteractionMatrix Matrix(
        IEnumerable<(string User, string Item, float Weight)> triples,
        IReadOnlyDictionary<string, string>? segments = null,
        IReadOnlyDictionary<(string User, string Item), float>? ages = null)
    {
        var list = triples.ToList();
        var users = list.Select(t => t.User).Distinct().ToArray();
        var items = list.Select(t => t.Item).Distinct().Order(StringComparer.Ordinal).ToArray();
        var rowStart = new int[users.Length + 1];
        var columns = new List<int>();
        var weights = new List<float>();
        var ageDays = new List<float>();
        for (var u = 0; u < users.Length; u++)
        {
            rowStart[u] = columns.Count;
            foreach (var t in list.Where(t => t.User == users[u]).OrderBy(t => Array.IndexOf(items, t.Item)))
            {
                columns.Add(Array.IndexOf(items, t.Item));
                weights.Add(t.Weight);
                ageDays.Add(ages?.GetValueOrDefault((t.User, t.Item)) ?? 0);
            }
        }

        rowStart[^1] = columns.Count;
        return new InteractionMatrix(users, users.Select(u => segments?.GetValueOrDefault(u)).ToArray(), items, rowStart,
            [.. columns], [.. weights], [.. ageDays]);
    }

    /// <summary>Users as strings "u1: A B C" with unit weights.</summary>
    public static InteractionMatrix Unit(params string[] rows) =>
        Matrix(rows.SelectMany(row =>
        {
            var parts = row.Split(':');
            return parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(item => (parts[0].Trim(), item, 1f));
        }));

    public static RecommendationQuery Query(int count, string? segment = null, IEnumerable<string>? exclude = null, params (string, double)[] history) =>
        new(history, segment, count, new HashSet<string>(exclude ?? [], StringComparer.Ordinal));

    /// <summary>Seeded random implicit data: users × items, each user a few items with weights 1..5 (not integers, so ties are rare).</summary>
    public static InteractionMatrix Random(int users, int items, int perUser, int seed)
    {
        var random = new Random(seed);
        var triples = new List<(string, string, float)>();
        for (var u = 0; u < users; u++)
        {
            var count = 1 + random.Next(perUser * 2);
            var chosen = new HashSet<int>();
            while (chosen.Count < Math.Min(count, items))
            {
                // Squared uniform: a long tail, low item numbers popular.
                var x = random.NextDouble();
                chosen.Add((int)(x * x * items));
            }

            foreach (var i in chosen)
            {
                triples.Add(($"u{u:D5}", $"i{i:D5}", (float)(1 + 4 * random.NextDouble())));
            }
        }

        return Matrix(triples);
    }

    /// <summary>
    /// Seeded implicit data with taste: user u likes cluster u % clusters (item i is in cluster i % clusters) and takes
    /// <paramref name="perUser"/> distinct items, each from the cluster or, with probability <paramref name="noise"/>,
    /// from the long tail of <see cref="Random"/> (low item numbers popular, across clusters); unit weights. EASE's best
    /// λ on it is interior: a small one fits the noise, a large one ranks by co-occurrence, which popularity dominates.
    /// </summary>
    public static InteractionMatrix Clustered(int users, int items, int clusters, int perUser, double noise, int seed)
    {
        var random = new Random(seed);
        var triples = new List<(string, string, float)>();
        for (var u = 0; u < users; u++)
        {
            var chosen = new HashSet<int>();
            while (chosen.Count < Math.Min(perUser, items))
            {
                if (random.NextDouble() < noise)
                {
                    var x = random.NextDouble();
                    chosen.Add((int)(x * x * items));
                }
                else
                {
                    chosen.Add(u % clusters + clusters * random.Next(items / clusters));
                }
            }

            foreach (var i in chosen)
            {
                triples.Add(($"u{u:D5}", $"i{i:D5}", 1f));
            }
        }

        return Matrix(triples);
    }

    public static byte[] Bytes(IRecommender model) => ModelFormat.ToBytes(model);
}
