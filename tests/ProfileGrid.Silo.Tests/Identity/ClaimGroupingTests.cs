using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// A request's claims go side by side unless they share a claimant or an identifier: those keep the request's order
/// (the same merge decided once; the first of two users claiming one email owns it).
/// </summary>
public sealed class ClaimGroupingTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    private static IdentityClaim Claim(string user, string kind, string value, string tenant = "shop") =>
        new(tenant, kind, value, user, $"{user}-{kind}-{value}", "web", At);

    [Fact]
    public void Logins_of_different_visitors_by_different_users_go_side_by_side()
    {
        var claims = Enumerable.Range(0, 120).Select(i => Claim($"u-{i}", IdentifierKinds.Anonymous, $"v-{i}")).ToList();

        var groups = GatewayClaims(claims);

        Assert.Equal(120, groups.Count);
        Assert.All(groups, g => Assert.Single(g));
    }

    [Fact]
    public void Claims_sharing_a_user_or_an_identifier_stay_in_one_group_in_the_requests_order()
    {
        var emailOfU1 = Claim("u-1", IdentifierKinds.Email, "h1");
        var crmOfU1 = Claim("u-1", IdentifierKinds.Crm, "c1");          // the same merge as the email, possibly
        var loginOfU2 = Claim("u-2", IdentifierKinds.Anonymous, "v-2");
        var sameEmailByU3 = Claim("u-3", IdentifierKinds.Email, "h1");   // after u-1: u-1 owns h1
        var loginOfU3 = Claim("u-3", IdentifierKinds.Anonymous, "v-3");  // joined through u-3
        var otherTenant = Claim("u-1", IdentifierKinds.Email, "h1", tenant: "outlet");

        var groups = GatewayClaims([emailOfU1, loginOfU2, crmOfU1, sameEmailByU3, otherTenant, loginOfU3]);

        Assert.Equal(3, groups.Count);
        Assert.Equal([emailOfU1, crmOfU1, sameEmailByU3, loginOfU3], groups[0]);
        Assert.Equal([loginOfU2], groups[1]);
        Assert.Equal([otherTenant], groups[2]);
    }

    [Fact]
    public void A_chain_of_shared_identifiers_joins_groups_found_apart()
    {
        // u-1 and u-2 look unrelated until the third claim links them through v-9.
        var a = Claim("u-1", IdentifierKinds.Email, "h1");
        var b = Claim("u-2", IdentifierKinds.Email, "h2");
        var c = Claim("u-2", IdentifierKinds.Anonymous, "v-9");
        var d = Claim("u-1", IdentifierKinds.Anonymous, "v-9");

        var groups = GatewayClaims([a, b, c, d]);

        Assert.Equal([a, b, c, d], Assert.Single(groups));
    }

    [Fact]
    public void A_login_and_a_claim_the_visitor_itself_makes_stay_in_order()
    {
        // The visitor's identify event (its email, sent as anon:v-7) and the login that merges anon:v-7 into u-1.
        var emailOfVisitor = Claim("anon:v-7", IdentifierKinds.Email, "h7");
        var login = Claim("u-1", IdentifierKinds.Anonymous, "v-7");
        var unrelated = Claim("u-2", IdentifierKinds.Anonymous, "v-8");

        var groups = GatewayClaims([emailOfVisitor, unrelated, login]);

        Assert.Equal([[emailOfVisitor, login], [unrelated]], groups);
    }

    [Fact]
    public void Emails_crm_ids_and_phones_of_a_tenant_keep_the_requests_order_even_when_unrelated()
    {
        // A CRM export's chains (A and B share an email, B and C a CRM id) decide who stays canonical by their order.
        var a = Claim("u-1", IdentifierKinds.Email, "h1");
        var login = Claim("u-9", IdentifierKinds.Anonymous, "v-9");
        var b = Claim("u-2", IdentifierKinds.Crm, "c2");
        var c = Claim("u-3", IdentifierKinds.Phone, "p3");

        var groups = GatewayClaims([a, login, b, c]);

        Assert.Equal([[a, b, c], [login]], groups);
    }

    private static List<List<IdentityClaim>> GatewayClaims(List<IdentityClaim> claims) => IdentityResolver.IndependentGroups(claims);
}
