using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains;

/// <summary>The stored ids of <see cref="EventIdArchiveGrain"/>, oldest first.</summary>
[GenerateSerializer, Alias("pg.event-id-archive")]
public sealed class EventIdArchiveState
{
    [Id(0)] public List<ulong> Hashes { get; set; } = [];
}

/// <summary>
/// A heavy user's older event ids (<see cref="IEventIdArchiveGrain"/>), in the profile store beside the profile's own
/// row. At most <see cref="Capacity"/> hashes (about 10 bytes each stored, within a table row's budget): a user with
/// more events than the window and the archive together hold counts a replay of the oldest again.
/// </summary>
public sealed class EventIdArchiveGrain(
    [PersistentState("event-ids", ProfileStores.Profiles)] IPersistentState<EventIdArchiveState> state)
    : Grain, IEventIdArchiveGrain
{
    /// <summary>Hashes kept at most: 60,000, about 600 KB stored.</summary>
    public const int Capacity = 60_000;

    private HashSet<ulong>? _known;

    // Hashes taken in memory that a failed write did not store: the caller's retry must write them even if it adds none.
    private bool _unwritten;

    private HashSet<ulong> Known => _known ??= [.. state.State.Hashes];

    public async Task AddAsync(ulong[] hashes)
    {
        var added = false;
        foreach (var hash in hashes)
        {
            if (Known.Add(hash))
            {
                state.State.Hashes.Add(hash);
                added = true;
            }
        }

        if (!added && !_unwritten)
        {
            return;
        }

        if (state.State.Hashes.Count > Capacity)
        {
            var excess = state.State.Hashes.Count - Capacity;
            foreach (var forgotten in state.State.Hashes.Take(excess))
            {
                Known.Remove(forgotten);
            }

            state.State.Hashes.RemoveRange(0, excess);
        }

        _unwritten = true;
        await state.WriteStateAsync();
        _unwritten = false;
    }

    public Task<ulong[]> KnownAsync(ulong[] hashes) => Task.FromResult(hashes.Where(Known.Contains).ToArray());

    public async Task ClearAsync()
    {
        _known = null;
        _unwritten = false;
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }

        state.State = new EventIdArchiveState();
    }
}
