// Temporary: replaced by the algorithms library at merge.
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

internal static class HybridFactory
{
    public static IRecommender Train(InteractionMatrix matrix, RecommenderTrainRequest settings, DateTimeOffset now, List<string> warnings) =>
        throw new NotSupportedException("pending merge");
}

internal static class RecommenderModelFormat
{
    public static void Write(IRecommender model, Stream stream) => throw new NotSupportedException("pending merge");

    public static IRecommender Read(Stream stream) => throw new NotSupportedException("pending merge");
}

public static class RecommenderModels
{
    public static IReadOnlyList<ScoredItem>? Similar(IRecommender model, string itemId, int count) => throw new NotSupportedException("pending merge");
}
