using System.Globalization;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Gateway;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The stream ingest path on Azure Queue carries a user's events in queue messages of 48 KiB before base64, in Orleans'
/// encoding: an event too large for one is refused alone, naming its size and the limit, and the rest of the request is
/// accepted and applied (probe70: a 51 KB order failed the whole request as Internal, part of it already queued); many
/// orders of short lines, which take 2.7 times their protobuf size there, are split into messages that hold them
/// (review: twelve 200-line orders of one user failed so too).
/// </summary>
[Collection(AzuriteCollection.Name)]
public class StreamEventSizeTests(AzuriteFixture azurite)
{
    private const int Limit = StreamEventSink.AzureQueueMaxEventBytes;

    [Fact]
    public async Task An_event_too_large_for_a_queue_message_is_refused_alone_and_orders_of_many_short_lines_are_applied()
    {
        var serviceId = "s" + Guid.NewGuid().ToString("N")[..10];
        await using var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId,
            ["--ProfileGrid:IngestPath=Stream", "--ProfileGrid:QueueVisibilityTimeout=00:00:05", $"--ProfileGrid:Gateway:MaxStreamItemBytes={40 * 1024}"]);
        var tenant = "big-" + Guid.NewGuid().ToString("N")[..8];
        var now = DateTimeOffset.UtcNow;
        var large = OrderOf("a", "a-order", 70, now.AddMinutes(-5));
        var tooLarge = OrderOf("c", "c-order", 255, now.AddMinutes(-5));
        Assert.InRange(large.CalculateSize(), 26_000, 34_000);
        Assert.True(tooLarge.CalculateSize() > 100_000);

        var request = new IngestEventsRequest
        {
            Tenant = tenant,
            Events = { large, SegmentScenario.View("a", "a-view", now.AddMinutes(-4)), SegmentScenario.View("b", "b-view", now.AddMinutes(-4)), tooLarge, SegmentScenario.View("c", "c-view", now.AddMinutes(-4)) },
        };
        for (var order = 0; order < 12; order++)
        {
            request.Events.Add(OrderOf("many", $"many-{order}", 0, now.AddMinutes(-30 + order)));
        }

        // 14 to an item of the largest size allowed (40 KiB) as sent, more than twice that as a queue message carries them.
        Assert.InRange(request.Events[^1].CalculateSize(), 2_000, 3_000);

        var response = await silo.Client.IngestEventsAsync(request);

        Assert.Equal(request.Events.Count - 1, response.Accepted);
        var rejected = Assert.Single(response.Rejected);
        Assert.Equal((3, "events[3]", "c-order"), (rejected.Index, rejected.Field, rejected.EventId));
        Assert.Matches($@"^takes [\d,]+ bytes as the stream carries it, and the limit is {Limit:N0} on the stream ingest path .*purchase\.part", rejected.Reason);

        var a = await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "a"), p => p?.EventsApplied == 2, "the large order and the view applied");
        Assert.Equal((1L, "200.00"), (a!.Behavior.Orders, a.Behavior.Monetary.Amount));
        await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "b"), p => p?.EventsApplied == 1, "b's view applied");
        var c = await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "c"), p => p?.EventsApplied == 1, "c's view applied");
        Assert.Equal(0, c!.Behavior.Orders);
        var many = await SegmentScenario.PollAsync(() => ProfileAsync(silo, tenant, "many"), p => p?.EventsApplied == 12, "the twelve orders of 200 short lines applied");
        Assert.Equal((12L, "2400.00"), (many!.Behavior.Orders, many.Behavior.Monetary.Amount));
    }

    /// <summary>A purchase of 200 lines at 1.00, each with a product id and category of about <paramref name="textLength"/> characters.</summary>
    private static WireEvent OrderOf(string user, string id, int textLength, DateTimeOffset at)
    {
        var purchase = new Purchase { OrderId = id, Currency = "USD" };
        for (var i = 0; i < 200; i++)
        {
            purchase.Lines.Add(new PurchaseLine
            {
                ProductId = textLength == 0 ? $"{i}" : $"{i:000}" + new string('p', Math.Max(0, textLength - 3)),
                Category = textLength == 0 ? "c" : new string((char)('a' + i % 26), textLength),
                Quantity = 1,
                UnitPrice = textLength == 0 ? "1" : "1.00",
            });
        }

        return new WireEvent
        {
            EventId = id, Type = "purchase", UserId = user, Source = "web",
            OccurredAt = at.ToString("O", CultureInfo.InvariantCulture), Purchase = purchase,
        };
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
