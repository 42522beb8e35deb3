using System.Globalization;

namespace ProfileGrid.Domain;

/// <summary>
/// The tag a recommendation id served in an experiment ends with: <c>-x{experiment number}v{variant index}</c>
/// (rec-0192f0c4a1b27c3e9d0a5b6c7d8e9f00-x3v1). Feedback quoting the id counts for that variant.
/// </summary>
public static class ExperimentTag
{
    public static string Of(int experiment, int variant) => string.Create(CultureInfo.InvariantCulture, $"-x{experiment}v{variant}");

    public static bool TryParse(string recommendationId, out int experiment, out int variant)
    {
        (experiment, variant) = (0, 0);
        var id = recommendationId.AsSpan();
        var x = id.LastIndexOf("-x", StringComparison.Ordinal);
        if (x < 0)
        {
            return false;
        }

        var tag = id[(x + 2)..];
        var v = tag.IndexOf('v');
        return v > 0
            && int.TryParse(tag[..v], NumberStyles.None, CultureInfo.InvariantCulture, out experiment)
            && int.TryParse(tag[(v + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out variant)
            && experiment > 0 && variant < 100;
    }
}
