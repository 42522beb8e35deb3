using System.Collections.Concurrent;
using System.Text;

namespace ProfileGrid.Grains;

/// <summary>
/// One copy per silo of each item id read back from packed profiles. Item ids are catalog ids, the same few thousand
/// in every user's history: decoding each as a new string made a string per history item on every <c>Recommend</c> of
/// a packed profile, and one per item in every unpacked profile.
/// </summary>
/// <remarks>
/// Bounded like the profile's shared text: at most <see cref="MaxEntries"/> ids of at most <see cref="MaxLength"/>
/// UTF-8 bytes; when full it starts afresh (ids already handed out stay valid), so a catalog larger than the bound costs
/// churn, never unbounded memory.
/// </remarks>
public static class SharedItemIds
{
    public const int MaxLength = 256;
    public const int MaxEntries = 262_144;

    private static Pool _pool = new();

    /// <summary>The id that <paramref name="utf8"/> encodes, shared with every earlier read of the same id.</summary>
    public static string FromUtf8(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[MaxLength];
        var length = Encoding.UTF8.GetChars(utf8, chars);
        var text = chars[..length];
        var pool = _pool;
        if (pool.Lookup.TryGetValue(text, out var shared))
        {
            return shared;
        }

        var id = new string(text);
        if (Interlocked.Increment(ref pool.Added) > MaxEntries)
        {
            Interlocked.CompareExchange(ref _pool, new Pool(), pool);
            pool = _pool;
        }

        return pool.Strings.GetOrAdd(id, id);
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
