using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// A login's merge stays pending at the visitor's log partition (so `allWritten` stays false, and a restart resumes it)
/// until the shards have stored what the merge pushed: the visitor leaving its feature and interaction shards, the person
/// with the visitor's history. Before, it was settled as soon as the history was applied, and a kill within the shards'
/// write interval left the visitor listed and counted for good.
/// </summary>
public sealed class MergePushesTests : InterruptedLoginTestBase
{
    private const int Partitions = 16;
    private const int Shards = 16;

    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task A_login_merge_is_pending_until_the_visitor_has_left_its_shards_in_their_stored_state()
    {
        var (tenant, visitor, anonymous, user) = await VisitorAndUserAsync("mp-");
        var partition = PartitionOf(tenant, anonymous);
        foreach (var caughtUp in new[] { partition, PartitionOf(tenant, user) })
        {
            // Both profiles reported written, so their shards have written them too and have nothing under way.
            await UntilAsync(async () => (await caughtUp.GetStatusAsync()) is { ProfilesWithUnwrittenState: 0 } status && status.Checkpoint == status.NextPosition, "a partition never caught up");
        }

        // The visitor's shards take its leaving and then cannot store it.
        var shard = SegmentKeys.Shard(tenant, SegmentKeys.ShardOf(new ProfileKey(tenant, anonymous).ToString(), Shards));
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string[] heldGrains = [Client.GetGrain<IFeatureShardGrain>(shard).GetGrainId().ToString(), Client.GetGrain<IInteractionShardGrain>(shard).GetGrainId().ToString()];
        foreach (var grain in heldGrains)
        {
            CountingSegmentStorage.HeldWrites[grain] = held;
        }

        try
        {
            var identifier = Client.GetGrain<IIdentifierGrain>(new ProfileKey(tenant, IdentifierKinds.Name(IdentifierKinds.Anonymous, visitor)).ToString());
            var login = new IdentityClaim(tenant, IdentifierKinds.Anonymous, visitor, user, "login-1", "web", Start.AddMinutes(4));
            Assert.Equal(ClaimOutcome.Merged, await identifier.ClaimAsync(login));
            await WaitForAsync(tenant, user, v => v.EventsApplied == 3, "the visitor's history never joined the user");

            // Past the shards' write interval (a second here): their writes are under way and held.
            await Task.Delay(TimeSpan.FromSeconds(2.5));
            Assert.Equal(1, (await partition.GetStatusAsync()).MergesPending);

            // The identifier waits for the shards off its turn: the user's next requests, which claim it again, are not
            // held up by a shard's write (a large shard writes every 25 s, past a call's time-out).
            Assert.Equal(ClaimOutcome.AlreadyLinked, await identifier.ClaimAsync(login).WaitAsync(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            foreach (var grain in heldGrains)
            {
                CountingSegmentStorage.HeldWrites.TryRemove(grain, out _);
            }

            held.SetResult();
        }

        await UntilAsync(async () => (await partition.GetStatusAsync()).MergesPending == 0, "the merge stayed pending after the shards wrote");
    }

    private IEventLogPartitionGrain PartitionOf(string tenant, string profile) =>
        Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(new ProfileKey(tenant, profile).ToString(), Partitions));


    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            InterruptedLoginTestBase.Configure(silo, TimeSpan.FromMinutes(1));
            silo.Services.Configure<ProfileGrid.Grains.Segments.SegmentationOptions>(o => o.ShardFlushInterval = TimeSpan.FromSeconds(1));
            silo.Services.Configure<ProfileGrid.Grains.Recommendations.RecommendationOptions>(o => o.ShardFlushInterval = TimeSpan.FromSeconds(1));
        }
    }
}
