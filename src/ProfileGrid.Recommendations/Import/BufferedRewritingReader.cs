namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// A reader that takes its text from another block by block and hands it on rewritten (a separator replaced, a quote
/// doubled): the buffer, the refill and the disposal are here; how the text changes is the subclass's
/// <see cref="Read(Span{char})"/>. Line breaks are never changed, so line numbers stay those of the file.
/// </summary>
public abstract class BufferedRewritingReader : TextReader
{
    private protected BufferedRewritingReader(TextReader inner) => Inner = inner;

    /// <summary>The text read from; disposed with this reader.</summary>
    private protected TextReader Inner { get; }

    /// <summary>The block read from <see cref="Inner"/>; a subclass may grow it to read ahead.</summary>
    private protected char[] _source = new char[1 << 16];
    private protected int _position;
    private protected int _length;

    public override int Peek() => _position < _length || Fill() ? _source[_position] : -1;

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public abstract override int Read(Span<char> buffer);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Reads the next block from the start of the buffer; false at the end of the text.</summary>
    private protected bool Fill()
    {
        _position = 0;
        _length = Inner.Read(_source, 0, _source.Length);
        return _length > 0;
    }
}
