using ProfileGrid.Abstractions;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>The archiver against an in-memory log and a lake folder, read back with DuckDB.</summary>
public sealed class LakeArchiverTests : IDisposable
{
    private const int Partitions = 4;
    private readonly string _folder = LakeTestData.TempFolder();
    private readonly MemoryEventLog _log = new();

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private LakeArchiver Archiver(ILakeStore? store = null, int maxRecords = 2000, int compaction = 4) => new(
        store ?? new FolderLakeStore(_folder), _log, LakeTestData.Serializer,
        Options.Create(new LakeOptions { MaxRecordsPerArchive = maxRecords, CompactionThreshold = compaction }),
        TimeProvider.System, NullLogger<LakeArchiver>.Instance);

    private async Task ArchiveAllAsync(LakeArchiver archiver, long checkpoint = long.MaxValue)
    {
        for (var p = 0; p < Partitions; p++)
        {
            while ((await archiver.ArchiveAsync(p, checkpoint)).Records > 0)
            {
            }
        }
    }

    private static int Events(IEnumerable<ProfileBatch> batches) => batches.Sum(b => b.Batch.Events.Count);

    [Fact]
    public async Task Every_logged_event_is_one_row_in_its_tenant_and_day_with_its_fields()
    {
        var history = LakeTestData.MessyHistory("shop/ü x", 25, seed: 1);
        await LakeTestData.AppendAsync(_log, history, Partitions);

        await ArchiveAllAsync(Archiver(maxRecords: 3));

        using var duck = LakeTestData.Open(_folder);
        Assert.Equal(Events(history), LakeTestData.Scalar(duck, "SELECT count(*) FROM lake_rows"));
        Assert.Equal(0, LakeTestData.Scalar(duck, "SELECT count(*) FROM (SELECT log_partition, log_position, event_index FROM lake_rows GROUP BY ALL HAVING count(*) > 1)"));

        // The folder is the event's UTC day, or its year for events much older than the newest of their archive step
        // (here 1970 and 1998 beside this month's); the tenant folder is the encoded tenant.
        var folders = Directory.GetDirectories(Path.Combine(_folder, "events"));
        Assert.Equal(["tenant=shop~2F~C3~BC~20x"], folders.Select(Path.GetFileName));
        Assert.True(Directory.Exists(Path.Combine(folders[0], "date=1970")));
        Assert.True(Directory.Exists(Path.Combine(folders[0], "date=1998")));
        Assert.Contains(Directory.GetDirectories(folders[0]).Select(Path.GetFileName), name => name!.Length == "date=yyyy-MM-dd".Length);
        Assert.Equal(0, LakeTestData.Scalar(duck,
            "SELECT count(*) FROM (SELECT filename, occurred_at FROM read_parquet('" + _folder + "/events/**/*.parquet', filename = true, hive_partitioning = false)) " +
            "WHERE strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m-%d') <> regexp_extract(filename, 'date=([0-9-]+)', 1) " +
            "AND strftime(occurred_at AT TIME ZONE 'UTC', '%Y-%m') <> regexp_extract(filename, 'date=([0-9-]+)', 1) " +
            "AND strftime(occurred_at AT TIME ZONE 'UTC', '%Y') <> regexp_extract(filename, 'date=([0-9-]+)', 1)"));

        // Typed columns: a purchase's nested lines and total, an identify's traits in properties, a non-Latin query.
        var purchase = LakeTestData.Query(duck,
            "SELECT order_total, len(lines), lines[2].product_id, currency, country, device FROM events WHERE type = 'purchase' AND event_id = 'e-0-0'")[0];
        Assert.Equal(45.03m, Convert.ToDecimal(purchase[0]));
        Assert.Equal(2L, Convert.ToInt64(purchase[1]));
        Assert.Equal("p-ü", purchase[2]);
        Assert.Equal(["EUR", "DE", "mobile"], purchase[3..].Select(v => (string)v!));
        Assert.Equal("gold", LakeTestData.Query(duck, "SELECT json_extract_string(properties, '$.identify.traits.tier') FROM events WHERE type = 'identify' LIMIT 1")[0][0]);
        Assert.Equal("1970-01-01 00:00:01", LakeTestData.Query(duck, "SELECT strftime(min(occurred_at) AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M:%S') FROM events")[0][0]);
        Assert.True(LakeTestData.Scalar(duck, "SELECT count(*) FROM events WHERE query = '靴 rouge'") > 0);
    }

    [Fact]
    public async Task Rows_turn_back_into_the_events_they_came_from()
    {
        var history = LakeTestData.MessyHistory("t", 10, seed: 2);

        // Refunds: of lines, and of a stated amount with no lines and no known order.
        var user = ProfileKey.Parse(history[0].ProfileKey).UserId;
        history.Add(new ProfileBatch(history[0].ProfileKey, new EventBatch(
        [
            new UserEvent
            {
                EventId = "refund-1", Kind = EventKind.Refund, Tenant = "t", UserId = user, OccurredAt = DateTimeOffset.UtcNow.AddDays(-1),
                Refund = new RefundInfo { RefundId = "C536379", OrderId = "o-0-0", Currency = "EUR", Lines = [new PurchaseLine { ProductId = "p-1", Quantity = 1, UnitPrice = 19.99m }] },
            },
            new UserEvent
            {
                EventId = "refund-2", Kind = EventKind.Refund, Tenant = "t", UserId = user, OccurredAt = new DateTimeOffset(1999, 1, 1, 0, 0, 0, TimeSpan.Zero),
                Refund = new RefundInfo { RefundId = "CN-7", Currency = "GBP", Amount = 12.5m },
            },
        ])));
        await LakeTestData.AppendAsync(_log, history, Partitions);
        await ArchiveAllAsync(Archiver());

        var rows = await new LakeReader(new FolderLakeStore(_folder), _log, LakeTestData.Serializer).ReadTenantAsync("t");

        var expected = history.SelectMany(b => b.Batch.Events).ToList();
        Assert.Equal(expected.Count, rows.Count);
        foreach (var row in rows)
        {
            var back = row.ToEvent();
            var original = expected.First(e => e.EventId == back.EventId && e.UserId == back.UserId);
            Assert.Equal(Json(original), Json(back));
        }
    }

    private static string Json(UserEvent e) => System.Text.Json.JsonSerializer.Serialize(e with
    {
        Purchase = e.Purchase is null ? null : e.Purchase with { Lines = [.. e.Purchase.Lines] },
        Refund = e.Refund is null ? null : e.Refund with { Lines = [.. e.Refund.Lines] },
    });

    /// <summary>
    /// Twenty years of ratings, one every 18 days per user, imported at once (the outside probe's ml-latest: 48,605 files
    /// for 487,841 events by day, one per tenant, day and log partition; 5,676 for one tenant's 45,068 by month): the old
    /// years go to year folders, the last year's months to month folders, and a user's read by the days of their profile
    /// still finds every row.
    /// </summary>
    [Fact]
    public async Task A_history_of_many_years_is_archived_by_year_and_read_back_whole_per_user()
    {
        var start = new DateTimeOffset(1996, 3, 29, 12, 0, 0, TimeSpan.Zero);
        var users = Enumerable.Range(0, 6).Select(u => $"fan{u}").ToList();
        var batches = users.Select((user, u) => new ProfileBatch(
            new ProfileKey("films", user).ToString(),
            new EventBatch([.. Enumerable.Range(0, 400).Select(i => new UserEvent
            {
                EventId = $"r-{i}", Kind = EventKind.Rating, Tenant = "films", UserId = user, Source = Channel.Web,
                OccurredAt = start.AddDays(i * 18 + u), Rating = 1 + i % 5,
                Product = new ProductInfo { ProductId = $"m{i}", Category = "drama" },
            })]))).ToList();
        await LakeTestData.AppendAsync(_log, batches, Partitions);

        await ArchiveAllAsync(Archiver(maxRecords: 2000));

        // 400 ratings a user over 20 years: by day, about 2,400 files; by month about 1,300; by year, one per year a
        // partition saw (21 years, 4 partitions), and the last 13 months' by month and day.
        var tenant = Path.Combine(_folder, "events", "tenant=films");
        var folders = Directory.GetDirectories(tenant).Select(Path.GetFileName).ToList();
        var files = Directory.GetFiles(tenant, "*.parquet", SearchOption.AllDirectories).Length;
        Assert.InRange(files, 1, 21 * Partitions + 14 * Partitions);
        Assert.Contains("date=1996", folders);
        Assert.All(folders.Where(f => f!.Length == "date=yyyy-MM".Length), f => Assert.Matches("^date=201[45]-", f!));
        Assert.All(folders.Where(f => f!.Length == "date=yyyy-MM-dd".Length), f => Assert.StartsWith("date=2015-", f!));

        var reader = new LakeReader(new FolderLakeStore(_folder), _log, LakeTestData.Serializer);
        foreach (var (user, u) in users.Select((user, u) => (user, u)))
        {
            // As a rebuild asks: the user's rows within the days of their first and last event, and a narrower range.
            var whole = LakeDayRange.Between(start.AddDays(u), start.AddDays(399 * 18 + u));
            var rows = await reader.ReadUsersAsync("films", new Dictionary<string, LakeDayRange> { [user] = whole }).ToListAsync();
            Assert.Equal(400, rows.Count);
            var year2000 = new LakeDayRange(new DateOnly(2000, 1, 1), new DateOnly(2000, 12, 31));
            var inYear = await reader.ReadUsersAsync("films", new Dictionary<string, LakeDayRange> { [user] = year2000 }).ToListAsync();
            Assert.Equal(Enumerable.Range(0, 400).Count(i => start.AddDays(i * 18 + u).Year == 2000), inYear.Count);
        }
    }

    /// <summary>
    /// One tenant's folders depend on its own events only: a 1998 import archived in the same steps as another tenant's
    /// traffic of today keeps its day folders (the outside probe saw a tenant's layout change with its neighbours').
    /// </summary>
    [Fact]
    public async Task A_tenants_folders_are_chosen_by_its_own_newest_event_not_by_other_tenants_in_the_step()
    {
        var old = new DateTimeOffset(1998, 7, 1, 12, 0, 0, TimeSpan.Zero);
        ProfileBatch Ratings(string tenant, string user, DateTimeOffset from) => new(
            new ProfileKey(tenant, user).ToString(),
            new EventBatch([.. Enumerable.Range(0, 10).Select(i => new UserEvent
            {
                EventId = $"r-{i}", Kind = EventKind.Rating, Tenant = tenant, UserId = user, Source = Channel.Web,
                OccurredAt = from.AddDays(i), Rating = 4, Product = new ProductInfo { ProductId = $"m{i}" },
            })]));
        // Two users of one log partition, so that one archive step takes both tenants' events.
        var partition = ProfileBuckets.LogPartition(new ProfileKey("archive98", "u1").ToString(), Partitions);
        var liveUser = Enumerable.Range(0, 100).Select(i => $"v{i}").First(u => ProfileBuckets.LogPartition(new ProfileKey("live", u).ToString(), Partitions) == partition);
        await LakeTestData.AppendAsync(_log, [Ratings("archive98", "u1", old), Ratings("live", liveUser, DateTimeOffset.UtcNow.AddDays(-9))], Partitions);

        await ArchiveAllAsync(Archiver());

        var folders = Directory.GetDirectories(Path.Combine(_folder, "events", "tenant=archive98")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => LakePaths.DaySegment(DateOnly.FromDateTime(old.AddDays(i).UtcDateTime)))], folders);
    }

    [Fact]
    public async Task A_step_that_crashed_part_way_is_redone_exactly_on_restart()
    {
        var history = LakeTestData.MessyHistory("crash", 40, seed: 3);
        await LakeTestData.AppendAsync(_log, history, Partitions);

        // The store fails after a few writes, in the middle of a step (intent written, some parts written).
        for (var failAfter = 2; failAfter < 6; failAfter++)
        {
            var faulty = new FailingStore(new FolderLakeStore(_folder), failAfter);
            await Assert.ThrowsAsync<IOException>(() => ArchiveAllAsync(Archiver(faulty, maxRecords: 5)));
        }

        await ArchiveAllAsync(Archiver(maxRecords: 5));

        using var duck = LakeTestData.Open(_folder);
        Assert.Equal(Events(history), LakeTestData.Scalar(duck, "SELECT count(*) FROM lake_rows"));
        Assert.Equal(Events(history), LakeTestData.Scalar(duck, "SELECT count(DISTINCT (log_partition, log_position, event_index)) FROM lake_rows"));
    }

    [Fact]
    public async Task Compaction_merges_a_days_parts_and_keeps_every_row_once()
    {
        var archiver = Archiver(maxRecords: 1, compaction: 3);
        var history = LakeTestData.MessyHistory("c", 30, seed: 4);
        await LakeTestData.AppendAsync(_log, history, Partitions);
        await ArchiveAllAsync(archiver);

        using var duck = LakeTestData.Open(_folder);
        Assert.Equal(Events(history), LakeTestData.Scalar(duck, "SELECT count(*) FROM lake_rows"));
        var day = Path.Combine(_folder, "events", "tenant=c", "date=1970");
        var files = Directory.GetFiles(day).Select(Path.GetFileName).ToList();
        Assert.Contains(files, f => f!.StartsWith("compact-", StringComparison.Ordinal));
        Assert.All(files.GroupBy(f => f![..(f!.IndexOf("-p", StringComparison.Ordinal) + 6)]), g => Assert.True(g.Count() < 3, string.Join(", ", g)));

        // A merge that wrote its file and died before deleting the parts: the next merge takes both without doubling.
        var compacted = Directory.GetFiles(day, "compact-*")[0];
        var partition = int.Parse(Path.GetFileName(compacted)["compact-p".Length..("compact-p".Length + 4)], System.Globalization.CultureInfo.InvariantCulture);
        File.Copy(compacted, Path.Combine(day, $"part-p{partition:D4}-0000000000000000-0000000000000000.parquet"));
        Assert.True(await archiver.CompactAsync("events/tenant=c/date=1970/", partition, long.MaxValue, force: true));
        Assert.Equal(Events(history), LakeTestData.Scalar(duck, "SELECT count(*) FROM lake_rows"));
    }

    [Fact]
    public async Task The_log_is_trimmed_only_behind_both_the_archive_and_the_checkpoint()
    {
        var history = LakeTestData.MessyHistory("trim", 30, seed: 5);
        await LakeTestData.AppendAsync(_log, history, Partitions);
        var records = await _log.GetEndAsync(0);
        Assert.True(records > 4);

        // Checkpointed but not archived: nothing goes. Archived up to 2 records but checkpointed only 1: one goes.
        Assert.Equal(0, await _log.TrimAsync(0, -1));
        var archiver = Archiver(maxRecords: 2);
        await archiver.ArchiveAsync(0, checkpoint: 1);
        Assert.Equal(records - 1, _log.CountKept(0));

        // Checkpointed everywhere: trimmed to what is archived, never the last record (the log's end).
        await archiver.ArchiveAsync(0, checkpoint: long.MaxValue);
        Assert.Equal(records - 4, _log.CountKept(0));
        while ((await archiver.ArchiveAsync(0, long.MaxValue)).Records > 0)
        {
        }

        await archiver.ArchiveAsync(0, long.MaxValue);
        Assert.Equal(1, _log.CountKept(0));

        // What was trimmed is in the lake.
        using var duck = LakeTestData.Open(_folder);
        Assert.Equal(records, LakeTestData.Scalar(duck, "SELECT count(DISTINCT log_position) FROM lake_rows WHERE log_partition = 0"));
    }

    [Fact]
    public async Task A_read_of_the_lake_that_a_compaction_overlapped_is_told_to_read_again_and_the_next_read_has_every_row()
    {
        // Many small parts (one record each), nothing compacted yet.
        const string tenant = "race";
        var archiver = Archiver(maxRecords: 1, compaction: 1000);
        var history = LakeTestData.MessyHistory(tenant, 30, seed: 9);
        await LakeTestData.AppendAsync(_log, history, Partitions);
        await ArchiveAllAsync(archiver);
        var all = Enumerable.Range(0, Partitions).ToList();

        // A reader whose first file read is when every folder of the tenant is compacted: a folder listing already taken
        // then names parts that are gone (skipped, as if never there) and not the merged file that replaced them.
        var store = new CompactingOnFirstReadStore(new FolderLakeStore(_folder), archiver, tenant, Partitions);
        var reader = new LakeReader(store, _log, LakeTestData.Serializer);
        var marks = await archiver.WatermarksAsync(all);
        var overlapped = await reader.ReadTenantAsync(tenant);
        Assert.True(store.Compactions > 0);
        Assert.True(await archiver.ChangedSinceAsync(marks), $"{overlapped.Count} of {Events(history)} rows read across the compaction, and the watermarks did not say so");

        // Read again as the rebuild, identity and export jobs do: the watermarks hold still and every row is there once.
        marks = await archiver.WatermarksAsync(all);
        var again = await reader.ReadTenantAsync(tenant);
        Assert.False(await archiver.ChangedSinceAsync(marks));
        Assert.Equal(Events(history), again.Count);
    }

    [Fact]
    public async Task A_compaction_that_died_midway_leaves_its_partition_marked_until_the_next_step_clears_it()
    {
        var history = LakeTestData.MessyHistory("crash", 30, seed: 10);
        await LakeTestData.AppendAsync(_log, history, Partitions);
        await ArchiveAllAsync(Archiver(maxRecords: 1, compaction: 1000));

        // The merge announces itself, writes its file, deletes one part and dies.
        var folder = "events/tenant=crash/date=1970/";
        var partition = Directory.GetFiles(Path.Combine(_folder, folder)).Select(f => LakePaths.ParseFile(folder + Path.GetFileName(f))!.Value.Partition)
            .GroupBy(p => p).First(g => g.Count() >= 2).Key;
        var dying = Archiver(new FailingStore(new FolderLakeStore(_folder), failAfter: int.MaxValue, failDeletesAfter: 1));
        await Assert.ThrowsAsync<IOException>(() => dying.CompactAsync(folder, partition, long.MaxValue, force: true));

        var archiver = Archiver();
        var mark = await archiver.GetWatermarkAsync(partition);
        Assert.True(mark.Compacting);
        Assert.True(await archiver.ChangedSinceAsync(new Dictionary<int, ArchiveWatermark> { [partition] = mark }));

        // The partition's next step (nothing new to archive) clears the mark; the merged file and the part left both hold rows, read once.
        await archiver.ArchiveAsync(partition, long.MaxValue);
        var cleared = await archiver.GetWatermarkAsync(partition);
        Assert.False(cleared.Compacting);
        Assert.Equal(mark.Through, cleared.Through);
        Assert.False(await archiver.ChangedSinceAsync(new Dictionary<int, ArchiveWatermark> { [partition] = cleared }));
        var rows = await new LakeReader(new FolderLakeStore(_folder), _log, LakeTestData.Serializer).ReadTenantAsync("crash");
        Assert.Equal(Events(history), rows.Count);
    }

    /// <summary>A store that compacts every folder of a tenant, for every partition, when the first event file is read.</summary>
    private sealed class CompactingOnFirstReadStore(ILakeStore inner, LakeArchiver archiver, string tenant, int partitions) : ILakeStore
    {
        public int Compactions { get; private set; }

        public string Location => inner.Location;

        public IAsyncEnumerable<LakeFile> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public async Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken = default)
        {
            var bytes = await inner.ReadAsync(name, cancellationToken);
            if (Compactions == 0 && name.StartsWith(LakePaths.TenantEvents(tenant), StringComparison.Ordinal))
            {
                Compactions = -1;
                var compacted = 0;
                await foreach (var folder in inner.ListFoldersAsync(LakePaths.TenantEvents(tenant), cancellationToken))
                {
                    for (var partition = 0; partition < partitions; partition++)
                    {
                        compacted += await archiver.CompactAsync(folder, partition, long.MaxValue, cancellationToken, force: true) ? 1 : 0;
                    }
                }

                Compactions = compacted;
            }

            return bytes;
        }

        public Task WriteAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) => inner.WriteAsync(name, content, cancellationToken);

        public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, cancellationToken);
    }

    /// <summary>A store whose writes (or deletes) fail after a number of them, as a process killed mid-step would stop writing.</summary>
    private sealed class FailingStore(ILakeStore inner, int failAfter, int failDeletesAfter = int.MaxValue) : ILakeStore
    {
        private int _writes;
        private int _deletes;

        public string Location => inner.Location;

        public IAsyncEnumerable<LakeFile> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

        public Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken = default) => inner.ReadAsync(name, cancellationToken);

        public Task WriteAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) =>
            ++_writes > failAfter ? throw new IOException("killed") : inner.WriteAsync(name, content, cancellationToken);

        public Task DeleteAsync(string name, CancellationToken cancellationToken = default) =>
            ++_deletes > failDeletesAfter ? throw new IOException("killed") : inner.DeleteAsync(name, cancellationToken);
    }
}
