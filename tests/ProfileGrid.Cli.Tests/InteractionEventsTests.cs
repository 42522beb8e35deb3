using ProfileGrid.Recommendations;

namespace ProfileGrid.Cli.Tests;

/// <summary>How <c>profilegrid import</c> turns a ratings file and its user attributes into the grid's events.</summary>
public sealed class InteractionEventsTests
{
    [Fact]
    public void A_ratings_files_ages_are_of_its_last_ratings_whenever_each_user_began()
    {
        // MovieLens u.user gives ages as of the collection (1998). Taken at each user's first rating, a 24-year-old who
        // began in 1997 was born in 1973 and read 25 (25_34) as of the history's end, where the evaluation measures
        // slices: the CLI's and the grid's age bands disagreed for 36 of 943 users (probe65 F5).
        var users = new[]
        {
            new UserInteractions("early", [new ItemInteraction("1", 0, 0, 0, 4, new DateTimeOffset(1997, 9, 20, 0, 0, 0, TimeSpan.Zero))]),
            new UserInteractions("late", [new ItemInteraction("2", 0, 0, 0, 3, new DateTimeOffset(1998, 4, 22, 0, 0, 0, TimeSpan.Zero))]),
        };
        var attributes = new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["early"] = new Dictionary<string, string> { ["age"] = "24", ["gender"] = "F" },
            ["late"] = new Dictionary<string, string> { ["age"] = "24", ["gender"] = "M" },
        };

        var identified = InteractionEvents.From(users, attributes, null, "USD").Where(e => e.Type == "identify").ToDictionary(e => e.UserId);

        Assert.Equal(1974, identified["early"].Identify.Demographics.BirthYear);
        Assert.Equal(1974, identified["late"].Identify.Demographics.BirthYear);
    }
}
