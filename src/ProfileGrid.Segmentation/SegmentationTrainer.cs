namespace ProfileGrid.Segmentation;

/// <summary>What to fit: the algorithm, a fixed k or a k range, the features and the checks.</summary>
public sealed record SegmentationSettings
{
    public static readonly IReadOnlyList<string> Algorithms = ["kmeans", "kmeans-mlnet", "ward", "average", "complete"];

    /// <summary>
    /// kmeans (<see cref="KMeansClusterer"/>), kmeans-mlnet (ML.NET's, <see cref="MlNetKMeansClusterer"/>), or ward, average or
    /// complete (hierarchical, sampled above <see cref="HierarchicalMaxPoints"/>).
    /// </summary>
    public string Algorithm { get; init; } = "kmeans";

    /// <summary>A fixed number of segments; null chooses k in <see cref="MinK"/>..<see cref="MaxK"/> by elbow and silhouette.</summary>
    public int? K { get; init; }

    public int MinK { get; init; } = 2;

    public int MaxK { get; init; } = 8;

    /// <summary>Features to use, by name; empty uses every source feature.</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    public NormalizationKind Normalization { get; init; } = NormalizationKind.ZScore;

    /// <summary>k-means initialisations per fit (scikit-learn's n_init).</summary>
    public int KMeansInitializations { get; init; } = 5;

    /// <summary>Hierarchical clustering above this many rows clusters a seeded sample of this size.</summary>
    public int HierarchicalMaxPoints { get; init; } = 5000;

    /// <summary>Silhouette is exact up to this many rows, sampled to this many above.</summary>
    public int SilhouetteSampleSize { get; init; } = 2000;

    /// <summary>Bootstrap refits for the stability check; 0 skips it.</summary>
    public int StabilityRuns { get; init; } = 5;

    /// <summary>The stability check runs on a seeded sample of at most this many rows.</summary>
    public int StabilitySampleSize { get; init; } = 3000;

    /// <summary>Training rows projected onto the map.</summary>
    public int MapPoints { get; init; } = 1000;

    public int Seed { get; init; } = 42;

    /// <summary>Every problem with these settings for <paramref name="sourceFeatures"/> and <paramref name="rows"/> rows.</summary>
    public IReadOnlyList<string> Validate(IReadOnlyList<string> sourceFeatures, int rows)
    {
        var problems = new List<string>();
        if (!Algorithms.Contains(Algorithm, StringComparer.Ordinal))
        {
            problems.Add($"algorithm: '{Algorithm}' is not one of {string.Join(", ", Algorithms)}.");
        }

        foreach (var feature in Features)
        {
            if (!sourceFeatures.Contains(feature, StringComparer.Ordinal))
            {
                problems.Add($"features: '{feature}' is not a feature; valid features are {string.Join(", ", sourceFeatures)}.");
            }
        }

        if (Features.Count != Features.Distinct(StringComparer.Ordinal).Count())
        {
            problems.Add("features: a feature is named twice.");
        }

        if (K is { } k)
        {
            if (k < 2 || k > 50)
            {
                problems.Add($"k: must be between 2 and 50; got {k}.");
            }
            else if (rows > 0 && k >= rows)
            {
                problems.Add($"k: {k} segments need more than {k} users with features; there are {rows}.");
            }
        }
        else
        {
            if (MinK < 2)
            {
                problems.Add($"min_k: must be at least 2; got {MinK}.");
            }

            if (MaxK <= MinK)
            {
                problems.Add($"max_k: must be greater than min_k ({MinK}); got {MaxK}.");
            }
            else if (MaxK > 50)
            {
                problems.Add($"max_k: must be at most 50; got {MaxK}.");
            }
            else if (rows > 0 && MaxK >= rows)
            {
                problems.Add($"max_k: {MaxK} segments need more than {MaxK} users with features; there are {rows}.");
            }
        }

        if (KMeansInitializations < 1)
        {
            problems.Add("kmeans_initializations: must be at least 1.");
        }

        if (HierarchicalMaxPoints < 10)
        {
            problems.Add("hierarchical_max_points: must be at least 10.");
        }

        if (SilhouetteSampleSize < 10)
        {
            problems.Add("silhouette_sample_size: must be at least 10.");
        }

        if (StabilityRuns < 0)
        {
            problems.Add("stability_runs: must not be negative.");
        }

        if (StabilitySampleSize < 10)
        {
            problems.Add("stability_sample_size: must be at least 10.");
        }

        if (MapPoints < 0)
        {
            problems.Add("map_points: must not be negative.");
        }

        return problems;
    }

    public IClusterer CreateClusterer() => Algorithm switch
    {
        "kmeans" => new KMeansClusterer { Initializations = KMeansInitializations },
        "kmeans-mlnet" => new MlNetKMeansClusterer { Initializations = KMeansInitializations },
        "ward" => new WardClusterer(Linkage.Ward) { MaxPoints = HierarchicalMaxPoints },
        "average" => new WardClusterer(Linkage.Average) { MaxPoints = HierarchicalMaxPoints },
        "complete" => new WardClusterer(Linkage.Complete) { MaxPoints = HierarchicalMaxPoints },
        _ => throw new ArgumentException($"Unknown algorithm '{Algorithm}'.", nameof(Algorithm)),
    };
}

/// <summary>The rows to train on: vectors in source column order, with the source's feature names.</summary>
/// <param name="SourceFeatures">Name of every source column.</param>
/// <param name="HeavyTailed">Per source column: whether it is log1p-transformed before scaling.</param>
/// <param name="Rows">Feature vectors in source column order.</param>
/// <param name="Population">How many vectors the rows were sampled from (their count when not sampled).</param>
public sealed record TrainingSet(IReadOnlyList<string> SourceFeatures, IReadOnlyList<bool> HeavyTailed, double[][] Rows, long Population);

/// <summary>Why a run produced no model: the caller's settings, or the tenant's data.</summary>
public enum SegmentationProblem
{
    InvalidSettings,
    InsufficientData,
}

/// <summary>Thrown when settings or data cannot produce a model; the message names each problem.</summary>
public sealed class SegmentationException(IReadOnlyList<string> problems, SegmentationProblem kind) : Exception(string.Join(" ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;

    public SegmentationProblem Kind { get; } = kind;
}

/// <summary>
/// Turns a training set into a <see cref="SegmentModel"/>: select features, log1p the heavy-tailed ones and normalise,
/// cluster (choosing k by elbow and silhouette unless k is given), check bootstrap stability, carry segment ids and
/// labels over from the previous model, label new segments, and project onto a 2-D PCA map. Pure CPU work on its
/// inputs: callers run it off any grain turn.
/// </summary>
public static class SegmentationTrainer
{
    public static SegmentModel Train(TrainingSet data, SegmentationSettings settings, SegmentModel? previous, long version, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(settings);
        var settingsProblems = settings.Validate(data.SourceFeatures, 0);
        if (settingsProblems.Count > 0)
        {
            throw new SegmentationException(settingsProblems, SegmentationProblem.InvalidSettings);
        }

        var minimumRows = Math.Max(3, (settings.K ?? settings.MaxK) + 1);
        if (data.Rows.Length < minimumRows)
        {
            throw new SegmentationException(
                [$"not enough users with features: {data.Rows.Length}, need at least {minimumRows}."], SegmentationProblem.InsufficientData);
        }

        var features = settings.Features.Count > 0 ? settings.Features.ToArray() : data.SourceFeatures.ToArray();
        var columns = features.Select(f => IndexOf(data.SourceFeatures, f)).ToArray();
        var raw = data.Rows.Select(r => columns.Select(c => r[c]).ToArray()).ToArray();
        var normalizer = Normalizer.Fit(raw, settings.Normalization, columns.Select(c => data.HeavyTailed[c]).ToArray());
        var points = normalizer.Transform(raw);
        var clusterer = settings.CreateClusterer();

        // k clusters need k different vectors (many identical users are common in a young tenant); cap the range at
        // what the data can hold, and refuse a fixed k it cannot.
        var distinct = CountDistinct(points, Math.Max(settings.MaxK, settings.K ?? 0) + 1);
        var fixedKRequested = settings.K;
        if (fixedKRequested is { } requested && requested > distinct)
        {
            throw new SegmentationException(
                [$"k: {requested} segments need {requested} different feature vectors; the users have only {distinct}."], SegmentationProblem.InsufficientData);
        }

        if (fixedKRequested is null && distinct < settings.MinK)
        {
            throw new SegmentationException(
                [$"min_k: {settings.MinK} segments need {settings.MinK} different feature vectors; the users have only {distinct}."], SegmentationProblem.InsufficientData);
        }

        var maxK = Math.Min(settings.MaxK, distinct);
        if (fixedKRequested is null && maxK == settings.MinK)
        {
            fixedKRequested = maxK;
        }

        KChoice choice;
        if (fixedKRequested is { } fixedK)
        {
            var fit = clusterer.Fit(points, fixedK, settings.Seed);
            var silhouette = SafeSilhouette(points, fit.Labels, settings);
            var reason = settings.K is null
                ? $"k = {fixedK}: the users have only {distinct} different feature vectors, so no larger k was possible."
                : $"k = {fixedK} was requested.";
            choice = new KChoice([new KCurvePoint(fixedK, fit.Inertia, silhouette)], fixedK, fixedK, fixedK, reason, fit);
        }
        else
        {
            choice = KSelection.Choose(clusterer, points, settings.MinK, maxK, settings.Seed, settings.SilhouetteSampleSize);
        }

        var result = choice.Result;
        var k = result.K;

        StabilityReport? stability = null;
        if (settings.StabilityRuns > 0)
        {
            var sample = Sample(points, settings.StabilitySampleSize, settings.Seed);
            if (CountDistinct(sample, k + 1) > k)
            {
                try
                {
                    stability = StabilityCheck.Run(clusterer, sample, k, settings.StabilityRuns, settings.Seed);
                }
                catch (InvalidOperationException)
                {
                    // A bootstrap resample of a few distinct vectors among many identical ones can hold fewer than k
                    // different rows, which k-means cannot split; the stability is then reported as not computed (NaN).
                    stability = null;
                }
            }
        }

        // Stability was measured on the sample's own reference fit; carry its per-cluster Jaccard to the model's
        // clusters through the best one-to-one match on the sample.
        var stabilityByCluster = new double[k];
        Array.Fill(stabilityByCluster, double.NaN);
        if (stability is not null)
        {
            var sample = Sample(points, settings.StabilitySampleSize, settings.Seed);
            var modelLabels = sample.Select(p => ClusterMath.Nearest(p, result.Centroids)).ToArray();
            var match = ClusterMetrics.MatchClusters(modelLabels, stability.Reference.Labels, k);
            for (var c = 0; c < k; c++)
            {
                stabilityByCluster[match[c]] = stability.MeanJaccard[c];
            }
        }

        // Segments are described by their members' plain means in original units, compared with the plain mean and
        // spread of all rows: the label rules speak of "spends more than most" in currency, not in log space (mapping a
        // log-space centroid back gives a geometric mean, which understates exactly the heavy-tailed features).
        var originalCentroids = ClusterMath.Summarise(raw, result.Labels, k, fallback: result.Centroids.Select(normalizer.Inverse).ToArray()).Centroids;
        var (mean, stdDev) = MeanAndStdDev(raw);
        var descriptions = SegmentLabeler.Describe(features, originalCentroids, mean, stdDev);

        var (ids, labels, nextId, agreement) = CarryOver(previous, data.Rows, result.Labels, k, descriptions);
        var sizes = new int[k];
        foreach (var label in result.Labels)
        {
            sizes[label]++;
        }

        var segments = Enumerable.Range(0, k)
            .Select(c => new SegmentDefinition
            {
                Id = ids[c],
                Label = labels[c],
                Centroid = result.Centroids[c],
                CentroidInOriginalUnits = originalCentroids[c],
                DistinguishingFeatures = descriptions[c].Features.ToArray(),
                TrainingSize = sizes[c],
                Stability = stabilityByCluster[c],
                Unstable = stability is not null && stabilityByCluster[c] < stability.UnstableJaccard,
            })
            .OrderBy(s => s.Id)
            .ToArray();

        var chosenPoint = choice.Curve.First(p => p.K == k);
        return new SegmentModel
        {
            Version = version,
            TrainedAt = now,
            Algorithm = settings.Algorithm,
            Features = features,
            SourceColumns = columns,
            Normalizer = normalizer,
            Segments = segments,
            NextSegmentId = nextId,
            TrainedOn = data.Rows.Length,
            Population = Math.Max(data.Population, data.Rows.Length),
            Curve = choice.Curve.ToArray(),
            ElbowK = choice.ElbowK,
            SilhouetteK = choice.SilhouetteK,
            KReason = choice.Reason,
            Silhouette = chosenPoint.Silhouette,
            Inertia = result.Inertia,
            StabilityAdjustedRandIndex = stability?.MeanAdjustedRandIndex ?? double.NaN,
            AgreementWithPrevious = agreement,
            Map = BuildMap(points, result.Labels, ids, settings),

            // RFM reads its three source columns by name, whatever features the clustering selected.
            Rfm = RfmModel.TryFit(data.SourceFeatures, data.Rows),
        };
    }

    /// <summary>
    /// Segment ids and labels for the new clusters: each is matched one-to-one (Hungarian, by overlap on the training
    /// rows as the previous model assigns them) to a previous segment and inherits its id and label; a cluster with
    /// no overlapping match gets a fresh id and its rule label. Also returns the share of rows whose id is unchanged.
    /// </summary>
    private static (int[] Ids, string[] Labels, int NextId, double Agreement) CarryOver(
        SegmentModel? previous, double[][] rows, int[] labels, int k, IReadOnlyList<SegmentDescription> descriptions)
    {
        var ids = new int[k];
        var names = descriptions.Select(d => d.Label).ToArray();
        var compatible = previous is not null && previous.Segments.Length > 0 &&
                         previous.SourceColumns.All(c => c < rows[0].Length);
        if (!compatible)
        {
            for (var c = 0; c < k; c++)
            {
                ids[c] = c;
            }

            return (ids, names, k, double.NaN);
        }

        var prev = previous!;
        var previousIndex = rows.Select(prev.NearestIndex).ToArray();
        var match = ClusterMetrics.MatchClustersAcross(previousIndex, prev.Segments.Length, labels, k);
        var nextId = prev.NextSegmentId;
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var c = 0; c < k; c++)
        {
            if (match[c] >= 0)
            {
                ids[c] = prev.Segments[match[c]].Id;
                names[c] = prev.Segments[match[c]].Label;
                taken.Add(names[c]);
            }
        }

        for (var c = 0; c < k; c++)
        {
            if (match[c] < 0)
            {
                ids[c] = nextId++;
                var label = names[c];
                var candidate = label;
                for (var suffix = 2; taken.Contains(candidate); suffix++)
                {
                    candidate = $"{StripSuffix(label)} {suffix}";
                }

                names[c] = candidate;
                taken.Add(candidate);
            }
        }

        var same = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            if (prev.Segments[previousIndex[i]].Id == ids[labels[i]])
            {
                same++;
            }
        }

        return (ids, names, nextId, (double)same / rows.Length);
    }

    private static string StripSuffix(string label)
    {
        var space = label.LastIndexOf(' ');
        return space > 0 && int.TryParse(label.AsSpan(space + 1), out _) ? label[..space] : label;
    }

    private static SegmentMap BuildMap(double[][] points, int[] labels, int[] ids, SegmentationSettings settings)
    {
        var pca = PcaProjection.Fit(points);
        var chosen = SampleIndices(points.Length, settings.MapPoints, settings.Seed);
        return new SegmentMap
        {
            Mean = pca.Mean,
            Loadings = pca.Components,
            ExplainedVarianceRatio = pca.ExplainedVarianceRatio,
            Points = chosen.Select(i =>
            {
                var (x, y) = pca.Project(points[i]);
                return new MapPoint(x, y, ids[labels[i]]);
            }).ToArray(),
        };
    }

    /// <summary>The number of distinct rows, counting no further than <paramref name="enough"/>.</summary>
    private static int CountDistinct(double[][] rows, int enough)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            seen.Add(string.Join(',', row.Select(v => BitConverter.DoubleToInt64Bits(v))));
            if (seen.Count >= enough)
            {
                break;
            }
        }

        return seen.Count;
    }

    private static double SafeSilhouette(double[][] points, int[] labels, SegmentationSettings settings)
    {
        try
        {
            return ClusterMetrics.SampledSilhouette(points, labels, settings.SilhouetteSampleSize, settings.Seed);
        }
        catch (ArgumentException)
        {
            return double.NaN;
        }
    }

    private static double[][] Sample(double[][] points, int size, int seed) =>
        SampleIndices(points.Length, size, seed).Select(i => points[i]).ToArray();

    /// <summary>Up to <paramref name="size"/> distinct indices in ascending order (all when n is not larger), seeded.</summary>
    internal static int[] SampleIndices(int n, int size, int seed)
    {
        if (n <= size)
        {
            return Enumerable.Range(0, n).ToArray();
        }

        var rng = new Random(seed);
        var index = Enumerable.Range(0, n).ToArray();
        for (var i = 0; i < size; i++)
        {
            var j = i + rng.Next(n - i);
            (index[i], index[j]) = (index[j], index[i]);
        }

        var chosen = index[..size];
        Array.Sort(chosen);
        return chosen;
    }

    private static (double[] Mean, double[] StdDev) MeanAndStdDev(double[][] rows)
    {
        var d = rows[0].Length;
        var mean = new double[d];
        var variance = new double[d];
        foreach (var row in rows)
        {
            for (var j = 0; j < d; j++)
            {
                mean[j] += row[j];
            }
        }

        for (var j = 0; j < d; j++)
        {
            mean[j] /= rows.Length;
        }

        foreach (var row in rows)
        {
            for (var j = 0; j < d; j++)
            {
                variance[j] += (row[j] - mean[j]) * (row[j] - mean[j]);
            }
        }

        return (mean, variance.Select(v => Math.Sqrt(v / rows.Length)).ToArray());
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new ArgumentException($"Unknown feature '{name}'.");
    }
}
