namespace ProfileGrid.Segmentation;

/// <summary>One candidate k: the inertia of its clustering and its (possibly sampled) mean silhouette.</summary>
public sealed record KCurvePoint(int K, double Inertia, double Silhouette);

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
    /// records inertia and the sampled silhouette (<see cref="ClusterMetrics.SampledSilhouette"/> with
    /// <paramref name="silhouetteSampleSize"/> rows and the same seed), and chooses k by this rule:
    /// <list type="number">
    /// <item>If the elbow (<see cref="ElbowDetector.Kneedle"/> on inertia) and the silhouette's best k agree, take it.</item>
    /// <item>Otherwise take the silhouette's best k, unless its silhouette is within <see cref="SilhouetteTolerance"/>
    /// (0.02) of the silhouette at the elbow's k, in which case take the elbow's k (the simpler, equally good model).</item>
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

            curve.Add(new KCurvePoint(k, result.Inertia, sil));
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

        var elbowSil = curve.First(p => p.K == elbowK).Silhouette;
        int chosen;
        string reason;
        if (double.IsNegativeInfinity(bestSil))
        {
            chosen = elbowK;
            reason = $"Chose k = {chosen} from the elbow of the inertia curve because no silhouette could be computed.";
        }
        else if (elbowK == silK)
        {
            chosen = elbowK;
            reason = $"Chose k = {chosen}: the elbow of the inertia curve and the best silhouette ({bestSil:F3}) agree.";
        }
        else if (!double.IsNaN(elbowSil) && bestSil - elbowSil <= SilhouetteTolerance)
        {
            chosen = elbowK;
            reason = $"Chose k = {chosen} (the elbow): the best silhouette is at k = {silK} ({bestSil:F3}), but the elbow's " +
                     $"silhouette ({elbowSil:F3}) is within {SilhouetteTolerance} of it, so the simpler elbow model is preferred.";
        }
        else
        {
            chosen = silK;
            var elbowText = double.IsNaN(elbowSil) ? "not computable" : elbowSil.ToString("F3");
            reason = $"Chose k = {chosen} (best silhouette, {bestSil:F3}): the elbow at k = {elbowK} has a clearly lower " +
                     $"silhouette ({elbowText}), more than {SilhouetteTolerance} below.";
        }

        return new KChoice(curve, elbowK, silK, chosen, reason, results[chosen]);
    }
}
