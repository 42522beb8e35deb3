using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using Orleans.Core.Internal;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// A profile whose feature shard did not write its push within the report's wait is reported written all the same (one
/// unreachable shard must not hold the log's checkpoint), but the push is not given up: the shard's activation may die
/// holding it unwritten, and a user with no further event would then be missing from the tenant's listing for good (CI
/// at a853bb2: one of 150 users, after a silo was killed while the cluster had not yet declared it dead).
/// </summary>
public sealed class PushNotWrittenTests : InterruptedLoginTestBase
{
    private const int Partitions = 16;
    private const int Shards = 16;

    protected override void ConfigureSilo(TestClusterBuilder builder) => builder.AddSiloBuilderConfigurator<SiloConfigurator>();

    [Fact]
    public async Task A_push_lost_with_its_shard_after_the_report_went_is_sent_again_until_stored()
    {
        var (tenant, user) = (NewId("pn-"), NewId("u-"));
        var key = new ProfileKey(tenant, user).ToString();
        var shard = Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(tenant, SegmentKeys.ShardOf(key, Shards)));
        var shardId = shard.GetGrainId().ToString();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        CountingSegmentStorage.HeldWrites[shardId] = held;
        try
        {
            await AppendAsync(tenant, user, PageView(tenant, user, "e1", 1));
            await WaitForAsync(tenant, user, v => v.EventsApplied == 1, "the event was not applied");

            // The report stops waiting for the shard (three quarters of StuckAfter): the checkpoint passes the record.
            var partition = Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(key, Partitions));
            await UntilAsync(async () => (await partition.GetStatusAsync()) is { ProfilesWithUnwrittenState: 0 } status && status.Checkpoint == status.NextPosition, "the checkpoint never passed the record", seconds: 45);
            Assert.Contains(key, await shard.GetUsersAsync(null, 100)); // taken, in memory only

            // The shard's activation ends without storing it, as on a silo killed under it.
            held.SetException(new IOException("The silo died under this write (test storage)."));
            await shard.Cast<IGrainManagementExtension>().DeactivateOnIdle();
            await Task.Delay(300);
        }
        finally
        {
            CountingSegmentStorage.HeldWrites.TryRemove(shardId, out _);
        }

        // Storage is back: the profile's push comes again, and is stored (a fresh activation reads it).
        await UntilAsync(async () => (await shard.GetUsersAsync(null, 100)).Contains(key), "the user never came back to its shard", seconds: 45);
        await UntilAsync(
            async () =>
            {
                await shard.Cast<IGrainManagementExtension>().DeactivateOnIdle();
                await Task.Delay(200);
                return (await shard.GetUsersAsync(null, 100)).Contains(key);
            },
            "the user came back to its shard's memory but was never stored", seconds: 45);
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            InterruptedLoginTestBase.Configure(silo, TimeSpan.FromMinutes(1));
            silo.Services.Configure<ProfileGrid.Grains.Segments.SegmentationOptions>(o => o.ShardFlushInterval = TimeSpan.FromSeconds(1));
            silo.Services.Configure<ProfileGrid.Grains.Ingest.IngestOptions>(o => o.StuckAfter = TimeSpan.FromSeconds(2));
        }
    }
}
