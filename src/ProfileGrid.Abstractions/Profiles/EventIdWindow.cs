namespace ProfileGrid.Abstractions.Profiles;

/// <summary>
/// The ids of the most recently applied events, oldest first: a replay of any of them is recognised and skipped.
/// </summary>
/// <remarks>
/// Only <see cref="Ids"/> is persisted; the hash set that makes lookups O(1) is rebuilt on first use.
/// Change the window through <see cref="TryAdd"/> and <see cref="TrimTo"/> so the two stay in step.
/// </remarks>
[GenerateSerializer, Alias("pg.event-id-window")]
public sealed class EventIdWindow
{
    [NonSerialized] private HashSet<string>? lookup;
    [NonSerialized] private List<string>? lookupSource;

    [Id(0)] public List<string> Ids { get; set; } = [];

    public bool Contains(string eventId) => Lookup().Contains(eventId);

    /// <summary>Remembers <paramref name="eventId"/> as the newest id; false if it was already remembered.</summary>
    public bool TryAdd(string eventId)
    {
        if (!Lookup().Add(eventId))
        {
            return false;
        }

        Ids.Add(eventId);
        return true;
    }

    /// <summary>Forgets the oldest ids beyond <paramref name="capacity"/>.</summary>
    public void TrimTo(int capacity)
    {
        var excess = Ids.Count - Math.Max(0, capacity);
        if (excess <= 0)
        {
            return;
        }

        var set = Lookup();
        for (var i = 0; i < excess; i++)
        {
            set.Remove(Ids[i]);
        }

        Ids.RemoveRange(0, excess);
    }

    private HashSet<string> Lookup()
    {
        // Deserializers may replace the list or fill it in place, so rebuild whenever the set no longer mirrors it.
        if (lookup is null || !ReferenceEquals(lookupSource, Ids) || lookup.Count != Ids.Count)
        {
            lookup = new HashSet<string>(Ids, StringComparer.Ordinal);
            lookupSource = Ids;
        }

        return lookup;
    }
}
