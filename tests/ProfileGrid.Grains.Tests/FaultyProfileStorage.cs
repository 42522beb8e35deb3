using System.Collections.Concurrent;
using Orleans.Storage;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// Test-only profile storage over memory storage that stands for storage refusals, chosen by the user id:
/// "refused-..." profiles are never written (as Azure Table refuses an entity over 1 MB or a key too long), and the
/// first write of a "landed-..." profile is stored but reported as a time-out (an insert whose answer never came), so
/// that the next write meets an ETag it does not know. A "held-..." profile's writes wait while a gate is set for it in
/// <see cref="Held"/>, so a test can act while a write is in flight.
/// </summary>
public sealed class FaultyProfileStorage(IGrainStorage inner) : IGrainStorage
{
    public const string InnerName = "profiles-inner";

    private static readonly ConcurrentDictionary<string, int> LandedOnce = new();

    /// <summary>Gates that hold the writes of "held-..." profiles (by grain key) until completed.</summary>
    public static ConcurrentDictionary<string, TaskCompletionSource> Held { get; } = new();

    /// <summary>Completed when a held write has reached the storage (by grain key).</summary>
    public static ConcurrentDictionary<string, TaskCompletionSource> WriteStarted { get; } = new();

    /// <summary>Successful writes per grain key.</summary>
    public static ConcurrentDictionary<string, int> Writes { get; } = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = grainId.Key.ToString()!;
        if (key.Contains("/refused-", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("The storage refused the entity: Data too large (test storage)");
        }

        if (key.Contains("/held-", StringComparison.Ordinal) && Held.TryGetValue(key, out var gate))
        {
            WriteStarted.GetOrAdd(key, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            await gate.Task;
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (key.Contains("/landed-", StringComparison.Ordinal) && LandedOnce.TryAdd(key, 0))
        {
            // Stored, but the caller never hears so and keeps its old ETag.
            grainState.ETag = null;
            throw new TimeoutException("The write timed out at the client (test storage); it was stored all the same.");
        }

        Writes.AddOrUpdate(key, 1, (_, n) => n + 1);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
