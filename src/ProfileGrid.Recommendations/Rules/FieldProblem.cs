using System.Buffers;

namespace ProfileGrid.Recommendations.Rules;

/// <summary>
/// One problem with client input, naming the field the way the client wrote it (<c>rules[2].action.factor</c>,
/// <c>items[3].price</c>) and saying why, with the offending value where that helps. The edge maps it to
/// InvalidArgument (or a gRPC BadRequest field violation) unchanged.
/// </summary>
public sealed record FieldProblem(string Field, string Reason)
{
    public override string ToString() => $"{Field}: {Reason}";
}

/// <summary>Checks shared by rule and catalog validation, worded as the gateway words them.</summary>
public static class TextChecks
{
    // Characters char.IsControl accepts: U+0000..U+001F and U+007F..U+009F.
    private static readonly SearchValues<char> ControlCharacters = SearchValues.Create(
        string.Concat(Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7F, 0x21)).Select(c => (char)c)));

    public static bool HasControlCharacters(string value) => value.AsSpan().ContainsAny(ControlCharacters);

    /// <summary>An id: 1 to <paramref name="maxLength"/> characters, not blank, no control characters. Null when fine.</summary>
    public static string? IdProblem(string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return "is required";
        }

        if (value.Length > maxLength)
        {
            return $"is {value.Length} characters long; the limit is {maxLength}";
        }

        return HasControlCharacters(value) ? "contains control characters" : null;
    }

    /// <summary>Why "." or ".." cannot be an id that REST paths name (URLs resolve them as dot segments); null for any other.</summary>
    public static string? DotSegmentProblem(string? id) =>
        id is "." or ".." ? $"'{id}' cannot be an id: URLs resolve it as a dot segment, so no REST path could name it" : null;

    /// <summary>Optional free text: at most <paramref name="maxLength"/> characters, and no U+0000 (as the gateway's text). Null when fine.</summary>
    public static string? TextProblem(string? value, int maxLength) =>
        value is not null && value.Length > maxLength ? $"is {value.Length} characters long; the limit is {maxLength}" : NulProblem(value);

    /// <summary>
    /// Why text holding U+0000 is refused, or null without one. Text may hold tabs, line breaks and any other character a
    /// real export carries, but U+0000 is no character of any text and ends strings in C tools and databases. Shared by
    /// the gateway's events, the catalog, rules and experiments.
    /// </summary>
    public static string? NulProblem(string? value) =>
        value?.IndexOf('\0', StringComparison.Ordinal) is { } at and >= 0 ? $"holds a NUL character (U+0000) at position {at}" : null;

    /// <summary>A category or tag code as stored and matched: trimmed, lower case (invariant), null when blank.</summary>
    public static string? Code(string? value) => value?.Trim().ToLowerInvariant() is { Length: > 0 } code ? code : null;

    public static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
