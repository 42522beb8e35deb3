using System.Collections.Concurrent;
using Orleans.Storage;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// Test-only storage for the segments store (which the identity graph shares) over memory storage that counts successful
/// writes per grain id, and can lose the answer of one write (the state is stored and the grain's call fails there, as when
/// its silo dies right after the write), refuse one, or hold a grain's writes until the test lets them through.
/// </summary>
public sealed class CountingSegmentStorage(IGrainStorage inner) : IGrainStorage
{
    public const string InnerName = "segments-inner";

    /// <summary>Successful writes per grain id (as <c>GrainId.ToString()</c>).</summary>
    public static ConcurrentDictionary<string, int> Writes { get; } = new();

    /// <summary>Grain ids (as <c>GrainId.ToString()</c>) whose next write is stored and then fails.</summary>
    public static ConcurrentDictionary<string, bool> DieAfterNextWrite { get; } = new();

    /// <summary>
    /// Grain ids (as <c>GrainId.ToString()</c>) whose next write lands while its answer is lost (a time-out): the row is
    /// stored under a new ETag that the grain never learns, as a second activation's write would leave it.
    /// </summary>
    public static ConcurrentDictionary<string, bool> LandUnanswered { get; } = new();

    /// <summary>
    /// Grain ids (as <c>GrainId.ToString()</c>) whose stored row a second activation rewrites just before the grain's next
    /// write (the function changes the stored state), so that write is refused on its ETag.
    /// </summary>
    public static ConcurrentDictionary<string, Func<object, object>> SecondActivationWrites { get; } = new();

    /// <summary>Grain ids (as <c>GrainId.ToString()</c>) and how many writes pass before one fails without being stored.</summary>
    public static ConcurrentDictionary<string, int> RefuseWriteAfter { get; } = new();

    /// <summary>Grain ids (as <c>GrainId.ToString()</c>) whose writes wait until the test completes the source.</summary>
    public static ConcurrentDictionary<string, TaskCompletionSource> HeldWrites { get; } = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (HeldWrites.TryGetValue(grainId.ToString(), out var held))
        {
            await held.Task;
        }

        if (RefuseWriteAfter.TryGetValue(grainId.ToString(), out var passing))
        {
            if (passing == 0 && RefuseWriteAfter.TryRemove(grainId.ToString(), out _))
            {
                throw new IOException("The store refused this write (test storage).");
            }

            RefuseWriteAfter[grainId.ToString()] = passing - 1;
        }

        if (SecondActivationWrites.TryRemove(grainId.ToString(), out var interloper))
        {
            var other = new GrainState<T>();
            await inner.ReadStateAsync(stateName, grainId, other);
            other.State = (T)interloper(other.State!);
            await inner.WriteStateAsync(stateName, grainId, other);
        }

        if (LandUnanswered.TryRemove(grainId.ToString(), out _))
        {
            var copy = new GrainState<T>(grainState.State) { ETag = grainState.ETag, RecordExists = grainState.RecordExists };
            await inner.WriteStateAsync(stateName, grainId, copy);
            throw new TimeoutException("The write landed but its answer was lost (test storage).");
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        Writes.AddOrUpdate(grainId.ToString(), 1, (_, n) => n + 1);
        if (DieAfterNextWrite.TryRemove(grainId.ToString(), out _))
        {
            throw new IOException("The silo died after this write was stored (test storage).");
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
