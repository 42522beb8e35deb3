using System.Text.Json;
using ProfileGrid.Contracts.V1;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>An unmerge restores both profiles as they would be had the merge never happened, and stays undone.</summary>
[Collection(IdentitySiloCollection.Name)]
public class UnmergeTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    [Fact]
    public async Task Unmerge_equals_never_merged_and_a_replayed_login_does_not_merge_again()
    {
        var (tenant, never) = (NewId("idu-"), NewId("idn-"));
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var events = VisitorLife(user, anonymous, seed: 5, out var login).DistinctBy(e => e.EventId).ToList();
        var late = Enumerable.Range(0, 4)
            .Select(i => Event($"{anonymous}-late{i}", "add_to_cart", null, anonymous, DateTimeOffset.UtcNow.AddMinutes(-3 + i * 0.5), "s-late"))
            .ToList();
        var userEvents = events.Count(e => e.UserId != "");
        var anonymousEvents = events.Count(e => e.UserId == "") + late.Count;
        var attributes = new UpsertAttributesRequest { UserId = user, Demographics = new Demographics { BirthYear = 1984, City = "Köln" }, Traits = { ["tier"] = "gold" } };

        // Merged: the history, a CRM write straight to the user, then anonymous events after the merge (forwarded).
        await IngestAsync(Silo, tenant, events);
        await WaitForAsync(Silo, tenant, user, events.Count);
        await Silo.Client.UpsertAttributesAsync(attributes.Clone().With(tenant));
        await IngestAsync(Silo, tenant, late);
        await WaitForAsync(Silo, tenant, user, events.Count + late.Count);
        var merge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));

        var reversed = await UnmergeAsync(Silo, tenant, merge.GetProperty("mergeId").GetString()!);
        Assert.Equal("reversed", reversed.GetProperty("status").GetString());
        Assert.StartsWith("key:", reversed.GetProperty("reversedBy").GetString());

        // Never merged: the same events with no event carrying both ids, and the same CRM write.
        await IngestAsync(Silo, never, [.. events.Select(WithoutLink), .. late]);
        await Silo.Client.UpsertAttributesAsync(attributes.Clone().With(never));
        await WaitForAsync(Silo, never, user, userEvents);
        await WaitForAsync(Silo, never, "anon:" + anonymous, anonymousEvents);

        await WaitForAsync(Silo, tenant, user, userEvents);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, anonymousEvents);
        var asOf = At(DateTimeOffset.UtcNow);
        Assert.Equal(WithoutAnonymousIds((await TryGetAsync(Silo, never, user, asOf))!), WithoutAnonymousIds((await TryGetAsync(Silo, tenant, user, asOf))!));
        Assert.Equal(Comparable((await TryGetAsync(Silo, never, "anon:" + anonymous, asOf))!), Comparable((await TryGetAsync(Silo, tenant, "anon:" + anonymous, asOf))!));
        var kept = (await TryGetAsync(Silo, tenant, user, asOf))!;
        Assert.Equal("Köln", kept.Demographics.City); // the CRM write survived the rebuild
        Assert.Equal("gold", kept.Demographics.Traits["tier"]);

        // The old login again (a replay), and a new login of the same pair: neither merges again.
        var again = login.Clone();
        again.EventId += "-new";
        await IngestAsync(Silo, tenant, [login, again]);
        await WaitForAsync(Silo, tenant, user, userEvents + 1);
        Assert.Equal("anon:" + anonymous, (await TryGetAsync(Silo, tenant, "anon:" + anonymous))!.UserId);
        var identity = await IdentityAsync(Silo, tenant, user);
        Assert.Empty(identity.GetProperty("members").EnumerateArray());
        Assert.Equal("reversed", Assert.Single(Merges(identity)).GetProperty("status").GetString());

        // The visitor is someone else now: erasing the user leaves the visitor's profile as it was.
        var visitorBefore = Comparable((await TryGetAsync(Silo, tenant, "anon:" + anonymous, asOf))!);
        Assert.Equal([user], await EraseAsync(tenant, user));
        Assert.Null(await TryGetAsync(Silo, tenant, user));
        Assert.Equal(visitorBefore, Comparable((await TryGetAsync(Silo, tenant, "anon:" + anonymous, asOf))!));
    }

    [Fact]
    public async Task Erasing_a_user_whose_login_named_another_persons_visitor_id_leaves_that_person_whole()
    {
        // A shared tablet: the visitor logged in as ana first (the anonymous id is hers), then bob logged in on it.
        var tenant = NewId("ide-");
        var (ana, bob, tablet) = (NewId("ana-"), NewId("bob-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-10);
        await IngestAsync(Silo, tenant, [
            Event($"{tablet}-1", "product_view", null, tablet, now, "s1"),
            Event($"{tablet}-2", "add_to_cart", null, tablet, now.AddMinutes(1), "s1"),
            Event($"{ana}-login", "identify", ana, tablet, now.AddMinutes(2), "s1"),
        ]);
        await WaitForAsync(Silo, tenant, ana, 3);
        await IngestAsync(Silo, tenant, [Event($"{bob}-login", "identify", bob, tablet, now.AddMinutes(5), "s2")]);
        await WaitForAsync(Silo, tenant, bob, 1);
        var conflicts = (await IdentityAsync(Silo, tenant, bob)).GetProperty("conflicts");
        Assert.Equal(1, conflicts.GetArrayLength());

        var asOf = At(DateTimeOffset.UtcNow);
        var anaBefore = Comparable((await TryGetAsync(Silo, tenant, ana, asOf))!);
        Assert.Equal([bob], await EraseAsync(tenant, bob));
        Assert.Equal(anaBefore, Comparable((await TryGetAsync(Silo, tenant, ana, asOf))!));
        Assert.Equal(ana, (await TryGetAsync(Silo, tenant, "anon:" + tablet))!.UserId); // the visitor still reads as ana
    }

    [Fact]
    public async Task Erasing_a_user_unmerged_from_another_takes_the_visitor_their_own_login_linked()
    {
        // u2 merged into c by a shared email; u2 then logs in on a device with history (the visitor joins c, through u2);
        // an operator unmerges u2. The device's history is still u2's: it was u2's own login that linked it.
        var tenant = NewId("idr-");
        var (c, u2, v2) = (NewId("c-"), NewId("u2-"), NewId("v-"));
        var email = NewId("x") + "@example.com";
        WireEvent Identify(string user)
        {
            var e = Event(NewId("crm-"), "identify", user, null, DateTimeOffset.UtcNow.AddHours(-1), source: "crm");
            e.Identify.Email = email;
            return e;
        }

        await IngestAsync(Silo, tenant, [Identify(c)]);
        await WaitForAsync(Silo, tenant, c, 1);
        await IngestAsync(Silo, tenant, [Identify(u2)]);
        await WaitForAsync(Silo, tenant, c, 2);
        var now = DateTimeOffset.UtcNow.AddMinutes(-20);
        await IngestAsync(Silo, tenant, [Event($"{v2}-1", "product_view", null, v2, now, "s1"), Event($"{v2}-2", "add_to_cart", null, v2, now.AddMinutes(1), "s1")]);
        await WaitForAsync(Silo, tenant, "anon:" + v2, 2);
        await IngestAsync(Silo, tenant, [Event($"{u2}-login", "page_view", u2, v2, now.AddMinutes(2), "s1")]);
        await WaitForAsync(Silo, tenant, c, 5);
        var merges = Merges(await MergedIdentityAsync(Silo, tenant, c, 2));
        Assert.Contains(merges, m => m.GetProperty("from").GetString() == "anon:" + v2);
        await UnmergeAsync(Silo, tenant, merges.Single(m => m.GetProperty("from").GetString() == u2).GetProperty("mergeId").GetString()!);

        // probe71 F4: the visitor u2's login brought in leaves c with u2 and joins u2, as had u2 never merged; the device's
        // next events reach u2, never c.
        await WaitForAsync(Silo, tenant, u2, 4);
        Assert.Equal(u2, (await TryGetAsync(Silo, tenant, "anon:" + v2))!.UserId);
        await IngestAsync(Silo, tenant, [Event($"{v2}-3", "purchase", null, v2, DateTimeOffset.UtcNow.AddMinutes(-1), "s2")]);
        await WaitForAsync(Silo, tenant, u2, 5);
        var person = (await TryGetAsync(Silo, tenant, u2))!;
        Assert.Equal(1, person.Behavior.Orders);
        Assert.Equal(1, (await TryGetAsync(Silo, tenant, c))!.EventsApplied);
        Assert.Equal(0, (await TryGetAsync(Silo, tenant, c))!.Behavior.Orders);
        var identity = await IdentityAsync(Silo, tenant, u2);
        Assert.Equal(["anon:" + v2], identity.GetProperty("members").EnumerateArray().Select(m => m.GetString()));
        Assert.Empty((await IdentityAsync(Silo, tenant, c)).GetProperty("members").EnumerateArray());

        // probe71 F5: erasing u2 takes the visitor, and c keeps nothing of it.
        Assert.Equal([u2, "anon:" + v2], await EraseAsync(tenant, u2));
        Assert.Null(await TryGetAsync(Silo, tenant, "anon:" + v2));
        Assert.Equal(1, (await TryGetAsync(Silo, tenant, c))!.EventsApplied);
    }

    [Fact]
    public async Task An_unmerge_takes_along_a_user_who_joined_through_the_visitor_that_joined_through_the_user_set_apart()
    {
        // review72 F5: u2 merged into c by a shared email; u2's login brought in device v2, which had typed email e2 as a
        // visitor; u4 then showed e2 and joined c through v2. Had u2 never merged, v2 and u4 would both be u2's.
        var tenant = NewId("idf-");
        var (c, u2, v2, u4) = (NewId("c-"), NewId("u2-"), NewId("v-"), NewId("u4-"));
        var (email, visitorEmail) = (NewId("x") + "@example.com", NewId("y") + "@example.com");
        WireEvent Identify(string? user, string? anonymous, string address, int minutesAgo)
        {
            var e = Event(NewId("crm-"), "identify", user, anonymous, DateTimeOffset.UtcNow.AddMinutes(-minutesAgo), source: "crm");
            e.Identify.Email = address;
            return e;
        }

        await IngestAsync(Silo, tenant, [Identify(c, null, email, 60)]);
        await WaitForAsync(Silo, tenant, c, 1);
        await IngestAsync(Silo, tenant, [Identify(u2, null, email, 55)]);
        await WaitForAsync(Silo, tenant, c, 2);
        await IngestAsync(Silo, tenant, [Event($"{v2}-1", "product_view", null, v2, DateTimeOffset.UtcNow.AddMinutes(-50), "s1"), Identify(null, v2, visitorEmail, 49)]);
        await WaitForAsync(Silo, tenant, "anon:" + v2, 2);
        await IngestAsync(Silo, tenant, [Event($"{u2}-login", "page_view", u2, v2, DateTimeOffset.UtcNow.AddMinutes(-45), "s1")]);
        await WaitForAsync(Silo, tenant, c, 5);
        await IngestAsync(Silo, tenant, [Identify(u4, null, visitorEmail, 40)]);
        await WaitForAsync(Silo, tenant, c, 6);
        var merges = Merges(await MergedIdentityAsync(Silo, tenant, c, 3));

        await UnmergeAsync(Silo, tenant, merges.Single(m => m.GetProperty("from").GetString() == u2).GetProperty("mergeId").GetString()!);

        await WaitForAsync(Silo, tenant, u2, 5);
        var members = (await IdentityAsync(Silo, tenant, u2)).GetProperty("members").EnumerateArray().Select(m => m.GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(new[] { "anon:" + v2, u4 }.Order(StringComparer.Ordinal), members);
        Assert.Empty((await IdentityAsync(Silo, tenant, c)).GetProperty("members").EnumerateArray());
        Assert.Equal(1, (await TryGetAsync(Silo, tenant, c))!.EventsApplied);
        Assert.Equal(u2, (await TryGetAsync(Silo, tenant, u4))!.UserId);
    }

    private async Task<string[]> EraseAsync(string tenant, string user)
    {
        using var response = await Silo.Http.DeleteAsync($"/v1/tenants/{Uri.EscapeDataString(tenant)}/users/{Uri.EscapeDataString(user)}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var receipt = JsonDocument.Parse(text);
        Assert.True(receipt.RootElement.GetProperty("complete").GetBoolean(), text);
        return [.. receipt.RootElement.GetProperty("profilesErased").EnumerateArray().Select(e => e.GetString()!)];
    }

    private static WireEvent WithoutLink(WireEvent e)
    {
        if (e.UserId == "" || e.AnonymousId == "")
        {
            return e;
        }

        var copy = e.Clone();
        copy.AnonymousId = "";
        return copy;
    }

    private static string WithoutAnonymousIds(Profile profile)
    {
        var copy = profile.Clone();
        copy.AnonymousIds.Clear();
        return Comparable(copy);
    }
}

internal static class RequestExtensions
{
    public static UpsertAttributesRequest With(this UpsertAttributesRequest request, string tenant)
    {
        request.Tenant = tenant;
        return request;
    }
}
