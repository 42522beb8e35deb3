using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ProfileGrid.Abstractions;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// A merge reads the lake only on the days the merged profile's events span (and an unmerge only the canonical profile's
/// days): shown on a real silo by unreadable files planted in the tenant's other day folders, which a read of the whole
/// tenant would stumble on. The merge still succeeds and equals a profile that was known all along.
/// </summary>
[Collection(IdentitySiloCollection.Name)]
public class MergeLakeReadTests(IdentitySiloFixture fixture)
{
    private SiloProcess Silo => fixture.Silo;

    [Fact]
    public async Task A_merge_opens_only_the_days_of_the_merged_history_and_equals_the_profile_known_all_along()
    {
        var (tenant, oracle) = (NewId("idl-"), NewId("idlo-"));
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        async Task<int> ExportedEventsAsync()
        {
            using var exported = await Silo.Http.GetAsync($"/v1/tenants/{tenant}/users/{user}/export");
            var body = await exported.Content.ReadAsStringAsync();
            Assert.True(exported.IsSuccessStatusCode, body);
            var export = JsonNode.Parse(body)!;
            var count = export["events"]!.AsArray().Count;
            Assert.Equal(count, (int)export["eventCounts"]!["lake"]! + (int)export["eventCounts"]!["log"]!);
            return count;
        }


        // Years-old anonymous browsing (1000 to 440 days ago), the known user's own last month, then the login today.
        string[] types = ["page_view", "product_view", "add_to_cart", "purchase"];
        var visitor = Enumerable.Range(0, 8).SelectMany(s => Enumerable.Range(0, 4).Select(i =>
            Event($"{anonymous}-a{s}-{i}", types[(s + i) % types.Length], null, anonymous, now.AddDays(-1000 + s * 80).AddMinutes(i * 3), session: $"s-a{s}"))).ToList();
        var own = Enumerable.Range(0, 6).Select(i => Event($"{user}-u{i}", types[i % types.Length], user, null, now.AddDays(-30 + i * 4), session: $"s-u{i}")).ToList();
        var login = Event($"{anonymous}-login", "identify", user, anonymous, now.AddMinutes(-10), session: "s-login");

        await IngestAsync(Silo, tenant, [.. visitor, .. own]);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, visitor.Count);
        await WaitForAsync(Silo, tenant, user, own.Count);

        // The visitor's history is in the lake (archived every 200 ms) before the login comes.
        var tenantFolder = Path.Combine(fixture.LakeFolder, LakePaths.TenantEvents(tenant));
        var visitorDays = visitor.Select(e => DateOnly.FromDateTime(DateTimeOffset.Parse(e.OccurredAt, CultureInfo.InvariantCulture).UtcDateTime)).Distinct().ToList();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        // (In their day's folder, or their month's or year's: they are much older than the rest of their archive step.)
        while (!visitorDays.All(d => new[] { LakePaths.DaySegment(d), LakePaths.MonthSegment(d), LakePaths.YearSegment(d) }.Any(f => Directory.Exists(Path.Combine(tenantFolder, f)))))
        {
            Assert.True(DateTime.UtcNow < deadline, "The visitor's history was not archived.\n" + Silo.Output);
            await Task.Delay(50);
        }

        // Unreadable files in days outside both profiles' spans (before them, between them, after them), in both profiles'
        // log partitions (a read opens only its profiles' partitions' files).
        DateOnly[] otherDays = [new(1990, 1, 1), DateOnly.FromDateTime(now.AddDays(-200).UtcDateTime), DateOnly.FromDateTime(now.AddDays(3).UtcDateTime)];
        int[] partitions = [.. new[] { user, "anon:" + anonymous }.Select(u => PartitionOf(tenant, u)).Distinct()];
        foreach (var day in otherDays)
        {
            foreach (var partition in partitions)
            {
                await PlantUnreadableAsync(Path.Combine(tenantFolder, LakePaths.DaySegment(day)), partition);
            }
        }

        // The login merges the visitor into the user; the oracle got every event as the user's in the first place.
        await IngestAsync(Silo, oracle, AsKnownUser([.. visitor, .. own, login], user));
        await IngestAsync(Silo, tenant, [login]);
        var total = visitor.Count + own.Count + 1;
        await WaitForAsync(Silo, oracle, user, total);
        await WaitForAsync(Silo, tenant, user, total);
        var asOf = At(DateTimeOffset.UtcNow);
        var merged = (await TryGetAsync(Silo, tenant, user, asOf))!;
        Assert.Equal(Comparable((await TryGetAsync(Silo, oracle, user, asOf))!), Comparable(merged));
        Assert.True(merged.Behavior.Orders > 0, "the visitor's orders came over");
        var merge = Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user)));
        Assert.Equal("merged", merge.GetProperty("status").GetString());

        // The unmerge rebuilds the user from the days the user's profile spans, which now include the visitor's (from 1000
        // days ago to today): the file planted between them goes; those before and after stay unread.
        foreach (var planted in Directory.GetFiles(Path.Combine(tenantFolder, LakePaths.DaySegment(otherDays[1]))))
        {
            File.Delete(planted);
        }

        otherDays = [otherDays[0], otherDays[2]];
        // Merged, the person's export holds the visitor's history as well as the user's.
        Assert.Equal(total, await ExportedEventsAsync());

        var reversed = await UnmergeAsync(Silo, tenant, merge.GetProperty("mergeId").GetString()!);
        Assert.Equal("reversed", reversed.GetProperty("status").GetString());
        await WaitForAsync(Silo, tenant, user, own.Count + 1);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, visitor.Count);

        // Unmerged, the visitor is another person (as an erasure of the user leaves it): the user's export holds the
        // user's own events and the login, and reads their days only.
        Assert.Equal(own.Count + 1, await ExportedEventsAsync());

        using (var rebuilt = await Silo.Http.PostAsJsonAsync("/v1/admin/lake/rebuild", new { tenant, userId = user }))
        {
            var body = await rebuilt.Content.ReadAsStringAsync();
            Assert.True(rebuilt.IsSuccessStatusCode, body);
            Assert.Equal(1, (int)JsonNode.Parse(body)!["profilesRebuilt"]!);
        }

        await WaitForAsync(Silo, tenant, user, own.Count + 1);

        // The planted files are still there: nothing read them, nothing rewrote them.
        Assert.All(otherDays, day => Assert.Equal(partitions.Length, Directory.GetFiles(Path.Combine(tenantFolder, LakePaths.DaySegment(day))).Length));
    }

    [Fact]
    public async Task A_login_is_acknowledged_while_its_merge_cannot_read_the_history_and_the_merge_is_carried_out_once_it_can()
    {
        var tenant = NewId("idr-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var visitor = Enumerable.Range(0, 6).Select(i => Event($"{anonymous}-a{i}", i % 2 == 0 ? "product_view" : "add_to_cart", null, anonymous, now.AddHours(-30 + i), session: "s-a")).ToList();
        var login = Event($"{anonymous}-login", "identify", user, anonymous, now, session: "s-login");
        await IngestAsync(Silo, tenant, visitor);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, visitor.Count);

        // The visitor's history archived, and a damaged file beside it in its day and partition: the merge cannot read it.
        var damaged = await DamageArchivedHistoryAsync(tenant, "anon:" + anonymous);

        // The login is acknowledged at once (it used to wait for the merge and answer Unavailable); the merge waits.
        await IngestAsync(Silo, tenant, [login]);

        await WaitForAsync(Silo, tenant, user, 1);
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(1, (await TryGetAsync(Silo, tenant, user))!.EventsApplied);
        Assert.Contains("could not be carried out now", Silo.Output);

        // Meanwhile the identity shows the visitor as a member with its merge "merging", never a member without its merge.
        var during = await IdentityAsync(Silo, tenant, user);
        Assert.Contains("anon:" + anonymous, during.GetProperty("members").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("merging", Assert.Single(Merges(during)).GetProperty("status").GetString());

        // Meanwhile the ingest status does not call the person written: the merge is counted by the visitor's partition.
        var partition = PartitionOf(tenant, "anon:" + anonymous);
        var (pendingStatus, pendingPartition) = await IngestStatusAsync(partition);
        Assert.False((bool)pendingStatus["allWritten"]!, pendingStatus.ToJsonString());
        Assert.Equal(1, (int)pendingPartition["mergesPending"]!);
        Assert.True((int)pendingStatus["mergesPending"]! >= 1, pendingStatus.ToJsonString());

        // Repaired, the merge is carried out by its reminder (within a minute or two), without the client asking again.
        File.Delete(damaged);
        var person = await WaitForAsync(Silo, tenant, user, visitor.Count + 1, TimeSpan.FromMinutes(3));
        Assert.Equal(visitor.Count + 1, person.EventsApplied);
        Assert.Equal("merged", Assert.Single(Merges(await MergedIdentityAsync(Silo, tenant, user))).GetProperty("status").GetString());
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var (status, settled) = await IngestStatusAsync(partition);
            if ((int)settled["mergesPending"]! == 0 && (bool)status["allWritten"]!)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "Still pending after the merge: " + status.ToJsonString());
            await Task.Delay(100);
        }
    }

    private async Task<(JsonNode Status, JsonNode Partition)> IngestStatusAsync(int partition)
    {
        var status = JsonNode.Parse(await Silo.Http.GetStringAsync("/v1/admin/ingest"))!;
        return (status, status["partitions"]!.AsArray().Single(p => (int)p!["partition"]! == partition)!);
    }

    [Fact]
    public async Task Erasing_a_person_whose_visitor_refuses_records_during_its_merge_leaves_the_log_partition_moving()
    {
        var tenant = NewId("idx-");
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var visitor = Enumerable.Range(0, 4).Select(i => Event($"{anonymous}-a{i}", "product_view", null, anonymous, now.AddHours(-30 + i), session: "s-a")).ToList();
        await IngestAsync(Silo, tenant, visitor);
        await WaitForAsync(Silo, tenant, "anon:" + anonymous, visitor.Count);
        // The merge cannot read the visitor's history, so the visitor, already forwarding, refuses its next record.
        var partition = PartitionOf(tenant, "anon:" + anonymous);
        var damaged = await DamageArchivedHistoryAsync(tenant, "anon:" + anonymous);
        await IngestAsync(Silo, tenant, [Event($"{anonymous}-login", "identify", user, anonymous, now, session: "s-login")]);
        await WaitForAsync(Silo, tenant, user, 1);
        await UntilLoggedAsync("could not be carried out now", "The merge did not fail.");

        // (Two records: refusing the second for the first it does not hold is what it logs.)
        await IngestAsync(Silo, tenant, [Event($"{anonymous}-late", "add_to_cart", null, anonymous, now.AddMinutes(1), session: "s-login")]);
        await IngestAsync(Silo, tenant, [Event($"{anonymous}-later", "page_view", null, anonymous, now.AddMinutes(2), session: "s-login")]);
        await UntilLoggedAsync($"Profile {new ProfileKey(tenant, "anon:" + anonymous)}: refused a log record", "The visitor did not refuse its record.");

        // The person is erased (the visitor with them) before the merge is done.
        File.Delete(damaged);
        using (var erased = await Silo.Http.DeleteAsync($"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(user)}"))
        {
            var body = await erased.Content.ReadAsStringAsync();
            Assert.True(erased.IsSuccessStatusCode, body);
            Assert.Contains("anon:" + anonymous, body);
        }

        // The partition no longer waits for a write of the visitor's refused record, which never reaches it again.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = JsonNode.Parse(await Silo.Http.GetStringAsync("/v1/admin/ingest"))!["partitions"]!.AsArray()
                .Single(p => (int)p!["partition"]! == partition)!;
            if ((int)status["profilesWithUnwrittenState"]! == 0 && (long)status["checkpoint"]! == (long)status["nextPosition"]!)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Partition {partition} still waits: {status.ToJsonString()}");
            await Task.Delay(200);
        }

        var u = await TryGetAsync(Silo, tenant, user);
        Assert.True(u is null, "user: " + u);
        var a = await TryGetAsync(Silo, tenant, "anon:" + anonymous);
        Assert.True(a is null, "anon: " + a);
    }

    [Fact]
    public async Task An_erasure_that_cannot_finish_yet_answers_503_with_its_receipt_and_a_retry_finishes_it()
    {
        var tenant = NewId("ide-");
        var user = NewId("u-");
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        await IngestAsync(Silo, tenant, [.. Enumerable.Range(0, 3).Select(i => Event($"{user}-e{i}", "product_view", user, null, now.AddDays(-400 + i), session: $"s{i}"))]);
        await WaitForAsync(Silo, tenant, user, 3);

        // A damaged file among the user's lake files: the erasure cannot rewrite them without the user's rows yet.
        var damaged = await DamageArchivedHistoryAsync(tenant, user);
        var path = $"/v1/tenants/{tenant}/users/{Uri.EscapeDataString(user)}";
        using (var pending = await Silo.Http.DeleteAsync(path))
        {
            var body = await pending.Content.ReadAsStringAsync();
            Assert.True(pending.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable, $"{(int)pending.StatusCode}: {body}");
            Assert.Equal(TimeSpan.FromSeconds(15), pending.Headers.RetryAfter?.Delta);
            var receipt = JsonNode.Parse(body)!;
            Assert.False((bool)receipt["complete"]!);
            Assert.Contains(receipt["steps"]!.AsArray(), s => s!["error"] is JsonValue);
        }

        // Hidden already while pending; the retry, with the file repaired, completes it.
        Assert.Null(await TryGetAsync(Silo, tenant, user));
        File.Delete(damaged);
        using var done = await Silo.Http.DeleteAsync(path);
        var doneBody = await done.Content.ReadAsStringAsync();
        Assert.True(done.IsSuccessStatusCode, doneBody);
        Assert.True((bool)JsonNode.Parse(doneBody)!["complete"]!, doneBody);
    }

    /// <summary>Waits for the profile's history in the lake, then plants a damaged file beside it (its day and partition).</summary>
    private async Task<string> DamageArchivedHistoryAsync(string tenant, string profile)
    {
        var tenantFolder = Path.Combine(fixture.LakeFolder, LakePaths.TenantEvents(tenant));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string[] archived;
        while ((archived = Directory.Exists(tenantFolder) ? Directory.GetFiles(tenantFolder, "*.parquet", SearchOption.AllDirectories) : []).Length == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "The history was not archived.\n" + Silo.Output);
            await Task.Delay(50);
        }

        return await PlantUnreadableAsync(Path.GetDirectoryName(archived[0])!, PartitionOf(tenant, profile));
    }

    private async Task UntilLoggedAsync(string text, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Silo.Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, failure + "\n" + Silo.Output);
            await Task.Delay(50);
        }
    }

    private static int PartitionOf(string tenant, string userId) =>
        ProfileBuckets.LogPartition(new ProfileKey(tenant, userId).ToString(), new IngestOptions().Partitions);

    private static async Task<string> PlantUnreadableAsync(string folder, int partition)
    {
        var file = Path.Combine(folder, $"part-p{partition:D4}-dddddddddddddddd-0000000000000001.parquet");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(file, "not a parquet file");
        await Assert.ThrowsAnyAsync<Exception>(() => LakeParquet.ReadAsync<LakeEventRow>(File.ReadAllBytes(file)));
        return file;
    }
}
