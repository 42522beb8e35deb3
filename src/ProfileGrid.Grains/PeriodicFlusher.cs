using Microsoft.Extensions.Hosting;

namespace ProfileGrid.Grains;

/// <summary>
/// A silo-local service that sends what the silo gathered to grains every <see cref="Interval"/>, and once more when the
/// silo stops, so that nothing gathered is left behind by a clean shutdown.
/// </summary>
public abstract class PeriodicFlusher : BackgroundService
{
    protected abstract TimeSpan Interval { get; }

    protected virtual TimeProvider Clock => TimeProvider.System;

    /// <summary>False when there is nothing to flush at all (collection switched off): no timer, no final flush.</summary>
    protected virtual bool Active => true;

    /// <summary>Sends what was gathered since the last flush.</summary>
    public abstract Task FlushAsync();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Active)
        {
            return;
        }

        using var timer = new PeriodicTimer(Interval, Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the last flush follows in StopAsync.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Active)
        {
            await FlushAsync();
        }
    }
}
