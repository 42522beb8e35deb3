namespace ProfileGrid.Segmentation;

/// <summary>A feature that sets a segment apart: its centroid value (original units) and z-score against the population.</summary>
public sealed record DistinguishingFeature(string Feature, double Value, double ZScore);

/// <summary>A segment's human-readable label and its most distinguishing features (|z| descending).</summary>
public sealed record SegmentDescription(int Segment, string Label, IReadOnlyList<DistinguishingFeature> Features);

/// <summary>Labels segments from their centroids in original units with fixed, documented rules.</summary>
public static class SegmentLabeler
{
    /// <summary>How many distinguishing features each description lists.</summary>
    public const int TopFeatures = 3;

    /// <summary>
    /// Describes each segment. For every feature, z = (centroid - overall mean) / overall std-dev (0 when the
    /// std-dev is 0 or not finite). The label is the first rule that matches, in this order:
    /// <list type="number">
    /// <item><c>dormant</c>: days_since_last_seen z &gt; 1.0 (recency_days when days_since_last_seen is not a model
    /// feature) and engagement_velocity z &lt; -0.5.</item>
    /// <item><c>high-value</c>: monetary z &gt; 1.0.</item>
    /// <item><c>new</c>: tenure_days z &lt; -1.0.</item>
    /// <item><c>at-risk</c>: recency_days z &gt; 0.5 and frequency z &gt; 0.</item>
    /// <item><c>loyal</c>: frequency z &gt; 0.5.</item>
    /// <item><c>browser</c>: frequency z &lt;= 0 and any of engagement_velocity, sessions or category_diversity z &gt; 0.5
    /// (engaged, looks around, does not buy).</item>
    /// <item><c>casual</c>: otherwise.</item>
    /// </list>
    /// A rule that needs a feature missing from <paramref name="featureNames"/> does not apply. When several
    /// segments get the same label, the second and later (in segment order) get " 2", " 3", … suffixes.
    /// Distinguishing features are the <see cref="TopFeatures"/> with the largest |z| (ties by feature order).
    /// </summary>
    public static IReadOnlyList<SegmentDescription> Describe(
        IReadOnlyList<string> featureNames, double[][] centroidsInOriginalUnits, double[] overallMean, double[] overallStdDev)
    {
        ArgumentNullException.ThrowIfNull(featureNames);
        ArgumentNullException.ThrowIfNull(centroidsInOriginalUnits);
        ArgumentNullException.ThrowIfNull(overallMean);
        ArgumentNullException.ThrowIfNull(overallStdDev);
        var d = featureNames.Count;
        if (overallMean.Length != d || overallStdDev.Length != d)
        {
            throw new ArgumentException("The mean and standard deviation must have one value per feature.");
        }

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var j = 0; j < d; j++)
        {
            index.TryAdd(featureNames[j], j);
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new List<SegmentDescription>(centroidsInOriginalUnits.Length);
        for (var s = 0; s < centroidsInOriginalUnits.Length; s++)
        {
            var centroid = centroidsInOriginalUnits[s];
            if (centroid is null || centroid.Length != d)
            {
                throw new ArgumentException($"Centroid {s} must have {d} values.", nameof(centroidsInOriginalUnits));
            }

            var z = new double[d];
            for (var j = 0; j < d; j++)
            {
                var sd = overallStdDev[j];
                z[j] = sd > 0 && double.IsFinite(sd) ? (centroid[j] - overallMean[j]) / sd : 0;
            }

            var label = Label(name => index.TryGetValue(name, out var j) ? z[j] : null);
            var count = seen.GetValueOrDefault(label) + 1;
            seen[label] = count;
            if (count > 1)
            {
                label = $"{label} {count}";
            }

            var features = Enumerable.Range(0, d)
                .OrderByDescending(j => Math.Abs(z[j]))
                .ThenBy(j => j)
                .Take(TopFeatures)
                .Select(j => new DistinguishingFeature(featureNames[j], centroid[j], z[j]))
                .ToArray();
            result.Add(new SegmentDescription(s, label, features));
        }

        return result;
    }

    private static string Label(Func<string, double?> z)
    {
        var recency = z("recency_days");
        var velocity = z("engagement_velocity");
        var monetary = z("monetary");
        var tenure = z("tenure_days");
        var frequency = z("frequency");
        var inactive = z("days_since_last_seen") ?? recency;
        var sessions = z("sessions");
        var diversity = z("category_diversity");

        if (inactive > 1.0 && velocity < -0.5)
        {
            return "dormant";
        }

        if (monetary > 1.0)
        {
            return "high-value";
        }

        if (tenure < -1.0)
        {
            return "new";
        }

        if (recency > 0.5 && frequency > 0)
        {
            return "at-risk";
        }

        if (frequency > 0.5)
        {
            return "loyal";
        }

        if (frequency <= 0 && (velocity > 0.5 || sessions > 0.5 || diversity > 0.5))
        {
            return "browser";
        }

        return "casual";
    }
}
