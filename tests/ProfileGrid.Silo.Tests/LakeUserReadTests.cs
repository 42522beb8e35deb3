using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// A user's read of the lake (merges, unmerges, one user's rebuild and export) on a real lake in Azurite: several users
/// over many days, years-old days among them, archived in small steps and compacted. The read bounded by the users' days
/// finds exactly the rows a full read of the tenant filtered to those users finds, and lists and opens only their days.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class LakeUserReadTests(AzuriteFixture azurite)
{
    private const int Partitions = 4;
    private const string Tenant = "shop/ü x";

    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(builder => builder.AddAssembly(typeof(UserEvent).Assembly))
        .BuildServiceProvider().GetRequiredService<Serializer>();

    private static readonly string[] Users =
        ["Jürgen-1", "ユーザー-2", "anon:" + new string('f', 32), new string('x', 200) + "/4", "u5@example.com", "old-6"];

    [Fact]
    public async Task A_bounded_read_of_some_users_returns_what_the_full_read_filtered_to_and_opens_only_their_days()
    {
        var (store, events) = await LakeAsync();
        var reader = new LakeReader(store, new MemoryEventLog(), Serializer);

        // The users' own spans, as their profiles know them (first and last event).
        var picked = new[] { Users[1], Users[3], Users[5] };
        var ranges = picked.ToDictionary(u => u, u => LakeDayRange.Between(
            events.Where(e => e.UserId == u).Min(e => e.OccurredAt), events.Where(e => e.UserId == u).Max(e => e.OccurredAt)), StringComparer.Ordinal);
        Assert.Contains(ranges.Values, r => r.First!.Value.Year < 2000); // a years-old history is among them

        store.Reset();
        var full = (await reader.ReadTenantAsync(Tenant)).Where(r => picked.Contains(r.UserId)).Select(Identity).Order().ToList();
        var filesOfTenant = store.Reads.Count;

        store.Reset();
        var bounded = new List<LakeEventRow>();
        await foreach (var row in reader.ReadUsersAsync(Tenant, ranges))
        {
            bounded.Add(row);
        }

        // Exactly the same rows (each once), and exactly the events the users sent.
        Assert.Equal(full, bounded.Select(Identity).Order().ToList());
        Assert.Equal(events.Count(e => picked.Contains(e.UserId)), bounded.Count);

        // It listed the tenant's day folders and then only days in some user's range, never the whole tenant; and it
        // opened files of those days only: fewer than the full read opened.
        Assert.DoesNotContain(LakePaths.TenantEvents(Tenant), store.Listed);
        Assert.Equal([LakePaths.TenantEvents(Tenant)], store.FolderListings);
        // (A folder is a day, or a month for events much older than their archive step's newest: its days overlap a range.)
        Assert.All(store.Listed, prefix => Assert.True(LakePaths.ParseDays(prefix) is { } days && ranges.Values.Any(r => r.Overlaps(days.First, days.Last)), prefix));
        Assert.All(store.Reads, file => Assert.True(LakePaths.ParseDays(file) is { } days && ranges.Values.Any(r => r.Overlaps(days.First, days.Last)), file));
        Assert.True(store.Reads.Count < filesOfTenant, $"{store.Reads.Count} files opened, the full read opened {filesOfTenant}");
        var daysOfTenant = events.Select(e => DateOnly.FromDateTime(e.OccurredAt.UtcDateTime)).Distinct().Count();
        Assert.True(store.Listed.Count < daysOfTenant, $"{store.Listed.Count} day folders listed of {daysOfTenant}");
    }

    [Fact]
    public async Task A_read_given_the_users_log_partitions_returns_the_same_rows_and_opens_no_file_of_another_partition()
    {
        var (store, events) = await LakeAsync();
        var reader = new LakeReader(store, new MemoryEventLog(), Serializer);
        var picked = new[] { Users[0], Users[2] };
        var partitions = picked.Select(u => ProfileBuckets.LogPartition(new ProfileKey(Tenant, u).ToString(), Partitions)).ToHashSet();
        Assert.True(partitions.Count < Partitions, "the users share fewer partitions than the log has");
        var ranges = picked.ToDictionary(u => u, _ => LakeDayRange.All, StringComparer.Ordinal);

        store.Reset();
        var everyPartition = await reader.ReadUsersAsync(Tenant, ranges).ToListAsync();
        var filesOfEveryPartition = store.Reads.Count;

        store.Reset();
        var theirs = await reader.ReadUsersAsync(Tenant, ranges, partitions).ToListAsync();

        Assert.Equal(events.Count(e => picked.Contains(e.UserId)), theirs.Count);
        Assert.Equal(everyPartition.Select(Identity).Order().ToList(), theirs.Select(Identity).Order().ToList());
        Assert.All(store.Reads, file => Assert.Contains(LakePaths.ParseFile(file)!.Value.Partition, partitions));
        Assert.True(store.Reads.Count < filesOfEveryPartition, $"{store.Reads.Count} files opened, {filesOfEveryPartition} without the partitions");

        // One user's whole read (a rebuild's last attempts) takes them too.
        store.Reset();
        var one = await reader.ReadTenantAsync(Tenant, Users[0], [ProfileBuckets.LogPartition(new ProfileKey(Tenant, Users[0]).ToString(), Partitions)]);
        Assert.Equal(events.Count(e => e.UserId == Users[0]), one.Count);
        Assert.All(store.Reads, file => Assert.Contains(LakePaths.ParseFile(file)!.Value.Partition, partitions));
    }

    [Fact]
    public async Task A_user_without_events_costs_nothing_and_an_open_side_reads_every_day_on_that_side()
    {
        var (store, events) = await LakeAsync();
        var reader = new LakeReader(store, new MemoryEventLog(), Serializer);

        store.Reset();
        await foreach (var row in reader.ReadUsersAsync(Tenant, new Dictionary<string, LakeDayRange> { ["ghost"] = LakeDayRange.None }))
        {
            Assert.Fail($"A user without events read {row.EventId}.");
        }

        Assert.Empty(store.Reads);
        Assert.Empty(store.Listed);
        Assert.Empty(store.FolderListings);

        // A profile that knows only its last event (the first unknown): every day up to it, none after.
        var user = Users[0];
        var last = events.Where(e => e.UserId == user).Max(e => e.OccurredAt);
        var middle = events.Where(e => e.UserId == user).Select(e => e.OccurredAt).Order().ElementAt(events.Count(e => e.UserId == user) / 2);
        var upTo = new LakeDayRange(null, DateOnly.FromDateTime(middle.UtcDateTime));
        var rows = new List<LakeEventRow>();
        await foreach (var row in reader.ReadUsersAsync(Tenant, new Dictionary<string, LakeDayRange> { [user] = upTo }))
        {
            rows.Add(row);
        }

        Assert.Equal(events.Count(e => e.UserId == user && DateOnly.FromDateTime(e.OccurredAt.UtcDateTime) <= upTo.Last), rows.Count);
        Assert.True(DateOnly.FromDateTime(last.UtcDateTime) > upTo.Last, "the user has events after the bound");

        // Unbounded on both sides: the whole tenant's files, filtered to the user, as a full read.
        rows.Clear();
        await foreach (var row in reader.ReadUsersAsync(Tenant, new Dictionary<string, LakeDayRange> { [user] = LakeDayRange.All }))
        {
            rows.Add(row);
        }

        Assert.Equal(events.Count(e => e.UserId == user), rows.Count);
    }

    [Fact]
    public async Task Row_groups_whose_user_statistics_exclude_every_user_are_not_deserialized()
    {
        var rows = new[] { "bob", "carol", "dave" }.Select((u, i) => LakeEventRow.From(
            new UserEvent { EventId = $"e{i}", Kind = EventKind.PageView, Tenant = "t", UserId = u, OccurredAt = DateTimeOffset.UtcNow },
            0, i, 0, DateTimeOffset.UtcNow)).ToList();
        var file = await LakeParquet.WriteAsync(rows);

        async Task<int> CountAsync(string[]? users)
        {
            var count = 0;
            await foreach (var _ in LakeParquet.ReadRowGroupsAsync<LakeEventRow>(file, "user_id", users))
            {
                count++;
            }

            return count;
        }

        // Parquet.Net writes ordinal min/max of the column: a user outside them is not in the file.
        Assert.Equal(0, await CountAsync(["alice"]));
        Assert.Equal(0, await CountAsync(["zoe", "ada"]));
        Assert.Equal(3, await CountAsync(["carol"]));
        Assert.Equal(3, await CountAsync(["alice", "dave"]));
        Assert.Equal(3, await CountAsync(null));
    }

    private static (int, long, int, string, string, long) Identity(LakeEventRow row) =>
        (row.LogPartition, row.LogPosition, row.EventIndex, row.UserId, row.EventId, row.OccurredAtTicks);

    /// <summary>A lake in a fresh container: the users' events over many days (1970, 1998, 2004, ... today) archived in small steps, compacted.</summary>
    private async Task<(CountingStore Store, List<UserEvent> Events)> LakeAsync()
    {
        var container = new BlobServiceClient(azurite.ConnectionString).GetBlobContainerClient("user-read-" + Guid.NewGuid().ToString("N")[..10]);
        var store = new CountingStore(new AzureBlobLakeStore(container));
        var log = new MemoryEventLog();
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        DateTimeOffset[] oldDays =
        [
            new(1970, 1, 1, 0, 0, 1, TimeSpan.Zero), new(1998, 7, 12, 21, 30, 0, TimeSpan.Zero), new(2004, 2, 29, 23, 59, 59, TimeSpan.Zero),
            new(2012, 12, 31, 12, 0, 0, TimeSpan.Zero), new(2019, 6, 15, 8, 0, 0, TimeSpan.Zero),
        ];
        var days = oldDays.Concat(Enumerable.Range(0, 30).Select(d => now.AddDays(-d * 13))).Order().ToArray();
        var random = new Random(7);
        var events = new List<UserEvent>();
        var batches = new List<ProfileBatch>();
        foreach (var tenant in new[] { Tenant, "shop" })
        {
            for (var u = 0; u < Users.Length; u++)
            {
                // Each user lives in its own stretch of the days: some only years ago, some only lately, some across both.
                var (from, until) = u switch { 5 => (0, 4), 1 => (28, days.Length), 3 => (8, 14), _ => (u * 3, days.Length - u * 2) };
                var mine = new List<UserEvent>();
                for (var i = 0; i < 25; i++)
                {
                    var at = days[random.Next(from, until)].AddSeconds(i);
                    mine.Add(new UserEvent
                    {
                        EventId = $"e-{u}-{i}", Kind = i % 3 == 0 ? EventKind.ProductView : EventKind.PageView, Tenant = tenant, UserId = Users[u], OccurredAt = at,
                        Product = i % 3 == 0 ? new ProductInfo { ProductId = "p-靴", Category = "shoes" } : null,
                        Page = i % 3 == 0 ? null : new PageInfo { Url = "/home" },
                    });
                }

                mine.Add(mine[0]); // a client retry: the same event twice, two rows
                if (tenant == Tenant)
                {
                    events.AddRange(mine);
                }

                var key = new ProfileKey(tenant, Users[u]).ToString();
                batches.AddRange(mine.Chunk(3).Select(chunk => new ProfileBatch(key, new EventBatch([.. chunk]))));
            }
        }

        foreach (var group in batches.OrderBy(_ => random.Next()).GroupBy(b => ProfileBuckets.LogPartition(b.ProfileKey, Partitions)))
        {
            foreach (var record in group.Chunk(2))
            {
                var end = await log.GetEndAsync(group.Key);
                await log.AppendAsync(group.Key, end, LogRecords.Frame([LogRecordCodec.Encode(record)]));
            }
        }

        var archiver = new LakeArchiver(store, log, Serializer,
            Options.Create(new LakeOptions { MaxRecordsPerArchive = 5, CompactionThreshold = 3 }), TimeProvider.System, NullLogger<LakeArchiver>.Instance);
        for (var p = 0; p < Partitions; p++)
        {
            while ((await archiver.ArchiveAsync(p, long.MaxValue)).Records > 0)
            {
            }
        }

        var names = new List<string>();
        await foreach (var file in store.ListAsync(LakePaths.TenantEvents(Tenant)))
        {
            names.Add(file.Name);
        }

        Assert.Contains(names, n => LakePaths.ParseFile(n) is { Compacted: true });
        Assert.Contains(names, n => LakePaths.ParseFile(n) is { Compacted: false });
        return (store, events);
    }

    /// <summary>The lake as the reader sees it, counting what it lists and opens.</summary>
    private sealed class CountingStore(ILakeStore inner) : ILakeStore
    {
        public ConcurrentQueue<string> ListedQueue { get; private set; } = new();

        public ConcurrentQueue<string> ReadQueue { get; private set; } = new();

        public ConcurrentQueue<string> FolderQueue { get; private set; } = new();

        public List<string> FolderListings => [.. FolderQueue];

        public List<string> Listed => [.. ListedQueue];

        public List<string> Reads => [.. ReadQueue];

        public string Location => inner.Location;

        public void Reset() => (ListedQueue, ReadQueue, FolderQueue) = (new(), new(), new());

        public IAsyncEnumerable<LakeFile> ListAsync(string prefix, CancellationToken cancellationToken = default)
        {
            ListedQueue.Enqueue(prefix);
            return inner.ListAsync(prefix, cancellationToken);
        }

        public async IAsyncEnumerable<string> ListFoldersAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            FolderQueue.Enqueue(prefix);
            await foreach (var folder in inner.ListFoldersAsync(prefix, cancellationToken))
            {
                yield return folder;
            }
        }

        public Task<byte[]?> ReadAsync(string name, CancellationToken cancellationToken = default)
        {
            ReadQueue.Enqueue(name);
            return inner.ReadAsync(name, cancellationToken);
        }

        public Task WriteAsync(string name, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default) => inner.WriteAsync(name, content, cancellationToken);

        public Task DeleteAsync(string name, CancellationToken cancellationToken = default) => inner.DeleteAsync(name, cancellationToken);
    }
}
