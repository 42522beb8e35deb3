using System.CommandLine;
using System.Globalization;
using System.Text;
using ProfileGrid.Recommendations.Import;

namespace ProfileGrid.Cli;

/// <summary>
/// How <c>evaluate</c> and <c>import</c> read a ratings file beyond its format and columns: the separator, the
/// encoding, the column names of a file without a header, and a rating value that means "no rating" (see
/// docs/recommendations-evaluation.md, "Importing interaction files").
/// </summary>
internal sealed class RatingsFileOptions
{
    public Option<string?> Separator { get; } = new("--separator")
    {
        Description = "For --format csv: the field separator, one character or tab; default: detected from the first line (the most frequent of ; tab | ,).",
    };

    public Option<string?> Encoding { get; } = new("--encoding")
    {
        Description = "The file's characters when it has no byte order mark: utf-8 (default), iso-8859-1 (latin-1) or windows-1252.",
    };

    public Option<string?> Names { get; } = new("--names")
    {
        Description = "For --format csv: the file has no header; these comma-separated names are its columns (as pandas' names=), e.g. user,item,rating,timestamp.",
    };

    public Option<double?> ImplicitRating { get; } = new("--implicit-rating")
    {
        Description = "A rating value that means an interaction without a rating (Book-Crossing's 0): such a line counts as a view, not as a rating.",
    };

    public Option<string?> Escape { get; } = new("--escape")
    {
        Description = "For --format csv: a character that escapes a quote inside a quoted field, as pandas' escapechar (Book-Crossing's \\\" needs --escape '\\'); default none: only \"\" is a quote.",
    };

    public Option<bool> NoQuotes { get; } = new("--no-quotes")
    {
        Description = "For --format csv: quotes are characters, not field delimiters (pandas' quoting=csv.QUOTE_NONE), for Last.fm's TSVs whose artist names hold unclosed quotes.",
    };

    public IEnumerable<Option> All => [Separator, Encoding, Names, ImplicitRating, Escape, NoQuotes];

    /// <summary>The options given, as <see cref="ImportOptions"/> (format and columns are the caller's); each bad value is added to <paramref name="problems"/>.</summary>
    public ImportOptions Parse(ParseResult parse, List<string> problems)
    {
        char? separator = null;
        if (parse.GetValue(Separator) is { } text)
        {
            separator = text switch
            {
                "tab" or "\\t" or "\t" => '\t',
                { Length: 1 } when text[0] is not ('"' or '\r' or '\n') => text[0],
                _ => null,
            };
            if (separator is null)
            {
                problems.Add($"--separator: one character other than a quote or a line break, or tab ('{text}')");
            }
        }

        Encoding? encoding = null;
        if (parse.GetValue(Encoding) is { } name)
        {
            encoding = name.ToLowerInvariant() switch
            {
                "utf-8" or "utf8" => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
                "iso-8859-1" or "latin1" or "latin-1" => System.Text.Encoding.Latin1,
                "windows-1252" or "cp1252" => CodePagesEncodingProvider.Instance.GetEncoding(1252),
                _ => null,
            };
            if (encoding is null)
            {
                problems.Add($"--encoding: utf-8, iso-8859-1 or windows-1252 ('{name}')");
            }
        }

        string[]? names = null;
        if (parse.GetValue(Names) is { } list)
        {
            names = list.Split(',', StringSplitOptions.TrimEntries);
            if (names.Any(n => n.Length == 0))
            {
                problems.Add($"--names: a name for every column, none empty ('{list}')");
            }
        }

        var implicitRating = parse.GetValue(ImplicitRating);
        if (implicitRating is { } value && !double.IsFinite(value))
        {
            problems.Add($"--implicit-rating: a number ({value.ToString(CultureInfo.InvariantCulture)})");
        }

        char? escape = null;
        if (parse.GetValue(Escape) is { } escapeText)
        {
            escape = escapeText is { Length: 1 } && escapeText[0] is not ('"' or '\r' or '\n') && escapeText[0] != separator ? escapeText[0] : null;
            if (escape is null)
            {
                problems.Add($"--escape: one character other than a quote, a line break or the separator ('{escapeText}')");
            }
        }

        return new ImportOptions { Separator = separator, Encoding = encoding, Names = names, ImplicitRating = implicitRating, Escape = escape, Quotes = !parse.GetValue(NoQuotes) };
    }
}
