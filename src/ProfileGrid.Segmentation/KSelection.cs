namespace ProfileGrid.Segmentation;

/// <summary>
/// One candidate k: the inertia of its clustering, its (possibly sampled) mean silhouette, and its Calinski-Harabasz
/// (higher is better) and Davies-Bouldin (lower is better) indices on all rows (NaN where not computable).
/// </summary>
public sealed record KCurvePoint(int K, double Inertia, double Silhouette, double CalinskiHarabasz = double.NaN, double DaviesBouldin = double.NaN);

/// <summary>
/// The outcome of <see cref="KSelection.Choose"/>: the per-k curves, the k suggested by the elbow (Kneedle on inertia)
/// and by the silhouette (argmax), the chosen <see cref="K"/>, a plain-English <see cref="Reason"/>, and the
/// clustering fitted for the chosen k (<see cref="Result"/>).
/// </summary>
public sealed record KChoice(
    IReadOnlyList<KCurvePoint> Curve,
    int ElbowK,
    int SilhouetteK,
    int K,
    string Reason,
    ClusteringResult Result)
{
    /// <summary>Inertia per candidate k, in ascending k order.</summary>
    public IReadOnlyList<(int K, double Inertia)> InertiaCurve => Curve.Select(p => (p.K, p.Inertia)).ToList();

    /// <summary>Silhouette per candidate k, in ascending k order (NaN where it could not be computed).</summary>
    public IReadOnlyList<(int K, double Silhouette)> SilhouetteCurve => Curve.Select(p => (p.K, p.Silhouette)).ToList();
}

/// <summary>Chooses the number of clusters by combining the elbow of the inertia curve with the silhouette.</summary>
public static class KSelection
{
    /// <summary>Silhouette difference below which the elbow's (smaller-or-simpler) k is preferred.</summary>
    public const double SilhouetteTolerance = 0.02;

    /// <summary>
    /// Fits <paramref name="clusterer"/> for every k in <paramref name="minK"/>..<paramref name="maxK"/> (same seed),
    /// records inertia, the sampled silhouette (<see cref="ClusterMetrics.SampledSilhouette"/> with
    /// <paramref name="silhouetteSampleSize"/> rows and the same seed), the Calinski-Harabasz and the Davies-Bouldin
    /// index, and chooses k by a vote of four criteria: the elbow of the inertia curve (<see cref="ElbowDetector.Kneedle"/>),
    /// the best silhouette, the highest Calinski-Harabasz and the lowest Davies-Bouldin index.
    /// <list type="number">
    /// <item>A k named by more criteria than any other wins.</item>
    /// <item>Otherwise (a tie, such as two against two or four different answers) the elbow and the silhouette decide:
    /// their common k when they agree; else the silhouette's best k, unless its silhouette is within
    /// <see cref="SilhouetteTolerance"/> (0.02) of the silhouette at the elbow's k, in which case the elbow's k (the
    /// simpler, equally good model).</item>
    /// </list>
    /// Requires 2 &lt;= minK &lt; maxK &lt;= n - 1.
    /// </summary>
    public static KChoice Choose(IClusterer clusterer, double[][] points, int minK, int maxK, int seed, int silhouetteSampleSize = 2000)
    {
        ArgumentNullException.ThrowIfNull(clusterer);
        ArgumentNullException.ThrowIfNull(points);
        var n = points.Length;
        if (minK < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(minK), $"minK must be >= 2; got {minK}.");
        }

        if (maxK <= minK)
        {
            throw new ArgumentOutOfRangeException(nameof(maxK), $"maxK must be > minK ({minK}); got {maxK}.");
        }

        if (maxK > n - 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxK), $"maxK must be <= n - 1 = {n - 1}; got {maxK}.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(silhouetteSampleSize, 2);

        var curve = new List<KCurvePoint>();
        var results = new Dictionary<int, ClusteringResult>();
        for (var k = minK; k <= maxK; k++)
        {
            var result = clusterer.Fit(points, k, seed);
            results[k] = result;
            double sil;
            try
            {
                sil = ClusterMetrics.SampledSilhouette(points, result.Labels, silhouetteSampleSize, seed);
            }
            catch (ArgumentException)
            {
                sil = double.NaN; // degenerate partition (e.g. fewer than two non-empty clusters in the sample)
            }

            curve.Add(new KCurvePoint(k, result.Inertia, sil, SafeIndex(ClusterMetrics.CalinskiHarabasz, points, result.Labels), SafeIndex(ClusterMetrics.DaviesBouldin, points, result.Labels)));
        }

        var elbowK = ElbowDetector.Kneedle(curve.Select(p => p.K).ToList(), curve.Select(p => p.Inertia).ToList()).K;

        var silK = curve[0].K;
        var bestSil = double.NegativeInfinity;
        foreach (var p in curve)
        {
            if (!double.IsNaN(p.Silhouette) && p.Silhouette > bestSil)
            {
                bestSil = p.Silhouette;
                silK = p.K;
            }
        }

        var (chosen, reason) = ElbowAndSilhouette(curve, elbowK, silK, bestSil);
        var chK = BestBy(curve, p => p.CalinskiHarabasz, higherIsBetter: true);
        var dbK = BestBy(curve, p => p.DaviesBouldin, higherIsBetter: false);
        var votes = new[] { elbowK, double.IsNegativeInfinity(bestSil) ? (int?)null : silK, chK, dbK }
            .OfType<int>()
            .CountBy(k => k)
            .OrderByDescending(pair => pair.Value)
            .ToArray();
        var indices = $"(elbow k = {elbowK}, best silhouette k = {silK}, best Calinski-Harabasz k = {Show(chK)}, best Davies-Bouldin k = {Show(dbK)})";
        if (votes.Length > 0 && (votes.Length == 1 || votes[0].Value > votes[1].Value))
        {
            chosen = votes[0].Key;
            reason = $"Chose k = {chosen}: named by {votes[0].Value} of the 4 criteria {indices}.";
        }
        else
        {
            reason = $"{reason} The 4 criteria were split {indices}, so the elbow and silhouette rule decided.";
        }

        return new KChoice(curve, elbowK, silK, chosen, reason, results[chosen]);
    }

    private static (int K, string Reason) ElbowAndSilhouette(List<KCurvePoint> curve, int elbowK, int silK, double bestSil)
    {
        var elbowSil = curve.First(p => p.K == elbowK).Silhouette;
        if (double.IsNegativeInfinity(bestSil))
        {
            return (elbowK, $"Chose k = {elbowK} from the elbow of the inertia curve because no silhouette could be computed.");
        }

        if (elbowK == silK)
        {
            return (elbowK, $"Chose k = {elbowK}: the elbow of the inertia curve and the best silhouette ({bestSil:F3}) agree.");
        }

        if (!double.IsNaN(elbowSil) && bestSil - elbowSil <= SilhouetteTolerance)
        {
            return (elbowK, $"Chose k = {elbowK} (the elbow): the best silhouette is at k = {silK} ({bestSil:F3}), but the elbow's " +
                            $"silhouette ({elbowSil:F3}) is within {SilhouetteTolerance} of it, so the simpler elbow model is preferred.");
        }

        var elbowText = double.IsNaN(elbowSil) ? "not computable" : elbowSil.ToString("F3");
        return (silK, $"Chose k = {silK} (best silhouette, {bestSil:F3}): the elbow at k = {elbowK} has a clearly lower " +
                      $"silhouette ({elbowText}), more than {SilhouetteTolerance} below.");
    }

    /// <summary>The k with the best finite value (the smallest such k on ties); null when no value is finite.</summary>
    private static int? BestBy(List<KCurvePoint> curve, Func<KCurvePoint, double> value, bool higherIsBetter)
    {
        int? best = null;
        var bestValue = 0.0;
        foreach (var point in curve)
        {
            var v = value(point);
            if (!double.IsFinite(v))
            {
                continue;
            }

            if (best is null || (higherIsBetter ? v > bestValue : v < bestValue))
            {
                best = point.K;
                bestValue = v;
            }
        }

        return best;
    }

    private static string Show(int? k) => k?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";

    /// <summary>The index of the partition, or NaN when it has fewer than two non-empty clusters.</summary>
    internal static double SafeIndex(Func<double[][], int[], double> index, double[][] points, int[] labels)
    {
        try
        {
            return index(points, labels);
        }
        catch (ArgumentException)
        {
            return double.NaN; // fewer than two non-empty clusters
        }
    }
}
