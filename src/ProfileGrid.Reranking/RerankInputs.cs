using ProfileGrid.Recommendations;

namespace ProfileGrid.Reranking;

/// <summary>
/// What the re-ranker knows of the user when a list is served, and what the trainer rebuilds for a logged impression
/// (so only facts that were true at serving time belong here).
/// </summary>
/// <param name="History">The user's item history (item id, views, cart adds, purchases, last at), as the profile keeps it.</param>
/// <param name="SegmentId">The user's segment id; -1 when the user has none.</param>
/// <param name="Gender">female, male, nonbinary (case-insensitive), anything else counts as other; null when unknown.</param>
/// <param name="AgeBand">The profile's age band label (under_18, 18_24, 25_34, 35_44, 45_54, 55_64, 65_plus); null when unknown.</param>
/// <param name="DaysSinceFirstSeen">Days between the user's first event and the request (0 for a new user).</param>
public sealed record RerankUser(
    IReadOnlyList<ItemInteraction> History,
    int SegmentId = -1,
    string? Gender = null,
    string? AgeBand = null,
    double DaysSinceFirstSeen = 0);

/// <summary>One candidate item, as the catalog and the feedback log describe it at request time.</summary>
/// <param name="ItemId">The item id.</param>
/// <param name="Category">The item's category; null when the catalog has none.</param>
/// <param name="Price">The price in the reporting currency; null when unknown.</param>
/// <param name="Popularity">Global popularity as the caller counts it (interactions, or a popularity score; not negative).</param>
/// <param name="TimesIgnored">How often this user was shown this item since they last clicked it (0: never, or clicked since).</param>
public sealed record RerankItem(
    string ItemId,
    string? Category = null,
    double? Price = null,
    double Popularity = 0,
    int TimesIgnored = 0);

/// <summary>Where the item stands in the list the base recommender produced.</summary>
/// <param name="Position">The item's 1-based position in the base list.</param>
/// <param name="BaseScore">The base recommender's score (comparable within one list only).</param>
/// <param name="Source">The base recommender's source: cf, ease, popular, segment-popular, trending or rule (<see cref="RecommendationSources"/>).</param>
/// <param name="Slot">The placement the list is served to (home, cart, …); null when the request names none.</param>
public sealed record RerankContext(int Position, double BaseScore, string Source, string? Slot = null);

/// <summary>One candidate of a list to re-rank: the item and its place in the base list.</summary>
public sealed record RerankCandidate(RerankItem Item, RerankContext Context);
