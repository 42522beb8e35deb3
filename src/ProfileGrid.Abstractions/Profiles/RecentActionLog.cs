using System.Buffers.Binary;
using System.Collections;
using System.Runtime.InteropServices;
using System.Text;
using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// The latest actions, ordered by (event time, event id), oldest first, packed into one byte array: what every resident
/// profile holds for its recent-actions sequence. Enumerating it decodes each entry into a fresh <see cref="RecentAction"/>.
/// </summary>
/// <remarks>
/// <para>
/// As objects (a <see cref="RecentAction"/> and up to four strings each) 40 actions took about 8 KB of heap per profile,
/// a third of a resident profile; packed, an action takes its UTF-8 text and 10 bytes, about 2 KB for 40 in a single
/// array, and the stored row shrinks alike. Rows written before hold the objects in <see cref="BehaviorState.LegacyRecentActions"/>;
/// they are packed on first use.
/// </para>
/// <para>
/// An entry is the event time as UTC ticks (8 bytes, little-endian), the kind (1 byte), then the event id, product id,
/// category and detail, each as a 7-bit-encoded header (0: null; otherwise 1 + (byte length &lt;&lt; 1 | 1 when the text
/// is UTF-16 because it is not valid Unicode, so that it round-trips exactly)) and its bytes. Change it only through
/// <see cref="Insert"/> and <see cref="TrimExcess"/>.
/// </para>
/// </remarks>
[GenerateSerializer, Alias("pg.recent-action-log")]
public sealed class RecentActionLog : IReadOnlyCollection<RecentAction>
{
    [NonSerialized] private byte[] _buffer = [];
    [NonSerialized] private int _length;
    [NonSerialized] private int _count;

    // Where the newest entry starts and its time, so that an action newer than all (the usual case) is appended without a scan.
    [NonSerialized] private int _lastOffset = -1;
    [NonSerialized] private long _lastTicks;

    /// <summary>The packed entries, exactly (see the remarks); what is stored.</summary>
    [Id(0)]
    public byte[] Packed
    {
        get
        {
            if (_buffer.Length != _length)
            {
                TrimExcess();
            }

            return _buffer;
        }
        set
        {
            _buffer = value ?? [];
            _length = _buffer.Length;
            (_count, _lastOffset) = (0, -1);
            for (var offset = 0; offset < _length; offset = Skip(offset))
            {
                (_lastOffset, _count) = (offset, _count + 1);
            }

            _lastTicks = _lastOffset >= 0 ? TicksAt(_lastOffset) : 0;
        }
    }

    /// <summary>Bytes held, spare capacity included: what the log costs in memory besides the object itself.</summary>
    public int Capacity => _buffer.Length;

    public int Count => _count;

    /// <summary>
    /// Inserts <paramref name="action"/> at its place by (event time, event id) and drops the oldest beyond
    /// <paramref name="capacity"/>, so the log holds the latest actions whatever the arrival order; an action older than
    /// all of a full log is not kept.
    /// </summary>
    public void Insert(RecentAction action, int capacity)
    {
        ArgumentNullException.ThrowIfNull(action);
        var ticks = action.OccurredAt.UtcTicks;
        int at;
        var index = _count;
        if (_lastOffset < 0 || ticks > _lastTicks || (ticks == _lastTicks && string.CompareOrdinal(EventIdAt(_lastOffset), action.EventId) <= 0))
        {
            at = _length;
        }
        else
        {
            // Late: the first entry that sorts after it.
            (at, index) = (0, 0);
            while (at < _length && Compare(at, ticks, action.EventId) <= 0)
            {
                at = Skip(at);
                index++;
            }
        }

        if (index == 0 && _count >= capacity)
        {
            return;
        }

        var size = 9 + TextSize(action.EventId) + TextSize(action.ProductId) + TextSize(action.Category) + TextSize(action.Detail);
        if (_length + size > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_length + size, Math.Max(256, _buffer.Length * 2)));
        }

        Buffer.BlockCopy(_buffer, at, _buffer, at + size, _length - at);
        var span = _buffer.AsSpan(at, size);
        BinaryPrimitives.WriteInt64LittleEndian(span, ticks);
        span[8] = (byte)action.Kind;
        var written = 9;
        written += WriteText(span[written..], action.EventId);
        written += WriteText(span[written..], action.ProductId);
        written += WriteText(span[written..], action.Category);
        WriteText(span[written..], action.Detail);
        var appended = at == _length;
        _length += size;
        _count++;
        if (appended)
        {
            (_lastOffset, _lastTicks) = (at, ticks);
        }
        else
        {
            _lastOffset += size;
        }

        if (_count > capacity)
        {
            var drop = 0;
            for (var i = _count - capacity; i > 0; i--)
            {
                drop = Skip(drop);
            }

            Buffer.BlockCopy(_buffer, drop, _buffer, 0, _length - drop);
            _length -= drop;
            _lastOffset -= drop;
            _count = capacity;
        }
    }

    /// <summary>Gives back the spare capacity that inserts left (a resident profile holds its log for as long as it is active).</summary>
    public void TrimExcess()
    {
        if (_buffer.Length != _length)
        {
            Array.Resize(ref _buffer, _length);
        }
    }

    public IEnumerator<RecentAction> GetEnumerator()
    {
        for (var offset = 0; offset < _length;)
        {
            var action = new RecentAction
            {
                OccurredAt = new DateTimeOffset(TicksAt(offset), TimeSpan.Zero),
                Kind = (EventKind)_buffer[offset + 8],
            };
            offset += 9;
            action.EventId = ReadText(ref offset) ?? "";
            action.ProductId = ReadText(ref offset);
            action.Category = ReadText(ref offset);
            action.Detail = ReadText(ref offset);
            yield return action;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private long TicksAt(int offset) => BinaryPrimitives.ReadInt64LittleEndian(_buffer.AsSpan(offset));

    private string EventIdAt(int offset)
    {
        offset += 9;
        return ReadText(ref offset) ?? "";
    }

    private int Compare(int offset, long ticks, string eventId)
    {
        var byTime = TicksAt(offset).CompareTo(ticks);
        return byTime != 0 ? byTime : string.CompareOrdinal(EventIdAt(offset), eventId);
    }

    /// <summary>The offset of the entry after the one at <paramref name="offset"/>.</summary>
    private int Skip(int offset)
    {
        offset += 9;
        for (var field = 0; field < 4; field++)
        {
            var header = ReadHeader(ref offset);
            offset += header == 0 ? 0 : (header - 1) >> 1;
        }

        return offset;
    }

    private int ReadHeader(ref int offset)
    {
        int value = 0, shift = 0;
        byte b;
        do
        {
            b = _buffer[offset++];
            value |= (b & 0x7F) << shift;
            shift += 7;
        }
        while ((b & 0x80) != 0);
        return value;
    }

    private string? ReadText(ref int offset)
    {
        var header = ReadHeader(ref offset);
        if (header == 0)
        {
            return null;
        }

        var length = (header - 1) >> 1;
        var bytes = _buffer.AsSpan(offset, length);
        offset += length;
        return ((header - 1) & 1) == 0 ? Encoding.UTF8.GetString(bytes) : new string(MemoryMarshal.Cast<byte, char>(bytes));
    }

    private static int TextSize(string? text)
    {
        if (text is null)
        {
            return 1;
        }

        var bytes = IsValidUnicode(text) ? Encoding.UTF8.GetByteCount(text) : text.Length * 2;
        return HeaderSize(1 + (bytes << 1)) + bytes;
    }

    private static int WriteText(Span<byte> span, string? text)
    {
        if (text is null)
        {
            span[0] = 0;
            return 1;
        }

        var utf8 = IsValidUnicode(text);
        var length = utf8 ? Encoding.UTF8.GetByteCount(text) : text.Length * 2;
        var header = 1 + (length << 1 | (utf8 ? 0 : 1));
        var written = 0;
        do
        {
            var b = (byte)(header & 0x7F);
            header >>= 7;
            span[written++] = header != 0 ? (byte)(b | 0x80) : b;
        }
        while (header != 0);

        if (utf8)
        {
            Encoding.UTF8.GetBytes(text, span[written..]);
        }
        else
        {
            MemoryMarshal.AsBytes(text.AsSpan()).CopyTo(span[written..]);
        }

        return written + length;
    }

    private static int HeaderSize(int header)
    {
        var size = 1;
        while ((header >>= 7) != 0)
        {
            size++;
        }

        return size;
    }

    /// <summary>False for text with an unpaired surrogate, which UTF-8 would replace: such text is kept as UTF-16.</summary>
    private static bool IsValidUnicode(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }
}
