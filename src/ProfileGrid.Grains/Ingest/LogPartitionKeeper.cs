using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Ingest;

/// <summary>
/// Keeps every log partition active. A partition replays what no profile has written only when it activates; one
/// whose silo died would otherwise wait for the next append to wake it. Every silo pings every partition (a few
/// dozen cheap calls a minute), so the cluster needs no designated owner.
/// </summary>
public sealed class LogPartitionKeeper(IGrainFactory grains, IOptions<IngestOptions> options) : BackgroundService
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(15);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period);
        do
        {
            try
            {
                await Task.WhenAll(Enumerable.Range(0, options.Value.Partitions)
                    .Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).GetStatusAsync()));
            }
            catch (Exception) when (!stoppingToken.IsCancellationRequested)
            {
                // A partition moving between silos: the next tick tries again.
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
