using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>
/// The lake of a silo (memory log, lake in a folder): partitions archive what profiles applied, DuckDB finds the
/// profiles' counts in it, the log is trimmed behind it, and profiles rebuilt from it equal the profiles before.
/// </summary>
public sealed class LakeClusterTests : LakeSiloTestBase
{
    protected override TimeSpan ArchiveInterval => TimeSpan.FromMilliseconds(300);

    protected override int MaxRecordsPerArchive => 7;

    private async Task AppendAsync(IEnumerable<ProfileBatch> batches)
    {
        foreach (var group in batches.GroupBy(b => ProfileBuckets.LogPartition(b.ProfileKey, Partitions)))
        {
            foreach (var record in group.Chunk(5))
            {
                await Cluster.Client.GetGrain<IEventLogPartitionGrain>(group.Key).AppendAsync(record);
            }
        }
    }

    private async Task UntilAllWrittenAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var statuses = await Task.WhenAll(Enumerable.Range(0, Partitions).Select(p => Cluster.Client.GetGrain<IEventLogPartitionGrain>(p).GetStatusAsync()));
            if (statuses.All(s => s.ProfilesWithUnwrittenState == 0 && s.RecordsAwaitingDispatch == 0 && !s.Replaying && s.Checkpoint == s.NextPosition))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, "The log's records did not all reach written profile state.");
            await Task.Delay(50);
        }
    }

    /// <summary>Archive steps until every partition's watermark reaches its log's last record.</summary>
    private async Task UntilArchivedAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        for (var p = 0; p < Partitions; p++)
        {
            var partition = Cluster.Client.GetGrain<IEventLogPartitionGrain>(p);
            var last = (await partition.GetStatusAsync()).NextPosition - 1;
            while ((await partition.ArchiveNowAsync()) < last)
            {
                Assert.True(DateTime.UtcNow < deadline, $"Partition {p} did not archive up to {last}.");
            }
        }
    }

    private async Task<Dictionary<string, ProfileView>> ViewsAsync(string tenant, IEnumerable<string> users, DateTimeOffset asOf)
    {
        var views = new Dictionary<string, ProfileView>();
        foreach (var user in users.Distinct())
        {
            views[user] = (await Cluster.Client.GetGrain<IUserProfileGrain>(new ProfileKey(tenant, user).ToString()).GetViewAsync(asOf))!;
        }

        return views;
    }

    private static List<string> Users(IEnumerable<ProfileBatch> batches) => [.. batches.Select(b => ProfileKey.Parse(b.ProfileKey).UserId).Distinct()];

    [Fact]
    public async Task Events_sent_after_an_acknowledged_SetPreferences_opt_out_are_archived_without_their_context()
    {
        // probe72 F7: the archiver's filter, read a moment before, did not know the opt-out yet: a search sent 0.25 s after
        // the answer kept its words and city in the lake, where rows are not rewritten.
        const string tenant = "optout-direct";
        var key = new ProfileKey(tenant, "dora");
        UserEvent Search(string id) => new()
        {
            EventId = id, Kind = EventKind.Search, Tenant = tenant, UserId = key.UserId, OccurredAt = DateTimeOffset.UtcNow.AddSeconds(-1),
            Context = new EventContext { City = "Passau", SessionId = "s-1" }, Search = new SearchInfo { Query = "secret words", ResultCount = 1 },
        };

        await AppendAsync([new ProfileBatch(key.ToString(), new EventBatch([Search("before")]))]);
        await UntilAllWrittenAsync();
        await UntilArchivedAsync(); // the archiver holds the tenant's filter now: nobody opted out

        await Cluster.Client.GetGrain<IUserProfileGrain>(key.ToString()).SetPreferencesAsync(new PreferenceUpdate { PersonalizationOptIn = false });
        await AppendAsync([new ProfileBatch(key.ToString(), new EventBatch([Search("after")]))]);
        await UntilAllWrittenAsync();
        await UntilArchivedAsync();

        using var duck = LakeTestData.Open(Folder);
        var rows = LakeTestData.Query(duck, $"SELECT event_id, city, query FROM events WHERE tenant = '{tenant}' ORDER BY event_id");
        Assert.Equal([("after", null, null), ("before", "Passau", "secret words")], rows.Select(r => ((string)r[0]!, r[1] as string, r[2] as string)));
    }

    [Fact]
    public async Task DuckDB_finds_the_profiles_counts_in_the_lake_and_the_log_is_trimmed_behind_it()
    {
        const string tenant = "Shop #1/ü";
        var history = LakeTestData.MessyHistory(tenant, 40, seed: 11);

        // And a visitor who browsed for years and never bought.
        var browser = new ProfileKey(tenant, "anon:browser-11");
        history.Add(new ProfileBatch(browser.ToString(), new EventBatch([
            new UserEvent { EventId = "b-1", Kind = EventKind.ProductView, Tenant = tenant, UserId = browser.UserId, OccurredAt = DateTimeOffset.UtcNow.AddDays(-700), Product = new ProductInfo { ProductId = "p-1", Category = "bags" } },
            new UserEvent { EventId = "b-2", Kind = EventKind.ProductView, Tenant = tenant, UserId = browser.UserId, OccurredAt = DateTimeOffset.UtcNow.AddDays(-3), Product = new ProductInfo { ProductId = "p-2", Category = "bags" } },
        ])));
        await AppendAsync(history);
        await UntilAllWrittenAsync();
        await UntilArchivedAsync();

        var views = await ViewsAsync(tenant, Users(history), DateTimeOffset.UtcNow);
        using var duck = LakeTestData.Open(Folder);

        // Events per user: the documented applied_events view (one row per event id, one purchase per order id).
        var perUser = LakeTestData.Query(duck, "SELECT user_id, count(*) FROM applied_events GROUP BY user_id")
            .ToDictionary(r => (string)r[0]!, r => Convert.ToInt64(r[1]));
        Assert.Equal(views.Count, perUser.Count);
        foreach (var (user, view) in views)
        {
            Assert.Equal(view.EventsApplied, perUser[user]);
        }

        // Purchase totals per user and currency, and orders per user (an order's parts may be in two currencies).
        var totals = LakeTestData.Query(duck, "SELECT user_id, currency, sum(order_total) FROM applied_events WHERE type = 'purchase' GROUP BY ALL");
        var orders = LakeTestData.Query(duck, "SELECT user_id, count(DISTINCT order_id) FROM applied_events WHERE type = 'purchase' GROUP BY ALL")
            .ToDictionary(r => (string)r[0]!, r => Convert.ToInt64(r[1]));
        foreach (var (user, view) in views)
        {
            var mine = totals.Where(t => (string)t[0]! == user).ToList();
            Assert.Equal(view.Behavior.Orders, orders.GetValueOrDefault(user));
            foreach (var money in view.Behavior.MonetaryByCurrency)
            {
                Assert.Equal(money.Amount, Convert.ToDecimal(mine.Single(t => (string)t[1]! == money.Currency)[2]));
            }
        }

        // Distinct users per day, against the history itself (first report of each event id per user).
        var expectedPerDay = history.SelectMany(b => b.Batch.Events).DistinctBy(e => (e.UserId, e.EventId))
            .GroupBy(e => e.OccurredAt.UtcDateTime.Date).ToDictionary(g => DateOnly.FromDateTime(g.Key), g => g.Select(e => e.UserId).Distinct().Count());
        var perDay = LakeTestData.Query(duck, "SELECT CAST(timezone('UTC', occurred_at) AS DATE), count(DISTINCT user_id) FROM events GROUP BY 1")
            .ToDictionary(r => (DateOnly)r[0]!, r => Convert.ToInt32(r[1]));
        Assert.Equal(expectedPerDay.OrderBy(d => d.Key), perDay.OrderBy(d => d.Key));

        // The day's profile snapshot: one row per profile, as the profiles reported to their feature shards.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Cluster.Client.GetGrain<IFeatureShardGrain>(SegmentKeys.Shard(tenant, i)).CountAsync()))).Sum() < views.Count)
        {
            Assert.True(DateTime.UtcNow < deadline, "The profiles did not all report to their feature shards.");
            await Task.Delay(50);
        }

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.Equal(views.Count, await Silo.GetRequiredService<LakeSnapshotter>().SnapshotAsync(tenant, today));
        Assert.True(File.Exists(Path.Combine(Folder, LakePaths.Snapshot(tenant, today))));
        var snapshot = LakeTestData.Query(duck, $"SELECT user_id, frequency, tenant, recency_days, days_since_first_purchase, average_order_value FROM read_parquet('{Folder}/snapshots/**/*.parquet', hive_partitioning = false)");
        Assert.Equal(views.Count, snapshot.Count);
        foreach (var row in snapshot)
        {
            Assert.Equal(tenant, row[2]);
            var view = views[(string)row[0]!];
            Assert.Equal(view.Behavior.Orders, Convert.ToInt64(row[1]));

            // probe72 F3: a profile that never bought has no recency, first purchase or order value, as in the API.
            Assert.Equal(view.Behavior.Orders > 0, row[3] is not null);
            Assert.Equal(view.Behavior.Orders > 0, row[4] is not null);
            Assert.Equal(view.Behavior.AverageOrderValue is not null, row[5] is not null);
        }

        Assert.Contains(views.Values, v => v.Behavior.Orders == 0);

        // Trimmed: every partition keeps at most its last record (everything is checkpointed and archived).
        var log = (MemoryEventLog)Silo.GetRequiredService<IEventLog>();
        Assert.All(Enumerable.Range(0, Partitions), p => Assert.True(log.CountKept(p) <= 1, $"partition {p} kept {log.CountKept(p)} records"));
    }

    [Fact]
    public async Task Profiles_rebuilt_from_the_lake_and_the_log_equal_the_profiles_before()
    {
        const string tenant = "rebuild";
        var archived = LakeTestData.MessyHistory(tenant, 30, seed: 21);
        await AppendAsync(archived);
        await UntilAllWrittenAsync();
        await UntilArchivedAsync();

        // More of the same users' events that stay in the log only (not yet archived), duplicates and 1970 included.
        var later = LakeTestData.MessyHistory(tenant, 30, seed: 22)
            .Select(b => b with { ProfileKey = archived[0].ProfileKey })
            .Take(6)
            .Select(b => b with { Batch = new EventBatch([.. b.Batch.Events.Select(e => e with { EventId = "late-" + e.EventId, UserId = ProfileKey.Parse(archived[0].ProfileKey).UserId })]) })
            .ToList();
        await AppendAsync(later);
        await UntilAllWrittenAsync();

        var asOf = DateTimeOffset.UtcNow;
        var users = Users(archived);
        var before = await ViewsAsync(tenant, users, asOf);

        var report = await Silo.GetRequiredService<LakeRebuilder>().RebuildAsync(tenant);

        Assert.Equal(users.Count, report.Profiles);
        var after = await ViewsAsync(tenant, users, asOf);
        foreach (var user in users)
        {
            if (Comparable(before[user]) != Comparable(after[user]))
            {
                var rows = await Silo.GetRequiredService<LakeReader>().ReadTenantAsync(tenant, user);
                var sent = archived.Concat(later).Where(b => ProfileKey.Parse(b.ProfileKey).UserId == user).SelectMany(b => b.Batch.Events).ToList();
                Assert.Fail($"{user}: lake {rows.Count} rows ({string.Join(",", rows.Select(r => r.EventId + "@" + r.LogPosition))}), sent {sent.Count} ({string.Join(",", sent.Select(e => e.EventId))})\n{Comparable(before[user])}\n{Comparable(after[user])}");
            }
        }

        // One user alone, and the profile goes on taking new events after its rebuild.
        var one = users[1];
        Assert.Equal(1, (await Silo.GetRequiredService<LakeRebuilder>().RebuildAsync(tenant, one)).Profiles);
        Assert.Equal(Comparable(before[one]), Comparable((await ViewsAsync(tenant, [one], asOf))[one]));
        var key = new ProfileKey(tenant, one).ToString();
        await AppendAsync([new ProfileBatch(key, new EventBatch([new UserEvent
        {
            EventId = "after-rebuild", Kind = EventKind.PageView, Tenant = tenant, UserId = one, OccurredAt = DateTimeOffset.UtcNow.AddMinutes(-1),
        }]))]);
        await UntilAllWrittenAsync();
        Assert.Equal(before[one].EventsApplied + 1, (await ViewsAsync(tenant, [one], DateTimeOffset.UtcNow))[one].EventsApplied);
    }

    [Fact]
    public async Task A_heavy_users_rebuild_counts_each_event_once_and_leaves_an_archive_that_still_recognises_old_repeats()
    {
        const string tenant = "heavy";
        const string user = "buyer-1";
        var key = new ProfileKey(tenant, user).ToString();
        var start = new DateTimeOffset(2011, 1, 4, 10, 0, 0, TimeSpan.Zero);
        var history = Enumerable.Range(0, 3000).Select(i => new UserEvent
        {
            EventId = $"v-{i}", Kind = EventKind.PageView, Tenant = tenant, UserId = user, OccurredAt = start.AddMinutes(97 * i),
        }).ToList();

        // The history, then its first 500 again (more than the window of 2,000 ids back): the archive recognises them.
        await AppendAsync(history.Chunk(250).Select(c => new ProfileBatch(key, new EventBatch([.. c]))));
        await AppendAsync([new ProfileBatch(key, new EventBatch([.. history.Take(500)]))]);
        await UntilAllWrittenAsync();
        var grain = Cluster.Client.GetGrain<IUserProfileGrain>(key);
        Assert.Equal(3000, (await grain.GetViewAsync())!.EventsApplied);
        Assert.Equal(2, (await Cluster.Client.GetGrain<IEventIdArchiveGrain>(key).KnownAsync([EventIdWindow.Hash("v-0"), EventIdWindow.Hash("v-2999"), EventIdWindow.Hash("v-999")])).Length);

        // Rebuilt from the lake and the log, which hold the repeats too: once each, and the archive is made again.
        await UntilArchivedAsync();
        Assert.Equal(1, (await Silo.GetRequiredService<LakeRebuilder>().RebuildAsync(tenant, user)).Profiles);
        Assert.Equal(3000, (await grain.GetViewAsync())!.EventsApplied);
        await AppendAsync([new ProfileBatch(key, new EventBatch([.. history.Skip(100).Take(300)]))]);
        await UntilAllWrittenAsync();
        Assert.Equal(3000, (await grain.GetViewAsync())!.EventsApplied);

        // One batch larger than the window (its own first ids spill before any write holds them): they go to the archive
        // only after the write that holds their events, and a repeat of them later is still recognised.
        var bulkKey = new ProfileKey(tenant, "buyer-2").ToString();
        var bulk = history.Take(2500).Select(e => e with { UserId = "buyer-2" }).ToList();
        await AppendAsync([new ProfileBatch(bulkKey, new EventBatch([.. bulk]))]);
        await UntilAllWrittenAsync();
        var bulkArchive = Cluster.Client.GetGrain<IEventIdArchiveGrain>(bulkKey);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await bulkArchive.KnownAsync([EventIdWindow.Hash("v-0"), EventIdWindow.Hash("v-499")])).Length < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "The ids spilled by one large batch did not reach the archive after its write.");
            await Task.Delay(50);
        }

        await AppendAsync([new ProfileBatch(bulkKey, new EventBatch([.. bulk.Take(600)]))]);
        await UntilAllWrittenAsync();
        Assert.Equal(2500, (await Cluster.Client.GetGrain<IUserProfileGrain>(bulkKey).GetViewAsync())!.EventsApplied);

        // Erased: the archive of the user's ids goes with the profile.
        await Cluster.Client.GetGrain<ITenantPrivacyGrain>(tenant).BeginErasureAsync([user]);
        await grain.EraseAsync();
        Assert.Empty(await Cluster.Client.GetGrain<IEventIdArchiveGrain>(key).KnownAsync([EventIdWindow.Hash("v-0")]));
    }

    /// <summary>The view's JSON without the instants of processing (when it was written, or a layer updated).</summary>
    private static string Comparable(ProfileView view)
    {
        var json = JsonNode.Parse(ProfileJson.Serialize(view))!;
        Strip(json);
        return json.ToJsonString();

        static void Strip(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                foreach (var name in o.Select(p => p.Key).Where(k => k.Equals("updatedAt", StringComparison.OrdinalIgnoreCase) || k.Equals("updated_at", StringComparison.Ordinal)).ToList())
                {
                    o.Remove(name);
                }

                foreach (var child in o.Select(p => p.Value).ToList())
                {
                    Strip(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    Strip(child);
                }
            }
        }
    }
}
