using System.Text.Json.Nodes;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// A user's export (docs/privacy.md) holds the person the id belongs to, the same profiles an erasure erases: every
/// profile merged into them, never a visitor that is someone else's.
/// </summary>
[Collection(IdentitySiloCollection.Name)]
public class PersonExportTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private async Task<JsonNode> ExportAsync(string tenant, string user)
    {
        using var response = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/users/{user}/export");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonNode.Parse(body)!;
    }

    private static string[] EventIds(JsonNode export) => [.. export["events"]!.AsArray().Select(e => (string)e!["event_id"]!).Order(StringComparer.Ordinal)];

    private static string[] LinkedProfiles(JsonNode export) =>
        [.. export["identityLinks"]!["profiles"]!.AsArray().Select(p => (string)p!["userId"]!).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task The_second_login_on_a_shared_computer_does_not_export_the_first_persons_browsing()
    {
        var tenant = NewId("idx-");
        var (alice, mallory, device) = (NewId("alice-"), NewId("mallory-"), NewId("pc-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-30);
        WireEvent[] alicesVisit =
        [
            Event(device + "-v1", "product_view", null, device, now, session: "s1"),
            Event(device + "-l1", "identify", alice, device, now.AddMinutes(1), session: "s1"),
            Event(device + "-v2", "product_view", null, device, now.AddMinutes(2), session: "s1"),
        ];
        await IngestAsync(Silo, tenant, alicesVisit, perRequest: 1);
        await WaitForAsync(Silo, tenant, alice, 3);
        var malloryLogin = Event(device + "-l2", "identify", mallory, device, now.AddMinutes(10), session: "s2");
        await IngestAsync(Silo, tenant, [malloryLogin]);
        await WaitForAsync(Silo, tenant, mallory, 1);
        await SegmentScenario.PollAsync(
            async () => (await IdentityAsync(Silo, tenant, mallory)).GetProperty("conflicts").GetArrayLength(),
            conflicts => conflicts > 0,
            "mallory's login recorded as a conflict",
            TimeSpan.FromSeconds(30));

        var mallorys = await ExportAsync(tenant, mallory);
        Assert.Equal(mallory, (string)mallorys["person"]!);
        Assert.Equal([malloryLogin.EventId], EventIds(mallorys));
        Assert.Empty(LinkedProfiles(mallorys));
        Assert.Empty(mallorys["identityLinks"]!["anonymousIds"]!.AsArray());

        // The visitor is alice's: her export has it, with the browsing before and after her login.
        var alices = await ExportAsync(tenant, alice);
        Assert.Equal(alicesVisit.Select(e => e.EventId).Order(StringComparer.Ordinal), EventIds(alices));
        Assert.Equal(["anon:" + device], LinkedProfiles(alices));
    }

    [Fact]
    public async Task A_crm_duplicate_exports_the_whole_person_whichever_of_its_ids_is_asked()
    {
        var tenant = NewId("idy-");
        var (kim, lee) = (NewId("kim-"), NewId("lee-"));
        WireEvent Identify(string user, string email)
        {
            var e = Event(NewId("crm-"), "identify", user, null, DateTimeOffset.UtcNow.AddHours(-1), source: "crm");
            e.Identify.Email = email;
            return e;
        }

        var kims = new[] { Identify(kim, "kim@example.com"), Event(NewId("e-"), "purchase", kim, null, DateTimeOffset.UtcNow.AddDays(-3)) };
        await IngestAsync(Silo, tenant, kims);
        await WaitForAsync(Silo, tenant, kim, 2);
        var lees = new[] { Identify(lee, " KIM@Example.COM "), Event(NewId("e-"), "purchase", lee, null, DateTimeOffset.UtcNow.AddDays(-2)) };
        await IngestAsync(Silo, tenant, lees, perRequest: 1);
        await WaitForAsync(Silo, tenant, kim, 4);

        var all = kims.Concat(lees).Select(e => e.EventId).Order(StringComparer.Ordinal).ToArray();
        foreach (var asked in new[] { kim, lee })
        {
            var export = await ExportAsync(tenant, asked);
            Assert.Equal(asked, (string)export["userId"]!);
            Assert.Equal(kim, (string)export["person"]!);
            Assert.Equal(4, (long)export["profile"]!["eventsApplied"]!);
            Assert.Equal(all, EventIds(export));
            Assert.Equal([lee], LinkedProfiles(export));
        }
    }
}
