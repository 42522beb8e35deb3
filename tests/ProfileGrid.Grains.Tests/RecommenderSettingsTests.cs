using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Grains.Recommendations;

namespace ProfileGrid.Grains.Tests;

/// <summary>A tenant's training settings: what min_positive_rating is when nobody set it, and that a set one sticks.</summary>
public class RecommenderSettingsTests
{
    [Fact]
    public void Unset_min_positive_rating_is_half_of_whatever_rating_scale_the_tenant_uses()
    {
        Assert.Equal(2.5, RecommenderSettings.Weights(RecommenderSettings.Merge(null, null)).MinPositiveRating);

        // A tenant on a 10-point scale: below 5 is a dislike, also when the scale changes after an earlier training.
        var tenPoint = RecommenderSettings.Merge(new RecommenderTrainRequest { RatingScale = 10 }, RecommenderSettings.Merge(null, null));
        Assert.Equal(5, RecommenderSettings.Weights(tenPoint).MinPositiveRating);
    }

    [Fact]
    public void A_min_positive_rating_once_set_is_kept_by_later_trainings_and_zero_counts_every_rating()
    {
        var set = RecommenderSettings.Merge(new RecommenderTrainRequest { MinPositiveRating = 0 }, null);
        var later = RecommenderSettings.Merge(new RecommenderTrainRequest { Neighbours = 20 }, set);

        Assert.Equal(0, RecommenderSettings.Weights(later).MinPositiveRating);
        Assert.Empty(RecommenderSettings.Validate(later));
        Assert.Contains("weights.min_positive_rating", Assert.Single(RecommenderSettings.Validate(later with { MinPositiveRating = 7 })));
    }
}
