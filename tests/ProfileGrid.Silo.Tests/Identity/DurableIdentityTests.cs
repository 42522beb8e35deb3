using System.Text;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using ProfileGrid.Contracts.V1;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>Identity on Azure Storage (Azurite): merges survive a killed silo, and no store holds an email or phone as sent.</summary>
[Collection(AzuriteCollection.Name)]
public class DurableIdentityTests(AzuriteFixture azurite)
{
    private const string Email = "Grace.Hopper+Shop@Example.org", Phone = "+1 (555) 013-3377";

    private Task<SiloProcess> StartAsync(string serviceId) => SiloProcess.StartDurableAsync(
        azurite.ConnectionString, serviceId, "--ProfileGrid:IngestPath=Log", "--ProfileGrid:Lake:ArchiveInterval=00:00:00.200");

    [Fact]
    public async Task A_merge_survives_a_killed_silo_and_no_store_holds_the_raw_email_or_phone()
    {
        var serviceId = "i" + Guid.NewGuid().ToString("N")[..10];
        var tenant = NewId("idz-");
        var (user, duplicate, anonymous) = (NewId("u-"), NewId("crm-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-20);
        var login = Event(NewId("e-"), "identify", user, anonymous, now.AddMinutes(5));
        login.Identify.Email = Email;
        login.Identify.Phone = Phone;
        var crmRecord = Event(NewId("e-"), "identify", duplicate, null, now.AddMinutes(6), source: "crm");
        crmRecord.Identify.Email = Email.ToUpperInvariant();

        await using (var silo = await StartAsync(serviceId))
        {
            await IngestAsync(silo, tenant, [Event(NewId("e-"), "product_view", null, anonymous, now), Event(NewId("e-"), "purchase", null, anonymous, now.AddMinutes(1))]);
            await IngestAsync(silo, tenant, [login]);
            await IngestAsync(silo, tenant, [crmRecord]);
            await WaitForAsync(silo, tenant, user, 4, TimeSpan.FromSeconds(60));
            Assert.Equal(2, Merges(await MergedIdentityAsync(silo, tenant, user, 2)).Length);
            await silo.KillAsync();
        }

        await using var restarted = await StartAsync(serviceId);
        Assert.Equal(user, (await TryGetAsync(restarted, tenant, "anon:" + anonymous))!.UserId);
        Assert.Equal(user, (await TryGetAsync(restarted, tenant, duplicate))!.UserId);
        var identity = await IdentityAsync(restarted, tenant, user);
        Assert.Equal(["login", "same-email"], Merges(identity).Select(m => m.GetProperty("rule").GetString()!).ToArray());

        // A late anonymous event still reaches the person, once.
        var late = Event(NewId("e-"), "add_to_cart", null, anonymous, now.AddMinutes(10));
        await IngestAsync(restarted, tenant, [late, late]);
        var profile = await WaitForAsync(restarted, tenant, user, 5, TimeSpan.FromSeconds(60));
        Assert.Equal(1, profile.Behavior.Orders);

        // A control: text an event does carry is found by the same search (in the log and the lake).
        var marker = "marker-" + Guid.NewGuid().ToString("N");
        var note = Event(NewId("e-"), "custom", user, null, now.AddMinutes(11));
        note.Custom = new CustomEvent { Name = "note", Properties = { ["text"] = marker } };
        await IngestAsync(restarted, tenant, [note]);
        await WaitForAsync(restarted, tenant, user, 6, TimeSpan.FromSeconds(60));

        await restarted.Http.PostAsync("/v1/admin/lake/archive", null);
        Assert.NotEmpty(await FindAsync([marker]));
        var found = await FindAsync(["grace.hopper", "Grace.Hopper", "GRACE.HOPPER", "5550133377", "555) 013"]);
        Assert.True(found.Count == 0, "Raw identifiers found in: " + string.Join(", ", found));
    }

    [Fact]
    public async Task Two_silos_racing_with_the_same_login_merge_once_and_equal_the_oracle()
    {
        var serviceId = "r" + Guid.NewGuid().ToString("N")[..10];
        string[] cluster = ["--ProfileGrid:Clustering=AzureTable", "--ProfileGrid:ClusterId=" + serviceId, "--ProfileGrid:Endpoints:AdvertisedAddress=127.0.0.1"];
        await using var first = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, cluster);
        await using var second = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, cluster);
        var (tenant, oracle) = (NewId("ids-"), NewId("idt-"));
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var events = VisitorLife(user, anonymous, seed: 41, out var login);
        var anonymousFirst = events.Where(e => e.UserId == "").DistinctBy(e => e.EventId).Take(12).ToList();
        await IngestAsync(first, tenant, anonymousFirst);

        // The same login, and more of them, through both gateways at once; then everything again through both.
        var logins = Enumerable.Range(0, 6).Select(i => { var copy = login.Clone(); copy.EventId = $"{login.EventId}-{i}"; return copy; }).ToList();
        await Task.WhenAll(logins.Select((l, i) => IngestAsync(i % 2 == 0 ? first : second, tenant, [l])));
        await Task.WhenAll(IngestAsync(first, tenant, events), IngestAsync(second, tenant, events.AsEnumerable().Reverse()));
        await IngestAsync(first, oracle, AsKnownUser([.. events, .. logins], user));

        var distinct = events.Select(e => e.EventId).Distinct().Count() + logins.Count;
        await WaitForAsync(first, oracle, user, distinct, TimeSpan.FromSeconds(60));
        await WaitForAsync(second, tenant, user, distinct, TimeSpan.FromSeconds(60));
        var asOf = At(DateTimeOffset.UtcNow);
        Assert.Equal(Comparable((await TryGetAsync(first, oracle, user, asOf))!), Comparable((await TryGetAsync(second, tenant, user, asOf))!));
        Assert.Equal("merged", Assert.Single(Merges(await MergedIdentityAsync(first, tenant, user))).GetProperty("status").GetString());
    }

    /// <summary>Every blob and every table entity in the Azurite account that holds one of <paramref name="needles"/>.</summary>
    private async Task<List<string>> FindAsync(string[] needles)
    {
        var patterns = needles.Select(Encoding.UTF8.GetBytes).ToArray();
        bool Holds(byte[] bytes) => patterns.Any(p => bytes.AsSpan().IndexOf(p) >= 0);
        var found = new List<string>();
        var blobs = new BlobServiceClient(azurite.ConnectionString);
        var searched = 0;
        await foreach (var container in blobs.GetBlobContainersAsync())
        {
            var client = blobs.GetBlobContainerClient(container.Name);
            await foreach (var blob in client.GetBlobsAsync())
            {
                searched++;
                if (Holds((await client.GetBlobClient(blob.Name).DownloadContentAsync()).Value.Content.ToArray()))
                {
                    found.Add($"blob {container.Name}/{blob.Name}");
                }
            }
        }

        var tables = new TableServiceClient(azurite.ConnectionString);
        await foreach (var table in tables.QueryAsync())
        {
            await foreach (var entity in tables.GetTableClient(table.Name).QueryAsync<TableEntity>())
            {
                searched++;
                foreach (var (name, value) in entity)
                {
                    var bytes = value switch { byte[] b => b, string s => Encoding.UTF8.GetBytes(s), _ => [] };
                    if (Holds(bytes))
                    {
                        found.Add($"table {table.Name} {entity.PartitionKey}/{entity.RowKey}.{name}");
                    }
                }
            }
        }

        Assert.True(searched > 10, $"only {searched} blobs and entities searched");
        return found;
    }
}
