using System.Text;
using ProfileGrid.Recommendations.Import;
using ProfileGrid.Tests;

namespace ProfileGrid.Recommendations.Tests.Import;

public sealed class MovieLensFilesTests
{
    [Fact]
    public void U_user_gives_age_bands_and_gender_for_slices_and_rejects_bad_lines_by_number()
    {
        var text = "1|24|M|technician|85711\n2|53|F|other|94043\n\n3|x|M|writer|32067\n4|33|Q|technician|43537\n5|15|f||\n6|42|M|executive\n7|70|F|retired|1|2\n";
        var result = MovieLensFiles.ReadUsers(new MemoryStream(Encoding.ASCII.GetBytes(text)));

        Assert.Equal(
            [(4L, "bad age 'x' (a whole number of years, 1 to 120)"), (5L, "bad gender 'Q' (M or F)"),
             (7L, "missing columns (4, expected 5: user|age|gender|occupation|zip)"), (8L, "too many columns (6, expected 5)")],
            result.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Equal("18_24", result.Users["1"]["age-band"]);
        Assert.Equal("45_54", result.Users["2"]["age-band"]);
        Assert.Equal("F", result.Users["2"]["gender"]);
        Assert.Equal(("under_18", "F"), (result.Users["5"]["age-band"], result.Users["5"]["gender"]));
        Assert.False(result.Users["5"].ContainsKey("occupation"));
        Assert.Equal((8L, 3L, 4L, 1L), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Rejected, result.Summary.BlankLines));
    }

    [Fact]
    public void U_item_is_read_as_latin_1_with_genres_as_category_and_tags()
    {
        var flags = (string genres) => string.Join('|', genres.Select(c => c.ToString()));
        var lines = new[]
        {
            $"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{flags("0001110000000000000")}",
            $"1300|Misérables, Les (1995)|01-Jan-1995|||{flags("0000000010000000000")}",
            $"1301|Bad flags|01-Jan-1995|||{flags("000000001000000000x")}",
            "1302|Too short|01-Jan-1995",
        };
        var bytes = Encoding.Latin1.GetBytes(string.Join("\r\n", lines) + "\r\n");
        Assert.Equal(0xE9, bytes[bytes.AsSpan().IndexOf("ables"u8) - 2]); // é is one latin-1 byte, not UTF-8's two

        var result = MovieLensFiles.ReadItems(new MemoryStream(bytes));

        var toyStory = result.Items.Single(i => i.ItemId == "1");
        Assert.Equal("animation", toyStory.Category);
        Assert.Equal(["animation", "children's", "comedy"], toyStory.Tags);
        Assert.Equal("Toy Story (1995)", toyStory.Attributes["title"]);
        Assert.Equal("Misérables, Les (1995)", result.Items.Single(i => i.ItemId == "1300").Attributes["title"]);
        Assert.Equal([3L, 4L], result.Rejects.Select(r => r.Line));
        Assert.StartsWith("bad genre flag 'x' for Western", result.Rejects[0].Reason);
    }

    [Fact]
    public void An_item_is_filed_under_its_most_specific_genre_not_the_first_the_file_lists()
    {
        // probe65: by the first genre, the column order of u.item decided the category (Action, Adventure, Animation
        // first), and profiles' category affinities ranked genres by it. Comedy tags four films here, drama five, romance
        // one: the romantic comedy-drama is romance, a comedy-drama comedy; IMAX (a format the later releases list among
        // the genres) is never the category.
        var text = "1::Four Weddings (1994)::Comedy|Drama|Romance\n2::B (1995)::Comedy\n3::C (1995)::Drama\n"
            + "4::D (1995)::Comedy|Drama\n5::E (1995)::Drama|Comedy\n6::F (1995)::\n7::G (2009)::IMAX|Drama\n";
        var result = MovieLensFiles.ReadItems1m(new MemoryStream(Encoding.Latin1.GetBytes(text)));

        Assert.Equal(
            [("1", "romance"), ("2", "comedy"), ("3", "drama"), ("4", "comedy"), ("5", "comedy"), ("6", null), ("7", "drama")], // IMAX is a format
            result.Items.Select(i => (i.ItemId, i.Category)));
        Assert.Equal(["comedy", "drama", "romance"], result.Items[0].Tags); // every genre stays a tag

        // u.item the same: Action (the first column) tags three films, Romance (the 15th) one.
        var flags = (int[] on) => string.Join('|', Enumerable.Range(0, 19).Select(g => on.Contains(g) ? "1" : "0"));
        var uItem = string.Join("\n", new[] { flags([1, 14]), flags([1]), flags([1]) }.Select((f, i) => $"{i + 1}|T{i} (1990)|01-Jan-1990|||{f}"));
        var items = MovieLensFiles.ReadItems(new MemoryStream(Encoding.Latin1.GetBytes(uItem))).Items;
        Assert.Equal(["romance", "action", "action"], items.Select(i => i.Category));
    }

    [Fact]
    public void Movielens_1m_users_dat_gives_the_age_codes_band_and_the_occupations_name()
    {
        // UserID::Gender::Age::Occupation::Zip-code; the age is the code of a range (56 is 56+), the occupation a code.
        var text = "1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::15::55117\n4::M::45::7::02460\n5::M::50::0::\n"
            + "6::F::30::9::55117\n7::M::35::21::06810\n8::X::25::12::11413\n9::M::25::17\n";
        var result = MovieLensFiles.ReadUsers1m(new MemoryStream(Encoding.Latin1.GetBytes(text)));

        Assert.Equal(["under_18", "55_64", "25_34", "45_54", "45_54"], new[] { "1", "2", "3", "4", "5" }.Select(u => result.Users[u]["age-band"]));
        Assert.Equal("K-12 student", result.Users["1"]["occupation"]);
        Assert.Equal("self-employed", result.Users["2"]["occupation"]);
        Assert.Equal("other", result.Users["5"]["occupation"]);
        Assert.False(result.Users["5"].ContainsKey("zip"));
        Assert.Equal("02460", result.Users["4"]["zip"]);
        Assert.All(result.Users.Values, u => Assert.False(u.ContainsKey("age")));
        Assert.Equal(
            [(6L, "bad age code '30' (1, 18, 25, 35, 45, 50 or 56)"), (7L, "bad occupation code '21' (0 to 20)"), (8L, "bad gender 'X' (M or F)"), (9L, "missing columns (4, expected 5: UserID::Gender::Age::Occupation::Zip-code)")],
            result.Rejects.Select(r => (r.Line, r.Reason)));
        Assert.Equal("9::M::25::17", result.Rejects[^1].Text);
    }

    [Fact]
    public void Movielens_1m_movies_dat_gives_genres_as_category_and_tags_and_the_titles_year()
    {
        // MovieID::Title::Genres, latin-1; a title holds commas, colons and parentheses of its own.
        var text = "1::Toy Story (1995)::Animation|Children's|Comedy\n"
            + "73::Misérables, Les (1995)::Drama|Musical\n"
            + "260::Star Wars: Episode IV - A New Hope (1977)::Action|Adventure|Fantasy|Sci-Fi\n"
            + "3::No genres::\n"
            + "\n"
            + "4::Two fields only\n"
            + "::No id (1990)::Drama\n"
            + "5::::Drama\n"
            + "1::Toy Story (1995)::Animation|Children's|Comedy\n";
        var result = MovieLensFiles.ReadItems1m(new MemoryStream(Encoding.Latin1.GetBytes(text)));

        var toyStory = result.Items.Single(i => i.ItemId == "1");
        Assert.Equal("animation", toyStory.Category);
        Assert.Equal(["animation", "children's", "comedy"], toyStory.Tags);
        Assert.Equal(("Toy Story (1995)", "1995"), (toyStory.Attributes["title"], toyStory.Attributes["year"]));
        Assert.Equal("Misérables, Les (1995)", result.Items.Single(i => i.ItemId == "73").Attributes["title"]);
        Assert.Equal("Star Wars: Episode IV - A New Hope (1977)", result.Items.Single(i => i.ItemId == "260").Attributes["title"]);
        var untagged = result.Items.Single(i => i.ItemId == "3");
        Assert.Equal((null, 0, false), (untagged.Category, untagged.Tags.Count, untagged.Attributes.ContainsKey("year")));
        Assert.Equal(
            [(6L, "missing columns (2, expected 3: MovieID::Title::Genres)", "4::Two fields only"), (7L, "missing item", "::No id (1990)::Drama"), (8L, "missing title", "5::::Drama")],
            result.Rejects.Select(r => (r.Line, r.Reason, r.Text)));
        Assert.Equal((9L, 5L, 3L, 1L, 1L, 4), (result.Summary.LinesRead, result.Summary.Accepted, result.Summary.Rejected, result.Summary.BlankLines, result.Summary.Duplicates, result.Items.Count));
    }

    [Fact]
    public void A_later_releases_movies_csv_is_read_as_pandas_reads_it()
    {
        // ml-25m / ml-latest: movieId,title,genres, UTF-8, titles quoted when they hold a comma or a quote.
        var text = "movieId,title,genres\n"
            + "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
            + "11,\"American President, The (1995)\",Comedy|Drama|Romance\n"
            + "7789,\"11'09\"\"01 - September 11 (2002)\",Drama\n"
            + "131260,Rentun Ruusu (2001),(no genres listed)\n"
            + "171749,Death Note: Desu nôto (2006–2007),(no genres listed)\n"
            + "26587,\"Decalogue, The (Dekalog) (1989)\",Crime|Drama|Romance\n";

        var result = MovieLensFiles.ReadItemsCsv(new MemoryStream(Encoding.UTF8.GetBytes(text)));

        var pandas = ReferencePython.Run("""
            import json, sys
            import pandas as pd
            frame = pd.read_csv(sys.argv[1] + "/movies.csv", dtype=str, keep_default_na=False)
            print(json.dumps([[m, t, [] if g == "(no genres listed)" else g.lower().split("|")] for m, t, g in zip(frame.movieId, frame.title, frame.genres)]))
            """, new Dictionary<string, string> { ["movies.csv"] = text }, "python3-pandas");
        var expected = pandas.EnumerateArray()
            .Select(m => (m[0].GetString()!, m[1].GetString()!, string.Join('|', m[2].EnumerateArray().Select(g => g.GetString()))))
            .OrderBy(m => m.Item1, StringComparer.Ordinal);

        Assert.Equal(expected, result.Items.Select(i => (i.ItemId, i.Attributes["title"], string.Join('|', i.Tags))));
        Assert.Empty(result.Rejects);
        Assert.Equal("1989", result.Items.Single(i => i.ItemId == "26587").Attributes["year"]);
        Assert.False(result.Items.Single(i => i.ItemId == "171749").Attributes.ContainsKey("year")); // a range, not a year
    }

    [Fact]
    public void A_movies_csv_without_the_columns_says_which_it_has()
    {
        var error = Assert.Throws<InvalidDataException>(() => MovieLensFiles.ReadItemsCsv(new MemoryStream(Encoding.UTF8.GetBytes("id,name\n1,x\n"))));
        Assert.Equal("movies.csv needs the columns movieId, title and genres; the header has id, name", error.Message);
    }
}
