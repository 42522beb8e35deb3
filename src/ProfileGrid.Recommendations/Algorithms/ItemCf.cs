using System.Buffers;

namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>Options of the <c>item-cf</c> algorithm (item-item collaborative filtering).</summary>
public sealed record ItemCfOptions
{
    /// <summary>
    /// Shrinkage in sim(a, b) = a·b / (|a||b| + shrink): pulls the similarity of items that share few users towards 0.
    /// 10 is the usual order in the literature for weights of order 1 (Koren 2008 uses 100 for rating counts); 0 is plain cosine.
    /// </summary>
    public double Shrink { get; init; } = 10;

    /// <summary>Neighbours kept per item: 50 keeps most of the accuracy of a full model at 20,000 items in 8 MB.</summary>
    public int Neighbours { get; init; } = 50;

    /// <summary>
    /// Threads of the co-occurrence pass. 1 by default: training runs in a silo next to serving, and a second core
    /// keeps serving latency; a dedicated trainer can raise it (the result is the same for any value).
    /// </summary>
    public int TrainingThreads { get; init; } = 1;

    /// <summary>Problems with these options, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(Shrink >= 0) || double.IsInfinity(Shrink))
        {
            problems.Add($"item_cf.shrink must be 0 or positive ({Shrink})");
        }

        if (Neighbours is < 1 or > 10_000)
        {
            problems.Add($"item_cf.neighbours must be between 1 and 10000 ({Neighbours})");
        }

        if (TrainingThreads is < 1 or > 256)
        {
            problems.Add($"item_cf.training_threads must be between 1 and 256 ({TrainingThreads})");
        }

        return problems;
    }
}

/// <summary>
/// Item-item CF: cosine with shrinkage between the items' user columns, keeping each item's top-k neighbours. The dot
/// products come from the sparse rows (for each item, over its users, over their items), so no items × items matrix
/// exists: memory is one accumulator per thread plus the n × k result.
/// </summary>
public sealed class ItemCfTrainer(ItemCfOptions? options = null) : IRecommenderTrainer
{
    private readonly ItemCfOptions _options = Validated(options ?? new ItemCfOptions());

    public string Algorithm => RecommenderAlgorithms.ItemCf;

    IRecommender IRecommenderTrainer.Train(InteractionMatrix data, DateTimeOffset now) => Train(data);

    public ItemCfModel Train(InteractionMatrix data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var n = data.ItemCount;
        var k = Math.Min(_options.Neighbours, Math.Max(n - 1, 0));

        // Columns (item -> users with weights) by a counting sort of the rows; users stay in ascending order, so every
        // sum below adds in the same order on every run.
        var columnStart = new int[n + 1];
        foreach (var i in data.ItemIndices)
        {
            columnStart[i + 1]++;
        }

        for (var i = 0; i < n; i++)
        {
            columnStart[i + 1] += columnStart[i];
        }

        var columnUsers = new int[data.NonZeros];
        var columnWeights = new float[data.NonZeros];
        var norms = new double[n];
        var fill = columnStart[..n];
        for (var u = 0; u < data.UserCount; u++)
        {
            for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
            {
                var i = data.ItemIndices[p];
                var w = data.Weights[p];
                columnUsers[fill[i]] = u;
                columnWeights[fill[i]++] = w;
                norms[i] += (double)w * w;
            }
        }

        for (var i = 0; i < n; i++)
        {
            norms[i] = Math.Sqrt(norms[i]);
        }

        var slotItems = new int[n * k];
        var slotScores = new float[n * k];
        var counts = new int[n];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.TrainingThreads };
        Parallel.For(0, n, parallel,
            () => (Dots: new double[n], Touched: new int[n], TouchedBy: new int[n], HeapScores: new double[k], HeapItems: new int[k]),
            (i, _, scratch) =>
            {
                var touched = 0;
                var dots = scratch.Dots;
                // Marked by item (i + 1), not by a zero sum: a product that underflows to 0 (weights decayed over hundreds
                // of half-lives) left the sum 0 and listed its item again, past the end of Touched.
                var touchedBy = scratch.TouchedBy;
                for (var c = columnStart[i]; c < columnStart[i + 1]; c++)
                {
                    var u = columnUsers[c];
                    var wi = (double)columnWeights[c];
                    for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
                    {
                        var j = data.ItemIndices[p];
                        if (touchedBy[j] != i + 1)
                        {
                            touchedBy[j] = i + 1;
                            scratch.Touched[touched++] = j;
                        }

                        dots[j] += wi * data.Weights[p];
                    }
                }

                var top = new TopN(scratch.HeapScores, scratch.HeapItems);
                for (var t = 0; t < touched; t++)
                {
                    var j = scratch.Touched[t];
                    var dot = dots[j];
                    dots[j] = 0;
                    if (j != i)
                    {
                        // Rounded to float first, as the model stores it, so that ties are ties in the stored order too.
                        top.Offer((float)(dot / (norms[i] * norms[j] + _options.Shrink)), j);
                    }
                }

                var count = top.SortDescending();
                counts[i] = count;
                for (var r = 0; r < count; r++)
                {
                    slotItems[i * k + r] = scratch.HeapItems[r];
                    slotScores[i * k + r] = (float)scratch.HeapScores[r];
                }

                return scratch;
            },
            _ => { });

        var start = new int[n + 1];
        for (var i = 0; i < n; i++)
        {
            start[i + 1] = start[i] + counts[i];
        }

        var neighbours = new int[start[n]];
        var similarities = new float[start[n]];
        for (var i = 0; i < n; i++)
        {
            Array.Copy(slotItems, i * k, neighbours, start[i], counts[i]);
            Array.Copy(slotScores, i * k, similarities, start[i], counts[i]);
        }

        return new ItemCfModel(data.Items, start, neighbours, similarities);
    }

    private static ItemCfOptions Validated(ItemCfOptions options)
    {
        Options.Throw(options.Validate());
        return options;
    }
}

/// <summary>
/// Each item's top-k neighbours in compressed rows (item i's neighbours span [NeighbourStart[i], NeighbourStart[i+1])
/// of <see cref="Neighbours"/> and <see cref="Similarities"/>, best first). A user's score for item j is
/// Σ over their history h of weight(h) × sim(h, j), accumulated over the history's neighbour lists only (history × k
/// additions, not one score per catalog item); because = the history item that contributed most.
/// </summary>
public sealed class ItemCfModel : IRecommender
{
    private readonly ItemIndex _items;

    // Zeroed scratch per call; every call leaves its arrays zeroed again, so the pool never needs a full clear.
    private readonly ArrayPool<double> _doubles;
    private readonly int _maxNeighbours;

    internal ItemCfModel(string[] items, int[] neighbourStart, int[] neighbours, float[] similarities)
    {
        if (neighbourStart.Length != items.Length + 1 || neighbours.Length != similarities.Length || neighbourStart[^1] != neighbours.Length)
        {
            throw new ArgumentException("Inconsistent neighbour lists.");
        }

        _items = new ItemIndex(items);
        NeighbourStart = neighbourStart;
        Neighbours = neighbours;
        Similarities = similarities;
        // The pool's largest bucket must hold n, or every rent would allocate (on the large object heap past 10,600 items).
        _doubles = ArrayPool<double>.Create((int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(items.Length, 16)), 64);
        for (var i = 0; i < items.Length; i++)
        {
            _maxNeighbours = Math.Max(_maxNeighbours, neighbourStart[i + 1] - neighbourStart[i]);
        }
    }

    public string Algorithm => RecommenderAlgorithms.ItemCf;

    internal string[] Items => _items.Items;

    internal int[] NeighbourStart { get; }

    internal int[] Neighbours { get; }

    internal float[] Similarities { get; }

    /// <summary>The items most similar to <paramref name="itemId"/> (source cf, because = that item); null for an unknown item.</summary>
    public IReadOnlyList<ScoredItem>? SimilarItems(string itemId, int count, IReadOnlySet<string>? exclude = null)
    {
        var i = _items.IndexOf(itemId);
        if (i < 0)
        {
            return null;
        }

        var result = new List<ScoredItem>();
        for (var p = NeighbourStart[i]; p < NeighbourStart[i + 1] && result.Count < count; p++)
        {
            var id = _items.Items[Neighbours[p]];
            if (exclude is null || !exclude.Contains(id))
            {
                result.Add(new ScoredItem(id, Similarities[p], RecommendationSources.ItemItemCf, itemId));
            }
        }

        return result;
    }

    public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query)
    {
        Queries.Check(query);
        var wanted = Math.Min(query.Count, _items.Count);
        if (wanted == 0 || query.History.Count == 0)
        {
            return [];
        }

        var scores = ArrayPool<double>.Shared.Rent(wanted);
        var items = ArrayPool<int>.Shared.Rent(wanted);
        var because = ArrayPool<int>.Shared.Rent(wanted);
        try
        {
            var kept = RecommendIndices(query, scores.AsSpan(0, wanted), items.AsSpan(0, wanted), because.AsSpan(0, wanted));
            var result = new ScoredItem[kept];
            for (var r = 0; r < kept; r++)
            {
                result[r] = new ScoredItem(_items.Items[items[r]], scores[r], RecommendationSources.ItemItemCf, _items.Items[because[r]]);
            }

            return result;
        }
        finally
        {
            ArrayPool<double>.Shared.Return(scores);
            ArrayPool<int>.Shared.Return(items);
            ArrayPool<int>.Shared.Return(because);
        }
    }

    /// <summary>
    /// <see cref="Recommend"/> by item index: writes the best (score, item, because) triples, best first, into the
    /// spans (as many as they hold) and returns how many. Allocates nothing; the hybrid blends these without building
    /// an item for every candidate.
    /// </summary>
    internal int RecommendIndices(RecommendationQuery query, Span<double> outScores, Span<int> outItems, Span<int> outBecause)
    {
        var n = _items.Count;
        var wanted = Math.Min(outScores.Length, n);
        if (wanted == 0 || query.History.Count == 0)
        {
            return 0;
        }

        var scores = _doubles.Rent(n);
        var best = _doubles.Rent(n);
        var because = ArrayPool<int>.Shared.Rent(n);
        var touched = ArrayPool<int>.Shared.Rent(MaxCandidates(query.History.Count));
        var count = 0;
        try
        {
            count = Accumulate(query.History, scores, best, because, touched);
            var top = new TopN(outScores[..wanted], outItems[..wanted]);
            for (var t = 0; t < count; t++)
            {
                var j = touched[t];
                if (top.WouldTake(scores[j], j) && !query.Exclude.Contains(_items.Items[j]))
                {
                    top.Offer(scores[j], j);
                }
            }

            var kept = top.SortDescending();
            for (var r = 0; r < kept; r++)
            {
                outBecause[r] = because[outItems[r]];
            }

            return kept;
        }
        finally
        {
            ReturnScratch(scores, best, because, touched.AsSpan(0, count));
            ArrayPool<int>.Shared.Return(touched);
        }
    }

    /// <summary>The most items a history of <paramref name="historyCount"/> items can score: the spans of <see cref="CandidateIndices"/> hold this many.</summary>
    internal int MaxCandidates(int historyCount) => Math.Max(1, (int)Math.Min(_items.Count, (long)historyCount * _maxNeighbours));

    /// <summary>
    /// Every item the history scores above 0, excluded or not, in no order: (score, item, because) into the spans, which
    /// hold at least <see cref="MaxCandidates"/>. Returns how many. The hybrid blends all of them, so that an item's place
    /// does not depend on how long a list was asked for.
    /// </summary>
    internal int CandidateIndices(IReadOnlyList<(string ItemId, double Weight)> history, Span<double> outScores, Span<int> outItems, Span<int> outBecause)
    {
        var n = _items.Count;
        if (n == 0 || history.Count == 0)
        {
            return 0;
        }

        var scores = _doubles.Rent(n);
        var best = _doubles.Rent(n);
        var because = ArrayPool<int>.Shared.Rent(n);
        var count = 0;
        try
        {
            count = Accumulate(history, scores, best, because, outItems);
            for (var t = 0; t < count; t++)
            {
                var j = outItems[t];
                outScores[t] = scores[j];
                outBecause[t] = because[j];
            }

            return count;
        }
        finally
        {
            ReturnScratch(scores, best, because, outItems[..count]);
        }
    }

    /// <summary>Zeroes the touched entries (the pooled arrays are handed out zeroed) and returns the scratch arrays.</summary>
    private void ReturnScratch(double[] scores, double[] best, int[] because, ReadOnlySpan<int> touched)
    {
        foreach (var j in touched)
        {
            scores[j] = 0;
            best[j] = 0;
        }

        _doubles.Return(scores);
        _doubles.Return(best);
        ArrayPool<int>.Shared.Return(because);
    }

    /// <summary>
    /// Adds the history's neighbour lists into <paramref name="scores"/> (zeroed on entry), keeping for each item the
    /// history item that contributed most; writes the items touched into <paramref name="touched"/> and returns how many.
    /// </summary>
    private int Accumulate(IReadOnlyList<(string ItemId, double Weight)> history, double[] scores, double[] best, int[] because, Span<int> touched)
    {
        var count = 0;
        for (var k = 0; k < history.Count; k++)
        {
            var (itemId, weight) = history[k];
            var h = _items.IndexOf(itemId);
            if (h < 0 || !(weight > 0))
            {
                continue;
            }

            for (var p = NeighbourStart[h]; p < NeighbourStart[h + 1]; p++)
            {
                var j = Neighbours[p];
                var contribution = weight * Similarities[p];
                if (!(contribution > 0))
                {
                    continue;
                }

                if (scores[j] == 0)
                {
                    // First touch (every contribution is positive, so a zero score means untouched).
                    touched[count++] = j;
                    best[j] = contribution;
                    because[j] = h;
                }
                else if (contribution > best[j] || (contribution == best[j] && h < because[j]))
                {
                    best[j] = contribution;
                    because[j] = h;
                }

                scores[j] += contribution;
            }
        }

        return count;
    }

}
