using System.Text;
using ProfileGrid.Cli;
using ProfileGrid.Contracts.V1;
using Spectre.Console.Testing;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// <c>profilegrid import</c> against the real host: a MovieLens-shaped ratings file from 1997-98 (older than the live
/// traffic's maximum event age) with a bad line, and its user file, loaded as historical events; the recommender trains
/// on them and the offline evaluation slices by the imported genders; a second run changes nothing.
/// </summary>
[Collection(RecommendationSiloCollection.Name)]
public sealed class ImportCommandTests(RecommendationSiloFixture fixture) : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-import-");

    public void Dispose() => _folder.Delete(recursive: true);

    private (int Exit, string Output) Run(params string[] args)
    {
        var console = new TestConsole();
        using var output = new StringWriter();
        var exit = CliApp.Run(args, console, output, output);
        return (exit, console.Output + output);
    }

    [Fact]
    public async Task A_years_old_ratings_file_is_loaded_once_trains_the_recommender_and_slices_by_its_users()
    {
        var tenant = "ml-" + Guid.NewGuid().ToString("N")[..8];
        var lines = new StringBuilder();
        for (var u = 1; u <= 30; u++)
        {
            var taste = u % 2 == 0 ? 100 : 200;
            for (var i = 0; i < 5; i++)
            {
                lines.Append($"{u}\t{taste + (u + i) % 7}\t{3 + i % 3}\t{874965758 + u * 1000 + i}\n");
            }
        }

        lines.Append("31\tnot-a-number-rating\tfive\t874965758\n");
        var ratings = Path.Combine(_folder.FullName, "u.data");
        File.WriteAllText(ratings, lines.ToString());
        var users = Path.Combine(_folder.FullName, "u.user");
        File.WriteAllText(users, string.Concat(Enumerable.Range(1, 30).Select(u => $"{u}|{20 + u}|{(u % 3 == 0 ? "F" : "M")}|writer|12345\n")));

        var (exit, output) = Run("import", "--grid", $"http://127.0.0.1:{fixture.Silo.GrpcPort}",
            "--tenant", tenant, "--ratings", ratings, "--users", users);

        Assert.True(exit == 0, output);
        Assert.Contains("150 accepted, 1 rejected", output);
        Assert.Contains("line 151", output);
        Assert.Contains("events: 180 sent, 180 acknowledged", output); // 150 ratings and 30 users' demographics

        var recommendations = new RecommendationService.RecommendationServiceClient(fixture.Silo.Channel);
        await ShopScenario.WaitForInteractionsAsync(recommendations, tenant, 30);
        var trained = await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });
        Assert.Equal(30, trained.Users);
        Assert.Equal(150, trained.Interactions);

        var evaluation = await recommendations.EvaluateRecommenderAsync(new EvaluateRecommenderRequest { Tenant = tenant, K = 3, Slices = { "gender", "age-band" } });
        var genders = evaluation.Slices.First(s => s.Slice == "gender").Groups.Select(g => g.Group).ToList();
        Assert.Equal(["female", "male"], genders);
        // Ages 21 to 50 in the file's time (1997): sliced as they were then, not as old as they would be today.
        var bands = evaluation.Slices.First(s => s.Slice == "age-band").Groups.Select(g => g.Group).ToList();
        Assert.Equal(["18_24", "25_34", "35_44", "45_54"], bands);

        var profile = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "2" });
        Assert.Equal(6, profile.EventsApplied); // five ratings and the demographics
        Assert.Equal("male", profile.Demographics.Gender);

        // The event ids come from the file's keys: a second run is recognised event by event and changes no profile.
        var (again, second) = Run("import", "--grid", $"http://127.0.0.1:{fixture.Silo.GrpcPort}", "--tenant", tenant, "--ratings", ratings, "--users", users);
        Assert.True(again == 0, second);
        // The gateway cannot know at ingest that the profiles have these events: the summary says so instead of "accepted".
        Assert.Contains("180 sent, 180 acknowledged", second);
        Assert.Contains("acknowledged means durably recorded, not", second);
        Assert.DoesNotContain("180 accepted", second);
        await Task.Delay(TimeSpan.FromSeconds(1)); // the second run's events reach the profiles (as duplicates) within it
        var after = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "2" });
        Assert.Equal(6, after.EventsApplied);
    }
}
