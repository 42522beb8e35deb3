using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using ProfileGrid.Abstractions;

namespace ProfileGrid.Silo.Hosting;

/// <summary>
/// Grain storage that hands the store a grain id whose key fits the store's key limit: unchanged when it fits (so state
/// written before keys were bounded stays where it is), otherwise <see cref="ProfileKey.BoundStorageKey"/>'s readable
/// prefix and SHA-256 digest. Grain keys themselves stay the full ids (a profile key of two 256-character ids can encode
/// to 4,600 characters); only where the state lives changes.
/// </summary>
/// <remarks>
/// How Orleans 10.4's Azure providers name what they store (read from the providers' code):
/// <list type="bullet">
/// <item>Table grain storage: PartitionKey = "{ServiceId}_{grain type}/{grain key}" with '/', '\', '#' and '?' turned
/// into '_', RowKey = the state name. Orleans refuses keys of 1,024 characters; Azure allows 1 KiB and Azurite 512
/// characters, so the whole PartitionKey is kept within <see cref="TableKeyLimit"/>.</item>
/// <item>Blob grain storage: blob name = "{state name}-{grain type}/{grain key}.json"; Azure allows 1,024 characters,
/// a "." or ".." path segment would be resolved away by the URL (tenant ".." would share another tenant's blob), Azure's
/// naming rules say no segment may end with a dot (its front end trims it, so "acme./3" would be "acme/3", another
/// tenant's shard), and a name may have at most 254 segments (a tenant of 256 '/'), so such keys are hashed too.</item>
/// </list>
/// </remarks>
public sealed class BoundedKeyGrainStorage(IGrainStorage inner, Func<string, GrainId, int> maxKeyLength, bool pathSafe) : IGrainStorage
{
    /// <summary>Longest Table key written: Azurite refuses longer ones (Azure allows 1 KiB).</summary>
    public const int TableKeyLimit = 512;

    /// <summary>Longest blob name written (Azure's limit).</summary>
    public const int BlobNameLimit = 1024;

    /// <summary>Path segments of a grain key stored as is in a blob name; Azure allows 254 in the whole name.</summary>
    public const int MaxBlobKeySegments = 100;

    /// <summary>Keeps Azure Table grain state within <see cref="TableKeyLimit"/>: the limit minus "{ServiceId}_{grain type}/".</summary>
    public static BoundedKeyGrainStorage ForTable(IGrainStorage inner, string serviceId) =>
        new(inner, (_, id) => TableKeyLimit - serviceId.Length - 1 - id.Type.ToString()!.Length - 1, pathSafe: false);

    /// <summary>Keeps blob names within <see cref="BlobNameLimit"/>: the limit minus "{state}-{grain type}/" and ".json".</summary>
    public static BoundedKeyGrainStorage ForBlob(IGrainStorage inner) =>
        new(inner, (stateName, id) => BlobNameLimit - stateName.Length - 1 - id.Type.ToString()!.Length - 1 - ".json".Length, pathSafe: true);

    /// <summary>The grain id the store sees for <paramref name="grainId"/>.</summary>
    public GrainId StoredId(string stateName, GrainId grainId)
    {
        var key = grainId.Key.ToString()!;
        var stored = pathSafe && HasUnsafePath(key)
            ? ProfileKey.HashedStorageKey(key) // whatever its length: the hashed form has no '/'
            : ProfileKey.BoundStorageKey(key, Math.Max(maxKeyLength(stateName, grainId), ProfileKey.HashedKeyLength));
        return ReferenceEquals(stored, key) ? grainId : GrainId.Create(grainId.Type, stored);
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, StoredId(stateName, grainId), grainState);

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.ReadStateAsync(stateName, StoredId(stateName, grainId), grainState, cancellationToken);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.WriteStateAsync(stateName, StoredId(stateName, grainId), grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.WriteStateAsync(stateName, StoredId(stateName, grainId), grainState, cancellationToken);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, StoredId(stateName, grainId), grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken) =>
        inner.ClearStateAsync(stateName, StoredId(stateName, grainId), grainState, cancellationToken);

    /// <summary>
    /// A path segment that ends with a dot ("." and ".." resolved away by the URL, "acme." trimmed by Azure), or more
    /// segments than a blob name may have (254).
    /// </summary>
    public static bool HasUnsafePath(string key)
    {
        var segments = key.Split('/');
        return segments.Length > MaxBlobKeySegments || segments.Any(segment => segment.EndsWith('.'));
    }
}

public static class BoundedKeyGrainStorageExtensions
{
    /// <summary>The name the wrapped provider is registered under.</summary>
    public static string InnerName(string name) => name + "-unbounded";

    /// <summary>
    /// Registers grain storage <paramref name="name"/> as <see cref="BoundedKeyGrainStorage"/> over the provider
    /// registered as <see cref="InnerName"/>(<paramref name="name"/>).
    /// </summary>
    public static IServiceCollection AddBoundedKeys(this IServiceCollection services, string name, bool blob)
    {
        services.AddKeyedSingleton<IGrainStorage>(name, (provider, _) =>
        {
            var inner = provider.GetRequiredKeyedService<IGrainStorage>(InnerName(name));
            return blob
                ? BoundedKeyGrainStorage.ForBlob(inner)
                : BoundedKeyGrainStorage.ForTable(inner, provider.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId);
        });
        return services;
    }
}
