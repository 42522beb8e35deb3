namespace ProfileGrid.Recommendations.Evaluation;

/// <summary>How interactions are held out for an offline evaluation.</summary>
public enum SplitMethod
{
    /// <summary>
    /// Random, stratified per user (Recommenders' <c>python_stratified_split</c>): each user's items are shuffled
    /// with a seed and the first share goes to training.
    /// </summary>
    Random,

    /// <summary>
    /// By time, per user (Recommenders' <c>python_chrono_split</c>): each user's most recent items are held out, so
    /// every test user has a history to recommend from.
    /// </summary>
    TimePerUser,

    /// <summary>
    /// By time, one global cutoff at the <see cref="SplitOptions.Ratio"/> quantile of interaction time: everything at
    /// or after the cutoff is held out, as a model trained on a given day would face it. Users who only appear after
    /// the cutoff are test users with an empty history (cold start).
    /// </summary>
    TimeGlobal,
}

/// <summary>How to split (validated by <see cref="Validate"/>).</summary>
/// <param name="Ratio">Share of each user's items (or of all pairs for <see cref="SplitMethod.TimeGlobal"/>) kept for training.</param>
/// <param name="Seed">Seed of the random split; the same data, ratio and seed always give the same split.</param>
/// <param name="MinItems">Users with fewer items than this are kept whole in training (they have nothing to hold
/// out without losing their only history); at least 2.</param>
public sealed record SplitOptions(SplitMethod Method = SplitMethod.Random, double Ratio = 0.75, int Seed = 42, int MinItems = 2)
{
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(Ratio > 0 && Ratio < 1))
        {
            // Named as the request (and the CLI's --ratio) names it: the split is a separate field.
            problems.Add($"ratio: must lie strictly between 0 and 1 ({Ratio})");
        }

        if (MinItems < 2)
        {
            problems.Add($"min_items: must be at least 2 ({MinItems})");
        }

        return problems;
    }
}

/// <summary>
/// A train/test split: the training matrix (only items someone interacted with in training are indexed, as
/// <see cref="InteractionMatrix.IndexOf"/> promises) and, per test user, the held-out items. Held-out items that
/// nobody has in training stay in the test set: they are unreachable for any model, as they are in the reference.
/// </summary>
/// <param name="Train">What models train on; weights and ages are those of the full matrix.</param>
/// <param name="Test">Held-out items per test user (user ids in ordinal order).</param>
/// <param name="Segments">Each test user's segment label (null: none), for the query and the segment slice.</param>
/// <param name="Options">How the split was made.</param>
/// <param name="HeldOutPairs">Held-out (user, item) pairs in all.</param>
/// <param name="TrainOnlyUsers">Users kept whole in training because they had fewer than <see cref="SplitOptions.MinItems"/> items.</param>
/// <param name="Cutoff">For <see cref="SplitMethod.TimeGlobal"/>: the cutoff, in days before the data's now.</param>
public sealed record EvaluationSplit(
    InteractionMatrix Train,
    IReadOnlyDictionary<string, IReadOnlySet<string>> Test,
    IReadOnlyDictionary<string, string?> Segments,
    SplitOptions Options,
    int HeldOutPairs,
    int TrainOnlyUsers,
    double? Cutoff = null)
{
    /// <summary>The test users in ordinal order (the order of every per-user result).</summary>
    public IReadOnlyList<string> TestUsers { get; } = Test.Keys.OrderBy(u => u, StringComparer.Ordinal).ToArray();
}

/// <summary>Splits an interaction matrix into training and held-out parts, deterministically.</summary>
public static class DataSplitter
{
    /// <summary>Splits <paramref name="data"/> as <paramref name="options"/> say; the input is left untouched.</summary>
    /// <exception cref="ArgumentException">The options are invalid (the message names each field).</exception>
    public static EvaluationSplit Split(InteractionMatrix data, SplitOptions options)
    {
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(options));
        }

        // inTest[p] marks nonzero p (an index into ItemIndices) as held out.
        var inTest = new bool[data.NonZeros];
        var trainOnly = 0;
        double? cutoff = null;
        if (options.Method == SplitMethod.TimeGlobal)
        {
            cutoff = GlobalCutoff(data, options.Ratio, inTest);
        }
        else
        {
            for (var u = 0; u < data.UserCount; u++)
            {
                var start = data.RowStart[u];
                var count = data.RowStart[u + 1] - start;
                if (count < options.MinItems)
                {
                    trainOnly++;
                    continue;
                }

                // Python's round() (half to even), as np.split's indices in the reference; clamped so that a user
                // with two items keeps one and gives one.
                var trainCount = Math.Clamp((int)Math.Round(count * options.Ratio, MidpointRounding.ToEven), 1, count - 1);
                var order = Enumerable.Range(start, count).ToArray();
                if (options.Method == SplitMethod.Random)
                {
                    // A seed per user (from the user's id, not their row): adding or removing other users leaves a
                    // user's split unchanged.
                    new Random(Mix(options.Seed, data.Users[u])).Shuffle(order);
                }
                else
                {
                    // Oldest first (largest age); ties by item index, so the split is deterministic.
                    Array.Sort(order, (a, b) => data.AgeDays[a] != data.AgeDays[b]
                        ? data.AgeDays[b].CompareTo(data.AgeDays[a])
                        : data.ItemIndices[a].CompareTo(data.ItemIndices[b]));
                }

                for (var i = trainCount; i < count; i++)
                {
                    inTest[order[i]] = true;
                }
            }
        }

        return Assemble(data, inTest, options, trainOnly, cutoff);
    }

    // Marks pairs at or after the time quantile as held out; returns the cutoff as an age in days.
    private static double GlobalCutoff(InteractionMatrix data, double ratio, bool[] inTest)
    {
        if (data.NonZeros == 0)
        {
            return 0;
        }

        var ages = data.AgeDays.ToArray();
        Array.Sort(ages);
        Array.Reverse(ages); // oldest first
        var index = Math.Clamp((int)Math.Round(data.NonZeros * ratio, MidpointRounding.ToEven), 0, data.NonZeros - 1);
        var cutoff = ages[index];
        for (var p = 0; p < data.NonZeros; p++)
        {
            inTest[p] = data.AgeDays[p] <= cutoff;
        }

        return cutoff;
    }

    private static EvaluationSplit Assemble(InteractionMatrix data, bool[] inTest, SplitOptions options, int trainOnly, double? cutoff)
    {
        var keepItem = new bool[data.ItemCount];
        for (var p = 0; p < data.NonZeros; p++)
        {
            if (!inTest[p])
            {
                keepItem[data.ItemIndices[p]] = true;
            }
        }

        // Items keep their ordinal order; only those with a training interaction are indexed.
        var newIndex = new int[data.ItemCount];
        var items = new List<string>();
        for (var i = 0; i < data.ItemCount; i++)
        {
            newIndex[i] = keepItem[i] ? items.Count : -1;
            if (keepItem[i])
            {
                items.Add(data.Items[i]);
            }
        }

        var users = new List<string>();
        var segments = new List<string?>();
        var rowStart = new List<int> { 0 };
        var columns = new List<int>();
        var weights = new List<float>();
        var ages = new List<float>();
        var test = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        var testSegments = new Dictionary<string, string?>(StringComparer.Ordinal);
        var heldOut = 0;
        for (var u = 0; u < data.UserCount; u++)
        {
            HashSet<string>? held = null;
            var trainItems = 0;
            for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
            {
                if (inTest[p])
                {
                    (held ??= new HashSet<string>(StringComparer.Ordinal)).Add(data.Items[data.ItemIndices[p]]);
                    heldOut++;
                }
                else
                {
                    columns.Add(newIndex[data.ItemIndices[p]]);
                    weights.Add(data.Weights[p]);
                    ages.Add(data.AgeDays[p]);
                    trainItems++;
                }
            }

            if (trainItems > 0)
            {
                users.Add(data.Users[u]);
                segments.Add(data.UserSegments[u]);
                rowStart.Add(columns.Count);
            }

            if (held is not null)
            {
                test[data.Users[u]] = held;
                testSegments[data.Users[u]] = data.UserSegments[u];
            }
        }

        var train = new InteractionMatrix(
            users.ToArray(), segments.ToArray(), items.ToArray(), rowStart.ToArray(), columns.ToArray(), weights.ToArray(), ages.ToArray());
        return new EvaluationSplit(train, test, testSegments, options, heldOut, trainOnly, cutoff);
    }

    // FNV-1a of the user id mixed with the seed: stable across runs and .NET versions (string.GetHashCode is not).
    private static int Mix(int seed, string user)
    {
        unchecked
        {
            var hash = 2166136261u ^ (uint)seed;
            foreach (var c in user)
            {
                hash = (hash ^ c) * 16777619u;
            }

            return (int)(hash & 0x7FFFFFFF);
        }
    }
}
