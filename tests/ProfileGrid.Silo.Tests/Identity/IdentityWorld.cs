using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using WireEvent = ProfileGrid.Contracts.V1.Event;
using WirePurchase = ProfileGrid.Contracts.V1.Purchase;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// One ephemeral silo with a lake in a temp folder, archiving every 200 ms: merges read part of a history from the lake
/// (Parquet) and part from the log, as they do in production.
/// </summary>
public sealed class IdentitySiloFixture : IAsyncLifetime
{
    public string LakeFolder { get; } = Path.Combine(Path.GetTempPath(), "pg-identity-lake-" + Guid.NewGuid().ToString("N")[..8]);

    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await SiloProcess.StartEphemeralAsync(
        $"--ProfileGrid:Lake:Folder={LakeFolder}", "--ProfileGrid:Lake:ArchiveInterval=00:00:00.200", "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.100",
        "--ProfileGrid:Identity:HashSecret=test-secret");

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        try
        {
            Directory.Delete(LakeFolder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class IdentitySiloCollection : ICollectionFixture<IdentitySiloFixture>
{
    public const string Name = "identity-silo";
}

/// <summary>Events and reads the identity tests share: a shopper's history, and profiles compared as a user sees them.</summary>
public static class IdentityWorld
{
    public static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10];

    public static string At(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    public static WireEvent Event(string id, string type, string? user, string? anonymous, DateTimeOffset at, string? session = null, string source = "web")
    {
        var e = new WireEvent { EventId = id, Type = type, OccurredAt = At(at), Source = source, UserId = user ?? "", AnonymousId = anonymous ?? "" };
        if (session is not null)
        {
            e.Context = new EventContext { SessionId = session, Device = "mobile", Country = "DE" };
        }

        switch (type)
        {
            case "page_view":
                e.Page = new PageView { Url = "/home" };
                break;
            case "product_view" or "add_to_cart":
                e.Product = new ProductAction { ProductId = "p-" + (Math.Abs(id.GetHashCode()) % 7), Category = "shoes", Quantity = 1, UnitPrice = "49.90", Currency = "EUR" };
                break;
            case "purchase":
                e.Purchase = new WirePurchase { OrderId = "o-" + id, Currency = "EUR", Lines = { new PurchaseLine { ProductId = "p-1", Category = "shoes", Quantity = 2, UnitPrice = "49.90" } } };
                break;
            case "identify":
                e.Identify = new Identify { Demographics = new Demographics { Country = "DE", Language = "de" } };
                break;
        }

        return e;
    }

    /// <summary>
    /// A visitor's life: anonymous browsing over three years (sessions, carts, a guest purchase), a login, the known
    /// user's own events, and anonymous events after the login (another tab, an app that sends only the device id).
    /// Returns them in a seeded shuffled order, with some sent twice. The login is the event with both ids.
    /// </summary>
    public static List<WireEvent> VisitorLife(string user, string anonymous, int seed, out WireEvent login)
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var rng = new Random(seed);
        var events = new List<WireEvent>();
        string[] types = ["page_view", "product_view", "add_to_cart", "product_view", "page_view", "purchase"];
        for (var s = 0; s < 8; s++)
        {
            var start = now.AddDays(-1100 + s * 130 + rng.Next(0, 20)).AddMinutes(rng.Next(0, 600));
            for (var i = 0; i < 4; i++)
            {
                events.Add(Event($"{anonymous}-a{s}-{i}", types[rng.Next(types.Length)], null, anonymous, start.AddMinutes(i * 3), session: $"s-a{s}"));
            }
        }

        login = Event($"{anonymous}-login", "identify", user, anonymous, now.AddMinutes(-40), session: "s-login");
        events.Add(login);
        for (var i = 0; i < 6; i++)
        {
            events.Add(Event($"{user}-u{i}", types[rng.Next(types.Length)], user, i % 2 == 0 ? anonymous : null, now.AddDays(-30 + i * 4), session: $"s-u{i}"));
        }

        for (var i = 0; i < 5; i++)
        {
            events.Add(Event($"{anonymous}-after{i}", types[rng.Next(types.Length)], null, anonymous, now.AddMinutes(-30 + i), session: "s-after"));
        }

        var shuffled = events.OrderBy(_ => rng.Next()).ToList();
        shuffled.AddRange(shuffled.Where((_, i) => i % 5 == 0).ToList()); // duplicates, as retries send them
        return shuffled;
    }

    /// <summary>The oracle's view of the same events: every anonymous event sent as the known user's.</summary>
    public static List<WireEvent> AsKnownUser(IEnumerable<WireEvent> events, string user) =>
        [.. events.Select(e => { var copy = e.Clone(); copy.UserId = user; return copy; })];

    public static async Task IngestAsync(SiloProcess silo, string tenant, IEnumerable<WireEvent> events, int perRequest = 7)
    {
        foreach (var chunk in events.Chunk(perRequest))
        {
            var response = await silo.Client.IngestEventsAsync(new IngestEventsRequest { Tenant = tenant, Events = { chunk }, Historical = true });
            Assert.Empty(response.Rejected);
        }
    }

    public static async Task<Profile?> TryGetAsync(SiloProcess silo, string tenant, string user, string? asOf = null)
    {
        try
        {
            return await silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = tenant, UserId = user, AsOf = asOf ?? "" });
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Polls until the profile has applied <paramref name="events"/> distinct events (no sleeps as synchronisation).</summary>
    public static async Task<Profile> WaitForAsync(SiloProcess silo, string tenant, string user, long events, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        Profile? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await TryGetAsync(silo, tenant, user);
            if (last is not null && last.UserId == user && last.EventsApplied == events)
            {
                return last;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"Profile {tenant}/{user} has {last?.EventsApplied} events (as {last?.UserId}), expected {events}.\n{silo.Output}");
        return null!;
    }

    /// <summary>What a user sees of a profile, without the ids and processing times that differ between two tenants.</summary>
    public static string Comparable(Profile profile)
    {
        var copy = profile.Clone();
        copy.Tenant = "";
        copy.UserId = "";
        copy.ClearCreatedAt();
        copy.ClearUpdatedAt();
        copy.Segment = null;
        copy.Demographics?.ClearUpdatedAt();
        return Google.Protobuf.JsonFormatter.Default.Format(copy);
    }

    public static async Task<JsonElement> IdentityAsync(SiloProcess silo, string tenant, string user)
    {
        using var response = await silo.Http.GetAsync($"/v1/tenants/{Uri.EscapeDataString(tenant)}/identity/{Uri.EscapeDataString(user)}");
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>
    /// Polls the identity until it lists <paramref name="merges"/> merges carried out: a claim answers once the merge is
    /// decided, and the merge is carried out just after (its record is written last, after the profile took the history).
    /// </summary>
    public static async Task<JsonElement> MergedIdentityAsync(SiloProcess silo, string tenant, string user, int merges = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var identity = await IdentityAsync(silo, tenant, user);
            if (Merges(identity).Count(m => m.GetProperty("status").GetString() == "merged") >= merges || DateTime.UtcNow > deadline)
            {
                return identity;
            }

            await Task.Delay(100);
        }
    }

    public static async Task<JsonElement> UnmergeAsync(SiloProcess silo, string tenant, string mergeId)
    {
        using var response = await silo.Http.PostAsync($"/v1/tenants/{Uri.EscapeDataString(tenant)}/identity/merges/{mergeId}/unmerge", null);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static JsonElement[] Merges(JsonElement identity) => [.. identity.GetProperty("merges").EnumerateArray()];
}
