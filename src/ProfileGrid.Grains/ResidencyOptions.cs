namespace ProfileGrid.Grains;

/// <summary>What a resident profile activation keeps in memory between uses (configuration section "ProfileGrid:Residency").</summary>
public sealed class ResidencyOptions
{
    public const string Section = "ProfileGrid:Residency";

    /// <summary>
    /// A profile that has had no event, read or write for this long, and holds nothing unwritten and no read view, keeps
    /// its state packed (serialized and compressed to under a third of its heap bytes, see <see cref="ProfilePacker"/>) instead of its object graph, until
    /// the next call unpacks it. Checked once per this interval, so a profile packs between one and two intervals after
    /// its last use. <see cref="TimeSpan.Zero"/> turns packing off.
    /// </summary>
    public TimeSpan PackIdleAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A read view (and the answer template the gateway keeps beside it) is kept until no read came for this long, and
    /// then dropped: a profile being read answers from it, one that is not holds none. A packed profile keeps one from its
    /// second read within this interval (a read once builds its answer and keeps nothing). Checked once per this interval.
    /// </summary>
    public TimeSpan ViewKeptFor { get; set; } = TimeSpan.FromMinutes(1);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (PackIdleAfter < TimeSpan.Zero || (PackIdleAfter > TimeSpan.Zero && PackIdleAfter < TimeSpan.FromMilliseconds(10)))
        {
            problems.Add("PackIdleAfter must be 0 (off) or at least 10 ms.");
        }

        if (ViewKeptFor < TimeSpan.FromMilliseconds(10))
        {
            problems.Add("ViewKeptFor must be at least 10 ms.");
        }

        return problems;
    }
}
