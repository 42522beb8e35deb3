namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// The event ids a heavy user's profile no longer holds in its window of recent ids (64-bit hashes,
/// <see cref="Profiles.EventIdWindow.Hash"/>), so that a replay of an older event (an export sent again, an import
/// re-run after a crash) is still recognised. Key: the profile's <see cref="ProfileKey"/>. Only profiles with more
/// events than the window holds ever call it, and only for events no newer than the ids they spilled.
/// </summary>
public interface IEventIdArchiveGrain : IGrainWithStringKey
{
    /// <summary>Remembers the hashes, durably, before it returns (the oldest beyond the archive's capacity are forgotten).</summary>
    Task AddAsync(ulong[] hashes);

    /// <summary>Which of <paramref name="hashes"/> the archive holds.</summary>
    Task<ulong[]> KnownAsync(ulong[] hashes);

    /// <summary>Forgets every id and deletes the stored record (erasure, or a rebuild that starts the profile again).</summary>
    Task ClearAsync();
}
