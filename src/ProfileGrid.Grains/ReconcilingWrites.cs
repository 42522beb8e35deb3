using Orleans.Storage;

namespace ProfileGrid.Grains;

/// <summary>
/// A write-behind shard's write that meets a row it did not write last. A write refused on its ETag means storage holds a
/// row this activation does not know: its own write that timed out and landed, or a second activation's while a dead
/// silo's grains were placed again. Retried as it was, such a write fails for good, and what the shard took is never
/// stored (probe64: 93 users gone from ListProfiles and segments after the next kill). Here the stored row is read, the
/// shard takes from it what is newer than its own (<c>adoptStored</c>), and the write is made again over it.
/// </summary>
internal static class ReconcilingWrites
{
    public static async Task WriteAsync<TState>(IPersistentState<TState> state, Action<string> conflictMet, Action<TState> adoptStored)
    {
        try
        {
            await state.WriteStateAsync();
            return;
        }
        catch (InconsistentStateException conflict)
        {
            conflictMet(conflict.InnerException?.Message ?? conflict.Message);
        }

        // Reading replaces the state object (and takes the stored row's ETag): this activation's is put back over it.
        var ours = state.State;
        TState stored;
        try
        {
            await state.ReadStateAsync();
            stored = state.State;
        }
        finally
        {
            state.State = ours;
        }

        adoptStored(stored);
        await state.WriteStateAsync();
    }
}
