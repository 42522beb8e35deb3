using System.Net;
using ProfileGrid.DevHost;

namespace ProfileGrid.Silo.Tests;

/// <summary>The storage check of the detailed health report against a real Azurite that goes away and comes back.</summary>
public class StorageHealthTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_storage_check_reports_Azure_Storage_reachable_then_unhealthy_while_Azurite_is_stopped_then_healthy_again()
    {
        var location = Path.Combine(Path.GetTempPath(), "profilegrid-health-" + Guid.NewGuid().ToString("N")[..8]);
        var ports = AzuriteServer.FreeTcpPorts(3);
        var (blob, queue, table) = (ports[0], ports[1], ports[2]);
        var azurite = await AzuriteServer.StartAsync(location, blob, queue, table);
        try
        {
            await using var silo = await SiloProcess.StartDurableAsync(
                azurite.ConnectionString, "h" + Guid.NewGuid().ToString("N")[..10], "--ProfileGrid:IngestPath=Log",
                "--ProfileGrid:Health:CacheFor=00:00:01", "--ProfileGrid:Health:StorageTimeout=00:00:01");

            var report = await ObservabilityTests.HealthUntilAsync(silo, r => r.Checks["storage"].Status == "Healthy");
            output.WriteLine(report.Checks["storage"].Description);
            Assert.StartsWith("Azure Storage reachable: table", report.Checks["storage"].Description);
            Assert.Equal(200, report.HttpStatus);

            await azurite.DisposeAsync();
            report = await ObservabilityTests.HealthUntilAsync(silo, r => r.Checks["storage"].Status == "Unhealthy");
            output.WriteLine(report.Checks["storage"].Description);
            Assert.Equal("Unhealthy", report.Status);
            Assert.Equal((int)HttpStatusCode.ServiceUnavailable, report.HttpStatus);
            Assert.StartsWith("Azure Storage unreachable (table:", report.Checks["storage"].Description);
            Assert.Contains("blob:", report.Checks["storage"].Description);
            Assert.DoesNotContain("Exception: 0", report.Checks["storage"].Description);

            // Readiness stays: storage is shared by every silo, and taking them all out of the balancer would turn a clear
            // "Unavailable, retry" into connection errors (docs/observability.md).
            using var plain = await silo.Http.GetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, plain.StatusCode);

            azurite = await AzuriteServer.StartAsync(location, blob, queue, table);
            report = await ObservabilityTests.HealthUntilAsync(silo, r => r.Checks["storage"].Status == "Healthy", seconds: 60);
            Assert.StartsWith("Azure Storage reachable", report.Checks["storage"].Description);
        }
        finally
        {
            await azurite.DisposeAsync();
            try
            {
                Directory.Delete(location, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
