using System.Globalization;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Gateway;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The stream ingest path on Azure Queue carries one event per queue message at most: an event too large for one is
/// refused alone, naming its size and the limit, and the rest of the request is accepted and applied; an event at the
/// limit goes through whole (probe70: a 51 KB order failed the whole request as Internal, part of it already queued).
/// </summary>
[Collection(AzuriteCollection.Name)]
public class StreamEventSizeTests(AzuriteFixture azurite)
{
    private const int Limit = StreamEventSink.AzureQueueMaxEventBytes;

    [Fact]
    public async Task An_event_too_large_for_a_queue_message_is_refused_alone_and_one_at_the_limit_is_applied()
    {
        var serviceId = "s" + Guid.NewGuid().ToString("N")[..10];
        await using var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId,
            ["--ProfileGrid:IngestPath=Stream", "--ProfileGrid:QueueVisibilityTimeout=00:00:05"]);
        var tenant = "big-" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        var atLimit = OrderOf("a", "a-order", Limit, now.AddMinutes(-5));
        var overLimit = OrderOf("c", "c-order", Limit + 1, now.AddMinutes(-5));
        Assert.Equal((Limit, Limit + 1), (atLimit.CalculateSize(), overLimit.CalculateSize()));

        var response = await silo.Client.IngestEventsAsync(new IngestEventsRequest
        {
            Tenant = tenant,
            Events = { atLimit, SegmentScenario.View("a", "a-view", now.AddMinutes(-4)), SegmentScenario.View("b", "b-view", now.AddMinutes(-4)), overLimit, SegmentScenario.View("c", "c-view", now.AddMinutes(-4)) },
        });

        Assert.Equal(4, response.Accepted);
        var rejected = Assert.Single(response.Rejected);
        Assert.Equal((3, "events[3]", "c-order"), (rejected.Index, rejected.Field, rejected.EventId));
        Assert.Contains($"is {Limit + 1:N0} bytes encoded, and the limit is {Limit:N0} on the stream ingest path", rejected.Reason, StringComparison.Ordinal);

        var a = await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "a"), p => p?.EventsApplied == 2, "the order at the limit and the view applied");
        Assert.Equal((1L, "200.00"), (a!.Behavior.Orders, a.Behavior.Monetary.Amount));
        await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "b"), p => p?.EventsApplied == 1, "b's view applied");
        var c = await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "c"), p => p?.EventsApplied == 1, "c's view applied");
        Assert.Equal(0, c!.Behavior.Orders);
    }

    /// <summary>A purchase of 200 lines at 1.00 whose encoding is exactly <paramref name="bytes"/> long.</summary>
    private static WireEvent OrderOf(string user, string id, int bytes, DateTimeOffset at)
    {
        WireEvent Build(int categoryLength, int padding)
        {
            var purchase = new Purchase { OrderId = id, Currency = "USD" };
            for (var i = 0; i < 200; i++)
            {
                purchase.Lines.Add(new PurchaseLine
                {
                    ProductId = $"sku-{i:000}" + (i == 0 ? new string('p', padding) : ""),
                    Category = new string((char)('a' + i % 26), categoryLength),
                    Quantity = 1,
                    UnitPrice = "1.00",
                });
            }

            return new WireEvent
            {
                EventId = id, Type = "purchase", UserId = user, Source = "web",
                OccurredAt = at.ToString("O", CultureInfo.InvariantCulture), Purchase = purchase,
            };
        }

        var length = Enumerable.Range(1, 255).Last(l => Build(l, 0).CalculateSize() <= bytes);
        var padding = 0;
        while (Build(length, padding).CalculateSize() < bytes)
        {
            padding++;
        }

        return Build(length, padding);
    }

    private static async Task<Profile?> ProfileAsync(SiloProcess silo, string tenant, string user)
    {
        try
        {
            return await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user });
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
    }
}
