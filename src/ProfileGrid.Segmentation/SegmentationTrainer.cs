using System.Globalization;

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

    /// <summary>The windows <see cref="Window"/> accepts.</summary>
    public static readonly IReadOnlyList<string> Windows = ["auto", "lifetime", "365d"];

    /// <summary>A fixed number of segments; null chooses k in <see cref="MinK"/>..<see cref="MaxK"/> (see <see cref="KSelection.Choose"/>).</summary>
    public int? K { get; init; }

    /// <summary>The fewest segments a chosen k may have: 3 by default, because two segments rarely tell a marketer anything.</summary>
    public int MinK { get; init; } = 3;

    public int MaxK { get; init; } = 8;

    /// <summary>Features to use, by name; empty uses <see cref="SegmentationTrainer.DefaultFeatures"/> with <see cref="Window"/>.</summary>
    public IReadOnlyList<string> Features { get; init; } = [];

    /// <summary>
    /// Which frequency and spend the default features count: <c>lifetime</c> (frequency, monetary), <c>365d</c>
    /// (frequency_365d, monetary_365d), or <c>auto</c>: lifetime unless the tenant's history (from the longest tenure
    /// among the training rows to the newest last event) spans more than two windows (730 days) and reaches into the
    /// last 365 days. Ignored when <see cref="Features"/> are named.
    /// </summary>
    public string Window { get; init; } = "auto";

    /// <summary>
    /// The instant the run measures recency, tenure and the other days-since features to (and judges names by); null for
    /// the time of the run. For a history that ended before it (an export imported years later). The 365-day counts
    /// cannot be moved to it (they are as of each user's last change), so with it <c>auto</c> counts the lifetime and the
    /// windowed features are refused.
    /// </summary>
    public DateTimeOffset? AsOf { get; init; }

    /// <summary>Log-transform recency (recency_days, days_since_last_seen) before scaling, as classic RFM analyses do.</summary>
    public bool LogRecency { get; init; } = false;

    /// <summary>Leave out features that are (nearly) constant or that move with an earlier feature; each with a warning.</summary>
    public bool DropUninformativeFeatures { get; init; } = true;

    /// <summary>Of two features whose correlation (on the transformed scale) is at least this in magnitude, the later is left out.</summary>
    public double CorrelationThreshold { get; init; } = 0.95;

    /// <summary>The thresholds segment names are judged by.</summary>
    public LabelRules LabelRules { get; init; } = new();

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

    private static readonly string[] WindowedFeatures = ["frequency_365d", "monetary_365d"];

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

        if (!Windows.Contains(Window, StringComparer.Ordinal))
        {
            problems.Add($"window: '{Window}' is not one of {string.Join(", ", Windows)}.");
        }
        else if (AsOf is { } asOf && (Window == "365d" || Features.Any(WindowedFeatures.Contains)))
        {
            problems.Add($"as_of: the 365-day counts (window 365d, frequency_365d, monetary_365d) cannot be evaluated as of {asOf.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}: they are counted to each user's last change; use the lifetime counts.");
        }

        if (!(CorrelationThreshold > 0 && CorrelationThreshold <= 1))
        {
            problems.Add($"correlation_threshold: must be in (0, 1]; got {CorrelationThreshold}.");
        }

        problems.AddRange((LabelRules ?? new LabelRules()).Validate());

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
/// <param name="Currency">The reporting currency the money features are in, for descriptions ("" when unknown).</param>
public sealed record TrainingSet(IReadOnlyList<string> SourceFeatures, IReadOnlyList<bool> HeavyTailed, double[][] Rows, long Population, string Currency = "");

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
    /// <param name="rowsAsPreviousModelAssigns">
    /// The training rows measured at the instant the previous model assigns users (its as-of instant, or now for a live
    /// model), in the same order, when that is not the instant of this run; segment ids are carried over by the overlap
    /// of the previous model's assignment of these with this run's clusters. Null: <see cref="TrainingSet.Rows"/>.
    /// </param>
    public static SegmentModel Train(
        TrainingSet data, SegmentationSettings settings, SegmentModel? previous, long version, DateTimeOffset now, double[][]? rowsAsPreviousModelAssigns = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(settings);
        if (rowsAsPreviousModelAssigns is not null && rowsAsPreviousModelAssigns.Length != data.Rows.Length)
        {
            throw new ArgumentException("the rows as the previous model assigns them must be the training rows, one for one.", nameof(rowsAsPreviousModelAssigns));
        }

        var settingsProblems = settings.Validate(data.SourceFeatures, 0);
        if (settingsProblems.Count > 0)
        {
            throw new SegmentationException(settingsProblems, SegmentationProblem.InvalidSettings);
        }

        var minimumRows = Math.Max(3, (settings.K ?? settings.MaxK) + 1);
        if (data.Rows.Length < minimumRows)
        {
            // Say which setting asked for so many, and what to ask instead (probe61: a 5-user tenant was told "need at least 9").
            var largest = data.Rows.Length - 1;
            var why = settings.K is { } askedK ? $"k {askedK}" : $"max_k {settings.MaxK}";
            var instead = largest >= 2
                ? $" Ask for fewer segments: k or max_k of at most {largest}{(settings.K is null && settings.MinK > largest ? $", with min_k at most {largest} too" : "")}."
                : "";
            throw new SegmentationException(
                [$"not enough users with features: {data.Rows.Length}, need at least {minimumRows} for {why} (one more user than segments).{instead}"],
                SegmentationProblem.InsufficientData);
        }

        var warnings = new List<string>();
        var candidates = settings.Features.Count > 0
            ? settings.Features.ToArray()
            : DefaultFeatures(data, settings.AsOf is null ? settings.Window : "lifetime", warnings);
        if (settings.AsOf is { } asOf && settings.Features.Count == 0 && settings.Window == "auto")
        {
            warnings.Add($"frequency and spend count the whole history (frequency, monetary): the run is as of {asOf.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}, and the 365-day counts are counted to each user's last change.");
        }
        var logColumns = candidates.Select(f => data.HeavyTailed[IndexOf(data.SourceFeatures, f)] || (settings.LogRecency && IsRecency(f))).ToArray();
        var (features, log) = settings.DropUninformativeFeatures
            ? Screen(data, candidates, logColumns, settings.CorrelationThreshold, warnings)
            : (candidates, logColumns);
        if (features.Length == 0)
        {
            throw new SegmentationException(
                [$"no feature tells the users apart: {string.Join(" ", warnings)}"], SegmentationProblem.InsufficientData);
        }

        var columns = features.Select(f => IndexOf(data.SourceFeatures, f)).ToArray();
        var raw = data.Rows.Select(r => columns.Select(c => WithoutRoundingNoise(r[c])).ToArray()).ToArray();
        var normalizer = Normalizer.Fit(raw, settings.Normalization, log);
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

        if (fixedKRequested is null && distinct < 2)
        {
            throw new SegmentationException(
                ["segments need at least 2 different feature vectors; every user has the same one."], SegmentationProblem.InsufficientData);
        }

        // Fewer different users than min_k (a young tenant): as many segments as there are, rather than none.
        var maxK = Math.Min(settings.MaxK, distinct);
        if (fixedKRequested is null && maxK <= settings.MinK)
        {
            fixedKRequested = maxK;
        }

        KChoice choice;
        if (fixedKRequested is { } fixedK)
        {
            var fit = clusterer.Fit(points, fixedK, settings.Seed);
            var silhouette = SafeSilhouette(points, fit.Labels, settings);
            var reason = settings.K is null
                ? $"k = {fixedK}: the users have only {distinct} different feature vectors, so no larger k was possible" +
                  (fixedK < settings.MinK ? $" (min_k is {settings.MinK})." : ".")
                : $"k = {fixedK} was requested.";
            choice = new KChoice(
                [new KCurvePoint(fixedK, fit.Inertia, silhouette, KSelection.SafeIndex(ClusterMetrics.CalinskiHarabasz, points, fit.Labels), KSelection.SafeIndex(ClusterMetrics.DaviesBouldin, points, fit.Labels))],
                fixedK, fixedK, fixedK, reason, fit);
        }
        else
        {
            choice = KSelection.Choose(clusterer, points, settings.MinK, maxK, settings.Seed, settings.SilhouetteSampleSize);
        }

        var result = choice.Result;
        var k = result.K;
        var members = ServedLabels(points, result, settings.Algorithm, warnings);

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
        // spread of all rows (mapping a log-space centroid back gives a geometric mean, which understates exactly the
        // heavy-tailed features); they are named from business facts of their members on every source feature.
        var originalCentroids = ClusterMath.Summarise(raw, members, k, fallback: result.Centroids.Select(normalizer.Inverse).ToArray()).Centroids;
        var (mean, stdDev) = MeanAndStdDev(raw);
        var distinguishing = SegmentLabeler.Distinguish(features, originalCentroids, mean, stdDev);
        var rules = settings.LabelRules ?? new LabelRules();
        var names = SegmentLabeler.Label(data.SourceFeatures, data.Rows, members, k, rules, data.Currency);
        // Recency runs to now, so what bounds it is the oldest first event's age: span and quiet time together.
        if (HistoryDays(data) is { } reach && reach.Span + reach.Quiet is var history)
        {
            foreach (var (name, days) in new[] { ("dormant_after_days", rules.DormantAfterDays), ("at_risk_after_days", rules.AtRiskAfterDays) })
            {
                if (days > history)
                {
                    warnings.Add($"{name} ({days:0}) is longer than the history ({history:0} days): no segment can be {(name.StartsWith("dormant", StringComparison.Ordinal) ? "dormant" : "at-risk")}.");
                }
            }
        }

        var (ids, nextId, agreement) = CarryOverIds(previous, rowsAsPreviousModelAssigns ?? data.Rows, members, k);
        var sizes = new int[k];
        foreach (var label in members)
        {
            sizes[label]++;
        }

        var segments = Enumerable.Range(0, k)
            .Select(c => new SegmentDefinition
            {
                Id = ids[c],
                Label = names[c].Label,
                Rule = names[c].Rule,
                Description = names[c].Description,
                Facts = names[c].Facts,
                Centroid = result.Centroids[c],
                CentroidInOriginalUnits = originalCentroids[c],
                DistinguishingFeatures = distinguishing[c],
                TrainingSize = sizes[c],
                Stability = stabilityByCluster[c],
                Unstable = stability is not null && stabilityByCluster[c] < stability.UnstableJaccard,
            })
            .OrderBy(s => s.Id)
            .ToArray();

        var chosenPoint = choice.Curve.First(p => p.K == k);
        var rfm = RfmModel.TryFit(data.SourceFeatures, data.Rows);
        if (rfm is { RecencyEdges: [var newestFifth, ..] } && newestFifth >= rules.DormantAfterDays)
        {
            // Quintiles rank buyers against each other: on a history that ended long ago the "champions" are the least
            // lapsed of a lapsed base, which the segment names (judged by days) call dormant.
            warnings.Add($"{RfmModel.WarningPrefix}four fifths of buyers last bought {newestFifth:0} days or more before " +
                $"{(settings.AsOf is { } runAsOf ? $"as_of ({runAsOf:yyyy-MM-dd})" : "the run")}, past dormant_after_days ({rules.DormantAfterDays:0}): the RFM cells rank " +
                "buyers against each other, so champions and new customers bought most recently of them, not necessarily recently. Run with as_of " +
                "the day after the history's end to score them as of then.");
        }

        if (rfm is { FrequencyEdges: [.., var fourFifths] } && fourFifths <= 1)
        {
            // Olist-like data: 97% of customers order once, so the quintiles of frequency collapse and a second order is
            // already the top score; "champions" then means "bought twice, recently".
            var edges = string.Join(", ", rfm.FrequencyEdges.Select(e => e.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)));
            warnings.Add($"{RfmModel.WarningPrefix}four fifths of buyers or more ordered once (frequency edges {edges}): one order " +
                "scores F 1 and a second order F 5 already, so a recent repeat buyer is a champion however few orders they have. " +
                "Read frequency as one-time against repeat.");
        }

        return new SegmentModel
        {
            Version = version,
            TrainedAt = now,
            EvaluatedAt = settings.AsOf,
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
            Map = BuildMap(points, members, ids, settings),
            Warnings = warnings.ToArray(),
            LabelRules = rules,

            // RFM reads its three source columns by name, whatever features the clustering selected.
            Rfm = rfm,
        };
    }

    /// <summary>
    /// The clusters the grid serves: every user in the segment of the nearest centroid, as live assignment puts them.
    /// k-means' partition is already that; a hierarchical one is not (Ward merges by the growth of the within-cluster
    /// sum of squares, so a user can end nearer another cluster's centre), and describing the clusters as trained while
    /// the shards reassigned them at publication made sizes, names and facts describe other users than the members
    /// (probe61: 202 of 2,000 moved at once, 27 "high-value" customers to "at-risk"). The training partition stays
    /// where the user asked for it: its quality figures, the curves and the choice of k. Should a cluster end with no
    /// member nearest its centre, the trained partition is kept and the run says so.
    /// </summary>
    private static int[] ServedLabels(double[][] points, ClusteringResult result, string algorithm, List<string> warnings)
    {
        var served = points.Select(p => ClusterMath.Nearest(p, result.Centroids)).ToArray();
        var moved = served.Where((label, i) => label != result.Labels[i]).Count();
        if (moved == 0)
        {
            return served;
        }

        var share = (double)moved / points.Length;
        if (served.Distinct().Count() < result.K)
        {
            warnings.Add($"{moved} of {points.Length} users ({share:P1}) are nearer another segment's centre than their own cluster's, and one " +
                "cluster would have no member nearest its centre: the segments are described as trained, and live assignment (nearest " +
                "centre) will move those users at publication.");
            return result.Labels;
        }

        warnings.Add($"{moved} of {points.Length} users ({share:P1}) are nearer another segment's centre than the cluster {algorithm} " +
            "put them in: segments are served by nearest centre (as live assignment places every user), so sizes, names and facts " +
            "describe them as served; the curves and quality figures are those of the clustering itself.");
        return served;
    }

    /// <summary>
    /// Segment ids for the new clusters: each is matched one-to-one (Hungarian, by overlap on the training rows as the
    /// previous model assigns them) to a previous segment and inherits its id; a cluster with no match gets a fresh id.
    /// Labels are not inherited: each run names every segment from its own facts, so a name is always true of its
    /// segment now (an inherited one could hold a rule the segment no longer meets, or a qualifier such as "low-spend"
    /// that compared it with segments that are gone). Also returns the share of rows whose id is unchanged.
    /// </summary>
    private static (int[] Ids, int NextId, double Agreement) CarryOverIds(SegmentModel? previous, double[][] rows, int[] labels, int k)
    {
        var ids = new int[k];
        var compatible = previous is not null && previous.Segments.Length > 0 &&
                         previous.SourceColumns.All(c => c < rows[0].Length);
        if (!compatible)
        {
            for (var c = 0; c < k; c++)
            {
                ids[c] = c;
            }

            return (ids, k, double.NaN);
        }

        var prev = previous!;
        var previousIndex = rows.Select(prev.NearestIndex).ToArray();
        var match = ClusterMetrics.MatchClustersAcross(previousIndex, prev.Segments.Length, labels, k);
        var nextId = prev.NextSegmentId;
        for (var c = 0; c < k; c++)
        {
            ids[c] = match[c] >= 0 ? prev.Segments[match[c]].Id : nextId++;
        }

        var same = 0;
        for (var i = 0; i < rows.Length; i++)
        {
            if (prev.Segments[previousIndex[i]].Id == ids[labels[i]])
            {
                same++;
            }
        }

        return (ids, nextId, (double)same / rows.Length);
    }

    /// <summary>
    /// The features a run uses when none are named: recency, frequency and spend (lifetime or the 365-day window, see
    /// <see cref="SegmentationSettings.Window"/>), average order value, engagement velocity, sessions, tenure, category
    /// diversity and days since last seen; those the source lacks are skipped. The window chosen by <c>auto</c> is
    /// reported in <paramref name="notes"/>.
    /// </summary>
    public static string[] DefaultFeatures(TrainingSet data, string window, List<string> notes)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(notes);
        var windowed = window == "365d";
        if (window == "auto")
        {
            var (history, quiet) = HistoryDays(data) ?? (0, 0);
            windowed = history > AutoWindowHistoryDays && quiet <= WindowDays;
            notes.Add(windowed
                ? $"frequency and spend count the last 365 days (frequency_365d, monetary_365d): the history spans {history:0} days, more than {AutoWindowHistoryDays}."
                : history > AutoWindowHistoryDays
                    ? $"frequency and spend count the whole history (frequency, monetary): it spans {history:0} days, but its newest event is {quiet:0} days old, so every 365-day count would be 0 (an imported history)."
                    : $"frequency and spend count the whole history (frequency, monetary): it spans {history:0} days, no more than {AutoWindowHistoryDays}.");
        }

        string[] wanted = windowed
            ? ["recency_days", "frequency_365d", "monetary_365d", "average_order_value", "engagement_velocity", "sessions", "tenure_days", "category_diversity", "days_since_last_seen"]
            : ["recency_days", "frequency", "monetary", "average_order_value", "engagement_velocity", "sessions", "tenure_days", "category_diversity", "days_since_last_seen"];
        var available = wanted.Where(f => data.SourceFeatures.Contains(f, StringComparer.Ordinal)).ToArray();
        // A source without the standard features (a custom training set) uses all of its own.
        return available.Length > 0 ? available : data.SourceFeatures.ToArray();
    }

    /// <summary>
    /// How long the tenant's history is, from its oldest first event (the longest tenure) to its newest event (the
    /// shortest days since last seen), and how old that newest event is; null without tenure. Measured to now, an
    /// imported 2010-2011 history would span fifteen years.
    /// </summary>
    private static (double Span, double Quiet)? HistoryDays(TrainingSet data)
    {
        var names = data.SourceFeatures.ToList();
        var tenure = names.IndexOf("tenure_days");
        if (tenure < 0 || data.Rows.Length == 0)
        {
            return null;
        }

        var lastSeen = names.IndexOf("days_since_last_seen");
        var quiet = lastSeen >= 0 ? data.Rows.Min(r => r[lastSeen]) : 0;
        return (data.Rows.Max(r => r[tenure]) - quiet, quiet);
    }

    /// <summary>The window of frequency_365d and monetary_365d.</summary>
    private const double WindowDays = 365;

    /// <summary>History longer than this (days) makes the <c>auto</c> window count the last 365 days rather than the lifetime.</summary>
    public const double AutoWindowHistoryDays = 730;

    /// <summary>Share of rows that must sit on one value (on the transformed scale) for a feature to count as nearly constant.</summary>
    public const double NearConstantShare = 0.99;

    /// <summary>
    /// Leaves out, in feature order: a feature on which at least <see cref="NearConstantShare"/> of the rows have the same
    /// value (within 1e-6 of the median, relative, after the log1p the model applies), as it carries no information to
    /// cluster on; and a feature whose Pearson correlation with an earlier kept one is at least
    /// <paramref name="threshold"/> in magnitude (on the same scale), as it counts the same thing twice. Each with a warning.
    /// </summary>
    public static (string[] Features, bool[] Log1p) Screen(TrainingSet data, string[] features, bool[] log1p, double threshold, List<string> warnings)
    {
        ArgumentNullException.ThrowIfNull(data);
        var n = data.Rows.Length;
        var transformed = features.Select((f, i) =>
        {
            var column = IndexOf(data.SourceFeatures, f);
            return data.Rows.Select(r => log1p[i] ? double.LogP1(Math.Max(0, r[column])) : r[column]).ToArray();
        }).ToArray();

        var kept = new List<int>();
        var nearlyConstant = new List<int>();
        for (var i = 0; i < features.Length; i++)
        {
            var values = transformed[i];
            var median = values.Order().ElementAt(n / 2);
            var tolerance = 1e-6 * Math.Max(1, Math.Abs(median));
            var onMedian = values.Count(v => Math.Abs(v - median) <= tolerance);
            if (onMedian >= NearConstantShare * n)
            {
                if (onMedian < n)
                {
                    nearlyConstant.Add(i);
                }

                var shown = log1p[i] ? double.ExpM1(median) : median;
                warnings.Add(onMedian == n
                    ? $"{features[i]} was left out: every user has the same value ({shown:0.###})."
                    : $"{features[i]} was left out: {((double)onMedian / n).ToString("0.0%", CultureInfo.InvariantCulture)} of users have about the same value ({shown:0.###}).");
                continue;
            }

            var twin = kept.Select(j => (j, r: Correlation(transformed[j], values))).FirstOrDefault(p => Math.Abs(p.r) >= threshold, (-1, 0));
            if (twin.j >= 0)
            {
                warnings.Add($"{features[i]} was left out: it moves with {features[twin.j]} (correlation {twin.r:0.000}, threshold {threshold:0.00}).");
                continue;
            }

            // The same values under two names (a non-buyer's recency is counted from first seen, so a tenant that never
            // bought has recency_days equal to tenure_days): one is left out whatever scale each is on, where log1p on one
            // of them hides the twin from the correlation (probe65: 0.917 on MovieLens, tenure counted twice).
            var same = kept.Select(j => (j, share: EqualShare(data, features[j], features[i]))).FirstOrDefault(p => p.share >= NearConstantShare, (-1, 0));
            if (same.j >= 0)
            {
                warnings.Add($"{features[i]} was left out: it equals {features[same.j]} for {same.share.ToString("0.#%", CultureInfo.InvariantCulture)} of users.");
                continue;
            }

            kept.Add(i);
        }

        if (kept.Count == 0 && nearlyConstant.Count > 0)
        {
            // Nothing else varies: a few different users among many identical ones are still worth telling apart.
            kept.AddRange(nearlyConstant);
            warnings.Add($"{string.Join(", ", nearlyConstant.Select(i => features[i]))} kept after all: no other feature varies.");
        }

        return (kept.Select(i => features[i]).ToArray(), kept.Select(i => log1p[i]).ToArray());
    }

    private static bool IsRecency(string feature) => feature is "recency_days" or "days_since_last_seen";

    /// <summary>The share of rows on which two source features hold the same value (within 1e-9, relative).</summary>
    private static double EqualShare(TrainingSet data, string first, string second)
    {
        var (a, b) = (IndexOf(data.SourceFeatures, first), IndexOf(data.SourceFeatures, second));
        if (data.Rows.Length == 0)
        {
            return 0;
        }

        var equal = data.Rows.Count(r => Math.Abs(r[a] - r[b]) <= 1e-9 * Math.Max(1, Math.Abs(r[a])));
        return (double)equal / data.Rows.Length;
    }

    private static double Correlation(double[] a, double[] b)
    {
        double meanA = a.Average(), meanB = b.Average(), ab = 0, aa = 0, bb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var da = a[i] - meanA;
            var db = b[i] - meanB;
            ab += da * db;
            aa += da * da;
            bb += db * db;
        }

        return aa > 0 && bb > 0 ? ab / Math.Sqrt(aa * bb) : 0;
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

    /// <summary>
    /// <paramref name="value"/> rounded to 40 bits of mantissa (about 12 significant digits). Shards age each vector from
    /// the instant it was extracted, so two users with the same history differ in the last bits (probe69: 50 identical
    /// customers had a recency of 218.58333333333303 or ...394 days), and such users counted as different vectors: one
    /// k more than the data has, and an empty segment. Deterministic: the same value always rounds alike.
    /// </summary>
    internal static double WithoutRoundingNoise(double value)
    {
        const int droppedBits = 12;
        if (!double.IsFinite(value))
        {
            return value;
        }

        // The magnitude's bits, rounded half up; a carry out of the mantissa moves the exponent, as it should.
        var bits = BitConverter.DoubleToInt64Bits(value);
        bits = (bits + (1L << (droppedBits - 1))) & ~((1L << droppedBits) - 1);
        var rounded = BitConverter.Int64BitsToDouble(bits);
        return double.IsFinite(rounded) ? rounded : value;
    }

    /// <summary>
    /// The number of different rows (normalised points), counting no further than <paramref name="enough"/>. Rows closer
    /// than <see cref="SamePointTolerance"/> in every feature are one: the rounding of <see cref="WithoutRoundingNoise"/>
    /// leaves two values on either side of one of its steps apart (review: about one run in a hundred of the probe's
    /// identical customers would still have had an extra k), and no customer differs from another by so little.
    /// </summary>
    internal static int CountDistinct(double[][] rows, int enough)
    {
        var order = Enumerable.Range(0, rows.Length).ToArray();
        Array.Sort(order, (a, b) =>
        {
            for (var j = 0; j < rows[a].Length; j++)
            {
                var c = rows[a][j].CompareTo(rows[b][j]);
                if (c != 0)
                {
                    return c;
                }
            }

            return 0;
        });
        var distinct = 0;
        double[]? last = null;
        foreach (var i in order)
        {
            if (last is null || !Near(last, rows[i]))
            {
                last = rows[i];
                if (++distinct >= enough)
                {
                    break;
                }
            }
        }

        return distinct;

        static bool Near(double[] a, double[] b)
        {
            for (var j = 0; j < a.Length; j++)
            {
                if (!(Math.Abs(a[j] - b[j]) <= SamePointTolerance) && !a[j].Equals(b[j]))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>How far apart two normalised values may be and still be the same (z-scores and min-max values are about 1).</summary>
    private const double SamePointTolerance = 1e-9;

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
