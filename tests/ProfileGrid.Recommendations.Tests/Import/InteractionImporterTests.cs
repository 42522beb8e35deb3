using System.Text;
using System.Text.Json;
using ProfileGrid.Recommendations.Import;
using ProfileGrid.Tests;

namespace ProfileGrid.Recommendations.Tests.Import;

public sealed class InteractionImporterTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static InteractionImport Import(byte[] bytes, ImportOptions options) =>
        InteractionImporter.Import(new MemoryStream(bytes), options with { Now = Now });

    private static byte[] Utf8(string text, bool bom = false) => (bom ? [0xEF, 0xBB, 0xBF] : Array.Empty<byte>()).Concat(Encoding.UTF8.GetBytes(text)).ToArray();

    [Fact]
    public void Movielens_100k_u_data_is_read_with_messy_lines_rejected_by_number_and_the_rest_kept()
    {
        // CRLF, a blank line, timestamps out of order, an exact duplicate row, a re-rating, and five bad lines.
        var text = string.Join("\r\n",
            "196\t242\t3\t881250949",   // 1
            "186\t302\t3\t891717742",   // 2
            "",                         // 3 blank
            "196\t242\t3\t881250949",   // 4 exact duplicate of line 1
            "196\t51\t2\t880606923",    // 5 older than line 1
            "22\t377\tfive\t878887116", // 6 non-numeric rating
            "\t377\t1\t878887116",      // 7 missing user
            "244\t51\t2",               // 8 missing timestamp column
            "166\t346\t1\t886397596\t9", // 9 too many columns
            "298\t474\t4\t88439x",      // 10 bad timestamp
            "186\t302\t5\t891717000",   // 11 an older re-rating: line 2's rating stays
            "") + "\r\n";             // 12 blank: the file ends with an empty line

        var result = Import(Utf8(text), new ImportOptions { Format = InteractionFileFormat.MovieLens100k });

        Assert.Equal(
            [(6L, "non-numeric rating 'five'"), (7L, "missing user"), (8L, "missing column 'timestamp' (3 columns, expected 4)"),
             (9L, "too many columns (5, expected 4)"), (10L, "bad timestamp '88439x' (expected unix seconds or ISO-8601)")],
            result.Rejects.Select(r => (r.Line, r.Reason)));
        var summary = result.Summary;
        Assert.Equal((12L, 5L, 5L, 2L, 2L), (summary.LinesRead, summary.Accepted, summary.Rejected, summary.BlankLines, summary.Duplicates));
        Assert.Equal((2, 3), (summary.Users, summary.Items));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(880606923), summary.Earliest);

        var user196 = result.Users.Single(u => u.UserKey == "196");
        Assert.Equal(["242", "51"], user196.Items.Select(i => i.ItemId));
        var movie242 = user196.Items[0];
        Assert.Equal(3, movie242.Rating);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(881250949), movie242.LastAt);
        Assert.Equal((0, 0, 0), (movie242.Views, movie242.CartAdds, movie242.Purchases));
        // The re-rating on line 11 is older than line 2's: the latest rating wins whatever the line order.
        Assert.Equal(3, result.Users.Single(u => u.UserKey == "186").Items[0].Rating);
        Assert.Equal("10", result.Rejects[^1].Line.ToString());
        Assert.Equal("298\t474\t4\t88439x", result.Rejects[^1].Text);
    }

    [Fact]
    public void Ratings_outside_the_grids_scale_are_rejected_by_line_and_the_ends_of_it_kept()
    {
        var text = "userId,movieId,rating,timestamp\n1,1,-1,964982703\n1,2,150,964982703\n1,3,0,964982703\n1,4,100,964982703\n1,5,4.5,964982703\n";
        var result = Import(Utf8(text), new ImportOptions { Format = InteractionFileFormat.MovieLensCsv });

        Assert.Equal(
            [(2L, "rating -1 is outside 0 to 100, the scale the grid takes"), (3L, "rating 150 is outside 0 to 100, the scale the grid takes")],
            result.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Equal([0, 100, 4.5], result.Users.Single().Items.Select(i => i.Rating!.Value));
    }

    [Fact]
    public void Movielens_ratings_csv_with_a_bom_half_stars_and_years_old_timestamps()
    {
        var text = "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n2,1,3.5,1445714835\r\n2,1,0.5,1445714999\r\n";
        var result = Import(Utf8(text, bom: true), new ImportOptions { Format = InteractionFileFormat.MovieLensCsv });

        Assert.Empty(result.Rejects);
        Assert.Equal((4L, 4L, 1L), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Duplicates));
        Assert.Equal(4.5, result.Users[0].Items[1].Rating);
        // 2000-07-30: a 24-year-old rating is as good as a new one.
        Assert.Equal(2000, result.Users[0].Items[0].LastAt.Year);
        // The later re-rating (0.5) wins.
        Assert.Equal(0.5, result.Users[1].Items[0].Rating);
    }

    [Fact]
    public void A_generic_csv_maps_named_columns_with_iso_times_and_event_types_counted_per_kind()
    {
        var text = """
            Customer;Product;When;Action;Stars
            c1;"p;1";2023-03-01T10:00:00Z;view;
            c1;"p;1";2023-03-01T10:05:00+01:00;add_to_cart;
            c1;"p;1";2023-03-02;purchase;
            c1;"p;1";2023-03-02;purchase;
            c1;p2;2023-03-03T08:00:00Z;rating;4
            c2;p2;2023-03-04T08:00:00Z;rating;
            c2;p2;2023-03-04T08:00:00Z;wishlist;
            c2;p3;2031-01-01T00:00:00Z;view;
            c2;p3;1710000000000;view;
            c2;p3;1710000000;VIEW;
            """;
        var mapping = new ColumnMapping("customer", "PRODUCT", Rating: "Stars", Timestamp: "When", EventType: "Action");
        var result = Import(Utf8(text), new ImportOptions { Columns = mapping });

        Assert.Equal(
            [(7L, "rating event without a rating"), (8L, "unknown event type 'wishlist'"), (9L, "timestamp in the future (2031-01-01T00:00:00.0000000+00:00)"),
             (10L, "bad timestamp '1710000000000' (past the year 9999: milliseconds instead of seconds?)")],
            result.Rejects.Select(r => (r.Line, r.Reason)));
        var c1 = result.Users.Single(u => u.UserKey == "c1");
        var p1 = c1.Items.Single(i => i.ItemId == "p;1");
        // Line 5 repeats line 4 exactly (same kind and time): not counted twice.
        Assert.Equal((1, 1, 1, (double?)null), (p1.Views, p1.CartAdds, p1.Purchases, p1.Rating));
        Assert.Equal(new DateTimeOffset(2023, 3, 2, 0, 0, 0, TimeSpan.Zero), p1.LastAt);
        Assert.Equal(4, c1.Items.Single(i => i.ItemId == "p2").Rating);
        Assert.Equal(1, result.Users.Single(u => u.UserKey == "c2").Items.Single().Views);
        Assert.Equal(1L, result.Summary.Duplicates);
    }

    [Fact]
    public void A_tsv_with_only_users_and_items_counts_each_line_as_the_default_event_at_the_import_time()
    {
        var result = Import(Utf8("user\titem\nu1\ta\nu1\ta\nu2\tb\n"), new ImportOptions { DefaultEvent = "purchase" });

        Assert.Equal(2, result.Users[0].Items[0].Purchases);
        Assert.Equal(Now, result.Users[0].Items[0].LastAt);
        Assert.Equal(0L, result.Summary.Duplicates);
    }

    [Fact]
    public void A_header_without_a_mapped_column_stops_the_import_naming_what_it_has()
    {
        var error = Assert.Throws<InvalidDataException>(() =>
            Import(Utf8("user,product\nu1,a\n"), new ImportOptions { Columns = new ColumnMapping("user", "item") }));
        Assert.Contains("'item'", error.Message);
        Assert.Contains("'product'", error.Message);
    }

    [Fact]
    public void A_header_with_trailing_empty_columns_from_excel_imports_and_a_header_row_missing_is_named()
    {
        // Excel saves "...,timestamp,," when empty columns were touched: the header names '' twice.
        var result = Import(
            Utf8("userId,movieId,rating,timestamp,,\r\n1,1,4.0,964982703,,\r\n1,3,4.5,964981247,,\r\n"),
            new ImportOptions { Format = InteractionFileFormat.MovieLensCsv });
        Assert.Equal((2L, 0L), (result.Summary.Accepted, result.Summary.Rejected));

        // ratings.csv written without its header: the first row is not taken for column names and crashes nothing.
        var headless = Assert.Throws<InvalidDataException>(() =>
            Import(Utf8("1,1,4.0,964982703\n1,3,4.5,964981247\n"), new ImportOptions { Format = InteractionFileFormat.MovieLensCsv }));
        Assert.Contains("lacks column(s) 'userId'", headless.Message);

        var twice = Assert.Throws<InvalidDataException>(() =>
            Import(Utf8("user,item,item\nu1,a,b\n"), new ImportOptions()));
        Assert.Contains("'item' names columns 2 and 3", twice.Message);

        var empty = Assert.Throws<InvalidDataException>(() => Import([], new ImportOptions { Format = InteractionFileFormat.MovieLensCsv }));
        Assert.Contains("no header", empty.Message);
    }

    [Theory]
    [InlineData(',')]
    [InlineData(';')]
    public void A_quote_inside_an_unquoted_field_is_a_character_as_pandas_reads_it_and_loses_no_row_after_it(char separator)
    {
        // Retail titles as items: inches in '12" VINYL RECORD FRAME'. Sep took that quote for an opening one and joined
        // every row after it into one field; those rows were neither imported nor rejected. The ';' file's separator is
        // detected from its header, as before.
        var text = string.Join(separator, "customer", "title", "stars", "when") + "\n" + string.Concat(new string[][]
        {
            ["17850", "\"WHITE HANGING HEART, T-LIGHT\"", "4", "2010-12-01T08:26:00Z"],
            ["17850", "12\" VINYL RECORD FRAME", "5", "2010-12-01T08:28:00Z"],
            ["13047", "\"SET OF 3 \"\"BIRD\"\" ORNAMENTS\"", "3", "2010-12-01T08:34:00Z"],
            ["13048", "9\" X 12\" FRAME", "2", "2010-12-01T08:35:00Z"],
            ["13048", "TAPE 1\"\"", "1", "2010-12-01T08:36:00Z"],
            ["13049", "BIRD ORNAMENT", "4", "2010-12-01T08:37:00Z"],
        }.Select(f => string.Join(separator, f) + "\n"));
        var result = Import(Utf8(text), new ImportOptions { Columns = new ColumnMapping("customer", "title", Rating: "stars", Timestamp: "when") });

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            folder = sys.argv[1]
            sep = open(folder + "/sep.txt").read()
            frame = pd.read_csv(folder + "/ratings.csv", sep=sep, dtype=str, keep_default_na=False)
            print(json.dumps({"rows": len(frame), "pairs": [[u, t, float(s)] for u, t, s in zip(frame.customer, frame.title, frame.stars)]}))
            """, new Dictionary<string, string> { ["ratings.csv"] = text, ["sep.txt"] = separator.ToString() }, "python3-pandas");
        var expected = pandas.GetProperty("pairs").EnumerateArray()
            .Select(p => (p[0].GetString()!, p[1].GetString()!, (double?)p[2].GetDouble()))
            .OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal);

        Assert.Empty(result.Rejects);
        Assert.Equal(6, pandas.GetProperty("rows").GetInt32());
        Assert.Equal((6L, 6L), (result.Summary.LinesRead, result.Summary.Accepted));
        Assert.Equal(expected, result.Users.SelectMany(u => u.Items.Select(i => (u.UserKey, i.ItemId, i.Rating))));
        Assert.Contains(result.Users.SelectMany(u => u.Items), i => i.ItemId == "12\" VINYL RECORD FRAME");
    }

    [Fact]
    public void Movielens_1m_ratings_dat_is_read_with_its_double_colons_as_pandas_reads_it()
    {
        // ml-1m's ratings.dat: UserID::MovieID::Rating::Timestamp, no header, 2000-2003. It was read as a CSV with a
        // header, which it has not: the command stopped with "The header lacks column(s) 'user', 'item'".
        var text = """
            1::1193::5::978300760
            1::661::3::978302109
            1::914::3::978301968
            2::1357::5::978298709
            2::3068::4::978299000
            2::1193::4::978298413
            6040::2019::5::956703932
            6040::1193::2::956704056
            6040::1193::4::1046454590
            7::3105:4::978300760
            8::two::5
            9::1287::five::978300760

            10::1097::4::1046454590

            """.Replace("\r\n", "\n", StringComparison.Ordinal);
        var result = Import(Utf8(text), new ImportOptions { Format = InteractionFileFormat.MovieLens1m });

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/ratings.dat", sep="::", engine="python", names=["u", "i", "r", "t"], dtype=str, keep_default_na=False)
            good = frame[frame.r.str.fullmatch(r"[0-9]+") & frame.t.str.fullmatch(r"[0-9]+")]
            last = good.assign(t=good.t.astype(int)).sort_values("t", kind="stable").drop_duplicates(["u", "i"], keep="last")
            print(json.dumps([[u, i, float(r), int(t)] for u, i, r, t in zip(last.u, last.i, last.r, last.t)]))
            """, new Dictionary<string, string> { ["ratings.dat"] = text }, "python3-pandas");
        var expected = pandas.EnumerateArray()
            .Select(p => (p[0].GetString()!, p[1].GetString()!, (double?)p[2].GetDouble(), DateTimeOffset.FromUnixTimeSeconds(p[3].GetInt64())))
            .OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal);

        Assert.Equal(expected, result.Users.SelectMany(u => u.Items.Select(i => (u.UserKey, i.ItemId, i.Rating, i.LastAt))));
        Assert.Equal(
            [(10L, "missing column 'timestamp' (3 columns, expected 4)", "7::3105:4::978300760"), (11L, "missing column 'timestamp' (3 columns, expected 4)", "8::two::5"), (12L, "non-numeric rating 'five'", "9::1287::five::978300760")],
            result.Rejects.Select(r => (r.Line, r.Reason, r.Text)));
        Assert.Equal((14L, 10L, 3L, 1L, 1L), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Rejected, result.Summary.BlankLines, result.Summary.Duplicates));
        Assert.Equal(new DateTimeOffset(2003, 2, 28, 17, 49, 50, TimeSpan.Zero), result.Summary.Latest);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public void A_rejected_line_with_a_stray_quote_is_reported_as_the_file_has_it(string newline)
    {
        // The reader doubles a quote inside an unquoted field so that Sep keeps its count; the reject report showed
        // that doubled quote (12"" VINYL), a line the file does not have. A quoted field's "" is the file's own.
        string[] bad =
        [
            "17850,12\" VINYL RECORD FRAME,five,2010-12-01T08:28:00Z",
            "13047,\"SET OF 3 \"\"BIRD\"\" ORNAMENTS\",3,",
            "13048,9\" X 12\" FRAME,2,2010-12-01T08:35:00Z,extra\"",
            "13049,\"HEART, T-LIGHT\" 6\",4,1999-13-01",
        ];
        var text = "customer,title,stars,when" + newline + "13050,BIRD ORNAMENT,4,2010-12-01T08:37:00Z" + newline + string.Concat(bad.Select(b => b + newline));

        var result = Import(Utf8(text, bom: true), new ImportOptions { Columns = new ColumnMapping("customer", "title", Rating: "stars", Timestamp: "when") });

        Assert.Equal([3L, 4L, 5L, 6L], result.Rejects.Select(r => r.Line));
        Assert.Equal(bad, result.Rejects.Select(r => r.Text));
        Assert.Equal((5L, 1L), (result.Summary.LinesRead, result.Summary.Accepted));
    }

    [Theory]
    [InlineData("196 242 3 881250949\n186\t302\t3\t891717742\n22 377 1 878887116\n")]
    [InlineData("196\n186\t302\t3\t891717742\n22\n")]
    public void A_bad_first_line_of_a_file_without_a_header_is_reported_as_line_1(string text)
    {
        var result = Import(Utf8(text), new ImportOptions { Format = InteractionFileFormat.MovieLens100k });

        Assert.Equal([1L, 3L], result.Rejects.Select(r => r.Line));
    }

    [Fact]
    public void Rejects_are_all_counted_but_listed_up_to_the_limit()
    {
        var text = "user,item,rating\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"u{i},i,bad\n"));
        var result = Import(Utf8(text), new ImportOptions { MaxRejectsListed = 10 });

        Assert.Equal(50L, result.Summary.Rejected);
        Assert.Equal(10, result.Rejects.Count);
        Assert.Equal(2L, result.Rejects[0].Line);
    }

    [Fact]
    public void Imported_ratings_build_a_matrix_the_evaluation_can_split()
    {
        var text = string.Concat(Enumerable.Range(0, 20).SelectMany(u => Enumerable.Range(0, 6).Select(i => $"{u}\t{(u + i) % 15}\t{1 + i % 5}\t{880000000 + u * 1000 + i}\n")));
        var result = Import(Utf8(text), new ImportOptions { Format = InteractionFileFormat.MovieLens100k });
        var matrix = InteractionMatrix.Build(result.Users, new InteractionWeights(), result.Summary.Latest!.Value);

        Assert.Equal((20, 15, 120), (matrix.UserCount, matrix.ItemCount, matrix.NonZeros));
        Assert.All(matrix.AgeDays, age => Assert.InRange(age, 0, 1));
    }

    [Fact]
    public void Progress_is_reported_with_the_file_length()
    {
        var seen = new List<ImportProgress>();
        var bytes = Utf8("user,item\nu1,a\n");
        InteractionImporter.Import(new MemoryStream(bytes), new ImportOptions(), new Evaluation.OfflineEvaluatorTests.SyncProgress<ImportProgress>(seen.Add));

        Assert.Equal(bytes.Length, seen[^1].TotalBytes);
        Assert.Equal(1L, seen[^1].Lines);
    }
}
