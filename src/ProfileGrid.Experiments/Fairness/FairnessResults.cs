using System.Text.Json.Serialization;

namespace ProfileGrid.Experiments.Fairness;

/// <summary>
/// A figure with its confidence interval. Null where the data cannot say (no users, one user): never NaN or
/// infinity, so that the record serialises to plain JSON.
/// </summary>
/// <param name="Value">The estimate.</param>
/// <param name="Lower">Lower bound at the audit's confidence level.</param>
/// <param name="Upper">Upper bound.</param>
public sealed record Estimate(
    [property: JsonPropertyName("value")] double? Value,
    [property: JsonPropertyName("lower")] double? Lower,
    [property: JsonPropertyName("upper")] double? Upper);

/// <summary>The metrics the four-fifths rule compares across groups.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FairnessMetric>))]
public enum FairnessMetric
{
    /// <summary>Lists shown per known user of the group.</summary>
    [JsonStringEnumMemberName("exposure_per_user")]
    ExposurePerUser,

    /// <summary>Clicks per list shown (the delta-method CTR).</summary>
    [JsonStringEnumMemberName("ctr")]
    Ctr,

    /// <summary>Converters per exposed user.</summary>
    [JsonStringEnumMemberName("conversion_rate")]
    ConversionRate,
}

/// <summary>What the four-fifths rule says about one group on one metric.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FourFifthsVerdict>))]
public enum FourFifthsVerdict
{
    /// <summary>At least the threshold (0.8) of the best group's rate.</summary>
    [JsonStringEnumMemberName("ok")]
    Ok,

    /// <summary>Below the threshold of the best group's rate, with enough users to judge.</summary>
    [JsonStringEnumMemberName("flagged")]
    Flagged,

    /// <summary>Fewer users than the minimum: reported, never flagged.</summary>
    [JsonStringEnumMemberName("too_small")]
    TooSmall,

    /// <summary>No group is large enough to judge, or the best judged rate is 0: there is nothing to compare with.</summary>
    [JsonStringEnumMemberName("no_reference")]
    NoReference,
}

/// <summary>
/// The four-fifths rule for one group on one metric: its rate over the best judged group's, the verdict, and whether
/// the gap is statistically significant, so that a flag raised by noise can be told from a real one.
/// </summary>
/// <param name="Metric">The metric compared.</param>
/// <param name="Rate">The group's rate.</param>
/// <param name="ReferenceGroup">The group with the highest rate among those with enough users; null when none.</param>
/// <param name="ReferenceRate">That group's rate.</param>
/// <param name="Ratio">Rate over reference rate (1 for the reference itself); null without a reference.</param>
/// <param name="Verdict">Ok, flagged, too small to judge, or no reference.</param>
/// <param name="PValue">Two-sided p-value of the gap against the reference group; null for the reference itself and for groups too small to judge.</param>
/// <param name="Significant">Whether <paramref name="PValue"/> is below the audit's alpha.</param>
/// <param name="Users">The users the rate is over (known users for exposure, exposed users otherwise).</param>
public sealed record FourFifthsCheck(
    [property: JsonPropertyName("metric")] FairnessMetric Metric,
    [property: JsonPropertyName("rate")] double? Rate,
    [property: JsonPropertyName("reference_group")] string? ReferenceGroup,
    [property: JsonPropertyName("reference_rate")] double? ReferenceRate,
    [property: JsonPropertyName("ratio")] double? Ratio,
    [property: JsonPropertyName("verdict")] FourFifthsVerdict Verdict,
    [property: JsonPropertyName("p_value")] double? PValue,
    [property: JsonPropertyName("significant")] bool Significant,
    [property: JsonPropertyName("users")] long Users);

/// <summary>How one group of one dimension is served.</summary>
public sealed record GroupAudit
{
    /// <summary>The group's value ("female", "25-34", "unknown").</summary>
    [JsonPropertyName("group")]
    public required string Group { get; init; }

    /// <summary>The group's tally as given.</summary>
    [JsonPropertyName("tally")]
    public required GroupTally Tally { get; init; }

    /// <summary>The group's share of the dimension's known users.</summary>
    [JsonPropertyName("user_share")]
    public double? UserShare { get; init; }

    /// <summary>The group's share of the dimension's impressions (lists shown).</summary>
    [JsonPropertyName("impression_share")]
    public double? ImpressionShare { get; init; }

    /// <summary>Impression share over user share: 1 is parity, 0.5 is half the exposure its size would give.</summary>
    [JsonPropertyName("exposure_parity")]
    public double? ExposureParity { get; init; }

    /// <summary>Lists shown per known user, with a normal interval from the per-user impressions.</summary>
    [JsonPropertyName("exposure_per_user")]
    public required Estimate ExposurePerUser { get; init; }

    /// <summary>Clicks per item shown (no interval: items shown are not tallied per user).</summary>
    [JsonPropertyName("item_ctr")]
    public double? ItemCtr { get; init; }

    /// <summary>Clicks per list shown, with a delta-method interval over the exposed users.</summary>
    [JsonPropertyName("ctr")]
    public required Estimate Ctr { get; init; }

    /// <summary>Converters per exposed user, with a Wilson score interval.</summary>
    [JsonPropertyName("conversion_rate")]
    public required Estimate ConversionRate { get; init; }

    /// <summary>Attributed revenue per exposed user, with a normal interval.</summary>
    [JsonPropertyName("revenue_per_exposed_user")]
    public required Estimate RevenuePerExposedUser { get; init; }

    /// <summary>The four-fifths rule on exposure per user, CTR and conversion rate, in that order.</summary>
    [JsonPropertyName("four_fifths")]
    public required IReadOnlyList<FourFifthsCheck> FourFifths { get; init; }

    /// <summary>Whether any metric is flagged.</summary>
    [JsonPropertyName("flagged")]
    public bool Flagged => FourFifths.Any(c => c.Verdict == FourFifthsVerdict.Flagged);
}

/// <summary>The groups of one dimension, largest first.</summary>
/// <param name="Dimension">"segment", "gender", "age_band", "country", "visitor" or another name the input used.</param>
/// <param name="Users">Known users over all its groups.</param>
/// <param name="Impressions">Lists shown over all its groups.</param>
/// <param name="Groups">Each group, by users descending then by name.</param>
public sealed record DimensionAudit(
    [property: JsonPropertyName("dimension")] string Dimension,
    [property: JsonPropertyName("users")] long Users,
    [property: JsonPropertyName("impressions")] long Impressions,
    [property: JsonPropertyName("groups")] IReadOnlyList<GroupAudit> Groups);

/// <summary>How concentrated exposure is over the items.</summary>
public sealed record ItemExposureAudit
{
    /// <summary>Items shown, summed over items (one item in one list counts once).</summary>
    [JsonPropertyName("item_impressions")]
    public long ItemImpressions { get; init; }

    /// <summary>Items shown at least once.</summary>
    [JsonPropertyName("distinct_items_shown")]
    public long DistinctItemsShown { get; init; }

    /// <summary>The catalog size as given; null when unknown.</summary>
    [JsonPropertyName("catalog_size")]
    public long? CatalogSize { get; init; }

    /// <summary>The items the figures are over: the catalog (never-shown items as zeros) when known, else the items given.</summary>
    [JsonPropertyName("items_counted")]
    public long ItemsCounted { get; init; }

    /// <summary>Gini coefficient of impressions over the items counted: 0 when every item is shown equally, near 1 when a few take all.</summary>
    [JsonPropertyName("gini")]
    public double? Gini { get; init; }

    /// <summary>Items in the head: the ceiling of the head fraction times the items counted.</summary>
    [JsonPropertyName("head_items")]
    public long HeadItems { get; init; }

    /// <summary>Share of impressions going to the head (the most-shown items).</summary>
    [JsonPropertyName("head_share")]
    public double? HeadShare { get; init; }

    /// <summary>Share of impressions going to the long tail: every item outside the head.</summary>
    [JsonPropertyName("long_tail_share")]
    public double? LongTailShare { get; init; }

    /// <summary>What the long tail is, in words, with this audit's numbers.</summary>
    [JsonPropertyName("long_tail_definition")]
    public string LongTailDefinition { get; init; } = "";

    /// <summary>How many most-shown items <see cref="TopItemsShare"/> counts (fewer when fewer were counted).</summary>
    [JsonPropertyName("top_items")]
    public long TopItems { get; init; }

    /// <summary>Share of impressions going to the <see cref="TopItems"/> most-shown items.</summary>
    [JsonPropertyName("top_items_share")]
    public double? TopItemsShare { get; init; }

    /// <summary>Distinct items shown over the catalog size; null when the catalog size is unknown.</summary>
    [JsonPropertyName("coverage")]
    public double? Coverage { get; init; }

    /// <summary>Why a figure is missing or was adjusted, or null.</summary>
    [JsonPropertyName("caveat")]
    public string? Caveat { get; init; }
}

/// <summary>The fairness audit: every dimension's groups, the four-fifths flags, and item-side concentration.</summary>
public sealed record FairnessAudit
{
    /// <summary>The fewest users a group needs to be judged.</summary>
    [JsonPropertyName("minimum_users")]
    public long MinimumUsers { get; init; }

    /// <summary>The four-fifths threshold (0.8).</summary>
    [JsonPropertyName("threshold")]
    public double Threshold { get; init; }

    /// <summary>Significance level; intervals are at 1 - alpha.</summary>
    [JsonPropertyName("alpha")]
    public double Alpha { get; init; }

    /// <summary>Each dimension, known ones first (segment, gender, age_band, country, visitor).</summary>
    [JsonPropertyName("dimensions")]
    public IReadOnlyList<DimensionAudit> Dimensions { get; init; } = [];

    /// <summary>Item-side exposure concentration.</summary>
    [JsonPropertyName("items")]
    public required ItemExposureAudit Items { get; init; }

    /// <summary>Flagged (group, metric) pairs over all dimensions.</summary>
    [JsonPropertyName("flags")]
    public int Flags => Dimensions.Sum(d => d.Groups.Sum(g => g.FourFifths.Count(c => c.Verdict == FourFifthsVerdict.Flagged)));

    /// <summary>How each figure is computed, for the reader.</summary>
    [JsonPropertyName("methods")]
    public string Methods { get; init; } = FairnessAuditor.Methods;
}

/// <summary>
/// A treatment-minus-control difference with its interval and two-sided p-value. Null figures where the data cannot
/// say (a variant with no users or one user).
/// </summary>
/// <param name="Control">Control's rate.</param>
/// <param name="Treatment">Treatment's rate.</param>
/// <param name="Difference">Treatment minus control.</param>
/// <param name="Lower">Lower bound of the difference.</param>
/// <param name="Upper">Upper bound of the difference.</param>
/// <param name="RelativeLift">Difference over control's rate; null when control's is 0.</param>
/// <param name="PValue">Two-sided p-value.</param>
/// <param name="Significant">Whether the p-value is below alpha.</param>
public sealed record Effect(
    [property: JsonPropertyName("control")] double? Control,
    [property: JsonPropertyName("treatment")] double? Treatment,
    [property: JsonPropertyName("difference")] double? Difference,
    [property: JsonPropertyName("lower")] double? Lower,
    [property: JsonPropertyName("upper")] double? Upper,
    [property: JsonPropertyName("relative_lift")] double? RelativeLift,
    [property: JsonPropertyName("p_value")] double? PValue,
    [property: JsonPropertyName("significant")] bool Significant);

/// <summary>
/// One treatment variant against control, within one group or over the whole dimension: the effect on conversion
/// (two-proportion z-test) and on CTR (delta method).
/// </summary>
public sealed record VariantEffect
{
    /// <summary>The treatment variant's key.</summary>
    [JsonPropertyName("variant")]
    public required string Variant { get; init; }

    /// <summary>Exposed users of control.</summary>
    [JsonPropertyName("control_users")]
    public long ControlUsers { get; init; }

    /// <summary>Exposed users of the treatment.</summary>
    [JsonPropertyName("treatment_users")]
    public long TreatmentUsers { get; init; }

    /// <summary>The effect on converters per exposed user.</summary>
    [JsonPropertyName("conversion")]
    public required Effect Conversion { get; init; }

    /// <summary>The effect on clicks per list shown.</summary>
    [JsonPropertyName("ctr")]
    public required Effect Ctr { get; init; }

    /// <summary>Whether either variant has fewer exposed users than the minimum: such a group is never flagged.</summary>
    [JsonPropertyName("too_small")]
    public bool TooSmall { get; init; }

    /// <summary>
    /// The metrics ("conversion", "ctr") on which the treatment significantly moves this group the opposite way from
    /// the whole dimension: the treatment hurts this group (or, when the overall effect is negative, helps only it).
    /// </summary>
    [JsonPropertyName("opposite_metrics")]
    public IReadOnlyList<string> OppositeMetrics { get; init; } = [];

    /// <summary>Whether any metric is in <see cref="OppositeMetrics"/>.</summary>
    [JsonPropertyName("flagged")]
    public bool Flagged => OppositeMetrics.Count > 0;
}

/// <summary>The effects of an experiment within the groups of one dimension.</summary>
/// <param name="Dimension">The dimension's name.</param>
/// <param name="Overall">Each treatment against control over all the dimension's groups added up.</param>
/// <param name="Groups">Per group, each treatment against control; largest groups first.</param>
public sealed record ExperimentDimensionAudit(
    [property: JsonPropertyName("dimension")] string Dimension,
    [property: JsonPropertyName("overall")] IReadOnlyList<VariantEffect> Overall,
    [property: JsonPropertyName("groups")] IReadOnlyList<GroupEffects> Groups);

/// <summary>The effects of each treatment within one group.</summary>
/// <param name="Group">The group's value.</param>
/// <param name="Effects">One per treatment variant, in ordinal order of the variant key.</param>
public sealed record GroupEffects(
    [property: JsonPropertyName("group")] string Group,
    [property: JsonPropertyName("effects")] IReadOnlyList<VariantEffect> Effects);

/// <summary>The by-group effects of one experiment.</summary>
public sealed record ExperimentFairnessAudit
{
    [JsonPropertyName("experiment_id")]
    public string ExperimentId { get; init; } = "";

    [JsonPropertyName("control_variant")]
    public string ControlVariant { get; init; } = "";

    /// <summary>The fewest exposed users each variant of a group needs to be judged.</summary>
    [JsonPropertyName("minimum_users")]
    public long MinimumUsers { get; init; }

    [JsonPropertyName("alpha")]
    public double Alpha { get; init; }

    [JsonPropertyName("dimensions")]
    public IReadOnlyList<ExperimentDimensionAudit> Dimensions { get; init; } = [];

    /// <summary>Flagged (group, variant) pairs over all dimensions.</summary>
    [JsonPropertyName("flags")]
    public int Flags => Dimensions.Sum(d => d.Groups.Sum(g => g.Effects.Count(e => e.Flagged)));
}
