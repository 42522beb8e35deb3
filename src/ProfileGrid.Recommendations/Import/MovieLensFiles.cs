using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// MovieLens 100k's side files: <c>u.user</c> (user|age|gender|occupation|zip) as demographics for evaluation
/// slices, and <c>u.item</c> (pipe-separated, latin-1: id|title|release date|video release date|IMDb URL|19 genre
/// flags) as catalog items. Bad lines are rejected with their number and reason, as for interactions.
/// </summary>
public static partial class MovieLensFiles
{
    /// <summary>The genre flags of <c>u.item</c>, in column order (as <c>u.genre</c> lists them).</summary>
    public static IReadOnlyList<string> Genres { get; } =
    [
        "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
        "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
    ];

    /// <summary>
    /// The age band of an age, with the labels of the profile's demographics (ProfileView.AgeBand): under_18, 18_24,
    /// 25_34, 35_44, 45_54, 55_64, 65_plus.
    /// </summary>
    public static string AgeBand(int age) => age switch
    {
        < 18 => "under_18",
        < 25 => "18_24",
        < 35 => "25_34",
        < 45 => "35_44",
        < 55 => "45_54",
        < 65 => "55_64",
        _ => "65_plus",
    };

    /// <summary>
    /// Reads <c>u.user</c>: attributes age, age-band, gender (M or F, as given), occupation and zip per user. An age
    /// outside 1..120 or a gender other than M/F rejects the line; an empty occupation or zip is left out.
    /// </summary>
    public static UserAttributesImport ReadUsers(Stream stream, Encoding? encoding = null, int maxRejectsListed = 1000)
    {
        var rows = new DelimitedRows(maxRejectsListed);
        var users = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        long duplicates = 0;
        rows.Read(stream, '|', hasHeader: false, quotes: false, encoding ?? Encoding.Latin1, null, (line, f, text) =>
        {
            if (f.Length != 5)
            {
                rows.Reject(line, f.Length > 5 ? $"too many columns ({f.Length}, expected 5)" : $"missing columns ({f.Length}, expected 5: user|age|gender|occupation|zip)", text);
                return;
            }

            if (f[0].Length == 0)
            {
                rows.Reject(line, "missing user", text);
                return;
            }

            if (!int.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var age) || age is < 1 or > 120)
            {
                rows.Reject(line, $"bad age '{f[1]}' (a whole number of years, 1 to 120)", text);
                return;
            }

            var gender = f[2].ToUpperInvariant();
            if (gender is not ("M" or "F"))
            {
                rows.Reject(line, $"bad gender '{f[2]}' (M or F)", text);
                return;
            }

            var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["age"] = age.ToString(CultureInfo.InvariantCulture),
                ["age-band"] = AgeBand(age),
                ["gender"] = gender,
            };
            if (f[3].Length > 0)
            {
                attributes["occupation"] = f[3];
            }

            if (f[4].Length > 0)
            {
                attributes["zip"] = f[4];
            }

            if (users.ContainsKey(f[0]))
            {
                duplicates++;
            }

            // A repeated user: the later line wins.
            users[f[0]] = attributes;
        }, null, CancellationToken.None);
        return new UserAttributesImport(users, rows.Summary(duplicates, users.Count, 0, null, null), rows.Rejects);
    }

    /// <summary>
    /// The occupations of MovieLens 1M's <c>users.dat</c> by code, as its README lists them (0 is "other" or not
    /// specified).
    /// </summary>
    public static IReadOnlyList<string> Occupations1m { get; } =
    [
        "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
        "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer", "programmer",
        "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer", "tradesman/craftsman",
        "unemployed", "writer",
    ];

    /// <summary>
    /// The age band of a MovieLens 1M age code, which names a range, not an age: 1 (under 18), 18 (18-24), 25 (25-34),
    /// 35 (35-44), 45 (45-49) and 50 (50-55) as 45_54, 56 (56+) as 55_64; null for any other code.
    /// </summary>
    public static string? AgeBand1m(int code) => code switch
    {
        1 => "under_18",
        18 => "18_24",
        25 => "25_34",
        35 => "35_44",
        45 or 50 => "45_54",
        56 => "55_64",
        _ => null,
    };

    /// <summary>
    /// Reads MovieLens 1M's <c>users.dat</c> (UserID::Gender::Age::Occupation::Zip-code): attributes age-band, gender,
    /// occupation (its name) and zip per user. The age is a range's code, so there is no attribute age (and
    /// <c>profilegrid import</c> sets no year of birth from it). A code the README does not list rejects the line.
    /// </summary>
    public static UserAttributesImport ReadUsers1m(Stream stream, Encoding? encoding = null, int maxRejectsListed = 1000)
    {
        var rows = new DelimitedRows(maxRejectsListed);
        var users = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        long duplicates = 0;
        rows.Read(stream, null, hasHeader: false, quotes: false, encoding ?? Encoding.Latin1, null, (line, f, text) =>
        {
            if (f.Length != 5)
            {
                rows.Reject(line, f.Length > 5 ? $"too many columns ({f.Length}, expected 5)" : $"missing columns ({f.Length}, expected 5: UserID::Gender::Age::Occupation::Zip-code)", text);
                return;
            }

            if (f[0].Length == 0)
            {
                rows.Reject(line, "missing user", text);
                return;
            }

            var gender = f[1].ToUpperInvariant();
            if (gender is not ("M" or "F"))
            {
                rows.Reject(line, $"bad gender '{f[1]}' (M or F)", text);
                return;
            }

            if (!int.TryParse(f[2], NumberStyles.None, CultureInfo.InvariantCulture, out var ageCode) || AgeBand1m(ageCode) is not { } band)
            {
                rows.Reject(line, $"bad age code '{f[2]}' (1, 18, 25, 35, 45, 50 or 56)", text);
                return;
            }

            if (!int.TryParse(f[3], NumberStyles.None, CultureInfo.InvariantCulture, out var occupation) || occupation >= Occupations1m.Count)
            {
                rows.Reject(line, $"bad occupation code '{f[3]}' (0 to {Occupations1m.Count - 1})", text);
                return;
            }

            var attributes = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["age-band"] = band,
                ["gender"] = gender,
                ["occupation"] = Occupations1m[occupation],
            };
            if (f[4].Length > 0)
            {
                attributes["zip"] = f[4];
            }

            if (users.ContainsKey(f[0]))
            {
                duplicates++;
            }

            users[f[0]] = attributes;
        }, null, CancellationToken.None, doubleColon: true);
        return new UserAttributesImport(users, rows.Summary(duplicates, users.Count, 0, null, null), rows.Rejects);
    }

    /// <summary>Reads a user file: MovieLens 1M's <c>users.dat</c> when the name ends in <c>.dat</c>, else 100k's <c>u.user</c>.</summary>
    public static UserAttributesImport ReadUsers(string path)
    {
        using var stream = File.OpenRead(path);
        return path.EndsWith(".dat", StringComparison.OrdinalIgnoreCase) ? ReadUsers1m(stream) : ReadUsers(stream);
    }

    /// <summary>
    /// Reads <c>u.item</c> (latin-1 unless told otherwise) as catalog items: category = the most specific genre flagged
    /// (the one fewest items of the file carry; null when none), tags = every flagged genre in lower case, attributes title, year (from the title's "(1995)"), release_date and
    /// imdb_url when given.
    /// A line needs the id, the title and 19 flags of 0 or 1.
    /// </summary>
    public static CatalogImport ReadItems(Stream stream, Encoding? encoding = null, int maxRejectsListed = 1000)
    {
        var rows = new DelimitedRows(maxRejectsListed);
        var items = new Dictionary<string, CatalogItem>(StringComparer.Ordinal);
        long duplicates = 0;
        var columns = 5 + Genres.Count;
        rows.Read(stream, '|', hasHeader: false, quotes: false, encoding ?? Encoding.Latin1, null, (line, f, text) =>
        {
            if (f.Length != columns)
            {
                rows.Reject(line, f.Length > columns ? $"too many columns ({f.Length}, expected {columns})" : $"missing columns ({f.Length}, expected {columns})", text);
                return;
            }

            if (f[0].Length == 0)
            {
                rows.Reject(line, "missing item", text);
                return;
            }

            var genres = new List<string>();
            for (var g = 0; g < Genres.Count; g++)
            {
                var flag = f[5 + g];
                if (flag is not ("0" or "1"))
                {
                    rows.Reject(line, $"bad genre flag '{flag}' for {Genres[g]} (0 or 1)", text);
                    return;
                }

                if (flag == "1")
                {
                    genres.Add(Genres[g].ToLowerInvariant());
                }
            }

            var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["title"] = f[1] };
            if (TitleYear().Match(f[1]) is { Success: true } year)
            {
                attributes["year"] = year.Groups[1].Value;
            }

            if (f[2].Length > 0)
            {
                attributes["release_date"] = f[2];
            }

            if (f[4].Length > 0)
            {
                attributes["imdb_url"] = f[4];
            }

            if (items.ContainsKey(f[0]))
            {
                duplicates++;
            }

            items[f[0]] = new CatalogItem(f[0], genres.FirstOrDefault(), null, null, true, genres, attributes);
        }, null, CancellationToken.None);
        return Catalog(rows, items, duplicates);
    }

    /// <summary>
    /// Reads MovieLens 1M's <c>movies.dat</c> (MovieID::Title::Genres, latin-1, genres separated by <c>|</c>) as catalog
    /// items, as <see cref="ReadItems(Stream, Encoding?, int)"/> reads <c>u.item</c>: category = the most specific genre, tags =
    /// every genre, in lower case; attributes title and, when the title ends in one ("Toy Story (1995)"), year.
    /// </summary>
    public static CatalogImport ReadItems1m(Stream stream, Encoding? encoding = null, int maxRejectsListed = 1000)
    {
        var rows = new DelimitedRows(maxRejectsListed);
        var items = new Dictionary<string, CatalogItem>(StringComparer.Ordinal);
        long duplicates = 0;
        rows.Read(stream, null, hasHeader: false, quotes: false, encoding ?? Encoding.Latin1, null, (line, f, text) =>
        {
            if (f.Length != 3)
            {
                rows.Reject(line, f.Length > 3 ? $"too many columns ({f.Length}, expected 3)" : $"missing columns ({f.Length}, expected 3: MovieID::Title::Genres)", text);
                return;
            }

            AddTitledItem(rows, items, ref duplicates, line, f[0], f[1], f[2], text);
        }, null, CancellationToken.None, doubleColon: true);
        return Catalog(rows, items, duplicates);
    }

    /// <summary>
    /// Reads the <c>movies.csv</c> of MovieLens' later releases (ml-latest, ml-20m, ml-25m, ml-32m: a header
    /// movieId,title,genres; UTF-8; quoted titles with commas) as <see cref="ReadItems1m"/> reads <c>movies.dat</c>.
    /// "(no genres listed)" is no genre.
    /// </summary>
    public static CatalogImport ReadItemsCsv(Stream stream, int maxRejectsListed = 1000)
    {
        var rows = new DelimitedRows(maxRejectsListed);
        var items = new Dictionary<string, CatalogItem>(StringComparer.Ordinal);
        long duplicates = 0;
        int[]? at = null;
        rows.Read(stream, ',', hasHeader: true, quotes: true, Encoding.UTF8, names =>
        {
            var found = new[] { "movieId", "title", "genres" }.Select(n => Array.FindIndex(names, h => h.Equals(n, StringComparison.OrdinalIgnoreCase))).ToArray();
            if (found.Any(i => i < 0))
            {
                throw new InvalidDataException(names.Length == 0
                    ? "movies.csv is empty: it needs a header movieId,title,genres"
                    : $"movies.csv needs the columns movieId, title and genres; the header has {string.Join(", ", names)}");
            }

            at = found;
        }, (line, f, text) =>
        {
            var columns = at!;
            if (f.Length <= columns.Max())
            {
                rows.Reject(line, $"missing columns ({f.Length}, expected 3: movieId,title,genres)", text);
                return;
            }

            AddTitledItem(rows, items, ref duplicates, line, f[columns[0]], f[columns[1]], f[columns[2]], text);
        }, null, CancellationToken.None);
        return Catalog(rows, items, duplicates);
    }

    /// <summary>Reads an item file by its name: <c>movies.dat</c> (any <c>.dat</c>), <c>movies.csv</c> (any <c>.csv</c>), else <c>u.item</c>.</summary>
    public static CatalogImport ReadItems(string path)
    {
        using var stream = File.OpenRead(path);
        return Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".dat" => ReadItems1m(stream),
            ".csv" => ReadItemsCsv(stream),
            _ => ReadItems(stream),
        };
    }

    private static void AddTitledItem(
        DelimitedRows rows, Dictionary<string, CatalogItem> items, ref long duplicates, long line, string id, string title, string genreList, string text)
    {
        if (id.Length == 0)
        {
            rows.Reject(line, "missing item", text);
            return;
        }

        if (title.Length == 0)
        {
            rows.Reject(line, "missing title", text);
            return;
        }

        var genres = genreList == "(no genres listed)"
            ? []
            : genreList.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(g => g.ToLowerInvariant()).Distinct().ToList();
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["title"] = title };
        if (TitleYear().Match(title) is { Success: true } year)
        {
            attributes["year"] = year.Groups[1].Value;
        }

        if (items.ContainsKey(id))
        {
            duplicates++;
        }

        items[id] = new CatalogItem(id, genres.FirstOrDefault(), null, null, true, genres, attributes);
    }

    private static CatalogImport Catalog(DelimitedRows rows, Dictionary<string, CatalogItem> items, long duplicates)
    {
        var list = ByMostSpecificGenre(items.Values).OrderBy(i => i.ItemId, StringComparer.Ordinal).ToArray();
        return new CatalogImport(list, rows.Summary(duplicates, 0, list.Length, null, null), rows.Rejects);
    }

    /// <summary>
    /// Files each item under its most specific genre: the one of its genres that the fewest items of the file carry (of
    /// equals, the first listed). Filed by the first listed, the category followed the file's column order (u.item's
    /// Action, Adventure and Animation come first), and the profiles' category affinities ranked genres by that order
    /// rather than by taste (probe65: a 6x spread across genres that tagged near equal numbers of films; a
    /// Comedy|Drama|Romance film always comedy). Every genre stays a tag.
    /// </summary>
    private static IEnumerable<CatalogItem> ByMostSpecificGenre(IEnumerable<CatalogItem> items)
    {
        var all = items.ToList();
        var carriers = all.SelectMany(i => i.Tags).CountBy(g => g, StringComparer.Ordinal).ToDictionary(StringComparer.Ordinal);
        // IMAX, listed among the later releases' genres, is a film format: a rare one, it would file every IMAX film as such.
        return all.Select(i => i.Tags.Where(g => g != "imax").ToList() is { Count: > 0 } genres ? i with { Category = genres.MinBy(g => carriers[g]) } : i);
    }

    [GeneratedRegex(@"\((\d{4})\)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex TitleYear();
}
