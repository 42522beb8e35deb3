using System.Collections.Concurrent;
using Orleans.Storage;

namespace ProfileGrid.Grains.Tests;

/// <summary>Test-only storage for the segments store over memory storage that counts successful writes per grain id.</summary>
public sealed class CountingSegmentStorage(IGrainStorage inner) : IGrainStorage
{
    public const string InnerName = "segments-inner";

    /// <summary>Successful writes per grain id (as <c>GrainId.ToString()</c>).</summary>
    public static ConcurrentDictionary<string, int> Writes { get; } = new();

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await inner.WriteStateAsync(stateName, grainId, grainState);
        Writes.AddOrUpdate(grainId.ToString(), 1, (_, n) => n + 1);
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) => inner.ClearStateAsync(stateName, grainId, grainState);
}
