namespace ProfileGrid.Simulator;

/// <summary>A recommendation list as the user saw it.</summary>
/// <param name="RecommendationId">
/// The id <c>Recommend</c> answered with; unique per tenant, since the response events' ids and order ids are derived
/// from it.
/// </param>
/// <param name="Slot">Where it was shown (home, product_page, ...), or null.</param>
/// <param name="ItemIds">The items shown, position 1 first; distinct, 1 to 100 of them (what an impression may list).</param>
/// <param name="ShownAt">When the list was shown: the impression's time.</param>
/// <param name="DrawKey">What seeds the user's random response to the list; null: the recommendation id. A loop that
/// must respond alike on a rerun gives a key of its own, since the grid's ids are random.</param>
/// <param name="TimeScale">What the response's delays (click, cart, purchase) are multiplied by: 1 plays them as the
/// response model draws them (a purchase up to a day after its click); a loop against a running grid, whose lists are
/// served now, plays them within minutes, since the gateway refuses events from the future.</param>
public sealed record ServedList(string RecommendationId, string? Slot, IReadOnlyList<string> ItemIds, DateTimeOffset ShownAt, string? DrawKey = null, double TimeScale = 1);
