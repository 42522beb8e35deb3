using ProfileGrid.Domain;

namespace ProfileGrid.Grains;

/// <summary>
/// One copy per silo of each item id read back from packed profiles. Item ids are catalog ids, the same few thousand
/// in every user's history: decoding each as a new string made a string per history item on every <c>Recommend</c> of
/// a packed profile, and one per item in every unpacked profile. Bounded like the profile's shared text, with a pool of
/// its own so that a large catalog does not push countries and user agents out of that one.
/// </summary>
public static class SharedItemIds
{
    public const int MaxLength = 256;
    public const int MaxEntries = 262_144;

    private static readonly BoundedStringPool Pool = new(MaxLength, MaxEntries);

    /// <summary>The id that <paramref name="utf8"/> encodes, shared with every earlier read of the same id.</summary>
    public static string FromUtf8(ReadOnlySpan<byte> utf8) => Pool.OfUtf8(utf8);
}
