using System.Text;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Evaluation;
using Spectre.Console.Testing;

namespace ProfileGrid.Cli.Tests;

/// <summary><c>profilegrid evaluate</c> run in-process on files written by the test (no network, no child process).</summary>
public sealed class EvaluateCommandTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("profilegrid-cli-");

    static EvaluateCommandTests()
    {
        // Every user's favourite is the item numbered like them: a trainer that knows nothing but this order hits
        // when the favourite is held out, so the table has a non-zero row to look for.
        TrainerRegistry.Register("first-items", () => new FirstItemsTrainer());
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private (int Exit, string Output) Run(params string[] args)
    {
        var console = new TestConsole().Width(200);
        var output = new StringWriter();
        var exit = CliApp.Run(args, console, output, output);
        return (exit, console.Output + output);
    }

    private string Write(string name, string text, Encoding? encoding = null)
    {
        var path = Path.Combine(_folder.FullName, name);
        File.WriteAllText(path, text, encoding ?? new UTF8Encoding(false));
        return path;
    }

    private string RatingsFile()
    {
        var lines = new StringBuilder();
        for (var u = 1; u <= 40; u++)
        {
            for (var i = 1; i <= 8; i++)
            {
                lines.Append($"{u}\t{(u + i) % 30 + 1}\t{1 + (u + i) % 5}\t{881250949 + u * 100 + i}\r\n");
            }
        }

        lines.Append("41\t5\tfive\t881250949\r\n"); // line 321: rejected
        return Write("u.data", lines.ToString());
    }

    private string UsersFile() => Write("u.user", string.Concat(Enumerable.Range(1, 40).Select(u => $"{u}|{15 + u}|{(u % 2 == 0 ? "F" : "M")}|other|0{u:0000}\n")));

    [Fact]
    public void Evaluate_reads_movielens_1m_ratings_dat_and_users_dat_by_their_names()
    {
        // ml-1m as downloaded: '::' separators, no header; users.dat with age and occupation codes. Both were read as
        // other files: ratings.dat as a CSV with a header ("The header lacks column(s) 'user', 'item'"), users.dat as
        // u.user (every line rejected).
        var ratings = new StringBuilder();
        for (var u = 1; u <= 40; u++)
        {
            for (var i = 1; i <= 8; i++)
            {
                ratings.Append($"{u}::{(u + i) % 30 + 1}::{1 + (u + i) % 5}::{978300760 + u * 100 + i}\n");
            }
        }

        ratings.Append("41::5::five::978300760\n");
        var users = string.Concat(Enumerable.Range(1, 40).Select(u => $"{u}::{(u % 2 == 0 ? "F" : "M")}::{(u % 3 == 0 ? 56 : 25)}::{u % 21}::0{u:0000}\n"));
        var (exit, output) = Run(
            "evaluate", "--ratings", Write("ratings.dat", ratings.ToString()), "--users", Write("users.dat", users, Encoding.Latin1),
            "--algorithms", "random,first-items", "--k", "5", "--slice", "gender,age-band");

        Assert.True(exit == 0, output);
        Assert.Contains("ratings: 321 lines read, 320 accepted (0 duplicates), 1 rejected, 0 blank; 40 users, 30 items", output);
        Assert.Contains("line 321: non-numeric rating 'five'", output);
        Assert.Contains("users: 40 lines read, 40 accepted (0 duplicates), 0 rejected", output);
        Assert.Contains("55_64", output);
        Assert.Contains("25_34", output);
    }

    [Fact]
    public void Evaluate_of_a_file_whose_every_line_is_rejected_is_an_error_not_a_table_of_zeros()
    {
        // ml-1m's ratings.dat read as u.data (--format movielens-100k): every line is one column. The command printed a
        // table of 0.000 for every metric and exited 0, as if the algorithms had been evaluated and failed.
        var ratings = Write("ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n2::1357::5::978298709\n");

        var (exit, output) = Run("evaluate", "--ratings", ratings, "--format", "movielens-100k", "--algorithms", "random");

        Assert.Equal(EvaluateCommand.BadInput, exit);
        Assert.Contains("ratings: 3 lines read, 0 accepted (0 duplicates), 3 rejected", output);
        Assert.Contains("line 1: missing column 'item' (1 columns, expected 4)", output);
        Assert.Contains("no line was accepted, so there is nothing to evaluate (read as MovieLens100k", output);
        Assert.DoesNotContain("precision", output);
    }

    [Fact]
    public void Evaluate_prints_the_algorithms_side_by_side_the_rejected_lines_and_each_slice_with_its_min_max_ratio()
    {
        var (exit, output) = Run(
            "evaluate", "--ratings", RatingsFile(), "--users", UsersFile(), "--algorithms", "random,first-items", "--k", "5", "--slice", "gender,age-band");

        Assert.True(exit == 0, output);
        Assert.Contains("321 lines read, 320 accepted", output);
        Assert.Contains("line 321: non-numeric rating 'five'", output);
        Assert.Contains("top-5, seen items removed", output);
        Assert.Contains("precision", output);
        Assert.Contains("first-items", output);
        Assert.Contains("by gender", output);
        Assert.Contains("by age-band", output);
        Assert.Contains("25_34", output);
        Assert.Contains("min/max", output);
        Assert.Contains("test 40 users (80 held-out pairs)", output);
    }

    [Fact]
    public void Every_rating_is_positive_by_default_and_min_positive_rating_leaves_the_low_ones_out()
    {
        var ratings = RatingsFile();

        var (exit, all) = Run("evaluate", "--ratings", ratings, "--algorithms", "random");
        var (exitLow, disliked) = Run("evaluate", "--ratings", ratings, "--algorithms", "random", "--min-positive-rating", "3");
        var (exitBad, bad) = Run("evaluate", "--ratings", ratings, "--min-positive-rating", "6");

        Assert.True(exit == 0, all);
        Assert.Contains("ratings: every rating counts as positive", all);
        Assert.Contains("(240 pairs), test 40 users (80 held-out pairs)", all);
        Assert.True(exitLow == 0, disliked);
        Assert.Contains("ratings below 3 are dislikes", disliked);
        // Each user rated 8 items 1-5 stars; 192 of the 320 pairs are 3 stars or more, and only those are split (as numpy's
        // half-to-even rounding splits each user's 3 to 6 items: 144 kept, 48 held out).
        Assert.Contains("(144 pairs), test 40 users (48 held-out pairs)", disliked);
        Assert.Equal(EvaluateCommand.BadInput, exitBad);
        Assert.Contains("min-positive-rating must be between 0 (every rating positive) and the rating scale, 5 (6)", bad);
    }

    [Fact]
    public void Book_crossing_and_amazon_layouts_are_read_with_encoding_columns_implicit_rating_and_names()
    {
        // BX-Book-Ratings.csv: ';', every field quoted, latin-1, 0 for "read, not rated". Amazon's ratings_Electronics.csv:
        // no header. Neither could be told to the command: no --encoding, no --implicit-rating, no --names.
        var bx = new StringBuilder("\"User-ID\";\"ISBN\";\"Book-Rating\"\r\n");
        var amazon = new StringBuilder();
        for (var u = 1; u <= 30; u++)
        {
            for (var i = 1; i <= 6; i++)
            {
                bx.Append($"\"{u}\";\"{(u + i) % 20:0000000000}{(i == 2 ? "X" : "")}\";\"{(i % 3 == 0 ? 0 : i + 4)}\"\r\n");
                amazon.Append($"A{u:X8},B{(u + i) % 20:00000000},{1 + i % 5}.0,{1365811200 + u * 100 + i}\n");
            }
        }

        bx.Append("\"31\";\"3442437407\u00e9\";\"0\"\r\n");
        var bxPath = Write("BX-Book-Ratings.csv", bx.ToString(), Encoding.Latin1);
        var (exit, output) = Run(
            "evaluate", "--ratings", bxPath, "--columns", "user=User-ID,item=ISBN,rating=Book-Rating", "--encoding", "iso-8859-1",
            "--implicit-rating", "0", "--algorithms", "random", "--k", "5");

        Assert.True(exit == 0, output);
        Assert.Contains("ratings: 181 lines read, 181 accepted (0 duplicates), 0 rejected, 0 blank; 31 users, 41 items", output);
        // Every pair is in the matrix. A 0 read as a rating weighs nothing: those 61 pairs, and user 31, would leave it
        // ("train 30 users × 37 items (90 pairs), test 30 users (30 held-out pairs)").
        Assert.Contains("train 31 users × 37 items (121 pairs), test 30 users (60 held-out pairs)", output);

        (exit, output) = Run("evaluate", "--ratings", Write("ratings_Electronics.csv", amazon.ToString()), "--names", "user,item,rating,timestamp", "--algorithms", "random");
        Assert.True(exit == 0, output);
        Assert.Contains("ratings: 180 lines read, 180 accepted (0 duplicates), 0 rejected, 0 blank; 30 users, 20 items", output);

        // Ratings of 1-10: "below 6 is a dislike" was refused as beyond the 5-point scale, and a 6 weighed as a 10.
        string[] bxRead = ["evaluate", "--ratings", bxPath, "--columns", "user=User-ID,item=ISBN,rating=Book-Rating", "--encoding", "iso-8859-1", "--implicit-rating", "0", "--algorithms", "random"];
        (exit, output) = Run([.. bxRead, "--min-positive-rating", "6"]);
        Assert.Contains("min-positive-rating must be between 0 (every rating positive) and the rating scale, 5 (6)", output);
        (exit, output) = Run([.. bxRead, "--min-positive-rating", "6", "--rating-scale", "10"]);
        Assert.True(exit == 0, output);
        Assert.Contains("ratings below 6 are dislikes", output);
        // The 30 ratings of 5 leave; the implicit interactions (no rating) stay.
        Assert.Contains("train 31 users × 41 items (121 pairs), test 30 users (30 held-out pairs)", output);
        (exit, output) = Run([.. bxRead, "--rating-scale", "0"]);
        Assert.Contains("rating-scale must be a positive number, the top of the file's scale (0)", output);

        // Book-Crossing's \" inside quotes: rejected with a hint, read with --escape.
        var escaped = Write("BX-escaped.csv", bx.ToString().Replace("\"0000000007\"", "\"0000000007\\\"\"", StringComparison.Ordinal), Encoding.Latin1);
        string[] bxArgs = ["evaluate", "--ratings", escaped, "--columns", "user=User-ID,item=ISBN,rating=Book-Rating", "--encoding", "iso-8859-1", "--algorithms", "random"];
        (exit, output) = Run(bxArgs);
        Assert.Contains("; the line has \\\" (read with the escape \\?)", output);
        (exit, output) = Run([.. bxArgs, "--escape", "\\"]);
        Assert.True(exit == 0, output);
        Assert.Contains("ratings: 181 lines read, 181 accepted (0 duplicates), 0 rejected, 0 blank; 31 users, 41 items", output);

        (exit, output) = Run("evaluate", "--ratings", bxPath, "--encoding", "klingon", "--escape", "\\", "--separator", "ab", "--names", "a,,b", "--format", "movielens-1m");
        Assert.Equal(EvaluateCommand.BadInput, exit);
        Assert.Contains("--encoding: utf-8, iso-8859-1 or windows-1252 ('klingon')", output);
        Assert.Contains("--separator: one character other than a quote or a line break, or tab ('ab')", output);
        Assert.Contains("--names: a name for every column, none empty ('a,,b')", output);
        Assert.Contains("--names: for --format csv only", output);
        Assert.Contains("--escape: for --format csv only", output);
    }

    [Fact]
    public void Evaluate_reads_a_netflix_prize_file_by_its_name()
    {
        // combined_data_1.txt: "MovieID:" lines, each followed by CustomerID,Rating,Date lines.
        var text = new StringBuilder();
        for (var movie = 1; movie <= 20; movie++)
        {
            text.Append($"{movie}:\n");
            for (var c = 1; c <= 30; c++)
            {
                if ((c + movie) % 3 == 0)
                {
                    text.Append($"{1488800 + c},{1 + (c + movie) % 5},2005-{1 + movie % 12:00}-{1 + c % 28:00}\n");
                }
            }
        }

        text.Append("1488801,4\n");
        var (exit, output) = Run("evaluate", "--ratings", Write("combined_data_1.txt", text.ToString()), "--algorithms", "random", "--split", "time");

        Assert.True(exit == 0, output);
        Assert.Contains("ratings: 221 lines read, 200 accepted (0 duplicates), 1 rejected, 0 blank, 20 naming an item; 30 users, 20 items", output);
        Assert.Contains("line 221: missing column 'date' (2 columns, expected 3)", output);
        Assert.Contains("split: TimePerUser", output);
    }

    [Fact]
    public void Evaluate_reads_lastfm_play_counts_with_names_a_count_column_and_no_quotes()
    {
        var text = new StringBuilder();
        for (var u = 1; u <= 30; u++)
        {
            for (var a = 1; a <= 5; a++)
            {
                var artist = (u + a) % 12 == 0 ? "\"heroes" : $"artist, no. {(u + a) % 12}";
                text.Append($"{u:x40}\t{(a == 3 ? "" : $"mbid-{(u + a) % 12}")}\t{artist}\t{u * a}\n");
            }
        }

        string[] args =
        [
            "evaluate", "--ratings", Write("usersha1-artmbid-artname-plays.tsv", text.ToString()), "--separator", "tab",
            "--names", "user,artist-mbid,artist-name,plays", "--columns", "user=user,item=artist-name,count=plays", "--algorithms", "random",
        ];
        var (exit, output) = Run([.. args, "--no-quotes"]);

        Assert.True(exit == 0, output);
        Assert.Contains("ratings: 150 lines read, 150 accepted (0 duplicates), 0 rejected, 0 blank; 30 users, 12 items", output);

        (exit, output) = Run(args);
        Assert.Contains("line 35: the item holds a line break; a quoted field runs from line 35 to line", output);
    }

    [Fact]
    public void The_same_seed_prints_the_same_figures()
    {
        var ratings = RatingsFile();
        var first = Run("evaluate", "--ratings", ratings, "--algorithms", "random", "--seed", "7").Output;
        var second = Run("evaluate", "--ratings", ratings, "--algorithms", "random", "--seed", "7").Output;

        Assert.Equal(Table(first), Table(second));

        static string Table(string output) => output[output.IndexOf("top-10", StringComparison.Ordinal)..output.IndexOf("time:", StringComparison.Ordinal)];
    }

    [Fact]
    public void A_generic_csv_is_read_through_the_column_mapping_and_split_by_time()
    {
        var csv = "Customer,Product,When\n" + string.Concat(Enumerable.Range(0, 30).SelectMany(u => Enumerable.Range(0, 4).Select(i => $"c{u},p{(u + i) % 9},2021-0{1 + i}-15T10:00:00Z\n")));
        var (exit, output) = Run("evaluate", "--ratings", Write("events.csv", csv), "--format", "csv", "--columns", "user=Customer,item=Product,timestamp=When", "--split", "time", "--algorithms", "random");

        Assert.True(exit == 0, output);
        Assert.Contains("120 lines read, 120 accepted", output);
        Assert.Contains("split: TimePerUser", output);
    }

    [Fact]
    public void A_csv_with_a_quote_inside_an_unquoted_title_evaluates_every_row_after_it()
    {
        // A retail file with product titles as items: the first title's inches (12" VINYL) joined all later rows into
        // one rejected line, and the evaluation ran on one user.
        var titles = new[] { "12\" VINYL RECORD FRAME", "\"HEART, T-LIGHT\"", "9\" X 12\" FRAME", "BIRD ORNAMENT", "\"SET OF 3 \"\"BIRD\"\"\"" };
        var csv = "Customer,Title,When\n" + string.Concat(Enumerable.Range(0, 30).SelectMany(u => Enumerable.Range(0, 4).Select(i => $"c{u},{titles[(u + i) % 5]},2021-0{1 + i}-15T10:00:00Z\n")));
        var (exit, output) = Run("evaluate", "--ratings", Write("retail.csv", csv), "--format", "csv", "--columns", "user=Customer,item=Title,timestamp=When", "--algorithms", "random");

        Assert.True(exit == 0, output);
        Assert.Contains("120 lines read, 120 accepted (0 duplicates), 0 rejected", output);
        Assert.Contains("30 users, 5 items", output);
    }

    [Fact]
    public void The_librarys_algorithms_are_registered_and_evaluated_side_by_side()
    {
        // Two tastes of five items each and one item everybody has.
        var lines = new List<string>();
        for (var u = 0; u < 40; u++)
        {
            var taste = u % 2 == 0 ? "a" : "b";
            lines.AddRange(Enumerable.Range(0, 4).Select(i => $"{u + 1}\t{taste}{(u / 2 + i) % 5}\t{4 + i % 2}\t{978300760 + u * 100 + i}"));
            lines.Add($"{u + 1}\thit\t5\t{978300760 + u * 100 + 9}");
        }

        var (exit, output) = Run("evaluate", "--ratings", Write("u.data", string.Join("\n", lines)), "--algorithms", "popularity,item-cf,hybrid", "--k", "3");

        Assert.True(exit == 0, output);
        Assert.Contains("item-cf", output);
        Assert.Contains("hybrid", output);
        Assert.Contains("popularity", output);
    }

    [Fact]
    public void Bad_options_are_each_named_and_nothing_runs()
    {
        var (exit, output) = Run("evaluate", "--ratings", Path.Combine(_folder.FullName, "missing.data"), "--k", "0", "--algorithms", "random,magic,random",
            "--slice", "gender", "--ratio", "1.5");

        Assert.Equal(2, exit);
        Assert.Contains("--ratings: no such file", output);
        Assert.Contains("k must be between 1 and 1000 (0)", output);
        Assert.Contains("algorithms: unknown 'magic'", output);
        Assert.Contains("algorithms: 'random' is named 2 times", output);
        Assert.Contains("ratio: must lie strictly between 0 and 1 (1.5)", output);
        Assert.Contains("gender need a users file (--users u.user)", output);
        Assert.DoesNotContain("top-10", output);
    }

    [Fact]
    public void An_unknown_split_is_refused_by_the_parser()
    {
        var (exit, output) = Run("evaluate", "--ratings", RatingsFile(), "--split", "sideways");

        Assert.Equal(2, exit);
        Assert.Contains("sideways", output);
    }

    [Theory]
    [InlineData("--batch", "abc", "abc")]
    [InlineData("--key-file", "/nonexistent/admin.key", "admin.key")]
    public void A_command_line_that_does_not_parse_exits_2_naming_the_value_not_1_which_means_retry(string option, string value, string named)
    {
        // probe71: these exited 1 ("the grid could not be reached or failed: run the same command again"), and a missing
        // key file was not named at all: the import ran without a key and the grid refused it.
        var (exit, output) = Run("import-events", "--grid", "http://127.0.0.1:1", "--tenant", "t", "--file", RatingsFile(),
            "--mapping", Write("m.json", """{"fields": {"time": "t", "user": "u"}}"""), option, value);

        Assert.Equal(2, exit);
        Assert.Contains(named, output);
    }

    [Fact]
    public void A_csv_without_the_mapped_column_is_refused_with_the_header_it_has()
    {
        var (exit, output) = Run("evaluate", "--ratings", Write("bad.csv", "a,b\n1,2\n"), "--algorithms", "random");

        Assert.Equal(2, exit);
        Assert.Contains("lacks column(s) 'user', 'item'", output);
    }

    /// <summary>Recommends items "1", "2", ... in order, minus the excluded ones.</summary>
    private sealed class FirstItemsTrainer : IRecommenderTrainer
    {
        public string Algorithm => "first-items";

        public IRecommender Train(InteractionMatrix data, DateTimeOffset now) => new Model(data.Items.OrderBy(i => int.Parse(i)).ToArray());

        private sealed class Model(string[] items) : IRecommender
        {
            public string Algorithm => "first-items";

            public IReadOnlyList<ScoredItem> Recommend(RecommendationQuery query) =>
                items.Where(i => !query.Exclude.Contains(i)).Take(query.Count).Select(i => new ScoredItem(i, 1, "test")).ToList();
        }
    }
}
