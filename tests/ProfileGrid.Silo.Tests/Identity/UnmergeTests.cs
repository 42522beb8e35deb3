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
        var merge = Assert.Single(Merges(await IdentityAsync(Silo, tenant, user)));

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
