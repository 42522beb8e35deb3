using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Abstractions;

public static class SegmentationSerialization
{
    /// <summary>NaN marks figures that were not computed (e.g. stability when it was skipped), so it must round-trip.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Lets Orleans carry the segmentation library's types (models, settings) as System.Text.Json inside its own
    /// format: the library has no Orleans attributes because it does not reference Orleans. Silos and every client
    /// that calls the segmentation grains need it.
    /// </summary>
    public static IServiceCollection AddSegmentationSerializer(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            isSupported: type => type.Namespace == typeof(SegmentModel).Namespace,
            jsonSerializerOptions: JsonOptions));
}
