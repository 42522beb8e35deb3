using System.Text;
using ProfileGrid.Contracts.V1;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>CRM records of one person: the same email or CRM id merges, a shared phone does not, and tenants never link.</summary>
[Collection(IdentitySiloCollection.Name)]
public class CrmDuplicateTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private static WireEvent Identify(string user, string? email = null, string? phone = null, string? crmId = null)
    {
        var e = Event(NewId("crm-"), "identify", user, null, DateTimeOffset.UtcNow.AddHours(-1), source: "crm");
        e.Identify.Email = email ?? "";
        e.Identify.Phone = phone ?? "";
        e.Identify.CrmId = crmId ?? "";
        return e;
    }

    [Fact]
    public async Task A_shared_phone_is_a_conflict_on_both_records_and_erasing_its_owner_leaves_no_trace_on_the_other()
    {
        // probe68: the conflict was noted on the second user's record only, naming the owner; erasing the owner (receipt
        // complete, otherProfilesConflicts 0) left the erased id readable there.
        var tenant = NewId("idp-");
        var (owner, other) = (NewId("c-"), NewId("d-"));
        await IngestAsync(Silo, tenant, [Identify(owner, null, "+4915112345678")]);
        await IngestAsync(Silo, tenant, [Identify(other, null, "+49 151 12345678")]);
        await WaitForAsync(Silo, tenant, owner, 1);
        await WaitForAsync(Silo, tenant, other, 1);

        foreach (var user in new[] { owner, other })
        {
            var conflict = Assert.Single((await IdentityAsync(Silo, tenant, user)).GetProperty("conflicts").EnumerateArray());
            Assert.Equal((owner, other), (conflict.GetProperty("heldBy").GetString(), conflict.GetProperty("shownBy").GetString()));
        }

        using var erased = await Silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/{owner}");
        var receipt = await erased.Content.ReadAsStringAsync();
        Assert.True(erased.IsSuccessStatusCode, receipt);
        var identityStep = System.Text.Json.JsonDocument.Parse(receipt).RootElement.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("store").GetString() == "identity");
        Assert.Equal(1, identityStep.GetProperty("removed").GetProperty("otherProfilesConflicts").GetInt64());
        var left = await IdentityAsync(Silo, tenant, other);
        Assert.Empty(left.GetProperty("conflicts").EnumerateArray());
        Assert.DoesNotContain(owner, left.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Same_email_or_crm_id_merges_into_the_first_record_a_shared_phone_does_not_and_other_tenants_never_link()
    {
        var (tenant, other) = (NewId("idd-"), NewId("ide-"));
        var (first, second, third, housemate) = (NewId("jane-"), NewId("jdoe-"), NewId("j-"), NewId("max-"));
        var crm = NewId("C-");
        await IngestAsync(Silo, tenant, [Identify(first, " Jane.Doe@Example.COM ", "+49 30 1234567", crm)]);
        await IngestAsync(Silo, tenant, [Identify(second, "jane.doe@example.com", null, NewId("C-")), Event(NewId("e-"), "purchase", second, null, DateTimeOffset.UtcNow.AddDays(-2))]);
        await IngestAsync(Silo, tenant, [Identify(third, null, null, "  " + crm + " ")]);
        await IngestAsync(Silo, tenant, [Identify(housemate, null, "0049 (30) 123-4567")]);
        await IngestAsync(Silo, other, [Identify(second, "jane.doe@example.com", null, crm)]);

        // The second and third records answer as the first; the housemate stays apart.
        var canonical = await WaitForAsync(Silo, tenant, first, 4);
        Assert.Equal(1, canonical.Behavior.Orders);
        Assert.Equal(first, (await TryGetAsync(Silo, tenant, second))!.UserId);
        Assert.Equal(first, (await TryGetAsync(Silo, tenant, third))!.UserId);
        Assert.Equal(housemate, (await WaitForAsync(Silo, tenant, housemate, 1)).UserId);

        var identity = await IdentityAsync(Silo, tenant, first);
        var merges = Merges(identity);
        Assert.Equal(["same-email", "same-crm-id"], merges.Select(m => m.GetProperty("rule").GetString()!).ToArray());
        Assert.Equal([second, third], merges.Select(m => m.GetProperty("from").GetString()!).ToArray());
        var identifiers = identity.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()!).ToList();
        Assert.Contains("crm:" + crm, identifiers);
        Assert.Contains(identifiers, i => i.StartsWith("email:", StringComparison.Ordinal) && i.Length == "email:".Length + 64);
        Assert.DoesNotContain(identifiers, i => i.Contains("jane", StringComparison.OrdinalIgnoreCase) || i.Contains("1234567", StringComparison.Ordinal));

        var housemateIdentity = await IdentityAsync(Silo, tenant, housemate);
        Assert.Empty(Merges(housemateIdentity));
        Assert.Contains("phone", Assert.Single(housemateIdentity.GetProperty("conflicts").EnumerateArray()).GetProperty("reason").GetString());

        // The other tenant: same email, same CRM id, no link; its email hash differs (the hash is keyed by tenant).
        var elsewhere = await WaitForAsync(Silo, other, second, 1);
        Assert.Equal(second, elsewhere.UserId);
        var otherIdentity = await IdentityAsync(Silo, other, second);
        Assert.Empty(Merges(otherIdentity));
        var emailHere = identifiers.Single(i => i.StartsWith("email:", StringComparison.Ordinal));
        Assert.DoesNotContain(emailHere, otherIdentity.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()));

        // Nothing in the lake holds the address or the number as sent.
        await Silo.Http.PostAsync("/v1/admin/lake/archive", null);
        foreach (var file in Directory.EnumerateFiles(fixture.LakeFolder, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.False(Contains(bytes, "jane.doe"), file);
            Assert.False(Contains(bytes, "1234567"), file);
        }
    }

    [Fact]
    public async Task A_visitor_who_left_an_email_joins_the_account_that_shows_it_and_an_unmerge_keeps_them_apart()
    {
        var tenant = NewId("idg-");
        var (user, visitor) = (NewId("u-"), NewId("v-"));
        var signUp = Identify(user, "Ada@Example.org");
        signUp.UserId = "";
        signUp.AnonymousId = visitor; // a newsletter sign-up before the account
        await IngestAsync(Silo, tenant, [signUp, Event(NewId("e-"), "product_view", null, visitor, DateTimeOffset.UtcNow.AddHours(-2))]);
        await WaitForAsync(Silo, tenant, "anon:" + visitor, 2);
        await IngestAsync(Silo, tenant, [Identify(user, "ada@example.org")]);

        await WaitForAsync(Silo, tenant, user, 3);
        Assert.Equal(user, (await TryGetAsync(Silo, tenant, "anon:" + visitor))!.UserId);
        var merge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));
        Assert.Equal(("anon:" + visitor, user, "same-email"), (merge.GetProperty("from").GetString(), merge.GetProperty("into").GetString(), merge.GetProperty("rule").GetString()));

        await UnmergeAsync(Silo, tenant, merge.GetProperty("mergeId").GetString()!);
        await WaitForAsync(Silo, tenant, user, 1);
        await WaitForAsync(Silo, tenant, "anon:" + visitor, 2);

        // The same address shown again by the account: the pair stays apart.
        await IngestAsync(Silo, tenant, [Identify(user, "ada@example.org")]);
        await WaitForAsync(Silo, tenant, user, 2);
        Assert.Equal("anon:" + visitor, (await TryGetAsync(Silo, tenant, "anon:" + visitor))!.UserId);
    }

    [Fact]
    public async Task A_malformed_email_or_phone_is_refused_without_echoing_it()
    {
        var response = await Silo.Client.IngestEventsAsync(new IngestEventsRequest
        {
            Tenant = NewId("idf-"),
            Events = { Identify(NewId("u-"), "not-an-address"), Identify(NewId("u-"), null, "call me maybe") },
        });
        Assert.Equal(["events[0].identify.email", "events[1].identify.phone"], response.Rejected.Select(r => r.Field).ToArray());
        Assert.DoesNotContain(response.Rejected, r => r.Reason.Contains("not-an-address") || r.Reason.Contains("call me"));
    }

    private static bool Contains(byte[] haystack, string needle) =>
        haystack.AsSpan().IndexOf(Encoding.UTF8.GetBytes(needle)) >= 0;
}
