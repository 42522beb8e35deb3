using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Domain;

/// <summary>
/// Told of each event <see cref="ProfileUpdater.Apply"/> applies (not of duplicates), so that statistics can count events by
/// type and source without a second pass over the batch or a list of what was applied.
/// </summary>
public interface IEventTally
{
    /// <summary>Called once for every event that changed the profile, in batch order.</summary>
    void Applied(UserEvent applied);
}
