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

    /// <summary>
    /// Records the removal of a keyed <paramref name="field"/> at <paramref name="removedAt"/>: its time stays, with no value,
    /// so that a value dated before the removal and arriving after it does not bring the field back, and a rebuild lays
    /// the removal over again (probe58 review). Of such marks for <paramref name="prefix"/> fields, at most
    /// <paramref name="keep"/> are kept, the oldest forgotten first, so that keys added and removed forever do not grow
    /// the state.
    /// </summary>
    public static void Remove(Dictionary<string, DateTimeOffset> clock, string field, DateTimeOffset removedAt, Func<string, bool> hasValue, string prefix, int keep)
    {
        clock[SharedText.Of(field)!] = removedAt;
        var removals = clock.Where(pair => pair.Key.StartsWith(prefix, StringComparison.Ordinal) && !hasValue(pair.Key[prefix.Length..])).ToList();
        if (removals.Count > keep)
        {
            foreach (var (oldest, _) in removals.OrderBy(pair => pair.Value).ThenBy(pair => pair.Key, StringComparer.Ordinal).Take(removals.Count - keep))
            {
                clock.Remove(oldest);
            }
        }
    }

    /// <summary>True when no value of <paramref name="field"/> as new as <paramref name="observedAt"/> is known (records nothing).</summary>
    public static bool IsLater(Dictionary<string, DateTimeOffset> clock, string field, DateTimeOffset observedAt) =>
        !clock.TryGetValue(field, out var current) || observedAt > current;
}
