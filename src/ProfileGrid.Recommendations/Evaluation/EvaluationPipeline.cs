using ProfileGrid.Recommendations.Import;

namespace ProfileGrid.Recommendations.Evaluation;

/// <summary>An evaluation of a ratings file, as the CLI (or an API) asks for it.</summary>
/// <param name="RatingsPath">The interaction file.</param>
/// <param name="Format">Its layout.</param>
/// <param name="UsersPath">MovieLens <c>u.user</c> for demographic slices, or null.</param>
/// <param name="Algorithms">Registered algorithm names (<see cref="TrainerRegistry"/>), in display order.</param>
/// <param name="K">List length.</param>
/// <param name="Split">How to hold out.</param>
/// <param name="Slices">Slice names (<see cref="SliceMaps.Known"/>).</param>
/// <param name="Columns">Columns of a generic CSV, or null for the conventional names.</param>
/// <param name="MinPositiveRating">
/// Ratings below this (on the default 5-point scale) are dislikes and leave the matrix (<see cref="InteractionWeights.MinPositiveRating"/>).
/// 0, the default: every rating is positive, as in Microsoft Recommenders' published MovieLens tables.
/// </param>
/// <param name="RatingScale">The top of the file's rating scale (5 for MovieLens stars, 10 for Book-Crossing): a rating
/// weighs its share of it (<see cref="InteractionWeights.RatingScale"/>).</param>
/// <param name="Reading">How to read the file beyond <paramref name="Format"/> and <paramref name="Columns"/> (separator,
/// encoding, names of a file without a header, an implicit rating value); null: the defaults.</param>
public sealed record EvaluationRequest(
    string RatingsPath,
    InteractionFileFormat Format,
    string? UsersPath,
    IReadOnlyList<string> Algorithms,
    int K,
    SplitOptions Split,
    IReadOnlyList<string> Slices,
    ColumnMapping? Columns = null,
    double MinPositiveRating = 0,
    ImportOptions? Reading = null,
    double RatingScale = 5)
{
    /// <summary>The weights interactions are weighed with: the defaults, with <see cref="MinPositiveRating"/> and <see cref="RatingScale"/>.</summary>
    public InteractionWeights Weights => new() { MinPositiveRating = MinPositiveRating, RatingScale = RatingScale };

    /// <summary>Every problem with the request, each naming its option; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>(Split.Validate());
        if (K is < 1 or > 1000)
        {
            problems.Add($"k must be between 1 and 1000 ({K})");
        }

        if (!(RatingScale > 0) || double.IsInfinity(RatingScale))
        {
            problems.Add($"rating-scale must be a positive number, the top of the file's scale ({RatingScale})");
        }
        else if (!(MinPositiveRating >= 0) || !(MinPositiveRating <= Weights.RatingScale))
        {
            problems.Add($"min-positive-rating must be between 0 (every rating positive) and the rating scale, {Weights.RatingScale} ({MinPositiveRating})");
        }

        if (Algorithms.Count == 0)
        {
            problems.Add("algorithms: name at least one");
        }

        var known = TrainerRegistry.Names;
        foreach (var unknown in Algorithms.Where(a => !known.Contains(a)))
        {
            problems.Add($"algorithms: unknown '{unknown}' (known: {string.Join(", ", known)})");
        }

        foreach (var repeated in Algorithms.GroupBy(a => a, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            problems.Add($"algorithms: '{repeated.Key}' is named {repeated.Count()} times; name each once");
        }

        foreach (var unknown in Slices.Where(s => !SliceMaps.Known.Contains(s)))
        {
            problems.Add($"slice: unknown '{unknown}' (known: {string.Join(", ", SliceMaps.Known)})");
        }

        var demographic = Slices.Where(s => s is not "segment" && SliceMaps.Known.Contains(s)).ToArray();
        if (demographic.Length > 0 && UsersPath is null)
        {
            problems.Add($"slice: {string.Join(", ", demographic)} need a users file (--users u.user)");
        }

        return problems;
    }
}

/// <summary>What an evaluation of a file produced: the report and what the imports read and rejected.</summary>
public sealed record EvaluationOutcome(EvaluationReport Report, InteractionImport Interactions, UserAttributesImport? Users);

/// <summary>Import, build, split, evaluate: the whole offline evaluation of a ratings file.</summary>
public static class EvaluationPipeline
{
    /// <summary>
    /// Runs <paramref name="request"/>. Models train "now" = the file's last interaction, so a history years old is
    /// weighed as it was when it ended. Interactions become weights with the default <see cref="InteractionWeights"/>
    /// (every rating positive unless the request sets <see cref="EvaluationRequest.MinPositiveRating"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid (the message lists every problem).</exception>
    public static EvaluationOutcome Run(
        EvaluationRequest request,
        IProgress<ImportProgress>? importProgress = null,
        IProgress<EvaluationProgress>? evaluationProgress = null,
        CancellationToken cancellationToken = default)
    {
        var problems = request.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join("; ", problems), nameof(request));
        }

        var interactions = InteractionImporter.Import(
            request.RatingsPath, (request.Reading ?? new ImportOptions()) with { Format = request.Format, Columns = request.Columns }, importProgress, cancellationToken);
        var users = request.UsersPath is { } path ? MovieLensFiles.ReadUsers(path) : null;
        var now = interactions.Summary.Latest ?? DateTimeOffset.UtcNow;
        var matrix = InteractionMatrix.Build(interactions.Users, request.Weights, now);
        var split = DataSplitter.Split(matrix, request.Split);
        var slices = SliceMaps.Build(request.Slices, split, users?.Users);
        var report = OfflineEvaluator.Evaluate(
            split, TrainerRegistry.Create(request.Algorithms), new EvaluationOptions(request.K, now), slices, evaluationProgress, cancellationToken);
        return new EvaluationOutcome(report, interactions, users);
    }
}
