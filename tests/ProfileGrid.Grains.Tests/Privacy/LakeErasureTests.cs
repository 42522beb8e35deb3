using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;
using ProfileGrid.Grains.Privacy;
using ProfileGrid.Grains.Tests.Lake;

namespace ProfileGrid.Grains.Tests.Privacy;

/// <summary>The privacy filter, and the lake's erasure on a folder lake read back with DuckDB.</summary>
public sealed class LakeErasureTests : IDisposable
{
    private const int Partitions = 4;
    private readonly string _folder = LakeTestData.TempFolder();
    private readonly MemoryEventLog _log = new();
    private static readonly byte[] Salt = [1, 2, 3, 4];

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static PrivacyFilter Erasing(DateTimeOffset cutoff, params string[] users) =>
        new(Salt, users.ToDictionary(u => PrivacyFilter.Hash(Salt, u), _ => cutoff), []);

    [Fact]
    public void The_filter_drops_an_erased_users_events_up_to_the_cutoff_and_keeps_later_ones_and_other_users()
    {
        var cutoff = new DateTimeOffset(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);
        var filter = Erasing(cutoff, "zoë 用户");
        var batch = new EventBatch(
        [
            new UserEvent { Kind = EventKind.PageView, EventId = "old", Tenant = "t", UserId = "zoë 用户", OccurredAt = cutoff.AddYears(-3) },
            new UserEvent { Kind = EventKind.PageView, EventId = "at", Tenant = "t", UserId = "zoë 用户", OccurredAt = cutoff },
            new UserEvent { Kind = EventKind.PageView, EventId = "new", Tenant = "t", UserId = "zoë 用户", OccurredAt = cutoff.AddTicks(1) },
        ]);

        Assert.Equal(["new"], filter.Keep("zoë 用户", batch)!.Events.Select(e => e.EventId));
        Assert.Null(filter.Keep("zoë 用户", new EventBatch([batch.Events[0]])));
        Assert.Same(batch, filter.Keep("zoe 用户", batch));
        Assert.False(filter.IsOptedOut("zoë 用户"));

        // The ledger names nobody: its keys are salted hashes, different under another salt.
        Assert.DoesNotContain("zo", PrivacyFilter.Hash(Salt, "zoë 用户"), StringComparison.Ordinal);
        Assert.NotEqual(PrivacyFilter.Hash(Salt, "zoë 用户"), PrivacyFilter.Hash([9], "zoë 用户"));
    }

    [Fact]
    public async Task Erasure_rewrites_every_partitions_files_without_the_users_rows_and_compaction_never_brings_them_back()
    {
        var history = LakeTestData.MessyHistory("shop", 12, seed: 5);
        await LakeTestData.AppendAsync(_log, history, Partitions);
        var archiver = new LakeArchiver(new FolderLakeStore(_folder), _log, LakeTestData.Serializer,
            Options.Create(new LakeOptions { MaxRecordsPerArchive = 2, CompactionThreshold = 3 }), TimeProvider.System, NullLogger<LakeArchiver>.Instance);
        for (var p = 0; p < Partitions; p++)
        {
            while ((await archiver.ArchiveAsync(p, long.MaxValue)).Records > 0)
            {
            }
        }

        var victim = ProfileKey.Parse(history[0].ProfileKey).UserId;
        var victimEvents = history.Where(b => ProfileKey.Parse(b.ProfileKey).UserId == victim).Sum(b => b.Batch.Events.Count);
        var total = history.Sum(b => b.Batch.Events.Count);
        using (var before = LakeTestData.Open(_folder))
        {
            Assert.Equal(victimEvents, LakeTestData.Scalar(before, $"SELECT count(*) FROM lake_rows WHERE user_id = '{victim}'"));
        }

        var filter = Erasing(DateTimeOffset.UtcNow, victim);
        var (files, rows) = (0, 0L);
        for (var p = 0; p < Partitions; p++)
        {
            var erased = await archiver.EraseAsync(p, "shop", filter, long.MaxValue, snapshots: p == 0);
            (files, rows) = (files + erased.FilesRewritten, rows + erased.RowsRemoved);
        }

        Assert.Equal(victimEvents, rows);
        Assert.True(files > 0);
        using var duck = LakeTestData.Open(_folder);
        Assert.Equal(0, LakeTestData.Scalar(duck, $"SELECT count(*) FROM lake_rows WHERE user_id = '{victim}'"));
        Assert.Equal(total - victimEvents, LakeTestData.Scalar(duck, "SELECT count(*) FROM lake_rows"));
        foreach (var file in Directory.GetFiles(_folder, "*.parquet", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(victim, File.ReadAllText(file), StringComparison.Ordinal);
        }

        // Forced compactions of every folder merge what is there: the rows stay gone, the others stay once.
        foreach (var folder in Directory.GetDirectories(Path.Combine(_folder, "events"), "date=*", SearchOption.AllDirectories))
        {
            var name = Path.GetRelativePath(_folder, folder).Replace(Path.DirectorySeparatorChar, '/') + "/";
            for (var p = 0; p < Partitions; p++)
            {
                await archiver.CompactAsync(name, p, long.MaxValue, force: true);
            }
        }

        using var after = LakeTestData.Open(_folder);
        Assert.Equal(total - victimEvents, LakeTestData.Scalar(after, "SELECT count(*) FROM lake_rows"));
    }
}
