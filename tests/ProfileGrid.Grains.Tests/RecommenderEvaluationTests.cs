using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Grains.Tests;

/// <summary>The grid's offline evaluation of a tenant's own interactions (<c>recommender:evaluate</c>).</summary>
public class RecommenderEvaluationTests
{
    [Fact]
    public void Age_bands_are_the_ones_the_profile_shows_today_whenever_the_history_ended()
    {
        // A MovieLens-like history that ended in 2018, evaluated in December 2026: users born in 1961 were 57 when it
        // ended and are 65 now, as their profiles say.
        var now = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        var lastRating = new DateTimeOffset(2018, 9, 24, 0, 0, 0, TimeSpan.Zero);
        var users = Enumerable.Range(0, 12).Select(u => new UserInteractions(
            $"mlev/{u}",
            Enumerable.Range(0, 6).Select(i => new ItemInteraction($"m-{(u + i) % 10}", 1, 0, 0, 4, lastRating.AddDays(-i))).ToList())).ToList();
        var attributes = users.ToDictionary(u => u.UserKey, _ => new UserAttributesView("female", 1961, "DE"), StringComparer.Ordinal);

        var report = RecommenderEvaluation.Run(users, attributes, new Dictionary<string, string>(), RecommenderSettings.Merge(null, null),
            new RecommenderEvaluationRequest { K = 3, Split = "time", Algorithms = ["popularity"], Slices = ["age-band"] }, now);

        var slice = Assert.Single(report.Slices);
        var group = Assert.Single(slice.Groups);
        Assert.Equal(ProfileView.AgeBandOf(1961, report.EvaluatedAt), group.Group);
        Assert.Equal("65_plus", group.Group);
        Assert.Equal(report.TestUsers, group.Metrics.Users);
    }
}
