using Microsoft.Extensions.Options;

namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// Bounds the write-behind profile state writes in flight in one silo (<see cref="IngestOptions.MaxConcurrentStateWrites"/>). A
/// burst of new users otherwise starts thousands of writes at once: storage (Azurite's table engine above all) answers
/// them minutes later, client calls time out while their inserts land, and grain calls queued behind them expire.
/// Waiting here is cheap and in order, and the waiting profile's grain stays free to take events.
/// </summary>
public sealed class ProfileWriteGate(IOptions<IngestOptions> options)
{
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrentStateWrites, options.Value.MaxConcurrentStateWrites);

    /// <summary>Writes waiting for a slot right now.</summary>
    public int Waiting => Math.Max(0, Volatile.Read(ref _waiting));

    private int _waiting;

    /// <summary>Runs <paramref name="write"/> once a slot is free; continuations stay on the caller's scheduler.</summary>
    public async Task RunAsync(Func<Task> write)
    {
        Interlocked.Increment(ref _waiting);
        try
        {
            await _slots.WaitAsync();
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        try
        {
            await write();
        }
        finally
        {
            _slots.Release();
        }
    }
}
