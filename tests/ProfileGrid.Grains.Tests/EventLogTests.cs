using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Tests;

/// <summary>The log ingest path in a two-silo cluster (in-memory log): append, dispatch, write-behind, checkpoint.</summary>
[Collection(ClusterCollection.Name)]
public class EventLogTests(ClusterFixture fixture)
{
    private const int Partitions = 16;
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow.AddDays(-2);

    private static string NewUser() => "log-" + Guid.NewGuid().ToString("N")[..12];

    private static string Key(string user) => new ProfileKey("shop", user).ToString();

    private static EventBatch Batch(string user, params (string Id, EventKind Kind)[] events) => new(events.Select((e, i) => new UserEvent
    {
        EventId = e.Id,
        Kind = e.Kind,
        Tenant = "shop",
        UserId = user,
        OccurredAt = Start.AddMinutes(i),
        Source = Channel.Web,
        Search = e.Kind == EventKind.Search ? new SearchInfo { Query = "boots" } : null,
        Page = e.Kind == EventKind.PageView ? new PageInfo { Url = "/" } : null,
    }).ToList());

    private Task<long> AppendAsync(params EventBatch[] batches)
    {
        var partition = ProfileBuckets.LogPartition(Key(batches[0].Events[0].UserId), Partitions);
        Assert.All(batches, b => Assert.Equal(partition, ProfileBuckets.LogPartition(Key(b.Events[0].UserId), Partitions)));
        return fixture.Client.GetGrain<IEventLogPartitionGrain>(partition)
            .AppendAsync([.. batches.Select(b => new ProfileBatch(Key(b.Events[0].UserId), b))]);
    }

    private async Task<UserProfile> WaitForAsync(string user, Func<UserProfile, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var profile = await fixture.Client.GetGrain<IUserProfileGrain>(Key(user)).GetSnapshotAsync();
            if (profile is not null && condition(profile))
            {
                return profile;
            }

            Assert.True(DateTime.UtcNow < deadline, $"The profile of {user} did not reach the expected state.");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Appended_events_reach_their_profiles_on_both_silos()
    {
        var users = Enumerable.Range(0, 40).Select(_ => NewUser()).ToList();

        await Task.WhenAll(users.Select(u => AppendAsync(Batch(u, ("a", EventKind.PageView), ("b", EventKind.Search)))));

        foreach (var user in users)
        {
            var profile = await WaitForAsync(user, p => p.EventsApplied == 2);
            Assert.Equal(1, profile.Behavior.Searches);
        }
    }

    [Fact]
    public async Task The_same_events_appended_twice_are_applied_once()
    {
        var user = NewUser();
        var batch = Batch(user, ("a", EventKind.PageView), ("b", EventKind.PageView));

        var first = await AppendAsync(batch);
        var second = await AppendAsync(batch);
        await AppendAsync(Batch(user, ("c", EventKind.Search)));

        Assert.True(second > first);
        var profile = await WaitForAsync(user, p => p.EventsApplied == 3);
        Assert.Equal(2, profile.Behavior.EventCounts[EventKind.PageView]);
    }

    [Fact]
    public async Task Profiles_write_behind_and_the_checkpoint_catches_up()
    {
        var user = NewUser();
        var partition = fixture.Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(Key(user), Partitions));

        await AppendAsync(Batch(user, ("a", EventKind.PageView)));
        await WaitForAsync(user, p => p.EventsApplied == 1);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        LogPartitionStatus status;
        do
        {
            status = await partition.GetStatusAsync();
            if (status.ProfilesWithUnwrittenState == 0 && status.Checkpoint == status.NextPosition)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal(0, status.ProfilesWithUnwrittenState);
        Assert.Equal(status.NextPosition, status.Checkpoint);
    }

    [Theory]
    [InlineData("demo/u-000001", 16, 10)]
    [InlineData("shop/alice", 16, 2)]
    [InlineData("shop/alice", 1024, 354)]
    public void Partitions_are_fixed_by_the_key_not_by_the_process(string key, int partitions, int expected)
    {
        // Expected values are FNV-1a computed independently: a partition must never depend on a per-process hash seed,
        // or a restarted silo would look for a user's unwritten events in the wrong partition.
        Assert.Equal(expected, ProfileBuckets.LogPartition(key, partitions));
    }
}
