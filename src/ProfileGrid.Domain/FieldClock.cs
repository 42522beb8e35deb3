namespace ProfileGrid.Domain;

/// <summary>
/// Last-writer-wins by observation time for individually updated fields, so that updates applied out of
/// order converge on the newest value.
/// </summary>
internal static class FieldClock
{
    /// <summary>
    /// True (and records <paramref name="observedAt"/>) when no newer value of <paramref name="field"/> is known, and at
    /// the same instant as the known one only when the new value comes later in a fixed order of values
    /// (<paramref name="tieOrder"/> above 0, a comparison of the new value with the current one): two updates of one
    /// instant (a minute-resolution export, a web and a CRM record) then leave the same value whatever order they
    /// arrive, replay or merge in (probe58: the last to arrive won).
    /// </summary>
    public static bool TryClaim(Dictionary<string, DateTimeOffset> clock, string field, DateTimeOffset observedAt, int tieOrder)
    {
        if (clock.TryGetValue(field, out var current) && (observedAt < current || (observedAt == current && tieOrder <= 0)))
        {
            return false;
        }

        clock[SharedText.Of(field)!] = observedAt;
        return true;
    }

    /// <summary>The fixed order of text values at a tie: ordinal; a value beats none.</summary>
    public static int Order(string? value, string? current) => current is null ? 1 : string.CompareOrdinal(value, current);

    /// <summary>The fixed order of consent flags at a tie: a refusal (false) comes last, so it stands.</summary>
    public static int Order(bool value, bool? current) => current is null ? 1 : current.Value.CompareTo(value);

    /// <summary>True when no value of <paramref name="field"/> as new as <paramref name="observedAt"/> is known (records nothing).</summary>
    public static bool IsLater(Dictionary<string, DateTimeOffset> clock, string field, DateTimeOffset observedAt) =>
        !clock.TryGetValue(field, out var current) || observedAt > current;
}
