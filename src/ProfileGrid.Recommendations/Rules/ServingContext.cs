namespace ProfileGrid.Recommendations.Rules;

/// <summary>
/// What the serving layer knows of one request when it applies the rules: who the user is to the rules (segments,
/// consent), what they already have (purchases, recent views), what the caller wants left out, and how many items.
/// </summary>
public sealed record ServingContext
{
    private static readonly IReadOnlySet<string> None = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>How many items the list should hold (the request's n); 0 or less gives an empty list.</summary>
    public required int Count { get; init; }

    /// <summary>The request's instant: rule windows and the "seen within N days" filter are judged against it.</summary>
    public required DateTimeOffset Now { get; init; }

    /// <summary>
    /// The user's segments, each by id and by label if the serving layer knows both (e.g. <c>["3", "high-value"]</c>): a
    /// rule's <see cref="RecommendationRule.Segment"/> matches either, ignoring case. Ignored when <see cref="Personalized"/> is false.
    /// </summary>
    public IReadOnlyCollection<string> Segments { get; init; } = [];

    /// <summary>Items the user bought (left out unless a filter rule switches <c>exclude_purchased</c> off).</summary>
    public IReadOnlySet<string> Purchased { get; init; } = None;

    /// <summary>
    /// Items the user rated, liked or not: always left out (a film rated is a film seen, a dislike is not to be offered
    /// back), whatever a filter rule says of purchases.
    /// </summary>
    public IReadOnlySet<string> Rated { get; init; } = None;

    /// <summary>When the user last viewed each item (for a filter rule's <c>exclude_seen_within_days</c>).</summary>
    public IReadOnlyDictionary<string, DateTimeOffset> SeenAt { get; init; } = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);

    /// <summary>The request's own exclusions (items already on the page, in the cart, ...): always left out.</summary>
    public IReadOnlySet<string> Exclude { get; init; } = None;

    /// <summary>The item the page shows (a product page's "you may also like"): never recommended to itself.</summary>
    public string? PageItem { get; init; }

    /// <summary>
    /// The user's personalization consent: false = opted out. Null (never said) and true both allow personalization.
    /// An opted-out user gets the non-personalized list: no segment rules, no use of their purchases or views, and no
    /// candidate from a personal source (cf, ease, segment-popular).
    /// </summary>
    public bool? Personalized { get; init; }

    /// <summary>True when the user opted out of personalization.</summary>
    public bool OptedOut => Personalized == false;
}
