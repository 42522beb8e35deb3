using System.Text.Json.Nodes;
using Azure.Storage.Blobs;
using ProfileGrid.Abstractions;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// A login answers before its merge is carried out, and <c>/v1/admin/ingest</c> counts the merge until it is: on a real
/// silo on Azurite, killed (SIGKILL) while a merge cannot be carried out (a damaged lake file beside the visitor's
/// history), the restarted silo still counts it, so <c>allWritten</c> does not report a person who lacks the visitor's
/// history, and once the file is repaired the merge is carried out with nobody asking again.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class PendingMergeRestartTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task A_login_merge_pending_at_a_kill_is_still_counted_after_the_restart_and_is_carried_out_without_anyone_asking()
    {
        var serviceId = "pm" + Guid.NewGuid().ToString("N")[..10];
        var tenant = NewId("pm-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var visitorProfile = "anon:" + anonymous;
        var partition = ProfileBuckets.LogPartition(new ProfileKey(tenant, visitorProfile).ToString(), new IngestOptions().Partitions);
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var visitor = Enumerable.Range(0, 5).Select(i => Event($"{anonymous}-a{i}", i % 2 == 0 ? "product_view" : "add_to_cart", null, anonymous, now.AddDays(-90 + i * 20), session: $"s-a{i}")).ToList();
        var lake = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient($"{serviceId}-lake");

        var silo = await SiloProcess.StartDurableAsync(azurite.ConnectionString, serviceId, PrivacySiloTests.Settings);
        BlobClient damaged;
        try
        {
            await IngestAsync(silo, tenant, visitor);
            await WaitForAsync(silo, tenant, visitorProfile, visitor.Count);
            await PrivacySiloTests.ArchiveEverythingAsync(silo);

            // A damaged file beside the visitor's archived history, in its partition: the merge cannot read the history.
            var archived = lake.GetBlobs(Azure.Storage.Blobs.Models.BlobTraits.None, Azure.Storage.Blobs.Models.BlobStates.None, LakePaths.TenantEvents(tenant), CancellationToken.None).Select(b => b.Name).First(n => n.EndsWith(".parquet", StringComparison.Ordinal));
            damaged = lake.GetBlobClient($"{archived[..(archived.LastIndexOf('/') + 1)]}part-p{partition:D4}-dddddddddddddddd-0000000000000001.parquet");
            await damaged.UploadAsync(BinaryData.FromString("not a parquet file"));

            await IngestAsync(silo, tenant, [Event($"{anonymous}-login", "identify", user, anonymous, now, session: "s-login")]);
            await WaitForAsync(silo, tenant, user, 1);
            await UntilAsync(() => Task.FromResult(silo.Output.Contains("could not be carried out now", StringComparison.Ordinal)), "the merge to fail", silo);
            var (before, beforePartition) = await IngestStatusAsync(silo, partition);
            Assert.Equal(1, (int)beforePartition["mergesPending"]!);
            Assert.False((bool)before["allWritten"]!);
            await silo.KillAsync();
        }
        catch
        {
            output.WriteLine(silo.Output);
            throw;
        }

        await using var restarted = await silo.StartAgainAsync(TimeSpan.FromSeconds(120));
        await silo.DisposeAsync();
        try
        {
            // Replayed and caught up, the partition still counts the merge it saved with its checkpoint.
            await UntilAsync(async () =>
            {
                var (status, _) = await IngestStatusAsync(restarted, partition);
                return status["partitions"]!.AsArray().All(p => !(bool)p!["replaying"]! && (long)p["checkpoint"]! == (long)p["nextPosition"]!);
            }, "the partitions to catch up after the restart", restarted);
            var (after, afterPartition) = await IngestStatusAsync(restarted, partition);
            Assert.True((int)afterPartition["mergesPending"]! == 1, after.ToJsonString());
            Assert.False((bool)after["allWritten"]!, after.ToJsonString());
            Assert.Equal(1, (await TryGetAsync(restarted, tenant, user))!.EventsApplied);

            // Repaired: the merge is carried out (its reminder, after the partition's own attempt at activation failed).
            await damaged.DeleteAsync();
            var person = await WaitForAsync(restarted, tenant, user, visitor.Count + 1, TimeSpan.FromMinutes(5));
            Assert.Equal(visitor.Count + 1, person.EventsApplied);
            await UntilAsync(async () => (bool)(await IngestStatusAsync(restarted, partition)).Status["allWritten"]!, "allWritten after the merge", restarted);
            Assert.Equal(0, (int)(await IngestStatusAsync(restarted, partition)).Partition["mergesPending"]!);
            Assert.Equal("merged", Assert.Single(Merges(await MergedIdentityAsync(restarted, tenant, user))).GetProperty("status").GetString());
        }
        catch
        {
            output.WriteLine(restarted.Output);
            throw;
        }
    }

    private static async Task<(JsonNode Status, JsonNode Partition)> IngestStatusAsync(SiloProcess silo, int partition)
    {
        var status = JsonNode.Parse(await silo.Http.GetStringAsync("/v1/admin/ingest"))!;
        return (status, status["partitions"]!.AsArray().Single(p => (int)p!["partition"]! == partition)!);
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, SiloProcess silo)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.\n{silo.OutputTail(80)}");
            await Task.Delay(200);
        }
    }
}
