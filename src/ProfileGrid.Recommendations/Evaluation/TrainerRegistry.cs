namespace ProfileGrid.Recommendations.Evaluation;

/// <summary>
/// The algorithms an evaluation can name (the CLI's --algorithms): a name and a factory per trainer, in registration
/// order. Algorithms register here (one line each, below) so the CLI and the evaluation API find them without a
/// reference to each implementation.
/// </summary>
public static class TrainerRegistry
{
    private static readonly object Gate = new();
    private static readonly List<(string Name, Func<IRecommenderTrainer> Create)> Trainers =
    [
        // The floor every algorithm must beat, then the library's algorithms with their default options.
        (RandomTrainer.Name, () => new RandomTrainer()),
        .. Algorithms.RecommenderAlgorithms.All.Select(name => (name, (Func<IRecommenderTrainer>)(() => Algorithms.RecommenderTrainers.Create(name)))),
    ];

    /// <summary>Registered names in registration order.</summary>
    public static IReadOnlyList<string> Names
    {
        get
        {
            lock (Gate)
            {
                return Trainers.Select(t => t.Name).ToArray();
            }
        }
    }

    /// <summary>Adds (or replaces) the trainer named <paramref name="name"/>.</summary>
    public static void Register(string name, Func<IRecommenderTrainer> create)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (Gate)
        {
            var at = Trainers.FindIndex(t => t.Name == name);
            if (at >= 0)
            {
                Trainers[at] = (name, create);
            }
            else
            {
                Trainers.Add((name, create));
            }
        }
    }

    /// <summary>New trainers for <paramref name="names"/>, in the order given.</summary>
    /// <exception cref="ArgumentException">A name is not registered; the message lists the known ones.</exception>
    public static IReadOnlyList<IRecommenderTrainer> Create(IEnumerable<string> names)
    {
        lock (Gate)
        {
            var trainers = new List<IRecommenderTrainer>();
            foreach (var name in names)
            {
                var found = Trainers.FindIndex(t => t.Name == name);
                if (found < 0)
                {
                    throw new ArgumentException($"Unknown algorithm '{name}'; known: {string.Join(", ", Trainers.Select(t => t.Name))}.", nameof(names));
                }

                trainers.Add(Trainers[found].Create());
            }

            return trainers;
        }
    }
}

/// <summary>
/// Recommends training items in an order fixed by the seed and the user: the baseline any real algorithm must beat,
/// and an algorithm that needs no other code (so the evaluation runs end to end on its own).
/// </summary>
public sealed class RandomTrainer(int seed = 42) : IRecommenderTrainer
{
    public const string Name = "random";

    public string Algorithm => Name;

    public IRecommender Train(InteractionMatrix data, DateTimeOffset now) => new Model(data.Items, seed);

    private sealed class Model(string[] items, int seed) : IRecommender
    {
        public string Algorithm => Name;

        public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query)
        {
            // Seeded by the history (FNV-1a; HashCode is randomised per process), so the same query always gets the
            // same list, in any run and on any thread.
            var hash = 2166136261u ^ (uint)seed;
            foreach (var (item, _) in query.History)
            {
                foreach (var c in item)
                {
                    hash = unchecked((hash ^ c) * 16777619u);
                }
            }

            var random = new Random((int)(hash & 0x7FFFFFFF));
            var result = new List<ScoredItem>(query.Count);
            var tried = new HashSet<int>();
            while (result.Count < query.Count && tried.Count < items.Length)
            {
                var i = random.Next(items.Length);
                if (tried.Add(i) && !query.Exclude.Contains(items[i]))
                {
                    result.Add(new ScoredItem(items[i], 1.0 / (result.Count + 1), "random"));
                }
            }

            return result;
        }
    }
}
