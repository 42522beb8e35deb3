namespace ProfileGrid.Grains.Lake;

/// <summary>
/// The UTC days of the lake (its date folders) a read visits for one user: from <see cref="First"/> to <see cref="Last"/>,
/// both included; a missing bound leaves that side open. <see cref="None"/> visits no day (a profile without events).
/// </summary>
public sealed record LakeDayRange(DateOnly? First, DateOnly? Last)
{
    /// <summary>Every day: no pruning.</summary>
    public static LakeDayRange All { get; } = new(null, null);

    /// <summary>No day: nothing of the user's can be in the lake.</summary>
    public static LakeDayRange None { get; } = new(DateOnly.MaxValue, DateOnly.MinValue);

    public bool IsEmpty => First is { } first && Last is { } last && first > last;

    public bool IsAll => First is null && Last is null;

    public bool Contains(DateOnly day) => (First is null || day >= First) && (Last is null || day <= Last);

    /// <summary>Whether any day from <paramref name="first"/> to <paramref name="last"/> (a month folder's, say) is in range.</summary>
    public bool Overlaps(DateOnly first, DateOnly last) => (First is null || last >= First) && (Last is null || first <= Last);

    /// <summary>The days of the events between two instants (the range's days in UTC), either side open when unknown.</summary>
    public static LakeDayRange Between(DateTimeOffset? first, DateTimeOffset? last) =>
        new(first is { } f ? DateOnly.FromDateTime(f.UtcDateTime) : null, last is { } l ? DateOnly.FromDateTime(l.UtcDateTime) : null);

    public override string ToString() => IsEmpty ? "none" : $"{First?.ToString("yyyy-MM-dd") ?? "…"}..{Last?.ToString("yyyy-MM-dd") ?? "…"}";
}
