using System.Text.Json.Serialization;

namespace ProfileGrid.Recommendations.Rules;

/// <summary>The kinds of <see cref="RuleAction"/> (wire names, snake_case).</summary>
public static class RuleActionTypes
{
    /// <summary>Put <see cref="RuleAction.Items"/> at <see cref="RuleAction.Position"/> and after, whatever the model scored.</summary>
    public const string Pin = "pin";

    /// <summary>
    /// Multiply the score of items that <see cref="RuleAction.Match"/> by <see cref="RuleAction.Factor"/>: a factor above 1
    /// raises them, below 1 buries them (0.5 halves). There is no separate "bury": one factor, one meaning.
    /// </summary>
    public const string Boost = "boost";

    /// <summary>Never show <see cref="RuleAction.Items"/>, or items of <see cref="RuleAction.Categories"/> or with any of <see cref="RuleAction.Tags"/>.</summary>
    public const string Exclude = "exclude";

    /// <summary>At most <see cref="RuleAction.MaxPerCategory"/> items of one category in the list (diversity).</summary>
    public const string LimitPerCategory = "limit_per_category";

    /// <summary>Switch the history filters: <see cref="RuleAction.ExcludePurchased"/>, <see cref="RuleAction.ExcludeSeenWithinDays"/>.</summary>
    public const string Filter = "filter";

    public static readonly IReadOnlyList<string> All = [Pin, Boost, Exclude, LimitPerCategory, Filter];
}

/// <summary>
/// A tenant's rules as one versioned document. Every change (upsert, delete, replace) makes a new set with
/// <see cref="Version"/> one higher; the serving path reads the latest set at every request, so a change applies to
/// the next request.
/// </summary>
public sealed record RuleSet
{
    public static readonly RuleSet Empty = new();

    /// <summary>Monotonic: 0 for a tenant that never had rules, then +1 per change.</summary>
    [JsonPropertyName("version")]
    public long Version { get; init; }

    /// <summary>When the set last changed (UTC).</summary>
    [JsonPropertyName("updated_at")]
    public DateTimeOffset UpdatedAt { get; init; }

    [JsonPropertyName("rules")]
    public IReadOnlyList<RecommendationRule> Rules { get; init; } = [];
}

/// <summary>
/// One merchandising rule: who it is for (<see cref="Segment"/>), when (<see cref="StartsAt"/>, <see cref="EndsAt"/>),
/// in what order (<see cref="Priority"/>) and what it does (<see cref="Action"/>). Wire names are snake_case
/// (docs/recommendation-rules.md).
/// </summary>
public sealed record RecommendationRule
{
    /// <summary>1-128 characters, no control characters; given by the client or generated on create (<see cref="RuleSetEditor.NewRuleId"/>).</summary>
    [JsonPropertyName("id")]
    public string? Id { get; init; }

    /// <summary>What the marketer calls it (at most <see cref="RuleLimits.MaxNameLength"/> characters).</summary>
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("description")]
    public string? Description { get; init; }

    /// <summary>
    /// A segment id or label as the serving layer passes it (<see cref="ServingContext.Segments"/>; matched ignoring case);
    /// null, empty or <c>*</c>: everyone. A segment rule never applies to a user who opted out of personalization.
    /// </summary>
    [JsonPropertyName("segment")]
    public string? Segment { get; init; }

    /// <summary>False: kept in the set but never applied.</summary>
    [JsonPropertyName("enabled")]
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Order of application, lowest first (ties by id, ordinal). Where two rules in force disagree (two pins for one
    /// position, two category limits, two filter settings) the one applied first wins.
    /// </summary>
    [JsonPropertyName("priority")]
    public int Priority { get; init; }

    /// <summary>In force from this instant (inclusive); null: always was.</summary>
    [JsonPropertyName("starts_at")]
    public DateTimeOffset? StartsAt { get; init; }

    /// <summary>In force until this instant (exclusive); null: no end.</summary>
    [JsonPropertyName("ends_at")]
    public DateTimeOffset? EndsAt { get; init; }

    [JsonPropertyName("action")]
    public RuleAction? Action { get; init; }

    /// <summary>True when the rule is for everyone (no segment, or <c>*</c>).</summary>
    [JsonIgnore]
    public bool IsForEveryone => string.IsNullOrWhiteSpace(Segment) || Segment.Trim() == "*";

    /// <summary>Enabled and inside its window at <paramref name="now"/>.</summary>
    public bool IsActiveAt(DateTimeOffset now) => Enabled && (StartsAt is null || StartsAt <= now) && (EndsAt is null || now < EndsAt);
}

/// <summary>
/// What a rule does. One flat shape for every <see cref="Type"/> (simple to write, validate and map to protobuf); each
/// type reads only its own fields and validation refuses fields another type would read.
/// </summary>
public sealed record RuleAction
{
    /// <summary>One of <see cref="RuleActionTypes"/>.</summary>
    [JsonPropertyName("type")]
    public string? Type { get; init; }

    /// <summary>pin: the items in order; exclude: items never to show.</summary>
    [JsonPropertyName("items")]
    public IReadOnlyList<string>? Items { get; init; }

    /// <summary>pin: the 1-based position of the first pinned item (default 1: first); the others follow it.</summary>
    [JsonPropertyName("position")]
    public int? Position { get; init; }

    /// <summary>boost: which items the factor applies to.</summary>
    [JsonPropertyName("match")]
    public RuleMatch? Match { get; init; }

    /// <summary>boost: the score multiplier, &gt; 0; above 1 raises, below 1 buries.</summary>
    [JsonPropertyName("factor")]
    public double? Factor { get; init; }

    /// <summary>exclude: category codes never to show.</summary>
    [JsonPropertyName("categories")]
    public IReadOnlyList<string>? Categories { get; init; }

    /// <summary>exclude: items with any of these tags are never shown.</summary>
    [JsonPropertyName("tags")]
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>limit_per_category: the most items of one category in a list.</summary>
    [JsonPropertyName("max_per_category")]
    public int? MaxPerCategory { get; init; }

    /// <summary>filter: leave out items the user bought (default on without any filter rule).</summary>
    [JsonPropertyName("exclude_purchased")]
    public bool? ExcludePurchased { get; init; }

    /// <summary>filter: leave out items the user viewed within this many days (default: off).</summary>
    [JsonPropertyName("exclude_seen_within_days")]
    public int? ExcludeSeenWithinDays { get; init; }
}

/// <summary>
/// Which items a boost applies to: every criterion given must hold (a category and a tag: items of the category with
/// the tag). At least one criterion.
/// </summary>
public sealed record RuleMatch
{
    [JsonPropertyName("category")]
    public string? Category { get; init; }

    [JsonPropertyName("tag")]
    public string? Tag { get; init; }

    [JsonPropertyName("price_band")]
    public PriceBand? PriceBand { get; init; }
}

/// <summary>
/// Prices in [<see cref="Min"/>, <see cref="Max"/>) in <see cref="Currency"/>. No conversion: an item priced in another
/// currency, or with no price, is not in the band.
/// </summary>
public sealed record PriceBand
{
    /// <summary>Inclusive lower bound; null: 0.</summary>
    [JsonPropertyName("min")]
    public decimal? Min { get; init; }

    /// <summary>Exclusive upper bound; null: none.</summary>
    [JsonPropertyName("max")]
    public decimal? Max { get; init; }

    /// <summary>ISO 4217 code (required).</summary>
    [JsonPropertyName("currency")]
    public string? Currency { get; init; }

    public bool Contains(decimal? price, string? currency) =>
        price is { } p && currency is not null && string.Equals(currency, Currency, StringComparison.OrdinalIgnoreCase)
        && p >= (Min ?? 0) && (Max is null || p < Max);
}
