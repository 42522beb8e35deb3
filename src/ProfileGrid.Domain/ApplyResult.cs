namespace ProfileGrid.Domain;

/// <summary>What <see cref="ProfileUpdater.Apply"/> did with a batch.</summary>
/// <param name="Applied">Events that changed the profile.</param>
/// <param name="Duplicates">Events skipped because their id was in the dedupe window (replays); they changed nothing.</param>
public readonly record struct ApplyResult(int Applied, int Duplicates)
{
    /// <summary>True when the profile changed and must be persisted.</summary>
    public bool Changed => Applied > 0;
}
