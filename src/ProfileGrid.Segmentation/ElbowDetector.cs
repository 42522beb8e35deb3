namespace ProfileGrid.Segmentation;

/// <summary>The chosen k and the Kneedle difference curve (one value per candidate k, same order as the input).</summary>
public sealed record ElbowResult(int K, double[] Differences);

/// <summary>Chooses k from an inertia-vs-k curve.</summary>
public static class ElbowDetector
{
    /// <summary>
    /// Kneedle (Satopää, Albrecht, Irwin &amp; Raghavan, 2011) for a decreasing convex curve, offline variant with no
    /// smoothing and no threshold/sensitivity test: the global maximum of the difference curve is the knee.
    /// <list type="number">
    /// <item>Sort by k; normalise x' = (k - k_min)/(k_max - k_min) and y' = (y - y_min)/(y_max - y_min) to [0, 1].</item>
    /// <item>A decreasing convex curve runs from (0, 1) to (1, 0); flip it vertically (1 - y') so it becomes increasing
    /// concave as in the paper, and take the difference curve D = (1 - y') - x', i.e. how far the curve sits below the
    /// chord joining its end points.</item>
    /// <item>Return the k at the maximum of D (the earliest k on ties).</item>
    /// </list>
    /// Equivalent to kneed's <c>KneeLocator(curve="convex", direction="decreasing", online=False)</c> without interpolation.
    /// </summary>
    public static ElbowResult Kneedle(IReadOnlyList<int> ks, IReadOnlyList<double> inertias)
    {
        ArgumentNullException.ThrowIfNull(ks);
        ArgumentNullException.ThrowIfNull(inertias);
        if (ks.Count != inertias.Count)
        {
            throw new ArgumentException("ks and inertias must have the same length.");
        }

        var n = ks.Count;
        if (n == 0)
        {
            throw new ArgumentException("At least one candidate k is required.", nameof(ks));
        }

        var order = Enumerable.Range(0, n).OrderBy(i => ks[i]).ToArray();
        double kMin = ks[order[0]], kMax = ks[order[n - 1]];
        double yMin = inertias.Min(), yMax = inertias.Max();
        double xRange = kMax - kMin, yRange = yMax - yMin;

        var diff = new double[n];
        for (var i = 0; i < n; i++)
        {
            var xn = xRange > 0 ? (ks[i] - kMin) / xRange : 0.0;
            var yn = yRange > 0 ? (inertias[i] - yMin) / yRange : 0.0;
            diff[i] = (1.0 - yn) - xn;
        }

        // Flat or single-point curves have no knee: fall back to the smallest k.
        var best = order[0];
        if (xRange > 0 && yRange > 0)
        {
            foreach (var i in order)
            {
                if (diff[i] > diff[best])
                {
                    best = i;
                }
            }
        }

        return new ElbowResult(ks[best], diff);
    }
}
