namespace ProfileGrid.Domain;

/// <summary>
/// Last-writer-wins by observation time for individually updated fields, so that updates applied out of
/// order converge on the newest value.
/// </summary>
internal static class FieldClock
{
    /// <summary>True (and records <paramref name="observedAt"/>) when no newer value of <paramref name="field"/> is known.</summary>
    public static bool TryClaim(Dictionary<string, DateTimeOffset> clock, string field, DateTimeOffset observedAt)
    {
        if (clock.TryGetValue(field, out var current) && observedAt < current)
        {
            return false;
        }

        clock[SharedText.Of(field)!] = observedAt;
        return true;
    }

    /// <summary>True when no newer value of <paramref name="field"/> is known (records nothing).</summary>
    public static bool IsCurrent(Dictionary<string, DateTimeOffset> clock, string field, DateTimeOffset observedAt) =>
        !clock.TryGetValue(field, out var current) || observedAt >= current;
}
