namespace ProfileGrid.Recommendations.Import;

/// <summary>
/// CSV injection (OWASP): a spreadsheet opening a CSV runs a cell that starts with <c>=</c>, <c>+</c>, <c>-</c>,
/// <c>@</c>, a tab or a carriage return as a formula, so a user id <c>=HYPERLINK(...)</c> sent to the grid would run
/// on the analyst's machine. A text cell written with <see cref="Guard"/> starts with a single quote instead, and is
/// quoted, as OWASP advises; <see cref="Read"/> takes the quote off again when a CSV import reads such a cell.
/// Numbers are never guarded: a negative amount stays a number.
/// </summary>
public static class CsvFormulaGuard
{
    /// <summary>Whether a spreadsheet would take <paramref name="text"/> for a formula.</summary>
    public static bool Needs(ReadOnlySpan<char> text) => !text.IsEmpty && text[0] is '=' or '+' or '-' or '@' or '\t' or '\r';

    /// <summary><paramref name="text"/> with a single quote before it when it <see cref="Needs"/> one; else as it is.</summary>
    public static string Guard(string text) => Needs(text) ? "'" + text : text;

    /// <summary>
    /// The text of a field that Sep read from a <see cref="StrayQuoteReader"/> with unescaping off
    /// (<see cref="StrayQuoteReader.Field"/>), less a guard's quote: a quoted field holding <c>'</c> before
    /// <c>= + - @</c>, a tab or a carriage return was written by <see cref="Guard"/> (or a tool guarding the same
    /// way). An unquoted field keeps its quote, as a file's own text such as <c>'-shaped</c> would be.
    /// </summary>
    public static string Read(ReadOnlySpan<char> raw)
    {
        var text = StrayQuoteReader.Field(raw);
        var start = raw.IndexOfAnyExcept(' ', '\t');
        var quoted = start >= 0 && raw[start] == '"';
        return quoted && text.Length > 1 && text[0] == '\'' && Needs(text.AsSpan(1)) ? text[1..] : text;
    }
}
