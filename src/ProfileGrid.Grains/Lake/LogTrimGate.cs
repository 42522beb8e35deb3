namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Whether a log partition may be trimmed now, against the readers that hold it (a merge's history read: the lake, then
/// the log past the watermark, which an archive step in between must not trim away). Archive steps ask right before they
/// trim, so a step that was already running when a reader came skips its trim too; a reader learns when it lets go
/// whether any trim ran meanwhile (one already trimming when it came, or an erasure, which trims regardless). A hold
/// lapses at its deadline (a reader that died). Thread-safe: steps run on the thread pool, holds come from the grain.
/// </summary>
public sealed class LogTrimGate(TimeProvider clock)
{
    private readonly object _lock = new();
    private readonly Dictionary<Guid, (DateTimeOffset Until, long TrimsBefore)> _holds = [];
    private long _trimsBegun;
    private bool _trimming;

    public void Hold(Guid reader, DateTimeOffset until)
    {
        lock (_lock)
        {
            // A trim under way when the hold comes counts as one that ran during it.
            _holds[reader] = (until, _trimming ? _trimsBegun - 1 : _trimsBegun);
        }
    }

    /// <summary>Lets go; true when no trim began while it was held, nor was running when it came, and it did not lapse.</summary>
    public bool Release(Guid reader)
    {
        lock (_lock)
        {
            return _holds.Remove(reader, out var hold) && hold.TrimsBefore == _trimsBegun && hold.Until > clock.GetUtcNow();
        }
    }

    /// <summary>
    /// Begins a trim unless a reader holds the log (<paramref name="regardless"/>: an erasure, which must trim); a begun
    /// trim is ended with <see cref="EndTrim"/>.
    /// </summary>
    public bool TryBeginTrim(bool regardless = false)
    {
        lock (_lock)
        {
            var now = clock.GetUtcNow();
            foreach (var (reader, hold) in _holds.Where(h => h.Value.Until <= now).ToList())
            {
                _holds.Remove(reader); // lapsed: its release answers false
            }

            if (_holds.Count > 0 && !regardless)
            {
                return false;
            }

            _trimsBegun++;
            _trimming = true;
            return true;
        }
    }

    public void EndTrim()
    {
        lock (_lock)
        {
            _trimming = false;
        }
    }
}
