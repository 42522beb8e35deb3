namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>What makes an item popular.</summary>
public enum PopularityMeasure
{
    /// <summary>The sum of its interaction weights: a purchase counts more than a view (bestsellers).</summary>
    Weight = 0,

    /// <summary>How many distinct users interacted with it, however strongly.</summary>
    Users = 1,
}

/// <summary>Options of the <c>popularity</c> and <c>trending</c> algorithms.</summary>
public sealed record PopularityOptions
{
    /// <summary>
    /// Sum of weights by default: the weights already rank a purchase above a view and damp repeats (log1p), so one
    /// heavy user cannot carry an item, while "bestsellers" stay ahead of merely browsed items.
    /// </summary>
    public PopularityMeasure Measure { get; init; } = PopularityMeasure.Weight;

    /// <summary>
    /// A segment with fewer users than this is served the global list: below a few dozen users a segment's list is
    /// mostly the noise of a handful of histories.
    /// </summary>
    public int MinSegmentUsers { get; init; } = 20;

    /// <summary>Trending: an interaction's weight halves every this many days of <see cref="InteractionMatrix.AgeDays"/>.</summary>
    public double TrendingHalfLifeDays { get; init; } = 7;

    /// <summary>Problems with these options, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!Enum.IsDefined(Measure))
        {
            problems.Add($"popularity.measure must be weight or users ({Measure})");
        }

        if (MinSegmentUsers < 1)
        {
            problems.Add($"popularity.min_segment_users must be at least 1 ({MinSegmentUsers})");
        }

        if (!(TrendingHalfLifeDays > 0) || double.IsInfinity(TrendingHalfLifeDays))
        {
            problems.Add($"popularity.trending_half_life_days must be a positive number of days ({TrendingHalfLifeDays})");
        }

        return problems;
    }
}

/// <summary>
/// Trains <c>popularity</c> (global list plus one list per segment of at least <see cref="PopularityOptions.MinSegmentUsers"/>
/// users) or <c>trending</c> (one global list, each interaction weighed by 0.5^(age / half-life)).
/// </summary>
public sealed class PopularityTrainer : IRecommenderTrainer
{
    private readonly PopularityOptions _options;
    private readonly bool _trending;

    public PopularityTrainer(PopularityOptions? options = null, bool trending = false)
    {
        _options = options ?? new PopularityOptions();
        Options.Throw(_options.Validate());
        _trending = trending;
    }

    public string Algorithm => _trending ? RecommenderAlgorithms.Trending : RecommenderAlgorithms.Popularity;

    IRecommender IRecommenderTrainer.Train(InteractionMatrix data, DateTimeOffset now) => Train(data, now);

    public PopularityModel Train(InteractionMatrix data, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(data);
        var scores = new double[data.ItemCount];
        for (var u = 0; u < data.UserCount; u++)
        {
            Accumulate(data, u, scores);
        }

        var global = Ranked(scores);
        if (_trending)
        {
            return new PopularityModel(RecommenderAlgorithms.Trending, RecommendationSources.Trending, data.Items, global.Items, global.Scores, [], [], []);
        }

        // Users by segment, ordinal order of labels so that two trainings write the same bytes.
        var bySegment = new SortedDictionary<string, List<int>>(StringComparer.Ordinal);
        for (var u = 0; u < data.UserCount; u++)
        {
            if (data.UserSegments[u] is { } segment)
            {
                if (!bySegment.TryGetValue(segment, out var users))
                {
                    bySegment[segment] = users = [];
                }

                users.Add(u);
            }
        }

        var labels = new List<string>();
        var items = new List<int[]>();
        var segmentScores = new List<float[]>();
        foreach (var (segment, users) in bySegment)
        {
            if (users.Count < _options.MinSegmentUsers)
            {
                continue;
            }

            Array.Clear(scores);
            foreach (var u in users)
            {
                Accumulate(data, u, scores);
            }

            var ranked = Ranked(scores);
            labels.Add(segment);
            items.Add(ranked.Items);
            segmentScores.Add(ranked.Scores);
        }

        return new PopularityModel(RecommenderAlgorithms.Popularity, RecommendationSources.Popular, data.Items, global.Items, global.Scores,
            [.. labels], [.. items], [.. segmentScores]);
    }

    private void Accumulate(InteractionMatrix data, int user, double[] scores)
    {
        var start = data.RowStart[user];
        var end = data.RowStart[user + 1];
        for (var p = start; p < end; p++)
        {
            var value = _options.Measure == PopularityMeasure.Users ? 1.0 : data.Weights[p];
            if (_trending)
            {
                value *= Math.Pow(0.5, data.AgeDays[p] / _options.TrendingHalfLifeDays);
            }

            scores[data.ItemIndices[p]] += value;
        }
    }

    /// <summary>Items with a positive score, best first, ties in item index (id) order.</summary>
    private static (int[] Items, float[] Scores) Ranked(double[] scores)
    {
        var items = Enumerable.Range(0, scores.Length).Where(i => scores[i] > 0).ToArray();
        Array.Sort(items, (a, b) => scores[a] != scores[b] ? scores[b].CompareTo(scores[a]) : a.CompareTo(b));
        return (items, items.Select(i => (float)scores[i]).ToArray());
    }
}

/// <summary>
/// Ranked lists: global, and per segment. A query whose segment has a list gets it (source <c>segment-popular</c>,
/// because = the segment), topped up from the global list when the segment's list runs out; any other query gets the
/// global list (source <c>popular</c>, or <c>trending</c> for the trending model). History is ignored.
/// </summary>
public sealed class PopularityModel : IRecommender
{
    private readonly ItemIndex _items;
    private readonly Dictionary<string, int> _segments;

    internal PopularityModel(string algorithm, string globalSource, string[] items, int[] globalItems, float[] globalScores,
        string[] segments, int[][] segmentItems, float[][] segmentScores)
    {
        Algorithm = algorithm;
        GlobalSource = globalSource;
        _items = new ItemIndex(items);
        GlobalItems = globalItems;
        GlobalScores = globalScores;
        Segments = segments;
        SegmentItems = segmentItems;
        SegmentScores = segmentScores;
        _segments = new Dictionary<string, int>(segments.Length, StringComparer.Ordinal);
        for (var s = 0; s < segments.Length; s++)
        {
            _segments[segments[s]] = s;
        }

        GlobalRanks = RanksOf(globalItems, items.Length);
        SegmentRanks = Array.ConvertAll(segmentItems, list => RanksOf(list, items.Length));
    }

    public string Algorithm { get; }

    internal string GlobalSource { get; }

    internal string[] Items => _items.Items;

    internal int[] GlobalItems { get; }

    internal float[] GlobalScores { get; }

    /// <summary>Segments with their own list (at least the configured number of users), in ordinal order.</summary>
    public IReadOnlyList<string> Segments { get; }

    internal int[][] SegmentItems { get; }

    internal float[][] SegmentScores { get; }

    /// <summary>Each item's place in the global list (-1: not in it), so that the hybrid finds an item's score without a search.</summary>
    internal int[] GlobalRanks { get; }

    /// <summary>Each item's place in each segment's list (-1: not in it).</summary>
    internal int[][] SegmentRanks { get; }

    /// <summary>The item's index in <see cref="Items"/>; -1 for an item the model does not know.</summary>
    internal int IndexOf(string itemId) => _items.IndexOf(itemId);

    /// <summary>The index of <paramref name="segment"/>'s list in <see cref="SegmentItems"/>; -1 when it has none.</summary>
    internal int SegmentIndexOf(string? segment) => segment is not null && _segments.TryGetValue(segment, out var s) ? s : -1;

    private static int[] RanksOf(int[] list, int itemCount)
    {
        var ranks = new int[itemCount];
        Array.Fill(ranks, -1);
        for (var r = 0; r < list.Length; r++)
        {
            ranks[list[r]] = r;
        }

        return ranks;
    }

    public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query)
    {
        Queries.Check(query);
        var result = new List<ScoredItem>(Math.Min(query.Count, _items.Count));
        Fill(query.Segment, query.Count, query.Exclude, result, null);
        return result;
    }

    /// <summary>True when <paramref name="segment"/> has its own list.</summary>
    public bool HasSegment(string? segment) => segment is not null && _segments.ContainsKey(segment);

    /// <summary>
    /// Appends up to <paramref name="count"/> items in total to <paramref name="into"/>: the segment's list, then the
    /// global one; skips exclusions, items already in the list (<paramref name="taken"/>, if given) and repeats.
    /// </summary>
    internal void Fill(string? segment, int count, IReadOnlySet<string> exclude, List<ScoredItem> into, HashSet<string>? taken)
    {
        if (segment is not null && _segments.TryGetValue(segment, out var s))
        {
            Append(SegmentItems[s], SegmentScores[s], RecommendationSources.SegmentPopular, segment, count, exclude, into, taken ??= []);
        }

        Append(GlobalItems, GlobalScores, GlobalSource, null, count, exclude, into, taken);
    }

    /// <summary>The list a query with <paramref name="segment"/> is served (segment or global), as (index, score) pairs.</summary>
    internal (int[] Items, float[] Scores, string Source, string? Because) ListFor(string? segment) =>
        segment is not null && _segments.TryGetValue(segment, out var s)
            ? (SegmentItems[s], SegmentScores[s], RecommendationSources.SegmentPopular, segment)
            : (GlobalItems, GlobalScores, GlobalSource, null);

    private void Append(int[] items, float[] scores, string source, string? because, int count, IReadOnlySet<string> exclude,
        List<ScoredItem> into, HashSet<string>? taken)
    {
        for (var r = 0; r < items.Length && into.Count < count; r++)
        {
            var id = _items.Items[items[r]];
            if (exclude.Contains(id) || (taken is not null && !taken.Add(id)))
            {
                continue;
            }

            into.Add(new ScoredItem(id, scores[r], source, because));
        }
    }
}
