namespace ProfileGrid.Cli.BulkImport;

/// <summary>
/// Reads CSV text with quotes that open a field only at its start (after white space at most), as pandas and
/// Python's csv read them: a quote inside an unquoted field (<c>12" VINYL RECORD FRAME</c>, inches in a product
/// description) is a character. Sep counts every quote, so one such quote would join the rest of the file into one
/// field and the rows after it would be lost without a word. This reader doubles such a quote, which keeps Sep's count
/// even (the field's text then shows it doubled; codes and numbers never hold one). Line breaks are not changed, so
/// line numbers stay those of the file.
/// </summary>
internal sealed class StrayQuoteReader(TextReader inner, char delimiter) : TextReader
{
    private readonly char[] _source = new char[1 << 16];
    private int _position;
    private int _length;
    private bool _pendingQuote;
    private State _state = State.FieldStart;

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        AfterQuote,
    }

    public override int Peek()
    {
        if (_pendingQuote)
        {
            return '"';
        }

        return _position < _length || Fill() ? _source[_position] : -1;
    }

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

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
            if (IsStrayQuote(c))
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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private bool Fill()
    {
        _position = 0;
        _length = inner.Read(_source, 0, _source.Length);
        return _length > 0;
    }

    private bool IsStrayQuote(char c)
    {
        var endsField = c == delimiter || c is '\n' or '\r';
        switch (_state)
        {
            case State.Quoted:
                if (c == '"')
                {
                    _state = State.AfterQuote;
                }

                return false;
            case State.AfterQuote:
                // "" inside a quoted field is a quote; anything else ends the quoted part.
                _state = c == '"' ? State.Quoted : endsField ? State.FieldStart : State.Unquoted;
                return false;
            case State.FieldStart:
                if (c == '"')
                {
                    _state = State.Quoted;
                }
                else if (!endsField && c is not (' ' or '\t'))
                {
                    _state = State.Unquoted;
                }

                return false;
            default:
                if (c == '"')
                {
                    return true;
                }

                if (endsField)
                {
                    _state = State.FieldStart;
                }

                return false;
        }
    }
}
