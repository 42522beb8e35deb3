using Microsoft.Extensions.DependencyInjection;
using Newtonsoft.Json;
using Orleans.GrainReferences;
using Orleans.Serialization;

namespace ProfileGrid.Domain.Tests;

/// <summary>
/// The grain-storage JSON exactly as Orleans' default JsonGrainStorageSerializer writes it: Newtonsoft with
/// <see cref="OrleansJsonSerializerSettings"/> (type names for every object, Orleans' type binder and its
/// allow-list of types, default values omitted).
/// </summary>
internal static class StorageJson
{
    private static readonly JsonSerializerSettings Settings = CreateSettings();

    public static string Serialize(UserProfile profile) => JsonConvert.SerializeObject(profile, Settings);

    public static UserProfile Deserialize(string json) => JsonConvert.DeserializeObject<UserProfile>(json, Settings)!;

    private static JsonSerializerSettings CreateSettings()
    {
        var services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(UserProfile).Assembly))
            .AddSingleton<GrainReferenceActivator>()
            .BuildServiceProvider();
        return OrleansJsonSerializerSettings.GetDefaultSerializerSettings(services);
    }
}
