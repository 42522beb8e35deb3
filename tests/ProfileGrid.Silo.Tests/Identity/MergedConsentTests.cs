using DuckDB.NET.Data;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Grains.Lake;
using ProfileGrid.Grains.Privacy;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;
using WireEvent = ProfileGrid.Contracts.V1.Event;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// A person who opts out of personalization keeps their context out of the lake on every id of theirs: events keep the
/// id they were sent with (a device's after its login stay under <c>anon:</c> its id, a CRM duplicate's under its own),
/// so the opt-out must reach the ledger for each (docs/privacy.md, "Consent").
/// </summary>
[Collection(IdentitySiloCollection.Name)]
public class MergedConsentTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    private static WireEvent Search(string id, string? user, string? anonymous, DateTimeOffset at, string words)
    {
        var e = Event(id, "search", user, anonymous, at);
        e.Context = new EventContext { City = "Secretville", SessionId = "sess-" + id, UserAgent = "Mozilla/5.0 test" };
        e.Search = new Search { Query = words, ResultCount = 1 };
        return e;
    }

    [Fact]
    public async Task The_logged_in_device_and_a_crm_duplicate_of_an_opted_out_person_leave_their_context_out_of_the_lake()
    {
        var tenant = NewId("idc-");
        var (person, device, duplicate) = (NewId("op-"), NewId("dev-"), NewId("crm-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-20);

        // The device logs in as the person (merged); the person opts out.
        await IngestAsync(Silo, tenant, [Event(device + "-v", "product_view", null, device, now), Event(device + "-login", "identify", person, device, now.AddMinutes(1))], perRequest: 1);
        var identify = Event(person + "-crm", "identify", person, null, now.AddMinutes(2), source: "crm");
        identify.Identify.Email = person + "@example.com";
        var optOut = Event(person + "-pref", "preference_set", person, null, now.AddMinutes(3));
        optOut.Preference = new PreferenceSet { PersonalizationOptIn = false };
        await IngestAsync(Silo, tenant, [identify, optOut], perRequest: 1);
        await WaitForAsync(Silo, tenant, person, 4);

        // A CRM record of the same person under another id joins after the opt-out.
        var duplicateIdentify = Event(duplicate + "-crm", "identify", duplicate, null, now.AddMinutes(4), source: "crm");
        duplicateIdentify.Identify.Email = " " + person.ToUpperInvariant() + "@EXAMPLE.COM";
        await IngestAsync(Silo, tenant, [duplicateIdentify]);
        await WaitForAsync(Silo, tenant, person, 5);

        // The lake's archiver re-reads the tenant's consents at most this long after they change.
        await Task.Delay(PrivacyFilters.RefreshAfter + TimeSpan.FromSeconds(2));
        await IngestAsync(Silo, tenant, [
            Search(device + "-s", null, device, now.AddMinutes(10), "very private words"),
            Search(duplicate + "-s", duplicate, null, now.AddMinutes(11), "more private words"),
            Search(person + "-s", person, null, now.AddMinutes(12), "own private words"),
        ], perRequest: 1);
        var profile = await WaitForAsync(Silo, tenant, person, 8);
        Assert.False(profile.Preferences.PersonalizationOptIn);

        using var duck = new DuckDBConnection("Data Source=:memory:");
        duck.Open();
        var folder = Path.Combine(fixture.LakeFolder, LakePaths.TenantEvents(tenant));
        var rows = $"read_parquet('{folder}**/*.parquet', hive_partitioning = false, union_by_name = true)";
        var searches = $"{rows} WHERE type = 'search'";
        await PrivacySiloTests.WaitForAsync(
            () => Task.FromResult(Directory.Exists(folder) && Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories).Any() && PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {searches}") == 3),
            "the three searches archived", seconds: 60);
        Assert.Equal(0, PrivacySiloTests.Scalar(duck, $"SELECT count(*) FROM {searches} AND (city IS NOT NULL OR session_id IS NOT NULL OR user_agent IS NOT NULL OR query IS NOT NULL)"));
    }
}
