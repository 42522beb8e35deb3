using System.Text;
using nietras.SeparatedValues;

namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// One pass over a delimited file with Sep: rows with their line numbers, blank lines skipped and counted, rejects
/// collected (counted all, listed up to a limit), progress reported. Column-count checks are the caller's, per row,
/// so a ragged line is rejected with its number instead of stopping the read.
/// </summary>
internal sealed class DelimitedRows
{
    private readonly List<RejectedLine> _rejects = [];
    private readonly int _maxRejects;
    private long _rowLine;
    private long _rowLastLine;

    public DelimitedRows(int maxRejects) => _maxRejects = maxRejects;

    public long LinesRead { get; private set; }

    public long Blank { get; private set; }

    public long Rejected { get; private set; }

    /// <summary>Rows that name the item of the rows after them (Netflix's <c>1:</c>): neither accepted nor rejected.</summary>
    public long ItemLines { get; private set; }

    public void ItemLine() => ItemLines++;

    public IReadOnlyList<RejectedLine> Rejects => _rejects;

    public void Reject(long line, string reason, string text)
    {
        if (line == _rowLine && _rowLastLine > _rowLine)
        {
            // A quote that is never closed joins the lines after it into this row: say so, or they vanish unexplained.
            reason += $"; a quoted field runs from line {_rowLine} to line {_rowLastLine}, which are read as this one row";
        }

        Rejected++;
        if (_rejects.Count < _maxRejects)
        {
            _rejects.Add(new RejectedLine(line, reason, text.Length > 200 ? text[..200] + "…" : text));
        }
    }

    /// <summary>
    /// Reads <paramref name="stream"/>; <paramref name="header"/> gets the header's column names (trimmed, BOM
    /// removed) before the first row when <paramref name="hasHeader"/>; <paramref name="row"/> gets each non-blank row
    /// as trimmed fields with its first line number and raw text. <paramref name="doubleColon"/>: fields are separated by
    /// <c>::</c> (MovieLens 1M), and <paramref name="separator"/> is not used. <paramref name="escape"/>: with
    /// <paramref name="quotes"/>, the character that escapes a quote inside a quoted field (see <see cref="StrayQuoteReader"/>).
    /// </summary>
    public void Read(
        Stream stream,
        char? separator,
        bool hasHeader,
        bool quotes,
        Encoding encoding,
        Action<string[]>? header,
        Action<long, string[], string> row,
        IProgress<ImportProgress>? progress,
        CancellationToken cancellationToken,
        bool doubleColon = false,
        char? escape = null)
    {
        // detectEncodingFromByteOrderMarks: a UTF-8 (or UTF-16) BOM wins over the configured encoding and is dropped.
        var decoded = new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16, leaveOpen: true);
        // A quote inside an unquoted field (12" VINYL) is a character, as pandas reads it; Sep alone would join every
        // row after it into one field. Fields are then unquoted by StrayQuoteReader.Field, not by Sep, and a CSV export's
        // formula guard ("'=...", ours included) is taken off again.
        using TextReader text = quotes ? new StrayQuoteReader(decoded, separator, escape) : doubleColon ? new DoubleColonReader(decoded) : decoded;
        var options = new SepReaderOptions(
            quotes ? new Sep(((StrayQuoteReader)text).Delimiter) : doubleColon ? new Sep(DoubleColonReader.Separator) : separator is { } s ? new Sep(s) : null)
        {
            // The header is read as a row: Sep refuses a header with a name twice (an Excel export's trailing empty
            // columns), and such a file is still readable when the columns used are named once.
            HasHeader = false,
            DisableColCountCheck = true,
            DisableQuotesParsing = !quotes,
        };
        using var reader = options.From(text);
        var headerPending = hasHeader;
        // Sep numbers the first row of a file read without a header as line 2; every later row it numbers right.
        var firstRow = true;
        long? total = stream.CanSeek ? stream.Length : null;
        foreach (var current in reader)
        {
            var line = firstRow ? 1 : current.LineNumberFrom;
            firstRow = false;
            if (headerPending)
            {
                headerPending = false;
                var names = new string[current.ColCount];
                for (var c = 0; c < names.Length; c++)
                {
                    names[c] = Clean(quotes ? StrayQuoteReader.Field(current[c].Span) : current[c].ToString());
                }

                header?.Invoke(names);
                continue;
            }

            LinesRead++;
            if (LinesRead % 16384 == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                progress?.Report(new ImportProgress(stream.CanSeek ? stream.Position : 0, total, LinesRead));
            }

            if (current.Span.Trim().IsEmpty)
            {
                Blank++;
                continue;
            }

            var fields = new string[current.ColCount];
            for (var c = 0; c < fields.Length; c++)
            {
                fields[c] = quotes ? CsvFormulaGuard.Read(current[c].Span.Trim()).Trim() : current[c].Span.Trim().ToString();
            }

            _rowLine = line;
            // The row's last line: its inner line breaks (an unclosed quote may have taken the file's last one too).
            var inner = current.Span.TrimEnd("\r\n");
            _rowLastLine = line + (inner.Contains('\n') ? inner.Count('\n') : inner.Count('\r'));
            // The line as the file has it: the reader's doubled quotes (12"" VINYL) single again.
            row(line, fields, quotes ? StrayQuoteReader.Original(current.Span, ((StrayQuoteReader)text).Delimiter)
                : doubleColon ? DoubleColonReader.Original(current.Span) : current.Span.ToString());
        }

        if (headerPending)
        {
            header?.Invoke([]);
        }

        progress?.Report(new ImportProgress(stream.CanSeek ? stream.Position : 0, total, LinesRead));
    }

    public ImportSummary Summary(long duplicates, int users, int items, DateTimeOffset? earliest, DateTimeOffset? latest) =>
        new(LinesRead, LinesRead - Rejected - Blank - ItemLines, Rejected, Blank, duplicates, users, items, earliest, latest, ItemLines);

    private static string Clean(string name) => name.Trim().TrimStart('\uFEFF').Trim();
}
