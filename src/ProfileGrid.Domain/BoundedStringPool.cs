using System.Collections.Concurrent;
using System.Text;

namespace ProfileGrid.Domain;

/// <summary>
/// One copy per process of strings that many holders share, bounded: at most <c>maxEntries</c> strings of at most
/// <c>maxLength</c> characters (UTF-8 bytes for <see cref="OfUtf8"/>). When it is full it starts afresh (strings already
/// handed out stay valid; they are only no longer shared with later ones), so distinct values beyond the bound cost
/// churn, never unbounded memory.
/// </summary>
public sealed class BoundedStringPool(int maxLength, int maxEntries)
{
    private Pool _pool = new();

    public int MaxLength => maxLength;

    public int MaxEntries => maxEntries;

    /// <summary>The shared copy of <paramref name="text"/> (itself when it is new, null or too long).</summary>
    public string? Of(string? text)
    {
        if (text is null || text.Length > maxLength)
        {
            return text;
        }

        return _pool.Strings.TryGetValue(text, out var shared) ? shared : Add(text);
    }

    /// <summary>The string <paramref name="utf8"/> encodes, shared with every earlier one alike; decoded only when new.</summary>
    public string OfUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > maxLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[maxLength];
        var text = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        return _pool.Lookup.TryGetValue(text, out var shared) ? shared : Add(new string(text));
    }

    private string Add(string text)
    {
        var pool = _pool;
        if (Interlocked.Increment(ref pool.Added) > maxEntries)
        {
            Interlocked.CompareExchange(ref _pool, new Pool(), pool);
            pool = _pool;
        }

        return pool.Strings.GetOrAdd(text, text);
    }

    private sealed class Pool
    {
        public readonly ConcurrentDictionary<string, string> Strings;
        public readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup;
        public int Added;

        public Pool()
        {
            Strings = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            Lookup = Strings.GetAlternateLookup<ReadOnlySpan<char>>();
        }
    }
}
