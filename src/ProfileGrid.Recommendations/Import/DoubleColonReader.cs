namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// Reads MovieLens 1M's <c>::</c>-separated files (<c>ratings.dat</c>, <c>users.dat</c>) for Sep, whose separator is one
/// character: every <c>::</c> becomes <see cref="Separator"/>, a control character no such file holds. A single
/// <c>:</c> (a title's "Star Wars: Episode IV") is kept. Line breaks are not changed, so line numbers stay the file's.
/// </summary>
internal sealed class DoubleColonReader(TextReader inner) : BufferedRewritingReader(inner)
{
    /// <summary>What <c>::</c> reads as (U+001F, the unit separator).</summary>
    public const char Separator = '\u001F';

    /// <summary>A line's text as the file has it.</summary>
    public static string Original(ReadOnlySpan<char> row) => row.ToString().Replace(Separator.ToString(), "::", StringComparison.Ordinal);

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
                    var read = Inner.Read(_source, 1, _source.Length - 1);
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
}
