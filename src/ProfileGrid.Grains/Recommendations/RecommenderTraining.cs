using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Recommendations;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>A trained model package and its summary.</summary>
public sealed record TrainedPackage(byte[] Package, RecommenderStatus Status);

/// <summary>The tenant's data cannot support a model (no interactions, a single item).</summary>
public sealed class InsufficientTrainingDataException(string message) : Exception(message);

/// <summary>Turns gathered interactions into a model package: pure and CPU-bound, run off the grain's turn.</summary>
public static class RecommenderTraining
{
    /// <summary>
    /// The instant ages (trending, decay, age bands) count from: the data's latest interaction, or now if that is later.
    /// The same as now for a live tenant; an imported history from 1998 keeps its trend instead of every weight decayed
    /// to nothing.
    /// </summary>
    public static DateTimeOffset ReferenceTime(IReadOnlyList<UserInteractions> users, DateTimeOffset now)
    {
        var latest = users.SelectMany(u => u.Items).Select(i => i.LastAt).DefaultIfEmpty(now).Max();
        return latest < now ? latest : now;
    }

    public static TrainedPackage Train(
        IReadOnlyList<UserInteractions> users,
        IReadOnlyDictionary<string, ItemFact> facts,
        RecommenderTrainRequest settings,
        long version,
        DateTimeOffset now)
    {
        var weights = RecommenderSettings.Weights(settings);
        var reference = ReferenceTime(users, now);
        var matrix = InteractionMatrix.Build(users, weights, reference);
        if (matrix.UserCount == 0 || matrix.ItemCount < 2)
        {
            throw new InsufficientTrainingDataException(
                $"the tenant has {matrix.UserCount} users with {matrix.ItemCount} distinct items interacted with; a recommender needs at least one user and two items (send product_view, add_to_cart, purchase or rating events first)");
        }

        var warnings = new List<string>();
        var model = RecommenderModels.Train(matrix, settings, reference, warnings);
        var catalog = facts.Values.ToDictionary(
            f => f.ItemId,
            f => new CatalogItem(f.ItemId, f.Category, f.Price, f.Currency, Available: true, [], new Dictionary<string, string>(), FromEvents: true),
            StringComparer.Ordinal);
        var package = new ModelPackage { Version = version, TrainedAt = now, EventCatalog = catalog, Model = model, Weights = weights }.ToBytes();
        var status = new RecommenderStatus
        {
            Version = version,
            TrainedAt = now,
            Users = matrix.UserCount,
            Items = matrix.ItemCount,
            Interactions = matrix.NonZeros,
            ModelBytes = package.Length,
            CandidateAlgorithm = settings.CandidateAlgorithm ?? "",
            Settings = settings,
            Warnings = warnings.ToArray(),
        };
        return new TrainedPackage(package, status);
    }
}
