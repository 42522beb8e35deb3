using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>Applies the serving filters and the tenant's rules to a model's candidates.</summary>
public static class ServingRules
{
    public static IReadOnlyList<ServedItem> Apply(
        TenantServingSnapshot snapshot,
        IReadOnlyList<ScoredItem> candidates,
        IReadOnlySet<string> purchased,
        IReadOnlySet<string> exclude,
        bool personalized,
        UserSegment? segment,
        int count,
        DateTimeOffset now)
    {
        var served = new List<ServedItem>(count);
        foreach (var candidate in candidates)
        {
            if (served.Count == count)
            {
                break;
            }

            if (exclude.Contains(candidate.ItemId) || purchased.Contains(candidate.ItemId) || snapshot.Item(candidate.ItemId) is { Available: false })
            {
                continue;
            }

            served.Add(new ServedItem(candidate.ItemId, candidate.Score, candidate.Source, candidate.Because, []));
        }

        return served;
    }
}
