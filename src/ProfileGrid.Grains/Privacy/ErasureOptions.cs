namespace ProfileGrid.Grains.Privacy;

/// <summary>Erasure settings; the host derives them from its gateway's, so they have no section of their own.</summary>
public sealed class ErasureOptions
{
    /// <summary>
    /// How far ahead of the server's clock the gateway accepts an event's time (<c>ProfileGrid:Gateway:MaxFutureSkew</c>):
    /// an erasure's cut-off is its time plus this, so that an event acknowledged before it from a client whose clock runs
    /// fast is erased with the rest.
    /// </summary>
    public TimeSpan EventsAheadOfClock { get; set; } = TimeSpan.FromMinutes(5);
}
