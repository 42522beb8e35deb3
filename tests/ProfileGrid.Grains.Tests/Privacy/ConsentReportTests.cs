using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Privacy;
using Xunit.Abstractions;

namespace ProfileGrid.Grains.Tests.Privacy;

/// <summary>Consent changes reach the tenant's privacy ledger in batches: every change arrives, in a handful of ledger writes.</summary>
[Collection(ClusterCollection.Name)]
public class ConsentReportTests(ClusterFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Many_users_opting_out_at_once_all_reach_the_ledger_in_a_few_writes_and_opting_back_in_is_heard_too()
    {
        var tenant = $"consent-{Guid.NewGuid():N}";
        var users = Enumerable.Range(0, 300).Select(i => $"user-{i:D3}").ToArray();
        var ledger = fixture.Client.GetGrain<ITenantPrivacyGrain>(tenant);
        IUserProfileGrain Profile(string user) => fixture.Client.GetGrain<IUserProfileGrain>(new ProfileKey(tenant, user).ToString());

        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (user, _) =>
            await Profile(user).SetPreferencesAsync(new PreferenceUpdate { PersonalizationOptIn = false }));
        await WaitForAsync(async () => users.All(PrivacyFilter.Of(await ledger.GetFilterAsync()).IsOptedOut), "all 300 opt-outs in the ledger");

        var writes = CountingSegmentStorage.Writes.GetValueOrDefault(ledger.GetGrainId().ToString());
        output.WriteLine($"300 opt-outs: {writes} ledger writes");
        Assert.InRange(writes, 1, 60); // one write per user (300) before the changes were sent in batches

        // Ten of them opt back in; the others stay out.
        await Task.WhenAll(users.Take(10).Select(u => Profile(u).SetPreferencesAsync(new PreferenceUpdate { PersonalizationOptIn = true })));
        await WaitForAsync(async () => !users.Take(10).Any(PrivacyFilter.Of(await ledger.GetFilterAsync()).IsOptedOut), "the ten opt-ins in the ledger");
        var filter = PrivacyFilter.Of(await ledger.GetFilterAsync());
        Assert.All(users.Skip(10), u => Assert.True(filter.IsOptedOut(u), u));
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(50);
        }
    }
}
