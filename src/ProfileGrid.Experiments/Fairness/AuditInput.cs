using System.Text.Json.Serialization;

namespace ProfileGrid.Experiments.Fairness;

/// <summary>The user-group dimensions the audit knows by name, and the values every dimension may hold.</summary>
public static class FairnessDimensions
{
    public const string Segment = "segment";
    public const string Gender = "gender";
    public const string AgeBand = "age_band";
    public const string Country = "country";

    /// <summary>New against returning visitors: values <see cref="NewVisitor"/> and <see cref="ReturningVisitor"/>.</summary>
    public const string Visitor = "visitor";

    public const string NewVisitor = "new";
    public const string ReturningVisitor = "returning";

    /// <summary>The value of users whose attribute is not known: a group like any other.</summary>
    public const string Unknown = "unknown";

    /// <summary>The dimensions in the order the audit reports them; other names follow in ordinal order.</summary>
    public static IReadOnlyList<string> Known { get; } = [Segment, Gender, AgeBand, Country, Visitor];
}

/// <summary>
/// The data of a fairness audit: per dimension ("gender"), per group value ("female"), a <see cref="GroupTally"/>;
/// and per item the items-shown count. Every user should be in exactly one group of each dimension ("unknown" when
/// the attribute is missing), so that each dimension's groups add up to the same users. Summable over shards with
/// <see cref="Add"/>.
/// </summary>
public sealed record AuditInput
{
    /// <summary>Dimension name → group value → tally.</summary>
    [JsonPropertyName("groups")]
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, GroupTally>> Groups { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, GroupTally>>();

    /// <summary>Item id → times it was shown (in any list). Items never shown may be left out.</summary>
    [JsonPropertyName("item_impressions")]
    public IReadOnlyDictionary<string, long> ItemImpressions { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// Items in the catalog, shown or not; null when unknown. When given, items never shown count as zero exposure
    /// (in the Gini, the head and the coverage).
    /// </summary>
    [JsonPropertyName("catalog_size")]
    public long? CatalogSize { get; init; }

    /// <summary>
    /// The input of two shards of disjoint users: tallies of the same dimension and group are added, item counts
    /// added, and the larger catalog size kept (both shards see the same catalog).
    /// </summary>
    public static AuditInput Add(AuditInput a, AuditInput b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var items = new Dictionary<string, long>(a.ItemImpressions, StringComparer.Ordinal);
        foreach (var (item, count) in b.ItemImpressions)
        {
            items[item] = items.GetValueOrDefault(item) + count;
        }

        long? catalog = a.CatalogSize is null ? b.CatalogSize : b.CatalogSize is null ? a.CatalogSize : Math.Max(a.CatalogSize.Value, b.CatalogSize.Value);
        return new AuditInput { Groups = TallyMaps.Add(a.Groups, b.Groups, (x, y) => TallyMaps.Add(x, y, GroupTally.Add)), ItemImpressions = items, CatalogSize = catalog };
    }
}

/// <summary>
/// The data of the by-group effect of an experiment: per dimension, per group value, per variant key, the tally of the
/// experiment's users of that group in that variant; and which variant is control. Summable over shards with
/// <see cref="Add"/>.
/// </summary>
public sealed record ExperimentAuditInput
{
    /// <summary>The experiment's id, for the report.</summary>
    [JsonPropertyName("experiment_id")]
    public string ExperimentId { get; init; } = "";

    /// <summary>The key of the control variant; every other variant is compared with it.</summary>
    [JsonPropertyName("control_variant")]
    public string ControlVariant { get; init; } = "";

    /// <summary>Dimension name → group value → variant key → tally.</summary>
    [JsonPropertyName("groups")]
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, GroupTally>>> Groups { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, IReadOnlyDictionary<string, GroupTally>>>();

    /// <summary>The input of two shards of disjoint users of the same experiment.</summary>
    /// <exception cref="ArgumentException">The two name different experiments or control variants.</exception>
    public static ExperimentAuditInput Add(ExperimentAuditInput a, ExperimentAuditInput b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.ExperimentId != b.ExperimentId || a.ControlVariant != b.ControlVariant)
        {
            throw new ArgumentException(
                $"Only shards of one experiment add up: '{a.ExperimentId}' (control '{a.ControlVariant}') against '{b.ExperimentId}' (control '{b.ControlVariant}').",
                nameof(b));
        }

        return a with { Groups = TallyMaps.Add(a.Groups, b.Groups, (x, y) => TallyMaps.Add(x, y, (p, q) => TallyMaps.Add(p, q, GroupTally.Add))) };
    }
}

/// <summary>Adds nested dictionaries key by key.</summary>
internal static class TallyMaps
{
    public static IReadOnlyDictionary<string, TValue> Add<TValue>(
        IReadOnlyDictionary<string, TValue> a, IReadOnlyDictionary<string, TValue> b, Func<TValue, TValue, TValue> add)
    {
        var sum = new Dictionary<string, TValue>(a, StringComparer.Ordinal);
        foreach (var (key, value) in b)
        {
            sum[key] = sum.TryGetValue(key, out var existing) ? add(existing, value) : value;
        }

        return sum;
    }
}
