using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Identity;
using Orleans.TestingHost;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The conflicts an identity record keeps (its 20 latest) are one per identifier and pair of people: a phone that a
/// second person shows again and again is one conflict, and pushes no other out.
/// </summary>
public sealed class IdentityConflictListTests : InterruptedLoginTestBase
{
    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task A_phone_shown_again_and_again_is_one_conflict_per_pair_and_pushes_no_other_conflict_out()
    {
        // Review M5: each claim added a copy on both records (the gateway's cache of done claims is per silo and bounded,
        // so the same phone is claimed again from another silo or after a restart), and after 20 of them the owner's
        // record no longer showed the lodger's conflict.
        var (tenant, owner, partner, lodger) = (NewId("cf-"), NewId("o-"), NewId("p-"), NewId("l-"));
        var phone = Client.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Phone, "hash-1")).ToString());
        IdentityClaim Claim(string user, int minute) => new(tenant, IdentifierKinds.Phone, "hash-1", user, $"id-{user}-{minute}", "crm", Start.AddMinutes(minute));

        Assert.Equal(ClaimOutcome.Recorded, await phone.ClaimAsync(Claim(owner, 0)));
        Assert.Equal(ClaimOutcome.Shared, await phone.ClaimAsync(Claim(lodger, 1)));
        for (var minute = 2; minute < 27; minute++)
        {
            Assert.Equal(ClaimOutcome.Shared, await phone.ClaimAsync(Claim(partner, minute)));
        }

        var ownerConflicts = (await Client.GetGrain<IIdentityGrain>(new ProfileKey(tenant, owner).ToString()).GetAsync()).Conflicts;
        Assert.Equal(new[] { lodger, partner }.Order(StringComparer.Ordinal), ownerConflicts.Select(c => c.ShownBy).Order(StringComparer.Ordinal));
        var partnerConflict = Assert.Single((await Client.GetGrain<IIdentityGrain>(new ProfileKey(tenant, partner).ToString()).GetAsync()).Conflicts);
        Assert.Equal(Start.AddMinutes(26), partnerConflict.At); // the latest sighting

        // An older sighting claimed late (a retried request) leaves the latest in place.
        Assert.Equal(ClaimOutcome.Shared, await phone.ClaimAsync(Claim(partner, 5)));
        Assert.Equal(Start.AddMinutes(26), Assert.Single((await Client.GetGrain<IIdentityGrain>(new ProfileKey(tenant, partner).ToString()).GetAsync()).Conflicts).At);
    }

    [Fact]
    public async Task Erasing_who_showed_a_phone_removes_the_owners_copy_even_when_their_own_copy_is_gone()
    {
        // Review M5: the erasure found the other people through the erased person's own conflicts and the identifiers'
        // sharers; the phone's owner is neither once the erased person's copy has left their bounded list.
        var (tenant, owner, partner) = (NewId("ce-"), NewId("o-"), NewId("p-"));
        IdentityClaim Claim(string phone, string user, int minute) => new(tenant, IdentifierKinds.Phone, phone, user, $"id-{user}-{phone}", "crm", Start.AddMinutes(minute));
        IIdentifierGrain Phone(string phone) => Client.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Phone, phone)).ToString());

        Assert.Equal(ClaimOutcome.Recorded, await Phone("hash-0").ClaimAsync(Claim("hash-0", owner, 0)));
        Assert.Equal(ClaimOutcome.Shared, await Phone("hash-0").ClaimAsync(Claim("hash-0", partner, 1)));
        for (var other = 1; other <= 20; other++)
        {
            await Phone($"hash-{other}").ClaimAsync(Claim($"hash-{other}", NewId("x-"), 2));
            Assert.Equal(ClaimOutcome.Shared, await Phone($"hash-{other}").ClaimAsync(Claim($"hash-{other}", partner, 3)));
        }

        var ownerIdentity = Client.GetGrain<IIdentityGrain>(new ProfileKey(tenant, owner).ToString());
        Assert.DoesNotContain((await Client.GetGrain<IIdentityGrain>(new ProfileKey(tenant, partner).ToString()).GetAsync()).Conflicts, c => c.HeldBy == owner);
        Assert.Equal(partner, Assert.Single((await ownerIdentity.GetAsync()).Conflicts).ShownBy);

        var step = new ProfileGrid.Grains.Privacy.IdentityErasureStep(Client);
        var receipt = await step.RunAsync(new ProfileGrid.Grains.Privacy.ErasureContext(tenant, partner, [partner], DateTimeOffset.UtcNow), CancellationToken.None);

        Assert.Empty((await ownerIdentity.GetAsync()).Conflicts);
        Assert.Equal(21, receipt.Removed["otherProfilesConflicts"]);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo) => InterruptedLoginTestBase.Configure(silo, TimeSpan.FromMinutes(1));
    }
}
