using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.DevHost;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Error mapping through the real host: storage that goes away is a transient failure, answered Unavailable (retry),
/// never Internal, and the retry after storage is back lands the events exactly once.
/// </summary>
public class StorageOutageTests(ITestOutputHelper output)
{
    private static IngestEventsRequest Batch(string user, params string[] ids) => new()
    {
        Tenant = "outage",
        Events =
        {
            ids.Select(id => new WireEvent
            {
                EventId = id, Type = "page_view", UserId = user, Source = "web",
                OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), Page = new PageView { Url = "/" },
            }),
        },
    };

    [Fact]
    public async Task Ingest_while_storage_is_down_is_unavailable_and_the_retry_after_it_is_back_counts_once()
    {
        var location = Path.Combine(Path.GetTempPath(), "profilegrid-outage-" + Guid.NewGuid().ToString("N")[..8]);
        var ports = AzuriteServer.FreeTcpPorts(3);
        var (blob, queue, table) = (ports[0], ports[1], ports[2]);
        var azurite = await AzuriteServer.StartAsync(location, blob, queue, table);
        try
        {
            await using var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, "o" + Guid.NewGuid().ToString("N")[..10], "--ProfileGrid:IngestPath=Log");
            var first = await silo.Client.IngestEventsAsync(Batch("ann", "e-1"));
            Assert.Equal(1, first.Accepted);

            await azurite.DisposeAsync();
            var retried = Batch("ann", "e-2", "e-3");
            var error = await Assert.ThrowsAsync<RpcException>(() => silo.Client.IngestEventsAsync(retried, deadline: DateTime.UtcNow.AddMinutes(2)).ResponseAsync);
            output.WriteLine($"{error.StatusCode}: {error.Status.Detail}");
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.Contains("retry", error.Status.Detail, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("Exception", error.Status.Detail, StringComparison.Ordinal);

            azurite = await AzuriteServer.StartAsync(location, blob, queue, table);
            var deadline = DateTime.UtcNow.AddSeconds(90);
            IngestEventsResponse? landed = null;
            while (landed is null)
            {
                try
                {
                    landed = await silo.Client.IngestEventsAsync(retried);
                }
                catch (RpcException again) when (again.StatusCode == StatusCode.Unavailable && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(1000);
                }
                catch (RpcException)
                {
                    output.WriteLine(silo.Output);
                    throw;
                }
            }

            Assert.Equal(2, landed.Accepted);
            Assert.False(silo.HasExited, "the silo must survive a storage outage");
            var applied = 0L;
            // The log acknowledges before the profile applies, and e-1's dispatch may have met the outage: until it is
            // retried the profile does not exist yet (NotFound), which is the wait, not the failure.
            for (var wait = DateTime.UtcNow.AddSeconds(90); applied < 3 && DateTime.UtcNow < wait; await Task.Delay(250))
            {
                try
                {
                    applied = (await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = "outage", UserId = "ann" })).EventsApplied;
                }
                catch (RpcException notYet) when (notYet.StatusCode is StatusCode.NotFound or StatusCode.Unavailable)
                {
                }
            }

            Assert.Equal(3, applied);
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
