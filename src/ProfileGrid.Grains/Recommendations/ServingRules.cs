using System.Globalization;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Rules;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>Applies the serving filters and the tenant's rules (the silo's compiled copy) to a model's candidates.</summary>
public static class ServingRules
{
    private static readonly IReadOnlySet<string> NoItems = new HashSet<string>(StringComparer.Ordinal);
    private static readonly IReadOnlyDictionary<string, DateTimeOffset> NotRead = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);

    /// <summary>What rules may name the user's segment by: its id or its label.</summary>
    public static string[] SegmentNames(UserSegment? segment) =>
        segment is null ? [] : [segment.SegmentId.ToString(CultureInfo.InvariantCulture), segment.Label];

    /// <summary>
    /// The list after the serving filters and rules, the rule set's version, and whether a rule for the user's segment
    /// was in force (the segment shaped the list).
    /// </summary>
    public static (IReadOnlyList<ServedItem> Items, long RulesVersion, bool SegmentRuleInForce) Apply(
        TenantServingSnapshot snapshot,
        IReadOnlyList<ScoredItem> candidates,
        RecommendationInput input,
        IReadOnlySet<string> exclude,
        string? pageItem,
        UserSegment? segment,
        int count,
        DateTimeOffset now,
        CompiledRuleSet? rules = null)
    {
        // An experiment's variant may serve without the tenant's rules: the serving filters still apply.
        rules ??= snapshot.Rules;
        var segments = SegmentNames(segment);
        int bought = 0, rated = 0;
        foreach (var item in input.Items)
        {
            bought += item.Purchases > 0 ? 1 : 0;
            rated += item.Rating is not null ? 1 : 0;
        }

        var purchasedItems = bought == 0 ? null : new HashSet<string>(bought, StringComparer.Ordinal);
        // Rated apart from bought: a filter rule may release purchases (consumables), never ratings (a film rated is a film
        // seen, and a dislike is not to be offered back).
        var ratedItems = rated == 0 ? null : new HashSet<string>(rated, StringComparer.Ordinal);
        // When viewed matters only to a "seen within N days" filter rule: most tenants have none, and then it is not built.
        var seenAt = rules.ReadsSeenItems ? new Dictionary<string, DateTimeOffset>(input.Items.Length, StringComparer.Ordinal) : null;
        foreach (var item in input.Items)
        {
            if (item.Purchases > 0)
            {
                purchasedItems?.Add(item.ItemId);
            }

            if (item.Rating is not null)
            {
                ratedItems?.Add(item.ItemId);
            }

            if (item.Views > 0 && seenAt is not null)
            {
                seenAt[item.ItemId] = item.LastAt;
            }
        }

        var outcome = rules.Apply(candidates, snapshot.ItemLookup, new ServingContext
        {
            Count = count,
            Now = now,
            Segments = segments,
            // The hashes of forgotten items do not say whether they were bought or rated: they go with the purchases.
            Purchased = input.ForgottenOwned is { Length: > 0 } forgotten
                ? new OwnedItems(purchasedItems ?? [], forgotten)
                : (IReadOnlySet<string>?)purchasedItems ?? NoItems,
            Rated = (IReadOnlySet<string>?)ratedItems ?? NoItems,
            SeenAt = (IReadOnlyDictionary<string, DateTimeOffset>?)seenAt ?? NotRead,
            Exclude = exclude,
            PageItem = pageItem,
            Personalized = input.PersonalizationOptIn,
        });
        var items = new ServedItem[outcome.Items.Count];
        for (var i = 0; i < items.Length; i++)
        {
            var ranked = outcome.Items[i];
            items[i] = new ServedItem(ranked.Item.ItemId, ranked.Item.Score, ranked.Item.Source, ranked.Item.Because, ranked.RuleIds, snapshot.Item(ranked.Item.ItemId));
        }

        return (items, outcome.RuleSetVersion, outcome.RulesInForce.Any(rules.IsSegmentRule));
    }
}

/// <summary>
/// What the user bought or rated: the items the profile remembers, and by hash those its item bound forgot (a heavy
/// buyer's or rater's oldest). Only <see cref="Contains"/> is asked by the rules; the rest answers for the ids held.
/// </summary>
internal sealed class OwnedItems(HashSet<string> remembered, uint[] forgottenHashes) : IReadOnlySet<string>
{
    private readonly HashSet<uint> _forgotten = [.. forgottenHashes];

    public bool Contains(string item) => remembered.Contains(item) || _forgotten.Contains(ProfileGrid.Abstractions.Profiles.BehaviorState.OwnedHash(item));

    public int Count => remembered.Count;

    public IEnumerator<string> GetEnumerator() => remembered.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public bool IsProperSubsetOf(IEnumerable<string> other) => remembered.IsProperSubsetOf(other);

    public bool IsProperSupersetOf(IEnumerable<string> other) => remembered.IsProperSupersetOf(other);

    public bool IsSubsetOf(IEnumerable<string> other) => remembered.IsSubsetOf(other);

    public bool IsSupersetOf(IEnumerable<string> other) => remembered.IsSupersetOf(other);

    public bool Overlaps(IEnumerable<string> other) => other.Any(Contains);

    public bool SetEquals(IEnumerable<string> other) => remembered.SetEquals(other);
}
