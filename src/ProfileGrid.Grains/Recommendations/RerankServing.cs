using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Domain;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Algorithms;
using ProfileGrid.Reranking;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>A tenant's published re-ranker as a silo serves it: loaded from its bytes once per version.</summary>
public sealed record PublishedReranker(long Version, string Fingerprint, RerankerModel Model);

/// <summary>
/// The re-ranker on the serving path and in its log, pure: the user and candidates as the features need them, the
/// reordered list, the logged feature vectors, and the training examples a logged list and its clicks make.
/// </summary>
public static class RerankServing
{
    /// <summary>Named among a served item's rules when the re-ranker chose its position.</summary>
    public const string Reranked = "reranked";

    /// <summary>
    /// The user as the features see them at serving time. The profile keeps no first-seen date on the serving path, so
    /// tenure is counted from the oldest last interaction of the item history (a lower bound, the same at serving and in
    /// the log, which is all the model needs).
    /// </summary>
    public static RerankUser User(RecommendationInput input, UserSegment? segment, DateTimeOffset now)
    {
        var history = new ItemInteraction[input.Items.Length];
        var firstSeen = now;
        for (var i = 0; i < history.Length; i++)
        {
            var item = input.Items[i];
            history[i] = new ItemInteraction(item.ItemId, item.Views, item.CartAdds, item.Purchases, item.Rating, item.LastAt);
            firstSeen = item.LastAt < firstSeen ? item.LastAt : firstSeen;
        }

        var targeting = input.Targeting;
        return new RerankUser(
            history,
            segment?.SegmentId ?? -1,
            targeting?.Gender is { } gender ? WireNames.Of(gender) : null,
            ProfileView.AgeBandOf(targeting?.BirthYear, now),
            Math.Max(0, (now - firstSeen).TotalDays));
    }

    /// <summary>How often each item was shown to the user since their last click of it (null when none was).</summary>
    public static Dictionary<string, int>? TimesIgnored(RecommendationInput input)
    {
        if (input.Ignored is not { Length: > 0 } shown)
        {
            return null;
        }

        var ignored = new Dictionary<string, int>(shown.Length, StringComparer.Ordinal);
        foreach (var item in shown)
        {
            ignored[item.ItemId] = item.ShownSinceClick;
        }

        return ignored;
    }

    /// <summary>The served items as candidates at their base positions (1-based), described by the catalog and the popularity.</summary>
    public static RerankCandidate[] Candidates(
        IReadOnlyList<ServedItem> items, string? slot, IReadOnlyDictionary<string, double> popularity, Dictionary<string, int>? ignored)
    {
        var candidates = new RerankCandidate[items.Count];
        for (var i = 0; i < candidates.Length; i++)
        {
            var item = items[i];
            var rerankItem = new RerankItem(
                item.ItemId,
                item.Catalog?.Category,
                item.Catalog?.Price is { } price ? (double)price : null,
                popularity.GetValueOrDefault(item.ItemId),
                ignored?.GetValueOrDefault(item.ItemId) ?? 0);
            candidates[i] = new RerankCandidate(rerankItem, new RerankContext(i + 1, double.IsFinite(item.Score) ? item.Score : 0, item.Source, slot));
        }

        return candidates;
    }

    /// <summary>
    /// The first <paramref name="count"/> items in the re-ranker's order, chosen among all of <paramref name="items"/>
    /// (the base list, best first). An item a rule pinned within the first <paramref name="count"/> keeps its position;
    /// every other item served is marked <see cref="Reranked"/>. The base score and source are kept: they say where the
    /// candidate came from; the order is the model's.
    /// </summary>
    public static IReadOnlyList<ServedItem> Rerank(
        RerankerModel model, RerankUserSummary user, IReadOnlyList<ServedItem> items, RerankCandidate[] candidates, int count)
    {
        var features = new RerankFeatures[candidates.Length];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = RerankFeatures.Compute(user, candidates[i]);
        }

        var order = model.Rerank(features);
        var size = Math.Min(count, items.Count);
        var result = new ServedItem?[size];
        var pinned = new bool[items.Count];
        for (var i = 0; i < size; i++)
        {
            if (items[i].Source == RecommendationSources.Rule)
            {
                result[i] = items[i];
                pinned[i] = true;
            }
        }

        var next = 0;
        foreach (var index in order)
        {
            if (pinned[index])
            {
                continue;
            }

            while (next < size && result[next] is not null)
            {
                next++;
            }

            if (next == size)
            {
                break;
            }

            var item = items[index];
            result[next] = item with { Rules = [.. item.Rules, Reranked] };
        }

        return result!;
    }

    /// <summary>The log entry of a served base-order list: each item's feature vector, one after the other.</summary>
    public static RerankLoggedList Log(string recommendationId, DateTimeOffset now, string? slot, RerankUserSummary user, RerankCandidate[] candidates)
    {
        var width = RerankFeatures.Length;
        var features = new float[candidates.Length * width];
        var itemIds = new string[candidates.Length];
        for (var i = 0; i < candidates.Length; i++)
        {
            itemIds[i] = candidates[i].Item.ItemId;
            RerankFeatures.Compute(user, candidates[i]).Values.CopyTo(features.AsSpan(i * width, width));
        }

        return new RerankLoggedList(recommendationId, now, slot, itemIds, features);
    }

    /// <summary>
    /// The training examples of a logged list that was shown: one per item, clicked when its id is among
    /// <paramref name="clickedItemIds"/>. A list logged with another feature layout (its vectors have another width)
    /// gives none: the model would read its features in the wrong places.
    /// </summary>
    public static IEnumerable<RerankExample> Examples(RerankLoggedList list, IReadOnlyCollection<string> clickedItemIds)
    {
        var width = RerankFeatures.Length;
        if (list.Features.Length != list.ItemIds.Length * width)
        {
            yield break;
        }

        for (var i = 0; i < list.ItemIds.Length; i++)
        {
            yield return new RerankExample(
                list.RecommendationId,
                RerankFeatures.FromValues(list.Features.AsSpan(i * width, width)),
                clickedItemIds.Contains(list.ItemIds[i]));
        }
    }

    /// <summary>The global popularity of every item the package's model ranks (0 for any other), computed once per package.</summary>
    public static IReadOnlyDictionary<string, double> PopularityOf(ModelPackage package)
    {
        var model = package.Model switch
        {
            HybridModel hybrid => hybrid.Popularity,
            PopularityModel popular => popular,
            _ => null,
        };
        var popularity = new Dictionary<string, double>(StringComparer.Ordinal);
        if (model is not null)
        {
            foreach (var item in model.Recommend(new RecommendationQuery([], null, int.MaxValue, new HashSet<string>())))
            {
                popularity[item.ItemId] = Math.Max(0, item.Score);
            }
        }

        return popularity;
    }
}
