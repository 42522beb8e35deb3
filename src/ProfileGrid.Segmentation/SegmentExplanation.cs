using System.Globalization;
using System.Text;

namespace ProfileGrid.Segmentation;

/// <summary>A segment and how far a user lies from its centroid (Euclidean, in the model's normalised space).</summary>
public sealed record SegmentDistance(int SegmentId, string Label, double Distance);

/// <summary>
/// One model feature of an explanation: the user's value against the centroids of their segment and of the nearest
/// other segment, in original units and in the normalised space where distances are measured, and what the feature
/// adds to each squared distance.
/// </summary>
/// <param name="Value">The user's value in original units (days, orders, currency, ...).</param>
/// <param name="Centroid">The own segment's average member in original units, at training time.</param>
/// <param name="NearestOtherCentroid">The nearest other segment's average member (NaN with a one-segment model).</param>
/// <param name="Normalised">The user's coordinate after the model's transform (log1p where the model applies it, then scaling).</param>
/// <param name="Contribution">(Normalised - CentroidNormalised)²: this feature's share of the squared distance to the own centroid.</param>
/// <param name="NearestOtherContribution">The same for the nearest other segment's centroid (NaN with a one-segment model).</param>
public sealed record FeatureContribution(
    string Feature,
    double Value,
    double Centroid,
    double NearestOtherCentroid,
    double Normalised,
    double CentroidNormalised,
    double NearestOtherCentroidNormalised,
    double Contribution,
    double NearestOtherContribution)
{
    /// <summary>How much more the feature adds to the squared distance to the nearest other segment than to the own: positive favours the own.</summary>
    public double Advantage => NearestOtherContribution - Contribution;
}

/// <summary>
/// Why a user is in their segment under a model: the segment nearest to their vector, the nearest other segment, both
/// distances and the margin between them, and each feature's part in the two distances. Built by
/// <see cref="Explain"/> from the facts alone (no text per segment), so it holds for any model and any labels.
/// </summary>
public sealed class SegmentExplanation
{
    /// <summary>How many features <see cref="Favouring"/> lists at most.</summary>
    public const int TopFeatures = 3;

    public long ModelVersion { get; init; }

    /// <summary>The segment the user is assigned to: the one <see cref="SegmentModel.Assign"/> gives for the same vector.</summary>
    public required SegmentDistance Segment { get; init; }

    /// <summary>The second nearest segment; null when the model has one segment.</summary>
    public SegmentDistance? NearestOther { get; init; }

    /// <summary>NearestOther.Distance - Segment.Distance (≥ 0); NaN when there is no other segment.</summary>
    public double Margin { get; init; }

    /// <summary>One entry per model feature, in model column order.</summary>
    public required IReadOnlyList<FeatureContribution> Features { get; init; }

    /// <summary>
    /// The features that most favour the own segment over the nearest other (largest positive
    /// <see cref="FeatureContribution.Advantage"/>, at most <see cref="TopFeatures"/>, ties in feature order).
    /// </summary>
    public required IReadOnlyList<string> Favouring { get; init; }

    /// <summary>One line of plain English built from the figures above.</summary>
    public required string Summary { get; init; }

    /// <summary>
    /// Explains <paramref name="sourceVector"/> (a full feature vector, as the model's <see cref="SegmentModel.SourceColumns"/>
    /// index it, already aged to the instant of interest) against <paramref name="model"/>.
    /// </summary>
    /// <param name="formatValue">Writes a feature's value with its unit for the summary ("14 orders"); default: the number alone.</param>
    /// <exception cref="ArgumentException">The model has no segments.</exception>
    public static SegmentExplanation Explain(SegmentModel model, double[] sourceVector, Func<string, double, string>? formatValue = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sourceVector);
        if (model.Segments.Length == 0)
        {
            throw new ArgumentException("The model has no segments.", nameof(model));
        }

        formatValue ??= (_, value) => FormatNumber(value);
        var d = model.SourceColumns.Length;
        var row = new double[d];
        for (var j = 0; j < d; j++)
        {
            row[j] = sourceVector[model.SourceColumns[j]];
        }

        var normalised = model.Normalizer.Transform(row);

        // The same arithmetic and tie rule as SegmentModel.NearestIndex (first strictly smaller wins), so the segment
        // explained is the segment assigned.
        var distances = new double[model.Segments.Length];
        var best = 0;
        var bestDistance = double.PositiveInfinity;
        for (var s = 0; s < distances.Length; s++)
        {
            distances[s] = ClusterMath.SquaredDistance(normalised, model.Segments[s].Centroid);
            if (distances[s] < bestDistance)
            {
                bestDistance = distances[s];
                best = s;
            }
        }

        // The nearest other segment, with the same tie rule.
        var second = -1;
        for (var s = 0; s < distances.Length; s++)
        {
            if (s != best && (second < 0 || distances[s] < distances[second]))
            {
                second = s;
            }
        }

        var own = model.Segments[best];
        var other = second >= 0 ? model.Segments[second] : null;
        var features = new FeatureContribution[d];
        for (var j = 0; j < d; j++)
        {
            var contribution = Square(normalised[j] - own.Centroid[j]);
            features[j] = new FeatureContribution(
                j < model.Features.Length ? model.Features[j] : $"feature {j}",
                row[j],
                OriginalUnits(own, j),
                other is null ? double.NaN : OriginalUnits(other, j),
                normalised[j],
                own.Centroid[j],
                other is null ? double.NaN : other.Centroid[j],
                contribution,
                other is null ? double.NaN : Square(normalised[j] - other.Centroid[j]));
        }

        var ownDistance = new SegmentDistance(own.Id, own.Label, Math.Sqrt(distances[best]));
        var otherDistance = other is null ? null : new SegmentDistance(other.Id, other.Label, Math.Sqrt(distances[second]));
        var favouring = features
            .Select((f, j) => (f, j))
            .Where(p => p.f.Advantage > 0)
            .OrderByDescending(p => p.f.Advantage)
            .ThenBy(p => p.j)
            .Take(TopFeatures)
            .Select(p => p.f)
            .ToArray();

        return new SegmentExplanation
        {
            ModelVersion = model.Version,
            Segment = ownDistance,
            NearestOther = otherDistance,
            Margin = otherDistance is null ? double.NaN : otherDistance.Distance - ownDistance.Distance,
            Features = features,
            Favouring = favouring.Select(f => f.Feature).ToArray(),
            Summary = Summarise(ownDistance, otherDistance, features, favouring, formatValue),
        };
    }

    /// <summary>A number as the summary writes it: thousands separated above 100, at most two decimals below 10.</summary>
    public static string FormatNumber(double value)
    {
        if (!double.IsFinite(value))
        {
            return value.ToString(CultureInfo.InvariantCulture);
        }

        var magnitude = Math.Abs(value);
        var format = magnitude >= 100 ? "#,##0" : magnitude >= 10 ? "0.#" : "0.##";
        var text = value.ToString(format, CultureInfo.InvariantCulture);
        return text == "-0" ? "0" : text;
    }

    private static string Summarise(
        SegmentDistance own,
        SegmentDistance? other,
        FeatureContribution[] features,
        FeatureContribution[] favouring,
        Func<string, double, string> format)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"In '{own.Label}' (distance {Distance(own.Distance)})");
        if (other is null)
        {
            text.Append(", the model's only segment: ");
            var farthest = features.Select((f, j) => (f, j)).OrderByDescending(p => p.f.Contribution).ThenBy(p => p.j).Take(TopFeatures).Select(p => p.f);
            text.Append(string.Join("; ", farthest.Select(f => $"{f.Feature} {format(f.Feature, f.Value)} vs {format(f.Feature, f.Centroid)}")));
            return text.Append('.').ToString();
        }

        text.Append(CultureInfo.InvariantCulture, $" rather than '{other.Label}' (distance {Distance(other.Distance)})");
        if (favouring.Length == 0)
        {
            // Only on a tie: no feature is nearer the own centroid than the other's.
            return text.Append(": equally near both; the first segment of the model wins the tie.").ToString();
        }

        text.Append(": ");
        for (var i = 0; i < favouring.Length; i++)
        {
            var f = favouring[i];
            text.Append(i == 0 ? "" : "; ")
                .Append(f.Feature).Append(' ').Append(format(f.Feature, f.Value))
                .Append(" vs ").Append(format(f.Feature, f.Centroid));
            text.Append(i == 0 ? $" in '{own.Label}' and " : " and ")
                .Append(format(f.Feature, f.NearestOtherCentroid))
                .Append(i == 0 ? $" in '{other.Label}'" : "");
        }

        text.Append('.');

        // The one feature that pulls hardest the other way, so a reader sees the whole tug, not only the winning side.
        var against = features.Select((f, j) => (f, j)).Where(p => p.f.Advantage < 0).OrderBy(p => p.f.Advantage).ThenBy(p => p.j).Select(p => p.f).FirstOrDefault();
        if (against is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $" Nearer '{other.Label}' on {against.Feature}: {format(against.Feature, against.Value)} vs ")
                .Append(format(against.Feature, against.Centroid)).Append(" and ").Append(format(against.Feature, against.NearestOtherCentroid)).Append('.');
        }

        return text.ToString();
    }

    private static string Distance(double distance) => distance.ToString("0.00", CultureInfo.InvariantCulture);

    private static double OriginalUnits(SegmentDefinition segment, int column) =>
        column < segment.CentroidInOriginalUnits.Length ? segment.CentroidInOriginalUnits[column] : double.NaN;

    private static double Square(double x) => x * x;
}
