using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// The most recently applied ids (event ids, or order ids), oldest first: a repeat of any of them is recognised.
/// </summary>
/// <remarks>
/// <para>
/// Each id is remembered as a 64-bit hash (<see cref="Hash"/>, from SHA-256), not as the string: 8 bytes
/// whatever the id's length, where a 256-character id of CJK text took 768 bytes and 2,000 of them outgrew a Table row.
/// A new id is wrongly taken for a repeat only if its hash equals one of the at most <c>n</c> remembered: probability
/// n / 2^64, about 1e-16 per event for a window of 2,000, so one wrongly skipped event in some 10^16 events.
/// </para>
/// <para>
/// Lookups scan the hashes (a vectorised search of a few KiB, about a microsecond), which costs less memory per
/// resident profile than a hash set beside the list. Rows written before hashing hold the strings in
/// <see cref="LegacyIds"/> ([Id(0)], kept readable): they are hashed on first use and never written again.
/// Change the window only through <see cref="TryAdd"/> and <see cref="TrimTo"/>.
/// </para>
/// </remarks>
[GenerateSerializer, Alias("pg.event-id-window")]
public sealed class EventIdWindow
{
    /// <summary>
    /// The ids as strings, as rows written before ids were hashed hold them; empty once migrated (an empty list rather
    /// than null, so that a silo of the previous release reading a new row sees an empty window, not a null).
    /// </summary>
    [Id(0)] public List<string> LegacyIds { get; set; } = [];

    /// <summary>The hashes of the remembered ids (<see cref="Hash"/>), oldest first.</summary>
    [Id(1)] public List<ulong> Hashes { get; set; } = [];

    /// <summary>
    /// Hashes trimmed out of a spilling window (<see cref="TrimTo(int, bool)"/>) and not yet handed to the profile's
    /// archive of older ids (IEventIdArchiveGrain), oldest first: still recognised here until the archive holds them.
    /// Held in memory only, never stored: the profile hands them over before it writes a state without them.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<ulong> Spilled => (IReadOnlyList<ulong>?)_spilled ?? [];

    /// <summary>Ids added since this object was made (in memory only): the profile's count of ids not yet written.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long Added => _added;

    [NonSerialized] private List<ulong>? _spilled;
    [NonSerialized] private long _added;

    // The serializer may make the object without running initializers.
    private List<ulong> SpilledList => _spilled ??= [];

    /// <summary>
    /// UTC ticks of the newest event time any spilled id can have (0: none ever spilled). An event after it cannot be a
    /// repeat of an archived id, so only events at or before it need the archive asked (<see cref="MayBeArchived"/>).
    /// </summary>
    [Id(3)] public long SpilledThroughTicks { get; set; }

    /// <summary>UTC ticks of the newest event time of any id remembered (the bound a spill takes).</summary>
    [Id(4)] public long NewestTicks { get; set; }

    /// <summary>How many ids are remembered.</summary>
    public int Count
    {
        get
        {
            Migrate();
            return Hashes.Count;
        }
    }

    public bool Contains(string id) => Contains(Hash(id));

    /// <summary>Whether the hash of an id is remembered here (the window or the spilled ids not yet archived).</summary>
    public bool Contains(ulong hash)
    {
        Migrate();
        return CollectionsMarshal.AsSpan(Hashes).Contains(hash) || IsSpilled(hash);
    }

    /// <summary>
    /// Whether an event at <paramref name="occurredAt"/> whose id is not remembered here may still be a repeat of an
    /// id this window spilled to the archive.
    /// </summary>
    public bool MayBeArchived(DateTimeOffset occurredAt) => SpilledThroughTicks != 0 && occurredAt.UtcTicks <= SpilledThroughTicks;

    /// <summary>Remembers <paramref name="id"/> as the newest id; false if it was already remembered.</summary>
    public bool TryAdd(string id, DateTimeOffset? occurredAt = null) => TryAdd(Hash(id), occurredAt);

    /// <summary>Remembers the id of hash <paramref name="hash"/> (<see cref="Hash"/>) as the newest; false if it was already remembered.</summary>
    public bool TryAdd(ulong hash, DateTimeOffset? occurredAt = null)
    {
        if (Contains(hash))
        {
            return false;
        }

        Hashes.Add(hash);
        _added++;
        if (occurredAt is { } at && at.UtcTicks > NewestTicks)
        {
            NewestTicks = at.UtcTicks;
        }

        return true;
    }

    /// <summary>Forgets the oldest ids beyond <paramref name="capacity"/>.</summary>
    public void TrimTo(int capacity) => TrimTo(capacity, spill: false);

    /// <summary>Forgets the oldest ids beyond <paramref name="capacity"/>, or with <paramref name="spill"/> moves them to <see cref="Spilled"/>.</summary>
    public void TrimTo(int capacity, bool spill)
    {
        Migrate();
        var excess = Hashes.Count - Math.Max(0, capacity);
        if (excess > 0)
        {
            if (spill)
            {
                SpilledList.AddRange(CollectionsMarshal.AsSpan(Hashes)[..excess]);

                // The trimmed ids' own times are not kept: the newest time of any id remembered bounds them.
                SpilledThroughTicks = Math.Max(SpilledThroughTicks, NewestTicks);
            }

            Hashes.RemoveRange(0, excess);
        }

        // A full window stays resident in every active profile: give back what the list's doubling left spare, keeping
        // room for a batch so that steady ingest does not reallocate.
        var roomy = Math.Max(0, capacity) + 256;
        if (Hashes.Capacity > roomy + roomy / 2)
        {
            Hashes.Capacity = Math.Max(Hashes.Count, roomy);
        }
    }

    /// <summary>Gives back the list's spare capacity (a resident profile holds its windows while it is active).</summary>
    public void TrimExcess()
    {
        Migrate();
        if (Hashes.Capacity > Hashes.Count)
        {
            Hashes.Capacity = Hashes.Count;
        }
    }

    /// <summary>
    /// How many of the first spilled ids were added before the <paramref name="added"/>-th id this object took
    /// (<see cref="Added"/> as it was then; ids this object was made with count as added before 0).
    /// </summary>
    public int SpilledAddedBefore(long added)
    {
        var spilled = _spilled?.Count ?? 0;
        return spilled == 0 ? 0 : (int)Math.Clamp(added - (_added - Hashes.Count - spilled), 0, spilled);
    }

    /// <summary>Whether the hash is one of the spilled ids not yet handed to the archive.</summary>
    public bool IsSpilled(ulong hash) => _spilled is { Count: > 0 } spilled && CollectionsMarshal.AsSpan(spilled).Contains(hash);

    /// <summary>Forgets the first <paramref name="count"/> spilled ids: the archive holds them now.</summary>
    public void Archived(int count)
    {
        if (_spilled is not { } spilled)
        {
            return;
        }

        spilled.RemoveRange(0, Math.Min(count, spilled.Count));
        if (spilled.Count == 0)
        {
            _spilled = null;
        }
    }

    /// <summary>
    /// The 64-bit hash an id is remembered by: the first 8 bytes (little-endian) of SHA-256 of its UTF-16 code units,
    /// which, unlike UTF-8, keeps ids that differ only in unpaired surrogates apart. Stored, so never change it.
    /// </summary>
    public static ulong Hash(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(MemoryMarshal.AsBytes(id.AsSpan()), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    /// <summary>Hashes the strings of a row written before ids were hashed, keeping their order.</summary>
    private void Migrate()
    {
        if (LegacyIds is not { Count: > 0 })
        {
            LegacyIds ??= [];
            return;
        }

        var migrated = new List<ulong>(LegacyIds.Count + Hashes.Count);
        foreach (var id in LegacyIds)
        {
            var hash = Hash(id);
            if (!migrated.Contains(hash))
            {
                migrated.Add(hash);
            }
        }

        migrated.AddRange(Hashes);
        Hashes = migrated;
        LegacyIds = [];
    }
}
