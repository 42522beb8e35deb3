using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Stats;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Stats;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// The stats path in a two-silo cluster: events appended to the log reach the tenant's stats grain through each silo's
/// collector, and the stats grains are called once per flush per silo, however many events there are.
/// </summary>
public sealed class StatsGridTests : IAsyncLifetime
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(100);
    private const int Silos = 2;
    private const int Partitions = 16;

    /// <summary>Calls received by stats grains and the tenant directory, by grain key; counted by an incoming grain call filter.</summary>
    private static readonly ConcurrentDictionary<string, int> StatsCalls = new(StringComparer.Ordinal);
    private static int _directoryCalls;

    private TestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(initialSilosCount: Silos);
        builder.AddSiloBuilderConfigurator<Configurator>();
        builder.AddClientBuilderConfigurator<ClusterFixture.ClientConfigurator>();
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.StopAllSilosAsync();
        await _cluster.DisposeAsync();
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            ClusterFixture.AddGrainsInMemory(silo);
            silo.Services.Configure<StatsOptions>(o => o.FlushInterval = FlushInterval);
            silo.AddIncomingGrainCallFilter(async context =>
            {
                if (context.InterfaceMethod?.DeclaringType == typeof(ITenantStatsGrain) && context.InterfaceMethod.Name == nameof(ITenantStatsGrain.ApplyAsync))
                {
                    StatsCalls.AddOrUpdate(context.TargetId.Key.ToString()!, 1, (_, n) => n + 1);
                }
                else if (context.InterfaceMethod?.DeclaringType == typeof(ITenantDirectoryGrain) && context.InterfaceMethod.Name == nameof(ITenantDirectoryGrain.RegisterAsync))
                {
                    Interlocked.Increment(ref _directoryCalls);
                }

                await context.Invoke();
            });
        }
    }

    private static UserEvent PageView(string tenant, string user, int i, DateTimeOffset at, Channel source) => new()
    {
        EventId = $"{user}-{i}",
        Kind = i % 3 == 0 ? EventKind.Search : EventKind.PageView,
        Tenant = tenant,
        UserId = user,
        OccurredAt = at,
        Source = source,
        Page = i % 3 == 0 ? null : new PageInfo { Url = "/p/" + i },
        Search = i % 3 == 0 ? new SearchInfo { Query = "boots" } : null,
    };

    [Fact]
    public async Task Stats_grains_are_called_once_per_flush_per_silo_not_once_per_event()
    {
        var tenant = "calls-" + Guid.NewGuid().ToString("N")[..8];
        const int users = 200, eventsPerUser = 20;
        const int total = users * eventsPerUser;
        var started = Stopwatch.StartNew();
        var now = DateTimeOffset.UtcNow;

        // One record per user and burst of 5 events, so profiles on both silos apply many small batches.
        for (var burst = 0; burst < eventsPerUser / 5; burst++)
        {
            var byPartition = Enumerable.Range(0, users)
                .Select(u => (Key: new ProfileKey(tenant, $"u{u}").ToString(), User: $"u{u}"))
                .GroupBy(u => ProfileBuckets.LogPartition(u.Key, Partitions));
            await Task.WhenAll(byPartition.Select(group => _cluster.Client.GetGrain<IEventLogPartitionGrain>(group.Key).AppendAsync(
                [.. group.Select(u => new ProfileBatch(u.Key, new EventBatch(Enumerable.Range(burst * 5, 5)
                    .Select(i => PageView(tenant, u.User, i, now.AddMinutes(-100 + i), i % 2 == 0 ? Channel.Web : Channel.App)).ToList())))])));
        }

        // The partitions record the lag once a profile's call returns, after the profile counted its events: a silo's flush
        // can fall between the two, so wait for both.
        // The count is the feature shards', which hear of a profile when it writes its state: a write-behind later.
        var stats = await WaitForStatsAsync(tenant, s => s.Profiles.EventsApplied == total && s.Ingest.LagMs.Samples > 0 && s.Profiles.Count == users);
        started.Stop();

        Assert.Equal(users, stats.Profiles.Count);
        Assert.Equal(total, stats.Profiles.EventsBySource.Values.Sum());
        Assert.Equal(total / 2, stats.Profiles.EventsBySource["web"]);
        Assert.Equal(Enumerable.Range(0, eventsPerUser).Count(i => i % 3 == 0) * users, stats.Profiles.EventsByType["search"]);
        Assert.Equal(users, stats.Profiles.Completeness.Sum(c => c.Count));
        Assert.Equal(users, stats.Profiles.EventsPerProfile.Single(b => b.Label == "16-31").Count);
        Assert.Equal(users, stats.Profiles.Staleness.Single(b => b.Label == "1-24 h").Count + stats.Profiles.Staleness.Single(b => b.Label == "< 1 h").Count);
        Assert.Equal(0, stats.Ingest.Duplicates);
        Assert.True(stats.Ingest.LagMs.Samples > 0, "the partitions measure acknowledged-to-applied lag");

        // Bounded by flushes: each silo calls the tenant's stats grain at most once per flush interval (plus its last one).
        var calls = StatsCalls.GetValueOrDefault(tenant);
        var flushes = (int)Math.Ceiling(started.Elapsed / FlushInterval) + 2;
        Assert.InRange(calls, 1, Silos * flushes);
        Assert.True(calls < total / 20, $"{calls} calls for {total} events: the stats grain must not hear of each event");
        Assert.InRange(Volatile.Read(ref _directoryCalls), 1, Silos * 3);

        // The directory lists the tenant, and the tenant list line agrees with the stats.
        Assert.Contains(tenant, await _cluster.Client.GetGrain<ITenantDirectoryGrain>(0).ListAsync());
        var summary = await _cluster.Client.GetGrain<ITenantStatsGrain>(tenant).GetSummaryAsync();
        Assert.Equal(users, summary!.Profiles);
    }

    [Fact]
    public async Task The_same_record_appended_twice_counts_its_events_once_and_the_repeat_as_duplicates()
    {
        var tenant = "dupes-" + Guid.NewGuid().ToString("N")[..8];
        var key = new ProfileKey(tenant, "bob").ToString();
        var batch = new ProfileBatch(key, new EventBatch(Enumerable.Range(0, 7).Select(i => PageView(tenant, "bob", i, DateTimeOffset.UtcNow.AddDays(-3), Channel.Crm)).ToList()));
        var partition = _cluster.Client.GetGrain<IEventLogPartitionGrain>(ProfileBuckets.LogPartition(key, Partitions));
        await partition.AppendAsync([batch]);
        await partition.AppendAsync([batch]);

        var stats = await WaitForStatsAsync(tenant, s => s.Ingest.Duplicates == 7 && s.Profiles.Count == 1);
        Assert.Equal(7, stats.Profiles.EventsApplied);
        Assert.Equal(1, stats.Profiles.Count);
        Assert.Equal(7, stats.Profiles.EventsBySource["crm"]);
        Assert.Equal(1, stats.Profiles.Staleness.Single(b => b.Label == "1-7 d").Count);
        Assert.Equal(1, stats.Profiles.EventsPerProfile.Single(b => b.Label == "4-7").Count);
    }

    private async Task<TenantStatsView> WaitForStatsAsync(string tenant, Func<TenantStatsView, bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        TenantStatsView? last = null;
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            last = await _cluster.Client.GetGrain<ITenantStatsGrain>(tenant).GetStatsAsync();
            if (last is not null && condition(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"The stats of {tenant} did not reach the expected state; last: {System.Text.Json.JsonSerializer.Serialize(last)}");
        return null!;
    }
}
