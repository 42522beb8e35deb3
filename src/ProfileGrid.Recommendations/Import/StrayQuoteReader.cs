using System.Text;

namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// Reads CSV text with quotes that open a field only at its start (after white space at most), as pandas and
/// Python's csv read them: a quote inside an unquoted field (<c>12" VINYL RECORD FRAME</c>, inches in a product
/// description) is a character. Sep counts every quote, so one such quote would join the rest of the file into one
/// field and the rows after it would be lost without a word. This reader doubles such a quote, which keeps Sep's count
/// even; <see cref="Field"/> gives a field's text as the file has it (with Sep's unescaping the quote shows doubled,
/// which codes and numbers never hold). Line breaks are not changed, so line numbers stay those of the file.
/// </summary>
public sealed class StrayQuoteReader : BufferedRewritingReader
{
    // Sep's choice when it detects the separator: the most frequent of these in the first line outside quotes, the
    // first of them on a tie, ';' when none occurs.
    private static readonly char[] DetectedSeparators = [';', '\t', '|', ','];

    private readonly char _delimiter;
    private readonly char? _escape;
    private bool _pendingQuote;
    private State _state = State.FieldStart;

    /// <param name="inner">The text; disposed with this reader.</param>
    /// <param name="delimiter">The field separator; null: detected from the first line as Sep detects it (see <see cref="Delimiter"/>).</param>
    /// <param name="escape">
    /// A character that escapes a quote (or itself) inside a quoted field, as pandas' <c>escapechar</c>: <c>"a"b"</c> is
    /// <c>a"b</c> with <c>\</c>. The pair is handed on as <c>""</c> (or the one escape), which Sep and <see cref="Field"/>
    /// read as one quote; null: none (RFC 4180, where only <c>""</c> is a quote).
    /// </param>
    public StrayQuoteReader(TextReader inner, char? delimiter, char? escape = null)
        : base(inner)
    {
        _escape = escape;
        _delimiter = delimiter ?? Detect();
    }

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        AfterQuote,
    }

    /// <summary>The field separator: as given, or detected from the first line. Give it to Sep: this reader's quotes
    /// are right for this separator only.</summary>
    public char Delimiter => _delimiter;

    /// <summary>
    /// The text of a field that Sep read from this reader with <c>Unescape</c> off, as pandas reads it: a quoted field
    /// without its quotes and with <c>""</c> as one quote; a quote this reader doubled as the single one of the file.
    /// </summary>
    public static string Field(ReadOnlySpan<char> raw)
    {
        if (!raw.Contains('"'))
        {
            return raw.ToString();
        }

        var start = raw.IndexOfAnyExcept(' ', '\t');
        if (raw[start] != '"')
        {
            return Undoubled(raw);
        }

        var text = new StringBuilder(raw.Length);
        for (var i = start + 1; i < raw.Length; i++)
        {
            if (raw[i] != '"')
            {
                text.Append(raw[i]);
            }
            else if (i + 1 < raw.Length && raw[i + 1] == '"')
            {
                text.Append('"');
                i++;
            }
            else
            {
                // The closing quote: pandas keeps what follows it, where this reader doubled every quote.
                return text.Append(Undoubled(raw[(i + 1)..])).ToString();
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The text of a row that Sep read from a reader with this <paramref name="delimiter"/> (its span, <c>Unescape</c>
    /// off) as the file has it: every quote this reader doubled is single again, a quoted field's <c>""</c> stays. For
    /// reports that show a rejected line, so that <c>12" VINYL</c> does not read <c>12"" VINYL</c>.
    /// </summary>
    public static string Original(ReadOnlySpan<char> row, char delimiter)
    {
        if (!row.Contains('"'))
        {
            return row.ToString();
        }

        var text = new StringBuilder(row.Length);
        var state = State.FieldStart;
        for (var i = 0; i < row.Length; i++)
        {
            text.Append(row[i]);
            if (IsStrayQuote(row[i], delimiter, ref state) && i + 1 < row.Length && row[i + 1] == '"')
            {
                // The quote this reader added after the file's one: not fed to the state, as the reader never saw it.
                i++;
            }
        }

        return text.ToString();
    }

    private static string Undoubled(ReadOnlySpan<char> raw) => raw.ToString().Replace("\"\"", "\"", StringComparison.Ordinal);

    public override int Peek() => _pendingQuote ? '"' : base.Peek();

    public override int Read(Span<char> buffer)
    {
        var written = 0;
        while (written < buffer.Length)
        {
            if (_pendingQuote)
            {
                buffer[written++] = '"';
                _pendingQuote = false;
                continue;
            }

            // Hand back what is ready rather than wait for more input.
            if (_position == _length && (written > 0 || !Fill()))
            {
                break;
            }

            var c = _source[_position++];
            buffer[written++] = c;
            if (c == _escape && _state == State.Quoted)
            {
                if (_position == _length)
                {
                    // Whether a quote follows is in the next block: hand back what is ready, or read on after this one.
                    if (written > 1)
                    {
                        _position--;
                        written--;
                        break;
                    }

                    _source[0] = c;
                    _length = 1 + Inner.Read(_source, 1, _source.Length - 1);
                    _position = 1;
                }

                if (_position < _length && (_source[_position] == '"' || _source[_position] == c))
                {
                    // The escaped character, inside the quotes still: a quote as "" (Sep's count stays even), the escape as itself.
                    var escaped = _source[_position++];
                    buffer[written - 1] = escaped;
                    if (escaped == '"')
                    {
                        if (written < buffer.Length)
                        {
                            buffer[written++] = '"';
                        }
                        else
                        {
                            _pendingQuote = true;
                        }
                    }
                }

                continue;
            }

            if (IsStrayQuote(c, _delimiter, ref _state))
            {
                if (written < buffer.Length)
                {
                    buffer[written++] = '"';
                }
                else
                {
                    _pendingQuote = true;
                }
            }
        }

        return written;
    }

    /// <summary>Reads ahead to the end of the first line (outside quotes, which Sep counts as it detects) and picks the
    /// separator Sep would; what was read is then read as usual.</summary>
    private char Detect()
    {
        Span<int> counts = stackalloc int[DetectedSeparators.Length];
        var quoting = false;
        var scanned = 0;
        while (true)
        {
            for (; scanned < _length; scanned++)
            {
                var c = _source[scanned];
                if (c == '"')
                {
                    quoting = !quoting;
                }
                else if (!quoting && c is '\n' or '\r')
                {
                    return Most(counts);
                }
                else if (!quoting && Array.IndexOf(DetectedSeparators, c) is >= 0 and var at)
                {
                    counts[at]++;
                }
            }

            if (_length == _source.Length)
            {
                Array.Resize(ref _source, _source.Length * 2);
            }

            var read = Inner.Read(_source, _length, _source.Length - _length);
            if (read == 0)
            {
                return Most(counts);
            }

            _length += read;
        }

        static char Most(ReadOnlySpan<int> counts)
        {
            var best = 0;
            for (var s = 1; s < counts.Length; s++)
            {
                best = counts[s] > counts[best] ? s : best;
            }

            return DetectedSeparators[best];
        }
    }

    private static bool IsStrayQuote(char c, char delimiter, ref State state)
    {
        var endsField = c == delimiter || c is '\n' or '\r';
        switch (state)
        {
            case State.Quoted:
                if (c == '"')
                {
                    state = State.AfterQuote;
                }

                return false;
            case State.AfterQuote:
                // "" inside a quoted field is a quote; anything else ends the quoted part.
                state = c == '"' ? State.Quoted : endsField ? State.FieldStart : State.Unquoted;
                return false;
            case State.FieldStart:
                if (c == '"')
                {
                    state = State.Quoted;
                }
                else if (!endsField && c is not (' ' or '\t'))
                {
                    state = State.Unquoted;
                }

                return false;
            default:
                if (c == '"')
                {
                    return true;
                }

                if (endsField)
                {
                    state = State.FieldStart;
                }

                return false;
        }
    }
}
