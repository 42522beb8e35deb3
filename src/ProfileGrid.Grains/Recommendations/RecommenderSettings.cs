using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>A training run's settings: the request over the tenant's last settings over the defaults, then validated.</summary>
public static class RecommenderSettings
{
    public static RecommenderTrainRequest Defaults { get; } = new()
    {
        CandidateAlgorithm = "item-cf",
        ViewWeight = new InteractionWeights().View,
        AddToCartWeight = new InteractionWeights().AddToCart,
        PurchaseWeight = new InteractionWeights().Purchase,
        RatingWeight = new InteractionWeights().Rating,
        RatingScale = new InteractionWeights().RatingScale,
        HalfLifeDays = 0,
        Neighbours = 50,
        Shrinkage = 10,
        EaseMaxItems = 3000,
        ColdStartThreshold = 3,
        TrendingHalfLifeDays = 7,
    };

    /// <summary>Every field of <paramref name="request"/> that is set, else the last run's, else the default.</summary>
    public static RecommenderTrainRequest Merge(RecommenderTrainRequest? request, RecommenderTrainRequest? last)
    {
        var basis = last ?? Defaults;
        request ??= new RecommenderTrainRequest();
        return new RecommenderTrainRequest
        {
            CandidateAlgorithm = request.CandidateAlgorithm ?? basis.CandidateAlgorithm ?? Defaults.CandidateAlgorithm,
            ViewWeight = request.ViewWeight ?? basis.ViewWeight ?? Defaults.ViewWeight,
            AddToCartWeight = request.AddToCartWeight ?? basis.AddToCartWeight ?? Defaults.AddToCartWeight,
            PurchaseWeight = request.PurchaseWeight ?? basis.PurchaseWeight ?? Defaults.PurchaseWeight,
            RatingWeight = request.RatingWeight ?? basis.RatingWeight ?? Defaults.RatingWeight,
            RatingScale = request.RatingScale ?? basis.RatingScale ?? Defaults.RatingScale,
            HalfLifeDays = request.HalfLifeDays ?? basis.HalfLifeDays ?? Defaults.HalfLifeDays,
            Neighbours = request.Neighbours ?? basis.Neighbours ?? Defaults.Neighbours,
            Shrinkage = request.Shrinkage ?? basis.Shrinkage ?? Defaults.Shrinkage,
            EaseMaxItems = request.EaseMaxItems ?? basis.EaseMaxItems ?? Defaults.EaseMaxItems,
            ColdStartThreshold = request.ColdStartThreshold ?? basis.ColdStartThreshold ?? Defaults.ColdStartThreshold,
            TrendingHalfLifeDays = request.TrendingHalfLifeDays ?? basis.TrendingHalfLifeDays ?? Defaults.TrendingHalfLifeDays,
            // Left null until someone sets it: the default follows the rating scale (see Weights).
            MinPositiveRating = request.MinPositiveRating ?? basis.MinPositiveRating,
        };
    }

    /// <summary>The interaction weights of merged settings.</summary>
    public static InteractionWeights Weights(RecommenderTrainRequest settings) => new()
    {
        View = settings.ViewWeight!.Value,
        AddToCart = settings.AddToCartWeight!.Value,
        Purchase = settings.PurchaseWeight!.Value,
        Rating = settings.RatingWeight!.Value,
        RatingScale = settings.RatingScale!.Value,
        HalfLifeDays = settings.HalfLifeDays!.Value,
        // Unset: half the scale (2.5 of 5 stars), so 1 and 2 stars are dislikes, never a reason for a recommendation.
        MinPositiveRating = settings.MinPositiveRating ?? settings.RatingScale!.Value / 2,
    };

    /// <summary>Problems with merged settings, each naming its field as the API spells it; empty when valid.</summary>
    public static IReadOnlyList<string> Validate(RecommenderTrainRequest settings)
    {
        var problems = new List<string>(Weights(settings).Validate());
        if (settings.CandidateAlgorithm is not ("item-cf" or "ease"))
        {
            problems.Add($"candidate_algorithm must be item-cf or ease ({settings.CandidateAlgorithm})");
        }

        if (settings.Neighbours is not (>= 1 and <= 1000))
        {
            problems.Add($"neighbours must be between 1 and 1000 ({settings.Neighbours})");
        }

        if (settings.Shrinkage is not { } shrink || !(shrink >= 0) || double.IsInfinity(shrink))
        {
            problems.Add($"shrinkage must be 0 or positive ({settings.Shrinkage})");
        }

        if (settings.EaseMaxItems is not (>= 2 and <= 10_000))
        {
            problems.Add($"ease_max_items must be between 2 and 10000 ({settings.EaseMaxItems})");
        }

        if (settings.ColdStartThreshold is not (>= 0 and <= 1000))
        {
            problems.Add($"cold_start_threshold must be between 0 and 1000 ({settings.ColdStartThreshold})");
        }

        if (settings.TrendingHalfLifeDays is not { } half || !(half > 0) || double.IsInfinity(half))
        {
            problems.Add($"trending_half_life_days must be positive ({settings.TrendingHalfLifeDays})");
        }

        return problems;
    }
}
