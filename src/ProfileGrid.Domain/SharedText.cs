namespace ProfileGrid.Domain;

/// <summary>
/// One copy per process of text that many profiles hold alike: countries, locales, cities, user agents, categories,
/// currencies, and the keys of traits, preferences and field clocks. Every event brings its own strings (parsed from the
/// wire or the log), so without this each resident profile keeps its own copy of, say, a 150-character user agent.
/// </summary>
/// <remarks>
/// Bounded: at most <see cref="MaxEntries"/> strings of at most <see cref="MaxLength"/> characters. When it is full it
/// starts afresh (strings already handed out stay valid; they are only no longer shared with later ones), so distinct
/// values beyond the bound cost churn, never unbounded memory. Values unique per user (trait and preference values,
/// ids) are not passed here.
/// </remarks>
internal static class SharedText
{
    public const int MaxLength = 512;
    public const int MaxEntries = 65_536;

    private static readonly BoundedStringPool Pool = new(MaxLength, MaxEntries);

    public static string? Of(string? text) => Pool.Of(text);

    /// <summary>The same entries with shared keys (a dictionary read from storage holds keys of its own).</summary>
    public static Dictionary<string, TValue> Keys<TValue>(Dictionary<string, TValue> values)
    {
        var shared = new Dictionary<string, TValue>(values.Count, values.Comparer);
        foreach (var (key, value) in values)
        {
            shared[Of(key)!] = value;
        }

        return shared;
    }
}
