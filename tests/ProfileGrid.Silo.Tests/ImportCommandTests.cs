using System.Globalization;
using System.Text;
using Grpc.Core;
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

        var recommendations = new RecommendationService.RecommendationServiceClient(fixture.Silo.Calls);
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
        // And the answer says as of when (probe59: only evaluatedAt, today, was shown beside 1997 ages).
        Assert.StartsWith("1997-", evaluation.AgesAsOf, StringComparison.Ordinal);

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

    /// <summary>
    /// An export taken again later: a film the user rated 2 in 2017 and 5 in 2020 is a like now, whatever an id of the
    /// first import said; the ids of a user and item each at the grid's 256-character limit import too; and the same file
    /// once more changes nothing.
    /// </summary>
    [Fact]
    public async Task A_later_export_with_a_changed_rating_updates_it_and_ids_at_the_limit_import()
    {
        var tenant = "rerate-" + Guid.NewGuid().ToString("N")[..8];
        var grid = $"http://127.0.0.1:{fixture.Silo.GrpcPort}";
        var (longUser, longItem) = (new string('u', 256), "https://films.example/" + new string('f', 234));
        var first = Path.Combine(_folder.FullName, "v1.csv");
        File.WriteAllText(first, $"user,item,rating,timestamp\nr1,m1,2.0,1500000000\nr1,m2,4.0,1500000000\n{longUser},{longItem},4.5,1500000000\n");
        var later = Path.Combine(_folder.FullName, "v2.csv");
        File.WriteAllText(later, "user,item,rating,timestamp\nr1,m1,5.0,1600000000\nr1,m2,4.0,1500000000\nr1,m3,3.0,1600000000\n");

        var (exit, output) = Run("import", "--grid", grid, "--tenant", tenant, "--ratings", first);
        Assert.True(exit == 0, output);
        Assert.Contains("events: 3 sent, 3 acknowledged", output);
        await WaitForEventsAsync(tenant, "r1", 2);
        await WaitForEventsAsync(tenant, longUser, 1);

        var (again, second) = Run("import", "--grid", grid, "--tenant", tenant, "--ratings", later);
        Assert.True(again == 0, second);
        await WaitForEventsAsync(tenant, "r1", 4); // m1's new rating and m3; m2's is the same event as before

        var rater = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "r1" });
        Assert.Equal(4, rater.EventsApplied);
        Assert.Equal(
            [("m1", "2"), ("m1", "5"), ("m2", "4"), ("m3", "3")],
            rater.Behavior.RecentActions.Select(a => (a.ProductId, a.Detail)).Order());

        // The recommender reads each item's latest rating: m1 is liked now (2 is under half of 5 stars, 5 is not).
        var recommendations = new RecommendationService.RecommendationServiceClient(fixture.Silo.Calls);
        await ShopScenario.WaitForInteractionsAsync(recommendations, tenant, 2);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long interactions;
        // The shards hear of r1's change when its profile next writes (within about a second of the import).
        while ((interactions = (await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant })).Interactions) < 4
               && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.Equal(4, interactions); // r1's m1, m2 and m3, and the long user's film

        var (third, thirdOutput) = Run("import", "--grid", grid, "--tenant", tenant, "--ratings", later);
        Assert.True(third == 0, thirdOutput);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(4, (await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "r1" })).EventsApplied);
        var longOne = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = longUser });
        Assert.Equal(longItem, longOne.Behavior.RecentActions.Single().ProductId);
    }

    /// <summary>
    /// A rater heavier than a profile remembers (ml-latest has users with thousands of ratings): training says how many
    /// of their older items it does not have, rather than training on fewer interactions than the file holds unexplained;
    /// and their recommendations still leave out what they rated long ago (two outside probes got a wholesaler's and a
    /// film buff's oldest items back).
    /// </summary>
    [Fact]
    public async Task Training_says_how_many_older_items_heavy_raters_profiles_forgot_and_never_offers_them_again()
    {
        var tenant = "heavy-" + Guid.NewGuid().ToString("N")[..8];
        const int HeavyRatings = 1_500; // past the bytes of about 1,200 short ids a profile keeps
        var lines = new StringBuilder("user,item,rating,timestamp\n");
        for (var i = 0; i < HeavyRatings; i++)
        {
            lines.Append(CultureInfo.InvariantCulture, $"heavy,m{i},4.0,{1_200_000_000 + i * 60}\n");
        }

        lines.Append("light,m1,4.0,1500000000\nlight,m2,4.0,1500000000\nlight,x1,4.0,1500000000\nlight,x2,4.0,1500000000\nlight,x3,4.0,1500000000\n");
        var ratings = Path.Combine(_folder.FullName, "heavy.csv");
        File.WriteAllText(ratings, lines.ToString());

        var (exit, output) = Run("import", "--grid", $"http://127.0.0.1:{fixture.Silo.GrpcPort}", "--tenant", tenant, "--ratings", ratings);
        Assert.True(exit == 0, output);
        await WaitForEventsAsync(tenant, "heavy", HeavyRatings);

        var recommendations = new RecommendationService.RecommendationServiceClient(fixture.Silo.Calls);
        await ShopScenario.WaitForInteractionsAsync(recommendations, tenant, 2);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        // The shard hears of the heavy profile's last items when it next writes (within about a second): until then it
        // holds an earlier push, with fewer items forgotten and fewer remembered.
        long remembered, forgotten;
        string warning;
        while (true)
        {
            var trained = await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = tenant });
            remembered = trained.Interactions - 5; // the light user's five
            warning = trained.Warnings.SingleOrDefault() ?? "";
            forgotten = long.TryParse(warning.Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture, out var count) ? count : 0;
            if (remembered + forgotten >= HeavyRatings || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(500);
        }

        Assert.Equal(HeavyRatings, remembered + forgotten);
        Assert.InRange(remembered, 1_000, HeavyRatings - 1);
        Assert.Equal(
            string.Create(CultureInfo.InvariantCulture, $"{forgotten:N0} older items are not in training: 1 user's profile forgot them at the bound of items a profile remembers (ProfileGrid:Profile:MaxItemsRemembered, ItemsMaxBytes). The count is of items of any kind of interaction and any rating, liked or not"),
            warning);

        // m1 and m2, the most popular (rated by both) and among the heavy rater's oldest, which their profile forgot: still
        // theirs, so not offered; only the x films are left for them.
        var list = await recommendations.RecommendAsync(new RecommendRequest { Tenant = tenant, UserId = "heavy", N = 5 });
        Assert.Equal(["x1", "x2", "x3"], list.Items.Select(i => i.ItemId).Order());
    }

    /// <summary>
    /// MovieLens 1M's three files together: <c>movies.dat</c> (latin-1, titles with commas and colons, genres by
    /// <c>|</c>) goes into the catalog with its genres as category and tags and the title and year as attributes; a bad
    /// line is reported by number and an id the grid refuses is reported by the grid, the other items stored.
    /// </summary>
    [Fact]
    public async Task A_movies_dat_catalog_is_loaded_beside_its_ratings_and_a_second_run_changes_nothing()
    {
        var tenant = "ml1m-" + Guid.NewGuid().ToString("N")[..8];
        var movies = Path.Combine(_folder.FullName, "movies.dat");
        var tooLong = new string('9', 300);
        File.WriteAllBytes(movies, Encoding.Latin1.GetBytes(
            "1::Toy Story (1995)::Animation|Children's|Comedy\n"
            + "2::Misérables, Les (1995)::Drama|Musical\n"
            + "3::Star Wars: Episode IV - A New Hope (1977)::Action|Adventure|Fantasy|Sci-Fi\n"
            + "4::No genres at all::\n"
            + "5::A line without genres\n"
            + $"{tooLong}::An id past the grid's limit (2000)::Drama\n"));
        var ratings = Path.Combine(_folder.FullName, "ratings.dat");
        File.WriteAllText(ratings, "1::1::5::978300760\n1::3::4::978302109\n2::2::3::978301968\n2::3::5::978300275\n");
        var users = Path.Combine(_folder.FullName, "users.dat");
        File.WriteAllText(users, "1::F::1::10::48067\n2::M::56::16::70072\n");

        var grid = $"http://127.0.0.1:{fixture.Silo.GrpcPort}";
        var (exit, output) = Run("import", "--grid", grid, "--tenant", tenant, "--ratings", ratings, "--users", users, "--items", movies);

        Assert.Equal(1, exit); // the grid refused one item: said, and the exit code shows it
        Assert.Contains("movies.dat: 6 lines read, 5 accepted, 1 rejected", output);
        Assert.Contains("line 5", output);
        Assert.Contains("missing columns (2, expected 3: MovieID::Title::Genres)", output);
        Assert.Contains("items: 5 sent, 4 stored, 1 rejected by the grid", output);
        Assert.Contains("item_id", output);
        Assert.Contains("events: 6 sent, 6 acknowledged", output); // four ratings and two users' demographics

        var recommendations = new RecommendationService.RecommendationServiceClient(fixture.Silo.Calls);
        var toyStory = await recommendations.GetItemAsync(new GetItemRequest { Tenant = tenant, ItemId = "1" });
        Assert.Equal("animation", toyStory.Category);
        Assert.Equal(["animation", "children's", "comedy"], toyStory.Tags);
        Assert.Equal("Toy Story (1995)", toyStory.Attributes["title"]);
        Assert.Equal("1995", toyStory.Attributes["year"]);
        Assert.False(toyStory.FromEvents);
        Assert.Equal("Misérables, Les (1995)", (await recommendations.GetItemAsync(new GetItemRequest { Tenant = tenant, ItemId = "2" })).Attributes["title"]);
        Assert.Equal("Star Wars: Episode IV - A New Hope (1977)", (await recommendations.GetItemAsync(new GetItemRequest { Tenant = tenant, ItemId = "3" })).Attributes["title"]);
        var untagged = await recommendations.GetItemAsync(new GetItemRequest { Tenant = tenant, ItemId = "4" });
        Assert.Equal(("", 0), (untagged.Category, untagged.Tags.Count));

        // The ratings carry their item's category from the file, so a profile's actions say what kind of film it rated.
        await WaitForEventsAsync(tenant, "1", 3); // two ratings and the demographics
        var rater = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = "1" });
        Assert.Equal(
            [("1", "animation"), ("3", "action")],
            rater.Behavior.RecentActions.Where(a => a.Type == "rating").Select(a => (a.ProductId, a.Category)).OrderBy(a => a.ProductId, StringComparer.Ordinal));

        // The catalog alone, again: the same items upserted by id, nothing else sent.
        var (again, second) = Run("import", "--grid", grid, "--tenant", tenant, "--items", movies);
        Assert.Equal(1, again);
        Assert.Contains("items: 5 sent, 4 stored", second);
        Assert.DoesNotContain("events:", second);
        var listed = await recommendations.ListItemsAsync(new ListItemsRequest { Tenant = tenant, PageSize = 100 });
        Assert.Equal(["1", "2", "3", "4"], listed.Items.Where(i => !i.FromEvents).Select(i => i.ItemId).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The public ratings layouts other than MovieLens, each read with its options and sent to the real host: Book-Crossing
    /// (latin-1, ';', every field quoted, \" inside quotes, 0 for a book read but not rated), Last.fm play counts (no
    /// header, tabs, an unclosed quote in an artist name, a count column) and the Netflix Prize (movie lines). What each
    /// user's profile holds afterwards is what the file says: ratings as ratings, implicit rows and plays as views, ids
    /// with the file's characters.
    /// </summary>
    [Fact]
    public async Task Book_crossing_last_fm_and_netflix_files_reach_the_profiles_as_their_options_read_them()
    {
        var grid = $"http://127.0.0.1:{fixture.Silo.GrpcPort}";
        var suffix = Guid.NewGuid().ToString("N")[..8];

        var bookCrossing = Path.Combine(_folder.FullName, "BX-Book-Ratings.csv");
        File.WriteAllBytes(bookCrossing, Encoding.Latin1.GetBytes(
            "\"User-ID\";\"ISBN\";\"Book-Rating\"\r\n"
            + "\"276725\";\"034545104X\";\"0\"\r\n"
            + "\"276725\";\"0060517794\";\"9\"\r\n"
            + "\"276725\";\"9022906116\\\"\";\"7\"\r\n"
            + "\"278418\";\"3442437407é\";\"0\"\r\n"
            + "\"278418\";\"0452264464\";\"ten\"\r\n"));
        var books = "bx-" + suffix;
        var (exit, output) = Run("import", "--grid", grid, "--tenant", books, "--ratings", bookCrossing,
            "--separator", ";", "--encoding", "iso-8859-1", "--escape", "\\", "--implicit-rating", "0",
            "--columns", "user=User-ID,item=ISBN,rating=Book-Rating");
        Assert.True(exit == 0, output);
        Assert.Contains("4 accepted, 1 rejected", output);
        Assert.Contains("non-numeric rating 'ten'", output);

        await WaitForEventsAsync(books, "276725", 3);
        var reader = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = books, UserId = "276725" });
        Assert.Equal(3, reader.EventsApplied);
        Assert.Equal(
            [("rating", "0060517794", "9"), ("product_view", "034545104X", ""), ("rating", "9022906116\"", "7")],
            reader.Behavior.RecentActions.Select(a => (a.Type, a.ProductId, a.Type == "rating" ? a.Detail : "")).OrderBy(a => a.ProductId, StringComparer.Ordinal));
        await WaitForEventsAsync(books, "278418", 1);
        var latin1 = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = books, UserId = "278418" });
        Assert.Equal([("product_view", "3442437407é")], latin1.Behavior.RecentActions.Select(a => (a.Type, a.ProductId)));

        var lastFm = Path.Combine(_folder.FullName, "usersha1-artmbid-artname-plays.tsv");
        File.WriteAllText(lastFm,
            "00000c289a1829a808ac09c00daf10bc3c4e223b\t3bd73256-3905-4f3a-97e2-8b341527f805\tdie Ärzte\t12\n"
            + "00000c289a1829a808ac09c00daf10bc3c4e223b\t\t\"heroes\t3\n"
            + "00000c289a1829a808ac09c00daf10bc3c4e223b\tb1a9c0e9-d987-4042-ae91-78d6a3267d69\tthe pogues\t0\n"
            + "0000f687d4fe9c1ed49620fbc5ed5b0d7798ea20\t\tbeirut\t2\n");
        var plays = "lastfm-" + suffix;
        (exit, output) = Run("import", "--grid", grid, "--tenant", plays, "--ratings", lastFm, "--names", "user,artist-mbid,artist-name,plays",
            "--columns", "user=user,item=artist-name,count=plays", "--separator", "\t", "--no-quotes");
        Assert.True(exit == 0, output);
        Assert.Contains("3 accepted, 1 rejected", output);
        Assert.Contains("count 0: no interaction", output);

        await WaitForEventsAsync(plays, "00000c289a1829a808ac09c00daf10bc3c4e223b", 15);
        var listener = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = plays, UserId = "00000c289a1829a808ac09c00daf10bc3c4e223b" });
        Assert.Equal(15, listener.EventsApplied); // 12 plays of one artist and 3 of the other, each a view
        Assert.Equal(15, listener.Behavior.EventCounts["product_view"]);
        Assert.Equal(["\"heroes", "die Ärzte"], listener.Behavior.RecentActions.Select(a => a.ProductId).Distinct().Order(StringComparer.Ordinal));

        var netflix = Path.Combine(_folder.FullName, "combined_data_1.txt");
        File.WriteAllText(netflix, "1:\n1488844,3,2005-09-06\n822109,5,2005-05-13\n2:\n1488844,4,2005-11-01\n");
        var films = "netflix-" + suffix;
        (exit, output) = Run("import", "--grid", grid, "--tenant", films, "--ratings", netflix);
        Assert.True(exit == 0, output);
        Assert.Contains("3 accepted, 0 rejected", output);

        await WaitForEventsAsync(films, "1488844", 2);
        var viewer = await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = films, UserId = "1488844" });
        Assert.Equal(
            [("1", "3", "2005-09-06"), ("2", "4", "2005-11-01")],
            viewer.Behavior.RecentActions.Select(a => (a.ProductId, a.Detail, a.OccurredAt[..10])).OrderBy(a => a.ProductId, StringComparer.Ordinal));
    }

    [Fact]
    public void Users_without_ratings_and_nothing_to_import_are_refused_before_anything_is_sent()
    {
        var users = Path.Combine(_folder.FullName, "users.dat");
        File.WriteAllText(users, "1::F::1::10::48067\n");

        var (nothing, said) = Run("import", "--grid", "http://127.0.0.1:1", "--tenant", "t");
        Assert.Equal(2, nothing);
        Assert.Contains("--ratings or --items (or both)", said);

        var (usersAlone, reason) = Run("import", "--grid", "http://127.0.0.1:1", "--tenant", "t", "--users", users);
        Assert.Equal(2, usersAlone);
        Assert.Contains("--users: only with --ratings", reason);
    }

    private async Task WaitForEventsAsync(string tenant, string user, long events)
    {
        // Acknowledged is durable, not yet applied: on a busy machine the profile may not exist for a moment (NotFound).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await EventsAppliedAsync(tenant, user) < events)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{user} did not apply {events} events within 30 s");
            await Task.Delay(100);
        }
    }

    private async Task<long> EventsAppliedAsync(string tenant, string user)
    {
        try
        {
            return (await fixture.Silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user })).EventsApplied;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return 0;
        }
    }
}
