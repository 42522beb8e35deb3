using System.Globalization;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// A user with more events than the profile's window of recent event ids (2,000), sent again whole, as a re-run import
/// or a resent export does: every event and order counts once, on both durable ingest paths and after a restart.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class HeavyUserReplayTests(AzuriteFixture azurite)
{
    private const string Tenant = "retail";

    private Task<SiloProcess> StartAsync(string serviceId, string ingest) =>
        SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, $"--ProfileGrid:IngestPath={ingest}", "--ProfileGrid:QueueVisibilityTimeout=00:00:05");

    /// <summary>
    /// Two years of one heavy buyer's history (the shape of an old retail export): 5,000 events, every tenth a purchase
    /// with its own order id, the rest product views, at most a few hours apart, oldest first.
    /// </summary>
    private static List<WireEvent> History(string user)
    {
        var start = new DateTimeOffset(2010, 12, 1, 8, 26, 0, TimeSpan.Zero);
        var events = new List<WireEvent>();
        for (var i = 0; i < 5000; i++)
        {
            var at = start.AddMinutes(i * 211).ToString("O", CultureInfo.InvariantCulture);
            events.Add(i % 10 == 0
                ? new WireEvent
                {
                    EventId = $"{user}-{i}", Type = "purchase", UserId = user, OccurredAt = at, Source = "crm",
                    Purchase = new Purchase { OrderId = $"inv-{i}", Currency = "GBP", Lines = { new PurchaseLine { ProductId = $"sku-{i % 97}", Category = "home", Quantity = 3, UnitPrice = "2.55" } } },
                }
                : new WireEvent
                {
                    EventId = $"{user}-{i}", Type = "product_view", UserId = user, OccurredAt = at, Source = "web",
                    Product = new ProductAction { ProductId = $"sku-{i % 97}", Category = "home" },
                });
        }

        return events;
    }

    private static async Task SendAsync(SiloProcess silo, IEnumerable<WireEvent> events)
    {
        foreach (var chunk in events.Chunk(500))
        {
            var response = await silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = Tenant, Historical = true, Events = { chunk } });
            Assert.True(response.Rejected.Count == 0, string.Join("; ", response.Rejected.Take(3)));
        }
    }

    /// <summary>Waits until the user's profile has applied <paramref name="applied"/> events (and then a moment longer for any extra).</summary>
    private static async Task<Profile> AppliedAsync(SiloProcess silo, string user, long applied)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        Profile? profile = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                profile = await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = Tenant, UserId = user });
                if (profile.EventsApplied >= applied)
                {
                    break;
                }
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode == Grpc.Core.StatusCode.NotFound)
            {
            }

            await Task.Delay(200);
        }

        Assert.NotNull(profile);
        return profile;
    }

    /// <summary>
    /// Sends one new event behind everything sent before and waits until the profile has applied
    /// <paramref name="expected"/> events (a user's events keep their order in the log and the queues), then a moment
    /// longer for anything counted twice to show.
    /// </summary>
    private static async Task<Profile> AfterANewEventAsync(SiloProcess silo, string user, string eventId, long expected)
    {
        await SendAsync(silo, [new WireEvent
        {
            EventId = eventId, Type = "page_view", UserId = user, OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"), Source = "web",
            Page = new PageView { Url = "/" },
        }]);
        await AppliedAsync(silo, user, expected);
        await Task.Delay(1000);
        return await AppliedAsync(silo, user, expected);
    }

    [Theory]
    [InlineData("Log")]
    [InlineData("Stream")]
    public async Task A_heavy_users_whole_history_sent_again_counts_once_also_after_a_restart(string ingest)
    {
        var serviceId = "t" + Guid.NewGuid().ToString("N")[..10];
        var user = "cust-17841";
        var history = History(user);
        var orders = history.Count(e => e.Type == "purchase");

        await using (var silo = await StartAsync(serviceId, ingest))
        {
            await SendAsync(silo, history);
            var first = await AppliedAsync(silo, user, history.Count);
            Assert.Equal(history.Count, first.EventsApplied);
            Assert.Equal(orders, first.Behavior.Orders);

            // The whole export again, in the same order, then one new event behind it: once that one is applied, so is
            // (or is not) everything sent before it.
            await SendAsync(silo, history);
            var again = await AfterANewEventAsync(silo, user, $"{user}-new", history.Count + 1);
            Assert.Equal(history.Count + 1, again.EventsApplied);
            Assert.Equal(orders, again.Behavior.Orders);
            Assert.Equal(first.Behavior.Monetary.Amount, again.Behavior.Monetary.Amount);
            await silo.StopAsync();
        }

        // After a restart (the archive of older ids is stored, not held in memory): the oldest half again, newest first.
        await using var restarted = await StartAsync(serviceId, ingest);
        await SendAsync(restarted, Enumerable.Reverse(history.Take(2500)));
        var after = await AfterANewEventAsync(restarted, user, $"{user}-newer", history.Count + 2);
        Assert.Equal(history.Count + 2, after.EventsApplied);
        Assert.Equal(orders, after.Behavior.Orders);
    }

    [Fact]
    public async Task A_heavy_users_import_killed_midway_and_run_again_whole_counts_every_event_once()
    {
        var serviceId = "t" + Guid.NewGuid().ToString("N")[..10];
        var user = "cust-14911";
        var history = History(user);
        var orders = history.Count(e => e.Type == "purchase");

        // Written behind: a kill -9 after 3,500 acknowledged events loses the state written last, and the log replays it.
        var silo = await StartAsync(serviceId, "Log");
        try
        {
            await SendAsync(silo, history.Take(3500));
            await silo.KillAsync();
        }
        finally
        {
            await silo.DisposeAsync();
        }

        // The import is run again from the start, as a user does after a crash, then one new event behind it.
        await using var restarted = await StartAsync(serviceId, "Log");
        await SendAsync(restarted, history);
        var profile = await AfterANewEventAsync(restarted, user, $"{user}-new", history.Count + 1);
        Assert.Equal(history.Count + 1, profile.EventsApplied);
        Assert.Equal(orders, profile.Behavior.Orders);
        Assert.Equal(orders * 7.65m, decimal.Parse(profile.Behavior.MonetaryByCurrency.Single(m => m.Currency == "GBP").Amount, CultureInfo.InvariantCulture));
    }
}
