using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Segments;

public static class SegmentationSerialization
{
    /// <summary>NaN marks figures that were not computed (e.g. stability when it was skipped), so it must round-trip.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>
    /// Lets the segmentation grain keep the library's types (the trained model, the settings) in its stored state, as
    /// System.Text.Json inside Orleans' format: the library has no Orleans attributes because it does not reference
    /// Orleans. Grain storage needs it, and so do calls to the recommender's rules grain, whose contract carries the
    /// library's rule types: an Orleans client of the grid (a job joining the cluster) adds it too. Other calls between
    /// grains carry the contract's own types (<c>ProfileGrid.Abstractions.Segments</c>), and models stored by earlier
    /// releases stay readable.
    /// </summary>
    public static IServiceCollection AddSegmentationSerializer(this IServiceCollection services) =>
        services.AddSerializer(serializer => serializer.AddJsonSerializer(
            // The recommender's rules and the experiments (library types) cross grains and are stored the same way.
            isSupported: type => type.Namespace == typeof(SegmentModel).Namespace
                || type.Namespace == typeof(ProfileGrid.Recommendations.Rules.RuleSet).Namespace
                || type.Namespace == typeof(ProfileGrid.Experiments.Design.ExperimentSet).Namespace
                || type.Namespace == typeof(ProfileGrid.Experiments.Results.ExperimentResult).Namespace
                || type.Namespace == typeof(ProfileGrid.Experiments.Fairness.GroupTally).Namespace,
            jsonSerializerOptions: JsonOptions));
}
