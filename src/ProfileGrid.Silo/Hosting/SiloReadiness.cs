using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace ProfileGrid.Silo.Hosting;

/// <summary>Healthy once the host, and with it the silo, has started.</summary>
internal sealed class SiloReadiness : IHealthCheck
{
    private volatile bool _ready;

    public void MarkReady() => _ready = true;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_ready ? HealthCheckResult.Healthy("started: the silo and its gateway take requests") : HealthCheckResult.Unhealthy("starting"));
}
