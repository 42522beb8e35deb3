using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace ProfileGrid.Domain.Tests;

/// <summary>
/// Grain state exactly as ProfileGrid stores it: Orleans' <see cref="OrleansGrainStorageSerializer"/> (binary,
/// version tolerant through the [Id]s), which the silo registers in place of the default JSON serializer.
/// </summary>
internal static class StoredState
{
    private static readonly OrleansGrainStorageSerializer Serializer = new(
        new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(UserProfile).Assembly))
            .BuildServiceProvider()
            .GetRequiredService<Serializer>());

    public static byte[] Serialize(UserProfile profile) => Serializer.Serialize(profile).ToArray();

    public static UserProfile Deserialize(byte[] stored) => Serializer.Deserialize<UserProfile>(BinaryData.FromBytes(stored))!;
}
