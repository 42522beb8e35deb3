using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Algorithms;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>The grid's use of the algorithms library: the hybrid as a run's settings configure it, and similar items.</summary>
public static class RecommenderModels
{
    /// <summary>The library's options for a run's merged settings.</summary>
    public static RecommenderOptions Options(RecommenderTrainRequest settings) => new()
    {
        ItemCf = new ItemCfOptions { Neighbours = settings.Neighbours!.Value, Shrink = settings.Shrinkage!.Value },
        Ease = new EaseOptions { MaxItems = settings.EaseMaxItems!.Value },
        Popularity = new PopularityOptions { TrendingHalfLifeDays = settings.TrendingHalfLifeDays!.Value },
        Hybrid = new HybridOptions { Personalized = settings.CandidateAlgorithm!, LowHistoryItems = settings.ColdStartThreshold!.Value },
    };

    /// <summary>Trains the hybrid (popularity per segment, and item-item CF or EASE for personal candidates).</summary>
    public static HybridModel Train(InteractionMatrix matrix, RecommenderTrainRequest settings, DateTimeOffset now, List<string> warnings)
    {
        var model = new HybridTrainer(Options(settings)).Train(matrix, now);
        warnings.AddRange(model.Warnings);
        return model;
    }

    /// <summary>
    /// Items like <paramref name="itemId"/> by the model's personal component: CF neighbours, or EASE's weights from the
    /// item (what EASE recommends to someone whose history is that one item). Null when the model does not know the item.
    /// </summary>
    public static IReadOnlyList<ScoredItem>? Similar(IRecommender model, string itemId, int count)
    {
        var personal = model is HybridModel hybrid ? hybrid.Personalized : model;
        var exclude = new HashSet<string>(StringComparer.Ordinal) { itemId };
        return personal switch
        {
            ItemCfModel cf => cf.SimilarItems(itemId, count, exclude),
            EaseModel ease when ease.Items.Contains(itemId) => ease.Recommend(new RecommendationQuery([(itemId, 1.0)], null, count, exclude)),
            _ => null,
        };
    }
}
