using System.Text;

namespace ProfileGrid.Recommendations.Import;

/// <summary>The layouts of interaction files the importer reads.</summary>
public enum InteractionFileFormat
{
    /// <summary>MovieLens 100k <c>u.data</c>: tab-separated user, item, rating, unix timestamp; no header.</summary>
    MovieLens100k,

    /// <summary>MovieLens <c>ratings.csv</c> (ml-latest, ml-25m...): header <c>userId,movieId,rating,timestamp</c>.</summary>
    MovieLensCsv,

    /// <summary>MovieLens 1M <c>ratings.dat</c>: user::item::rating::unix timestamp, <c>::</c>-separated; no header.</summary>
    MovieLens1m,

    /// <summary>Any CSV or TSV with a header row, read through a <see cref="ColumnMapping"/>.</summary>
    Csv,

    /// <summary>
    /// Netflix Prize <c>combined_data_N.txt</c> (and <c>training_set/mv_NNNNNNN.txt</c>): a line <c>MovieID:</c> names the
    /// movie of the lines after it, each <c>CustomerID,Rating,Date</c> (YYYY-MM-DD, read as midnight UTC); no header.
    /// </summary>
    NetflixPrize,
}

/// <summary>
/// Which header columns of a generic file hold what (matched ignoring case and surrounding spaces). A mapped optional
/// column must exist in the header, and then every line must fill it.
/// </summary>
/// <param name="User">The user id column.</param>
/// <param name="Item">The item id column.</param>
/// <param name="Rating">An explicit rating (a number on any scale), or null.</param>
/// <param name="Timestamp">When it happened: unix seconds or ISO-8601 (UTC when no offset is given), or null.</param>
/// <param name="EventType">view, add_to_cart, purchase or rating (aliases in <see cref="InteractionImporter"/>), or null.</param>
/// <param name="Count">How many events of its kind the line stands for (Last.fm's play counts): a whole number, 0 rejected;
/// not used by a rating line. Null: one.</param>
public sealed record ColumnMapping(string User, string Item, string? Rating = null, string? Timestamp = null, string? EventType = null, string? Count = null)
{
    /// <summary>The columns of MovieLens' <c>ratings.csv</c>.</summary>
    public static ColumnMapping MovieLens { get; } = new("userId", "movieId", "rating", "timestamp");
}

/// <summary>How to read an interaction file.</summary>
public sealed record ImportOptions
{
    public InteractionFileFormat Format { get; init; } = InteractionFileFormat.Csv;

    /// <summary>Columns of a <see cref="InteractionFileFormat.Csv"/> file; null: user, item, rating, timestamp,
    /// event_type, each used when the header has it.</summary>
    public ColumnMapping? Columns { get; init; }

    /// <summary>The separator; null: tab for u.data, comma for ratings.csv, detected from the header for CSV. Not used for
    /// MovieLens 1M's <c>ratings.dat</c>, which is <c>::</c>-separated.</summary>
    public char? Separator { get; init; }

    /// <summary>
    /// The column names of a <see cref="InteractionFileFormat.Csv"/> file that has no header (pandas' <c>names=</c>):
    /// its first line is data, and <see cref="Columns"/> (or the conventional names) refer to these. Null: the first
    /// line is the header.
    /// </summary>
    public IReadOnlyList<string>? Names { get; init; }

    /// <summary>
    /// A rating value that is not a rating but an implicit interaction of the <see cref="DefaultEvent"/> kind
    /// (Book-Crossing's 0: the user read the book and did not rate it). Null: every rating value is a rating.
    /// </summary>
    public double? ImplicitRating { get; init; }

    /// <summary>
    /// A character that escapes a quote (or itself) inside a quoted field, as pandas' <c>escapechar</c>: with <c>\</c>,
    /// Book-Crossing's <c>"\"0432534220\""</c> is <c>"0432534220"</c>. Null: quotes follow RFC 4180 alone (<c>""</c>).
    /// A rejected line's text shows an escaped quote as <c>""</c>.
    /// </summary>
    public char? Escape { get; init; }

    /// <summary>
    /// Whether a quote at the start of a field opens a quoted field (RFC 4180, the default). False: quotes are characters,
    /// as pandas' <c>quoting=csv.QUOTE_NONE</c>, for files such as Last.fm's TSVs, whose artist names hold quotes that
    /// are never closed (<c>"heroes</c>) and would otherwise join the lines after them into one.
    /// </summary>
    public bool Quotes { get; init; } = true;

    /// <summary>The text encoding when the file has no byte order mark; null: UTF-8.</summary>
    public Encoding? Encoding { get; init; }

    /// <summary>The time of interactions of a file without timestamps, and the limit beyond which a timestamp is in
    /// the future (one day of clock skew allowed). Null: the time of the import.</summary>
    public DateTimeOffset? Now { get; init; }

    /// <summary>Interactions of a line that names neither a rating nor an event type count as this kind.</summary>
    public string DefaultEvent { get; init; } = "view";

    /// <summary>At most this many rejected lines are listed (all are counted), so a wrong file cannot exhaust memory.</summary>
    public int MaxRejectsListed { get; init; } = 1000;
}

/// <summary>A line that was not imported: its 1-based line number in the file, why, and its text (shortened).</summary>
public sealed record RejectedLine(long Line, string Reason, string Text);

/// <summary>
/// What an import read. <see cref="LinesRead"/> counts data rows after the header (a quoted field spanning lines
/// makes one row); <see cref="Accepted"/> + <see cref="Rejected"/> + <see cref="BlankLines"/> + <see cref="ItemLines"/> = <see cref="LinesRead"/>;
/// <see cref="Duplicates"/> is the part of <see cref="Accepted"/> that repeated an earlier line (see
/// <see cref="InteractionImporter"/>). <see cref="ItemLines"/> are lines that only name the item of the lines after them
/// (the Netflix Prize's <c>1:</c>).
/// </summary>
public sealed record ImportSummary(
    long LinesRead,
    long Accepted,
    long Rejected,
    long BlankLines,
    long Duplicates,
    int Users,
    int Items,
    DateTimeOffset? Earliest,
    DateTimeOffset? Latest,
    long ItemLines = 0);

/// <summary>How far an import is, for a progress display.</summary>
/// <param name="BytesRead">Bytes consumed from the file so far (the reader reads ahead by a buffer).</param>
/// <param name="TotalBytes">The file's length, or null when the stream cannot tell.</param>
/// <param name="Lines">Data rows read so far.</param>
public sealed record ImportProgress(long BytesRead, long? TotalBytes, long Lines);

/// <summary>An imported interaction file: users' interactions ready for <see cref="InteractionMatrix.Build"/>.</summary>
public sealed record InteractionImport(IReadOnlyList<UserInteractions> Users, ImportSummary Summary, IReadOnlyList<RejectedLine> Rejects);

/// <summary>
/// Imported user attributes for slicing an evaluation: user id → attribute name → value (names: age, age-band,
/// gender, occupation, zip for MovieLens).
/// </summary>
public sealed record UserAttributesImport(
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Users, ImportSummary Summary, IReadOnlyList<RejectedLine> Rejects);

/// <summary>An imported item file: catalog items, as rules and the evaluation's reports see them.</summary>
public sealed record CatalogImport(IReadOnlyList<CatalogItem> Items, ImportSummary Summary, IReadOnlyList<RejectedLine> Rejects);
