using System.Text;
using System.Text.Json;
using ProfileGrid.Recommendations.Import;
using ProfileGrid.Tests;

namespace ProfileGrid.Recommendations.Tests.Import;

/// <summary>
/// Public ratings files other than MovieLens, in small samples laid out exactly as the real files are, each read as
/// the dataset's documented options say and compared with what pandas reads from the same bytes.
/// </summary>
public sealed class PublicRatingsFilesTests
{
    private static readonly DateTimeOffset Now = new(2024, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private static InteractionImport Import(byte[] bytes, ImportOptions options) =>
        InteractionImporter.Import(new MemoryStream(bytes), options with { Now = Now });

    /// <summary>What was read, one entry per (user, item) in ordinal order: rating (null when none) and views.</summary>
    private static IEnumerable<(string User, string Item, double? Rating, int Views)> Pairs(InteractionImport result) =>
        result.Users.SelectMany(u => u.Items.Select(i => (u.UserKey, i.ItemId, i.Rating, i.Views)));

    private static IEnumerable<(string User, string Item, double? Rating, int Views)> Expected(JsonElement pandas) =>
        pandas.EnumerateArray()
            .Select(p => (p[0].GetString()!, p[1].GetString()!, p[2].ValueKind == JsonValueKind.Null ? (double?)null : p[2].GetDouble(), p[3].GetInt32()))
            .OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal);

    [Fact]
    public void Amazon_ratings_only_file_without_a_header_is_read_with_names_as_pandas_reads_it()
    {
        // ratings_Electronics.csv (McAuley's "ratings only"): user,item,rating,unix seconds and no header. The first line
        // was read as a header: "The header lacks column(s) 'user', 'item'; it has 'AKM1MP6P0OYPR', '0132793040', ...".
        var text = """
            AKM1MP6P0OYPR,0132793040,5.0,1365811200
            A2CX7LUOHB2NDG,0321732944,5.0,1341100800
            A2NWSAGRHCP8N5,0439886341,1.0,1367193600
            A2WNBOD3WNDNKT,0439886341,3.0,1374451200
            A1GI0U4ZRJA8WN,0439886341,1.0,1334707200
            AKM1MP6P0OYPR,0439886341,4.0,1300000000
            A3J3BRHTDRFJ2G,B00000J061,five,1300000000
            """.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";

        var headerless = Assert.Throws<InvalidDataException>(() => Import(Encoding.UTF8.GetBytes(text), new ImportOptions()));
        Assert.Contains("it has 'AKM1MP6P0OYPR'", headerless.Message);

        var result = Import(Encoding.UTF8.GetBytes(text), new ImportOptions { Names = ["user", "item", "rating", "timestamp"] });

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/ratings_Electronics.csv", header=None, names=["u", "i", "r", "t"], dtype=str, keep_default_na=False)
            good = frame[pd.to_numeric(frame.r, errors="coerce").notna()]
            print(json.dumps([[u, i, float(r), 0] for u, i, r in zip(good.u, good.i, good.r)]))
            """, new Dictionary<string, string> { ["ratings_Electronics.csv"] = text }, "python3-pandas");

        Assert.Equal(Expected(pandas), Pairs(result));
        Assert.Equal([(7L, "non-numeric rating 'five'")], result.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Equal((7L, 6L, 5, 3), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Users, result.Summary.Items));
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1374451200), result.Summary.Latest);
    }

    [Fact]
    public void Book_crossing_ratings_latin1_quoted_and_semicolon_separated_with_0_as_an_implicit_interaction()
    {
        // BX-Book-Ratings.csv: every field quoted, ';', latin-1, ISBNs with X, spaces and stray characters, ratings 1-10,
        // and 0 for a book read but not rated. A 0 read as a rating weighs nothing (InteractionWeights), so every
        // implicit interaction (two thirds of the real file) was left out of the matrix without a word.
        var text = """
            "User-ID";"ISBN";"Book-Rating"
            "276725";"034545104X";"0"
            "276726";"0155061224";"5"
            "276727";"0446520802";"0"
            "276729";"052165615X";"3"
            "276729";"0521795028";"6"
            "276747";"0 7336 1053 6";"0"
            "276725";"0060517794";"9"
            "278418";"3442437407é";"0"
            "276744";"0452264464";"8"
            "276744";"0452264464";"ten"
            """.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n";
        var options = new ImportOptions
        {
            Columns = new ColumnMapping("User-ID", "ISBN", Rating: "Book-Rating"),
            Encoding = Encoding.Latin1,
            ImplicitRating = 0,
        };

        var result = Import(Encoding.Latin1.GetBytes(text), options);

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            folder = sys.argv[1]
            open(folder + "/bx.csv", "wb").write(open(folder + "/bx.txt", encoding="utf-8").read().encode("latin-1"))
            frame = pd.read_csv(folder + "/bx.csv", sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
            good = frame[pd.to_numeric(frame["Book-Rating"], errors="coerce").notna()]
            print(json.dumps([[u, i, None if float(r) == 0 else float(r), 1 if float(r) == 0 else 0]
                              for u, i, r in zip(good["User-ID"], good.ISBN, good["Book-Rating"])]))
            """, new Dictionary<string, string> { ["bx.txt"] = text }, "python3-pandas");

        Assert.Equal(Expected(pandas), Pairs(result));
        Assert.Contains(Pairs(result), p => p is { Item: "3442437407é", Rating: null, Views: 1 });
        Assert.Equal([(11L, "non-numeric rating 'ten'")], result.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Equal((10L, 9L, 0L), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Duplicates));

        // Latin-1 read as UTF-8 (no --encoding): é became U+FFFD, an id no file holds, and such ids could merge.
        var utf8 = Import(Encoding.Latin1.GetBytes(text), options with { Encoding = null });
        Assert.Equal(
            [(9L, "the item holds bytes that are not utf-8: give the file's encoding (iso-8859-1, windows-1252)"), (11L, "non-numeric rating 'ten'")],
            utf8.Rejects.Select(r => (r.Line, r.Reason)));

        // Without the option a 0 stays a rating, as before.
        Assert.Equal(0, Pairs(Import(Encoding.Latin1.GetBytes(text), options with { ImplicitRating = null })).First(p => p.Item == "034545104X").Rating);
    }

    [Fact]
    public void Netflix_prize_combined_data_is_read_with_its_movie_lines_as_pandas_reads_it()
    {
        // combined_data_1.txt: "MovieID:" then CustomerID,Rating,Date lines. No option could say that a line names the
        // movie of the lines after it; as a csv the first line was the header ("it has '1:'").
        var text = """
            1:
            1488844,3,2005-09-06
            822109,5,2005-05-13
            885013,4,2005-10-19
            2:
            2059652,4,2005-09-05
            1488844,2,2005-11-01
            1488844,x,2005-11-01
            1488844,4,2005-11-02,9
            :
            30878,4,2005-12-26
            3:
            1025579,4,2003-03-29
            1025579,5,2004-03-29
            """.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";

        var result = Import(Encoding.UTF8.GetBytes(text), new ImportOptions { Format = InteractionFileFormat.NetflixPrize });

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/combined_data_1.txt", header=None, names=["c", "r", "d", "extra"], dtype=str, keep_default_na=False)
            heading = frame.c.str.endswith(":") & (frame.r == "")
            movie = frame.c.where(heading).str[:-1]
            # A heading without an id ends its section: its lines belong to no movie.
            frame["movie"] = movie.where(movie != "", "<none>").ffill()
            good = frame[~heading & (frame.extra == "") & pd.to_numeric(frame.r, errors="coerce").notna() & frame.movie.notna() & (frame.movie != "<none>")]
            good = good.assign(d=pd.to_datetime(good.d)).sort_values("d", kind="stable").drop_duplicates(["c", "movie"], keep="last")
            print(json.dumps([[c, m, float(r), 0, d.isoformat()] for c, m, r, d in zip(good.c, good.movie, good.r, good.d)]))
            """, new Dictionary<string, string> { ["combined_data_1.txt"] = text }, "python3-pandas");

        Assert.Equal(Expected(pandas), Pairs(result));
        Assert.Equal(
            pandas.EnumerateArray().Select(p => (p[0].GetString()!, p[1].GetString()!, DateTimeOffset.Parse(p[4].GetString()! + "Z", System.Globalization.CultureInfo.InvariantCulture)))
                .OrderBy(p => p.Item1, StringComparer.Ordinal).ThenBy(p => p.Item2, StringComparer.Ordinal),
            result.Users.SelectMany(u => u.Items.Select(i => (u.UserKey, i.ItemId, i.LastAt))));
        Assert.Equal(
            [(8L, "non-numeric rating 'x'"), (9L, "too many columns (4, expected 3: customer,rating,date)"),
             (10L, "movie line without a movie id (expected 'MovieID:')"), (11L, "its movie line (line 10) was rejected")],
            result.Rejects.Select(r => (r.Line, r.Reason)));
        var summary = result.Summary;
        Assert.Equal((14L, 7L, 4L, 3L, 1L), (summary.LinesRead, summary.Accepted, summary.Rejected, summary.ItemLines, summary.Duplicates));
        Assert.Equal((5, 3), (summary.Users, summary.Items));
        Assert.Equal(new DateTimeOffset(2005, 11, 1, 0, 0, 0, TimeSpan.Zero), summary.Latest);

        var before = Import(Encoding.UTF8.GetBytes("1488844,3,2005-09-06\n1:\n1488844,3,2005-09-06\n"), new ImportOptions { Format = InteractionFileFormat.NetflixPrize });
        Assert.Equal([(1L, "no movie line ('MovieID:') before this rating")], before.Rejects.Select(r => (r.Line, r.Reason)));
    }

    [Fact]
    public void Book_crossing_backslash_escaped_quotes_are_read_with_escape_as_pandas_escapechar_reads_them()
    {
        // ISBNs with \" inside their quotes. RFC 4180 alone (and pandas without escapechar) ends the quoted field at
        // the backslash's quote: "9022906116\"" swallows the separator and rating after it, "\"0432534220\"" becomes
        // the ISBN \0432534220\"". No option could read them as written.
        var text = """
            "User-ID";"ISBN";"Book-Rating"
            "11676";"9022906116\"";"7"
            "11676";"\"0432534220\"";"6"
            "11676";"\\0452264464";"0"
            "276725";"034545104X";"0"
            "276726";"0155061224";"5"
            """.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
        var options = new ImportOptions { Columns = new ColumnMapping("User-ID", "ISBN", Rating: "Book-Rating"), ImplicitRating = 0 };

        var plain = Import(Encoding.UTF8.GetBytes(text), options);
        Assert.Equal([(2L, "missing column 'Book-Rating' (2 columns, expected 3); the line has \\\" (read with the escape \\?)")], plain.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Contains(Pairs(plain), p => p is { Item: "\\0432534220\\\"\"", Rating: 6 });

        // Blocks of one character: an escape at the end of a block looks into the next.
        foreach (var result in new[]
        {
            Import(Encoding.UTF8.GetBytes(text), options with { Escape = '\\' }),
            InteractionImporter.Import(new OneCharStream(Encoding.UTF8.GetBytes(text)), options with { Escape = '\\', Now = Now }),
        })
        {
            var pandas = ReferencePython.Run("""
                import json, sys
                import pandas as pd
                frame = pd.read_csv(sys.argv[1] + "/bx.csv", sep=";", escapechar="\\", dtype=str, keep_default_na=False)
                print(json.dumps([[u, i, None if float(r) == 0 else float(r), 1 if float(r) == 0 else 0]
                                  for u, i, r in zip(frame["User-ID"], frame.ISBN, frame["Book-Rating"])]))
                """, new Dictionary<string, string> { ["bx.csv"] = text }, "python3-pandas");

            Assert.Equal(Expected(pandas), Pairs(result));
            Assert.Contains(Pairs(result), p => p is { Item: "\"0432534220\"", Rating: 6 });
            Assert.Contains(Pairs(result), p => p is { Item: "\\0452264464", Rating: null, Views: 1 });
            Assert.Empty(result.Rejects);
            Assert.Equal((5L, 5L), (result.Summary.LinesRead, result.Summary.Accepted));
        }
    }

    [Fact]
    public void Lastfm_play_counts_are_read_with_names_a_count_column_and_quotes_as_characters_as_pandas_quote_none_reads_them()
    {
        // usersha1-artmbid-artname-plays.tsv (Last.fm 360K): no header, tabs, empty artist ids, names with commas and
        // quotes, one never closed ("heroes). Plays could only be read as a rating (a 2137 capped at the top of a 5-point
        // scale, like a 5), and the unclosed quote joined the lines after it into one row rejected as "missing column
        // 'plays'", with no word about the two lines it took.
        var text = string.Concat(new[]
        {
            "00000c289a1829a808ac09c00daf10bc3c4e223b\t3bd73256-3905-4f3a-97e2-8b341527f805\tbetty blowtorch\t2137",
            "00000c289a1829a808ac09c00daf10bc3c4e223b\tf2fb0ff0-5679-42ec-a55c-15109ce6e320\tdie Ärzte\t1099",
            "00000c289a1829a808ac09c00daf10bc3c4e223b\t\tmelissa etheridge\t897",
            "00001411dc427966b17297bf4d69e7e193135d89\ta3a92047-be1c-4f3e-8960-c4f8570984df\tcrosby, stills, nash & young\t21",
            "00001411dc427966b17297bf4d69e7e193135d89\t8bfac288-ccc5-448d-9573-c33ea2aa5c30\t\"weird al\" yankovic\t12",
            "00001411dc427966b17297bf4d69e7e193135d89\t\t\"heroes\t3",
            "00001411dc427966b17297bf4d69e7e193135d89\tb1a9c0e9-d987-4042-ae91-78d6a3267d69\tthe pogues\t9",
            "00001411dc427966b17297bf4d69e7e193135d89\tb1a9c0e9-d987-4042-ae91-78d6a3267d69\tthe pogues\t4",
            "0000f687d4fe9c1ed49620fbc5ed5b0d7798ea20\tb1a9c0e9-d987-4042-ae91-78d6a3267d69\tthe pogues\t0",
            "0000f687d4fe9c1ed49620fbc5ed5b0d7798ea20\t\tbeirut\tmany",
        }.Select(l => l + "\n"));
        var options = new ImportOptions
        {
            Names = ["user", "artist-mbid", "artist-name", "plays"],
            Columns = new ColumnMapping("user", "artist-name", Count: "plays"),
            Separator = '\t',
        };

        var quoted = Import(Encoding.UTF8.GetBytes(text), options);
        Assert.Equal(
            [(6L, "missing column 'plays' (3 columns, expected 4); a quoted field runs from line 6 to line 10, which are read as this one row")],
            quoted.Rejects.Select(r => (r.Line, r.Reason)));

        var result = Import(Encoding.UTF8.GetBytes(text), options with { Quotes = false });

        var pandas = ReferencePython.Run("""
            import csv, json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/plays.tsv", sep="\\t", header=None, names=["u", "mbid", "name", "plays"], quoting=csv.QUOTE_NONE,
                                dtype=str, keep_default_na=False)
            frame = frame[frame.plays.str.fullmatch(r"[0-9]+")]
            frame = frame.assign(plays=frame.plays.astype(int))
            plays = frame[frame.plays > 0].groupby(["u", "name"], sort=False).plays.sum()
            print(json.dumps([[u, n, None, int(p)] for (u, n), p in plays.items()]))
            """, new Dictionary<string, string> { ["plays.tsv"] = text }, "python3-pandas");

        Assert.Equal(Expected(pandas), Pairs(result));
        Assert.Contains(Pairs(result), p => p is { Item: "\"heroes", Views: 3 });
        Assert.Contains(Pairs(result), p => p is { Item: "the pogues", Views: 13 });
        Assert.Equal([(9L, "count 0: no interaction"), (10L, "count 'many' is not a whole number of 0 or more")], result.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Equal((10L, 8L, 2, 7), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Users, result.Summary.Items));
    }

    [Theory]
    [InlineData("\r\n", true, "")]
    [InlineData("\n", false, "\n\n")]
    [InlineData("\r\n", true, "\r\n\r\n")]
    public void A_bom_crlf_a_blank_last_line_and_a_last_line_without_a_newline_lose_and_add_nothing(string newline, bool bom, string end)
    {
        // Amazon's layout saved by a Windows tool: a UTF-8 byte order mark before the first user id, CRLF, a blank line
        // inside, and a last line with or without a newline (or followed by an empty one).
        var lines = new[] { "AKM1MP6P0OYPR,0132793040,5.0,1365811200", "A2CX7LUOHB2NDG,0321732944,4.0,1341100800", "", "AKM1MP6P0OYPR,0321732944,3.0,1367193600" };
        var text = string.Join(newline, lines) + end;
        var bytes = (bom ? new byte[] { 0xEF, 0xBB, 0xBF } : []).Concat(Encoding.UTF8.GetBytes(text)).ToArray();

        var result = Import(bytes, new ImportOptions { Names = ["user", "item", "rating", "timestamp"], Encoding = Encoding.Latin1 });

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/ratings.csv", header=None, names=["u", "i", "r", "t"], dtype=str, keep_default_na=False, encoding="utf-8-sig")
            print(json.dumps([[u, i, float(r), 0] for u, i, r in zip(frame.u, frame.i, frame.r)]))
            """, new Dictionary<string, string> { ["ratings.csv"] = (bom ? "\uFEFF" : "") + text }, "python3-pandas");

        Assert.Equal(Expected(pandas), Pairs(result));
        Assert.Equal("AKM1MP6P0OYPR", result.Users[^1].UserKey);
        Assert.Empty(result.Rejects);
        Assert.Equal((3L, 0L), (result.Summary.Accepted, result.Summary.Rejected));
    }

    /// <summary>A stream that hands out one byte per read, so that the reader's blocks end anywhere.</summary>
    private sealed class OneCharStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 1));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, 1)]);
    }
}
