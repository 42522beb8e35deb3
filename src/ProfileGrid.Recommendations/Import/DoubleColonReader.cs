namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// Reads MovieLens 1M's <c>::</c>-separated files (<c>ratings.dat</c>, <c>users.dat</c>) for Sep, whose separator is one
/// character: every <c>::</c> becomes <see cref="Separator"/>, a control character no such file holds. A single
/// <c>:</c> (a title's "Star Wars: Episode IV") is kept. Line breaks are not changed, so line numbers stay the file's.
/// </summary>
internal sealed class DoubleColonReader(TextReader inner) : TextReader
{
    /// <summary>What <c>::</c> reads as (U+001F, the unit separator).</summary>
    public const char Separator = '\u001F';

    private readonly char[] _source = new char[1 << 16];
    private int _position;
    private int _length;

    /// <summary>A line's text as the file has it.</summary>
    public static string Original(ReadOnlySpan<char> row) => row.ToString().Replace(Separator.ToString(), "::", StringComparison.Ordinal);

    public override int Peek() => _position < _length || Fill() ? _source[_position] : -1;

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        var written = 0;
        while (written < buffer.Length && (_position < _length || (written == 0 && Fill())))
        {
            var c = _source[_position++];
            if (c == ':')
            {
                if (_position == _length)
                {
                    // Whether a second ':' follows is in the next block: keep this one for it.
                    if (written > 0)
                    {
                        _position--;
                        break;
                    }

                    _source[0] = ':';
                    var read = inner.Read(_source, 1, _source.Length - 1);
                    _position = 1;
                    _length = 1 + read;
                }

                if (_position < _length && _source[_position] == ':')
                {
                    _position++;
                    c = Separator;
                }
            }

            buffer[written++] = c;
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
}
