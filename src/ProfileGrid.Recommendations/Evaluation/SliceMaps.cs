namespace ProfileGrid.Recommendations.Evaluation;

/// <summary>Builds the user → group maps that <see cref="OfflineEvaluator"/> slices by.</summary>
public static class SliceMaps
{
    /// <summary>The group of test users whose attribute is missing.</summary>
    public const string Unknown = "unknown";

    /// <summary>The slice names that user attributes can fill (as the CLI's --slice takes them).</summary>
    public static IReadOnlyList<string> Known { get; } = ["segment", "gender", "age-band", "occupation", "country"];

    /// <summary>
    /// One map per requested slice: "segment" from the split's segment labels, every other name from the users'
    /// attributes of that name (see <see cref="Import.MovieLensFiles.ReadUsers(string)"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Build(
        IEnumerable<string> slices, EvaluationSplit split, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? attributes)
    {
        var maps = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var slice in slices)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var user in split.TestUsers)
            {
                var group = slice == "segment"
                    ? split.Segments.GetValueOrDefault(user)
                    : attributes?.GetValueOrDefault(user)?.GetValueOrDefault(slice);
                if (!string.IsNullOrWhiteSpace(group))
                {
                    map[user] = group;
                }
            }

            maps[slice] = map;
        }

        return maps;
    }
}
