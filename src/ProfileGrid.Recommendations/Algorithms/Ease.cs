using MathNet.Numerics.LinearAlgebra;

namespace ProfileGrid.Recommendations.Algorithms;

/// <summary>Options of the <c>ease</c> algorithm (Steck 2019, "Embarrassingly Shallow Autoencoders").</summary>
public sealed record EaseOptions
{
    /// <summary>
    /// The model keeps the this many most popular items (by distinct users; ties in id order); others are unknown to
    /// it (the hybrid serves them through popularity). Training inverts a dense items × items matrix: time grows with
    /// the cube and memory with the square (3,000 items: about 300 MB while training, a 36 MB model; MathNet's
    /// managed provider, since its OpenBLAS provider needs a native wrapper it ships for Windows only).
    /// </summary>
    public int MaxItems { get; init; } = 3_000;

    /// <summary>The L2 penalty; null (the default) chooses it from <see cref="LambdaGrid"/> by validation.</summary>
    public double? Lambda { get; init; }

    /// <summary>
    /// Candidate penalties. With <see cref="ScaleLambdaGrid"/> each is multiplied by mean(diag(XᵀX)) / 500: the grid
    /// as written suits data like MovieLens-20M with unit weights (mean diagonal about 500 to 1,000; Steck's best λ 500),
    /// and keeps its meaning when weights or user counts are larger or smaller.
    /// </summary>
    public IReadOnlyList<double> LambdaGrid { get; init; } = [10, 50, 100, 250, 500, 1000];

    public bool ScaleLambdaGrid { get; init; } = true;

    /// <summary>
    /// When validation's best λ is the largest (or smallest) of the grid, the grid grows in that direction by
    /// <see cref="LambdaGridExtensionFactor"/> and the new λ is validated, up to this many times, until the best is
    /// inside the grid; 0 keeps the grid as given. Each step is one more fit at the validation size.
    /// </summary>
    public int LambdaGridExtensionSteps { get; init; } = 4;

    /// <summary>
    /// The ratio between a new λ and the edge of the grid it extends. 4 (with 4 steps: up to 256 × the grid's largest,
    /// or 1/256 of its smallest) is coarser than the default grid's ×2 to ×5 spacing: reach matters more than
    /// resolution there, as nDCG changes little within a factor of a few near its best.
    /// </summary>
    public double LambdaGridExtensionFactor { get; init; } = 4;

    /// <summary>Validation: the share of each chosen user's items held out (at least one).</summary>
    public double ValidationFraction { get; init; } = 0.2;

    /// <summary>Validation: at most this many users, each with at least <see cref="ValidationMinItems"/> known items, drawn with <see cref="Seed"/>.</summary>
    public int ValidationUsers { get; init; } = 2_000;

    public int ValidationMinItems { get; init; } = 4;

    /// <summary>
    /// Validation fits on at most this many of the kept items (the most popular): a fit costs the cube of the item
    /// count, so choosing λ among 6 candidates at 1,000 items costs about a quarter of the one final fit at 3,000. λ
    /// carries over because it is compared with per-item diagonal entries of XᵀX, which do not depend on the catalog size.
    /// </summary>
    public int ValidationMaxItems { get; init; } = 1_000;

    /// <summary>Validation metric: nDCG at this cut-off, training items removed from the list.</summary>
    public int ValidationK { get; init; } = 10;

    public int Seed { get; init; } = 42;

    /// <summary>Problems with these options, each naming its field; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxItems is < 2 or > 20_000)
        {
            problems.Add($"ease.max_items must be between 2 and 20000 ({MaxItems})");
        }

        if (Lambda is { } lambda && (!(lambda > 0) || double.IsInfinity(lambda)))
        {
            problems.Add($"ease.lambda must be a positive number ({lambda})");
        }

        if (Lambda is null && (LambdaGrid is null || LambdaGrid.Count == 0 || LambdaGrid.Any(l => !(l > 0) || double.IsInfinity(l))))
        {
            problems.Add("ease.lambda_grid must list at least one positive number when ease.lambda is not set");
        }

        if (LambdaGridExtensionSteps is < 0 or > 20)
        {
            problems.Add($"ease.lambda_grid_extension_steps must be between 0 and 20 ({LambdaGridExtensionSteps})");
        }

        if (!(LambdaGridExtensionFactor > 1 && LambdaGridExtensionFactor <= 100))
        {
            problems.Add($"ease.lambda_grid_extension_factor must be above 1 and at most 100 ({LambdaGridExtensionFactor})");
        }

        if (!(ValidationFraction > 0 && ValidationFraction < 1))
        {
            problems.Add($"ease.validation_fraction must be between 0 and 1, exclusive ({ValidationFraction})");
        }

        if (ValidationUsers < 1)
        {
            problems.Add($"ease.validation_users must be at least 1 ({ValidationUsers})");
        }

        if (ValidationMinItems < 2)
        {
            problems.Add($"ease.validation_min_items must be at least 2 ({ValidationMinItems})");
        }

        if (ValidationMaxItems < 2)
        {
            problems.Add($"ease.validation_max_items must be at least 2 ({ValidationMaxItems})");
        }

        if (ValidationK < 1)
        {
            problems.Add($"ease.validation_k must be at least 1 ({ValidationK})");
        }

        return problems;
    }
}

/// <summary>
/// EASE: B = I − P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, so diag(B) = 0; a user's scores are x·B. λ comes from
/// the options or from validation: on the most popular <see cref="EaseOptions.ValidationMaxItems"/> items, a seeded
/// share of some users' items is held out, B is fitted on the rest for each candidate λ and the one with the best mean
/// nDCG@k on the held-out items wins (the smallest on a tie); while the winner is the grid's largest or smallest, the
/// grid is extended past it (<see cref="EaseOptions.LambdaGridExtensionSteps"/>); the model is then fitted on all data
/// and all kept items. Training costs (candidates tried × fits at the validation size) + one fit at the kept size; a
/// fit is a Cholesky inverse of a dense matrix (MathNet, managed) and peaks at about four n × n double matrices
/// (n = 3,000: about 300 MB).
/// </summary>
public sealed class EaseTrainer(EaseOptions? options = null) : IRecommenderTrainer
{
    private readonly EaseOptions _options = Validated(options ?? new EaseOptions());

    public string Algorithm => RecommenderAlgorithms.Ease;

    IRecommender IRecommenderTrainer.Train(InteractionMatrix data, DateTimeOffset now) => Train(data);

    public EaseModel Train(InteractionMatrix data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var kept = KeptItems(data, _options.MaxItems);
        var n = kept.Length;
        var map = new int[data.ItemCount];
        Array.Fill(map, -1);
        for (var k = 0; k < n; k++)
        {
            map[kept[k]] = k;
        }

        var rows = Rows(data, map);
        var items = kept.Select(i => data.Items[i]).ToArray();
        if (n == 0)
        {
            return new EaseModel(items, [], 0, data.ItemCount, [], []);
        }

        double lambda;
        var grid = Array.Empty<double>();
        var scores = Array.Empty<double>();
        if (_options.Lambda is { } fixedLambda)
        {
            lambda = fixedLambda;
        }
        else
        {
            (grid, scores) = Validate(rows, n);
            lambda = grid[Array.IndexOf(scores, scores.Max())];
        }

        return new EaseModel(items, Fit(Gram(rows, n, null), n, lambda), lambda, data.ItemCount, grid, scores);
    }

    /// <summary>The most popular <paramref name="max"/> items (distinct users, ties by index), in index order.</summary>
    internal static int[] KeptItems(InteractionMatrix data, int max)
    {
        var users = new int[data.ItemCount];
        foreach (var i in data.ItemIndices)
        {
            users[i]++;
        }

        var order = Enumerable.Range(0, data.ItemCount).Where(i => users[i] > 0).ToArray();
        Array.Sort(order, (a, b) => users[a] != users[b] ? users[b].CompareTo(users[a]) : a.CompareTo(b));
        var kept = order.Take(max).ToArray();
        Array.Sort(kept);
        return kept;
    }

    /// <summary>
    /// B from the Gram matrix XᵀX (column-major, n × n, changed in place): P = (G + λI)⁻¹ by Cholesky (G + λI is
    /// symmetric positive definite), then B[i, j] = −P[i, j] / P[j, j] off the diagonal, 0 on it; row-major floats.
    /// </summary>
    internal static float[] Fit(double[] gram, int n, double lambda)
    {
        for (var i = 0; i < n; i++)
        {
            gram[i * n + i] += lambda;
        }

        var g = Matrix<double>.Build.Dense(n, n, gram);
        var p = g.Cholesky().Solve(Matrix<double>.Build.DenseIdentity(n));
        var values = p.AsColumnMajorArray() ?? p.ToColumnMajorArray();
        var b = new float[n * n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                // P is symmetric, so its column-major P[i, j] is also at i * n + j.
                b[i * n + j] = i == j ? 0f : (float)(-values[i * n + j] / values[j * n + j]);
            }
        }

        return b;
    }

    /// <summary>XᵀX over the given rows (kept indices and weights), dense column-major; rows in <paramref name="skip"/> use only their training part.</summary>
    internal static double[] Gram(List<(int[] Items, float[] Weights)> rows, int n, Dictionary<int, HashSet<int>>? heldOut)
    {
        var gram = new double[n * n];
        var items = new int[n];
        var weights = new double[n];
        for (var u = 0; u < rows.Count; u++)
        {
            var (rowItems, rowWeights) = rows[u];
            var hidden = heldOut?.GetValueOrDefault(u);
            var d = 0;
            for (var p = 0; p < rowItems.Length; p++)
            {
                if (hidden is null || !hidden.Contains(rowItems[p]))
                {
                    items[d] = rowItems[p];
                    weights[d++] = rowWeights[p];
                }
            }

            for (var a = 0; a < d; a++)
            {
                var column = items[a] * n;
                var wa = weights[a];
                for (var c = 0; c < d; c++)
                {
                    gram[column + items[c]] += wa * weights[c];
                }
            }
        }

        return gram;
    }

    private static List<(int[] Items, float[] Weights)> Rows(InteractionMatrix data, int[] map)
    {
        var rows = new List<(int[], float[])>(data.UserCount);
        var items = new List<int>();
        var weights = new List<float>();
        for (var u = 0; u < data.UserCount; u++)
        {
            items.Clear();
            weights.Clear();
            for (var p = data.RowStart[u]; p < data.RowStart[u + 1]; p++)
            {
                if (map[data.ItemIndices[p]] is var k and >= 0)
                {
                    items.Add(k);
                    weights.Add(data.Weights[p]);
                }
            }

            rows.Add(([.. items], [.. weights]));
        }

        return rows;
    }

    /// <summary>
    /// Every λ tried, ascending (the scaled grid, extended past an edge that won), and each one's mean nDCG@k on the
    /// held-out items.
    /// </summary>
    private (double[] Grid, double[] Scores) Validate(List<(int[] Items, float[] Weights)> allRows, int allItems)
    {
        // The grid's scale comes from every kept item's diagonal entry Σ w², computed without the Gram matrix.
        var scale = 1.0;
        if (_options.ScaleLambdaGrid)
        {
            var diagonal = 0.0;
            foreach (var (_, weights) in allRows)
            {
                foreach (var w in weights)
                {
                    diagonal += (double)w * w;
                }
            }

            scale = diagonal / allItems / 500;
        }

        // Ascending and distinct, so that "at the edge" means the first or the last and a tie goes to the smaller λ.
        var grid = _options.LambdaGrid.Select(l => l * scale).Where(l => l > 0 && !double.IsInfinity(l)).Distinct().Order().ToList();
        if (grid.Count == 0)
        {
            grid = [.. _options.LambdaGrid.Distinct().Order()];
        }

        var (rows, n) = MostPopular(allRows, allItems, _options.ValidationMaxItems);
        var random = new Random(_options.Seed);
        var candidates = Enumerable.Range(0, rows.Count).Where(u => rows[u].Items.Length >= _options.ValidationMinItems).ToArray();
        random.Shuffle(candidates);
        var chosen = candidates.Take(_options.ValidationUsers).Order().ToArray();
        var heldOut = new Dictionary<int, HashSet<int>>();
        foreach (var u in chosen)
        {
            var items = (int[])rows[u].Items.Clone();
            random.Shuffle(items);
            var hide = Math.Max(1, (int)Math.Round(items.Length * _options.ValidationFraction));
            heldOut[u] = [.. items.Take(hide)];
        }

        if (grid.Count == 1 || chosen.Length == 0)
        {
            return ([.. grid], new double[grid.Count]);
        }

        var trainGram = Gram(rows, n, heldOut);
        var user = new double[n];
        var scores = grid.Select(Score).ToList();

        // A best λ at the edge says only that the best may lie beyond it: extend the grid that way and look again.
        // Going up can only move the best up or make it interior (the old edge beat everything below it), and the
        // same holds going down, so the grid grows in one direction. An edge that only ties its neighbour is a
        // plateau (λ → ∞ ranks like XᵀX, λ → 0 like least squares), where more fits would buy nothing.
        for (var step = 0; step < _options.LambdaGridExtensionSteps && AtEdge(scores) is var edge and not 0; step++)
        {
            if (edge > 0)
            {
                var lambda = grid[^1] * _options.LambdaGridExtensionFactor;
                if (double.IsInfinity(lambda))
                {
                    break;
                }

                grid.Add(lambda);
                scores.Add(Score(lambda));
            }
            else
            {
                var lambda = grid[0] / _options.LambdaGridExtensionFactor;
                if (!(lambda > 0))
                {
                    break;
                }

                grid.Insert(0, lambda);
                scores.Insert(0, Score(lambda));
            }
        }

        return ([.. grid], [.. scores]);

        // Mean nDCG@k of the held-out items, B fitted on the training part with this λ.
        double Score(double lambda)
        {
            var b = Fit((double[])trainGram.Clone(), n, lambda);
            var sum = 0.0;
            foreach (var u in chosen)
            {
                Array.Clear(user);
                var hidden = heldOut[u];
                var (items, weights) = rows[u];
                var training = new HashSet<int>();
                for (var p = 0; p < items.Length; p++)
                {
                    if (!hidden.Contains(items[p]))
                    {
                        training.Add(items[p]);
                        var w = weights[p];
                        var row = items[p] * n;
                        for (var j = 0; j < n; j++)
                        {
                            user[j] += w * b[row + j];
                        }
                    }
                }

                var top = Enumerable.Range(0, n).Where(j => !training.Contains(j))
                    .OrderByDescending(j => user[j]).ThenBy(j => j).Take(_options.ValidationK).ToArray();
                sum += Ranking.NdcgAtK(top, hidden, _options.ValidationK);
            }

            return sum / chosen.Length;
        }
    }

    /// <summary>
    /// +1 when the best score (the smallest λ's on a tie) is the last and beats the one before it, −1 when it is the
    /// first and beats the one after it, else 0: whether the best may lie beyond the grid.
    /// </summary>
    internal static int AtEdge(IReadOnlyList<double> scores)
    {
        if (scores.Count < 2)
        {
            return 0;
        }

        var best = 0;
        for (var g = 1; g < scores.Count; g++)
        {
            if (scores[g] > scores[best])
            {
                best = g;
            }
        }

        return best == scores.Count - 1 && scores[best] > scores[best - 1] ? 1
            : best == 0 && scores[0] > scores[1] ? -1
            : 0;
    }

    /// <summary>The rows restricted to the <paramref name="max"/> items with most users (ties by index), re-indexed in index order.</summary>
    private static (List<(int[] Items, float[] Weights)> Rows, int Items) MostPopular(List<(int[] Items, float[] Weights)> rows, int n, int max)
    {
        if (n <= max)
        {
            return (rows, n);
        }

        var users = new int[n];
        foreach (var (items, _) in rows)
        {
            foreach (var i in items)
            {
                users[i]++;
            }
        }

        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => users[a] != users[b] ? users[b].CompareTo(users[a]) : a.CompareTo(b));
        var kept = order.Take(max).Order().ToArray();
        var map = new int[n];
        Array.Fill(map, -1);
        for (var k = 0; k < kept.Length; k++)
        {
            map[kept[k]] = k;
        }

        var result = new List<(int[], float[])>(rows.Count);
        foreach (var (items, weights) in rows)
        {
            var keep = Enumerable.Range(0, items.Length).Where(p => map[items[p]] >= 0).ToArray();
            result.Add(([.. keep.Select(p => map[items[p]])], [.. keep.Select(p => weights[p])]));
        }

        return (result, kept.Length);
    }

    private static EaseOptions Validated(EaseOptions options)
    {
        Options.Throw(options.Validate());
        return options;
    }
}

/// <summary>
/// A trained EASE model: the kept items and B (row-major floats: row i is what history item i adds to every item's
/// score). Items with no positive score are not recommended; unknown history items are ignored.
/// </summary>
public sealed class EaseModel : IRecommender
{
    private readonly ItemIndex _items;

    internal EaseModel(string[] items, float[] weights, double lambda, int catalogItems, double[] lambdaGrid, double[] lambdaScores)
    {
        if (weights.Length != (long)items.Length * items.Length || lambdaGrid.Length != lambdaScores.Length)
        {
            throw new ArgumentException("Inconsistent EASE model.");
        }

        _items = new ItemIndex(items);
        Weights = weights;
        Lambda = lambda;
        CatalogItems = catalogItems;
        LambdaGrid = lambdaGrid;
        LambdaScores = lambdaScores;
    }

    public string Algorithm => RecommenderAlgorithms.Ease;

    /// <summary>The items the model knows (the most popular <see cref="EaseOptions.MaxItems"/>), in id order.</summary>
    public IReadOnlyList<string> Items => _items.Items;

    /// <summary>How many items the training data had, of which <see cref="Items"/> were kept.</summary>
    public int CatalogItems { get; }

    /// <summary>The L2 penalty used.</summary>
    public double Lambda { get; }

    /// <summary>
    /// Every candidate validation tried, ascending (empty when λ was given): the scaled grid and any extension past its
    /// edge; <see cref="LambdaScores"/> holds their mean nDCG@k in the same order.
    /// </summary>
    public IReadOnlyList<double> LambdaGrid { get; }

    public IReadOnlyList<double> LambdaScores { get; }

    /// <summary>
    /// What a user should know: that only the most popular items are modelled, and that validation preferred a λ at
    /// the edge of its grid even after extending it (the best may lie beyond it).
    /// </summary>
    public IReadOnlyList<string> Warnings
    {
        get
        {
            var warnings = new List<string>();
            if (Items.Count < CatalogItems)
            {
                warnings.Add($"EASE models the {Items.Count:N0} most popular of {CatalogItems:N0} items (ease.max_items); the others are served by popularity.");
            }

            // Ordered by λ, as training lists them (a model written before the grid was sorted may not be).
            if (EaseTrainer.AtEdge([.. LambdaGrid.Zip(LambdaScores).OrderBy(p => p.First).Select(p => p.Second)]) != 0)
            {
                warnings.Add($"EASE's λ {Lambda:G4} is at the edge of the validation grid ({LambdaGrid.Min():G4}..{LambdaGrid.Max():G4}); the best may lie beyond it (ease.lambda_grid, ease.lambda_grid_extension_steps).");
            }
            else if (LambdaScores.Count > 1 && LambdaScores.All(s => s == LambdaScores[0]))
            {
                // Every λ ranked alike (or nobody could be validated): the choice says nothing, and no extension was tried.
                warnings.Add($"EASE's validation scored every λ alike ({LambdaGrid.Min():G4}..{LambdaGrid.Max():G4}, nDCG {LambdaScores[0]:F4}); λ {Lambda:G4} is the smallest, not a tuned choice (ease.lambda_grid).");
            }

            return warnings;
        }
    }

    /// <summary>B, row-major: B[i * n + j] is the weight of item i in item j's score.</summary>
    internal float[] Weights { get; }

    /// <summary>B[i, j] by item ids (for tests and explanations); null when either is unknown.</summary>
    public double? Weight(string from, string to) =>
        _items.IndexOf(from) is var i and >= 0 && _items.IndexOf(to) is var j and >= 0 ? Weights[i * _items.Count + j] : null;

    public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query)
    {
        Queries.Check(query);
        var n = _items.Count;
        if (query.Count == 0 || n == 0)
        {
            return [];
        }

        var scores = System.Buffers.ArrayPool<double>.Shared.Rent(n);
        var best = System.Buffers.ArrayPool<double>.Shared.Rent(n);
        var because = System.Buffers.ArrayPool<int>.Shared.Rent(n);
        var wanted = Math.Min(query.Count, n);
        var heapScores = System.Buffers.ArrayPool<double>.Shared.Rent(wanted);
        var heapItems = System.Buffers.ArrayPool<int>.Shared.Rent(wanted);
        try
        {
            // Every item is scored (a dense row per history item), so the arrays are simply cleared.
            Array.Clear(scores, 0, n);
            Array.Fill(best, double.NegativeInfinity, 0, n);
            var any = false;
            foreach (var (itemId, weight) in query.History)
            {
                var h = _items.IndexOf(itemId);
                if (h < 0 || !(weight > 0))
                {
                    continue;
                }

                any = true;
                var row = Weights.AsSpan(h * n, n);
                for (var j = 0; j < n; j++)
                {
                    var contribution = weight * row[j];
                    scores[j] += contribution;
                    if (contribution > best[j] || (contribution == best[j] && h < because[j]))
                    {
                        best[j] = contribution;
                        because[j] = h;
                    }
                }
            }

            if (!any)
            {
                return [];
            }

            var top = new TopN(heapScores.AsSpan(0, wanted), heapItems.AsSpan(0, wanted));
            for (var j = 0; j < n; j++)
            {
                if (scores[j] > 0 && top.WouldTake(scores[j], j) && !query.Exclude.Contains(_items.Items[j]))
                {
                    top.Offer(scores[j], j);
                }
            }

            var kept = top.SortDescending();
            var result = new ScoredItem[kept];
            for (var r = 0; r < kept; r++)
            {
                var j = heapItems[r];
                result[r] = new ScoredItem(_items.Items[j], heapScores[r], RecommendationSources.Ease, _items.Items[because[j]]);
            }

            return result;
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(scores);
            System.Buffers.ArrayPool<double>.Shared.Return(best);
            System.Buffers.ArrayPool<int>.Shared.Return(because);
            System.Buffers.ArrayPool<double>.Shared.Return(heapScores);
            System.Buffers.ArrayPool<int>.Shared.Return(heapItems);
        }
    }
}
