using static ProfileGrid.Silo.Tests.Identity.IdentityWorld;

namespace ProfileGrid.Silo.Tests.Identity;

/// <summary>
/// A silo without a lake (a memory run without ProfileGrid:Lake:Folder, as the tests' and a quick trial's default) merges
/// and unmerges from the log alone. A black-box run found that such a login answered 503 forever, half merged, and held
/// its log partition back for every tenant.
/// </summary>
public class NoLakeIdentityTests
{
    [Fact]
    public async Task A_login_merges_and_unmerges_from_the_log_alone_and_every_later_event_is_applied()
    {
        await using var silo = await SiloProcess.StartEphemeralAsync("--ProfileGrid:Ingest:CheckpointInterval=00:00:00.100");
        var (tenant, oracle) = (NewId("nolake-"), NewId("nolake-o-"));
        var (user, anonymous) = (NewId("u-"), NewId("v-"));
        var events = VisitorLife(user, anonymous, seed: 23, out _);
        var distinct = events.Select(e => e.EventId).Distinct().Count();

        await IngestAsync(silo, oracle, AsKnownUser(events, user));
        await IngestAsync(silo, tenant, events);
        await WaitForAsync(silo, oracle, user, distinct);
        await WaitForAsync(silo, tenant, user, distinct);
        var asOf = At(DateTimeOffset.UtcNow);
        Assert.Equal(Comparable((await TryGetAsync(silo, oracle, user, asOf))!), Comparable((await TryGetAsync(silo, tenant, user, asOf))!));
        Assert.Equal(user, (await TryGetAsync(silo, tenant, "anon:" + anonymous))!.UserId);

        // Events after the merge, of the visitor and of other users in every partition, are all applied.
        var late = Event(NewId("e-"), "add_to_cart", null, anonymous, DateTimeOffset.UtcNow.AddMinutes(-1));
        var others = Enumerable.Range(0, 40).Select(i => Event(NewId("e-"), "page_view", $"other-{i}", null, DateTimeOffset.UtcNow.AddMinutes(-2))).ToList();
        await IngestAsync(silo, tenant, [late, .. others]);
        await WaitForAsync(silo, tenant, user, distinct + 1);
        foreach (var other in others)
        {
            await WaitForAsync(silo, tenant, other.UserId, 1);
        }

        // And the merge can be undone, also from the log alone.
        var merge = Assert.Single(Merges(await MergedIdentityAsync(silo, tenant, user)));
        var reversed = await UnmergeAsync(silo, tenant, merge.GetProperty("mergeId").GetString()!);
        Assert.Equal("reversed", reversed.GetProperty("status").GetString());
        await WaitForAsync(silo, tenant, user, events.Where(e => e.UserId != "").Select(e => e.EventId).Distinct().Count());
        Assert.Equal("anon:" + anonymous, (await TryGetAsync(silo, tenant, "anon:" + anonymous))!.UserId);
    }
}
