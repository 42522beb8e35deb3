using System.Runtime.CompilerServices;
using Orleans.Serialization;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Reads events back: a tenant's (or one user's) rows from the lake, and the log's records past a partition's archive
/// watermark. Rows come once each (a row archived twice, by a crashed step or an unfinished compaction, is read once)
/// and in log order per partition (partition, position, index), which is each user's order of application.
/// For the erasure and identity-merge jobs as much as for rebuilds; a job about a few users reads only the days their
/// profiles' events span (<see cref="ReadUsersAsync"/>, <see cref="ProfileDayBounds"/>).
/// </summary>
/// <remarks>
/// A silo without a lake (a memory run without ProfileGrid:Lake:Folder, or ProfileGrid:Lake:Enabled false) has no
/// <see cref="ILakeStore"/>: the log is then the whole history, and only the lake reads refuse.
/// </remarks>
public sealed class LakeReader(ILakeStore? lakeStore, IEventLog log, Serializer serializer)
{
    private ILakeStore Store => lakeStore ?? throw new InvalidOperationException(
        "This silo has no lake (ProfileGrid:Lake is off, or a memory run has no ProfileGrid:Lake:Folder): there is nothing archived to read.");

    /// <summary>
    /// The tenant's rows in the lake (only <paramref name="userId"/>'s when given), deduplicated, in log order.
    /// Holds the rows read in memory to order them (a whole tenant's when no user is given): a job about a few users
    /// streams them with <see cref="ReadUsersAsync"/> instead.
    /// </summary>
    public async Task<List<LakeEventRow>> ReadTenantAsync(
        string tenant, string? userId = null, IReadOnlyCollection<int>? partitions = null, CancellationToken cancellationToken = default)
    {
        var rows = new List<LakeEventRow>();
        var users = userId is null ? null : new Dictionary<string, LakeDayRange>(StringComparer.Ordinal) { [userId] = LakeDayRange.All };
        await foreach (var row in ReadUsersAsync(tenant, users, partitions, cancellationToken))
        {
            rows.Add(row);
        }

        return [.. rows.OrderBy(r => r.LogPartition).ThenBy(r => r.LogPosition).ThenBy(r => r.EventIndex)];
    }

    /// <summary>
    /// Streams the rows of the users in <paramref name="users"/> (every user of the tenant when null), each user's only
    /// from the day folders its range holds: a bounded read lists the tenant's day folders and then only the days in some
    /// user's range, and a user whose range is <see cref="LakeDayRange.None"/> costs nothing. Files are read one at a time
    /// and their rows filtered as they are read (row groups whose user-id statistics exclude every user are skipped), so
    /// memory holds one file plus the keys of the rows yielded. Rows come once each (deduplicated by log position), in no
    /// particular order: a caller that replays them orders them by (partition, position, index). Given
    /// <paramref name="partitions"/> (the users' log partitions: a profile's records are all in its own), only those
    /// partitions' files are read; a day of a busy tenant has a file per partition and archive step.
    /// </summary>
    public async IAsyncEnumerable<LakeEventRow> ReadUsersAsync(
        string tenant, IReadOnlyDictionary<string, LakeDayRange>? users, IReadOnlyCollection<int>? partitions = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var wanted = users?.Where(u => !u.Value.IsEmpty).ToDictionary(u => u.Key, u => u.Value, StringComparer.Ordinal);
        if (wanted is { Count: 0 })
        {
            yield break;
        }

        var names = wanted?.Keys.ToArray();
        var seen = new HashSet<(int, long, int)>();
        var read = new HashSet<string>(StringComparer.Ordinal);
        for (var pass = 0; pass < 10; pass++)
        {
            var missing = false;
            await foreach (var (file, day) in FilesOfAsync(tenant, wanted, cancellationToken))
            {
                if (!read.Add(file) || (partitions is not null && !partitions.Contains(LakePaths.ParseFile(file)!.Value.Partition)))
                {
                    continue;
                }

                // A compaction may delete a part between the listing and its read: its rows are in a compacted file
                // written before the delete, which the next listing finds.
                if (await Store.ReadAsync(file, cancellationToken) is not { } bytes)
                {
                    missing = true;
                    continue;
                }

                await foreach (var row in LakeParquet.ReadRowGroupsAsync<LakeEventRow>(bytes, UserIdColumn, names, cancellationToken))
                {
                    // The tenant's folder name may be a digest (long tenants): the row's own tenant decides.
                    if (row.Tenant == tenant
                        && (wanted is null || (wanted.TryGetValue(row.UserId, out var range) && range.Contains(day ?? row.Day())))
                        && seen.Add((row.LogPartition, row.LogPosition, row.EventIndex)))
                    {
                        yield return row;
                    }
                }
            }

            if (!missing)
            {
                break;
            }
        }
    }

    private const string UserIdColumn = "user_id";

    /// <summary>
    /// The tenant's event files to read for these users' ranges, with their folder's day: one listing of the tenant when
    /// some range is unbounded on both sides (or for every user), otherwise the tenant's day folders and then the files of
    /// the days in range only.
    /// </summary>
    private async IAsyncEnumerable<(string File, DateOnly? Day)> FilesOfAsync(
        string tenant, Dictionary<string, LakeDayRange>? users, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var prefix = LakePaths.TenantEvents(tenant);
        if (users is null || users.Values.Any(r => r.IsAll))
        {
            await foreach (var file in Store.ListAsync(prefix, cancellationToken))
            {
                if (LakePaths.ParseFile(file.Name) is not null)
                {
                    yield return (file.Name, LakePaths.ParseDay(file.Name));
                }
            }

            yield break;
        }

        // Day folders, and month and year folders (an archive step's much older events) that overlap a range: such a
        // folder's rows are checked by their own day.
        var days = new List<(DateOnly First, DateOnly? Day, string Folder)>();
        await foreach (var folder in Store.ListFoldersAsync(prefix, cancellationToken))
        {
            if (LakePaths.ParseDays(folder) is { } held && users.Values.Any(r => r.Overlaps(held.First, held.Last)))
            {
                days.Add((held.First, held.First == held.Last ? held.First : null, folder));
            }
        }

        // A long history spans many days: their listings (names only) go several at a time; the files are still read one by one.
        foreach (var chunk in days.OrderBy(d => d.First).Chunk(DayListingsAtOnce))
        {
            foreach (var (day, files) in await Task.WhenAll(chunk.Select(async d => (d.Day, Files: await FilesInAsync(d.Folder, cancellationToken)))))
            {
                foreach (var file in files)
                {
                    yield return (file, day);
                }
            }
        }
    }

    private const int DayListingsAtOnce = 8;

    private async Task<List<string>> FilesInAsync(string folder, CancellationToken cancellationToken)
    {
        var files = new List<string>();
        await foreach (var file in Store.ListAsync(folder, cancellationToken))
        {
            if (file.Name.IndexOf('/', folder.Length) < 0 && LakePaths.ParseFile(file.Name) is not null)
            {
                files.Add(file.Name);
            }
        }

        return files;
    }

    /// <summary>
    /// The log's records of <paramref name="partition"/> after <paramref name="after"/> (an archive watermark) as lake rows,
    /// only the tenant's (and user's) when given; <c>End</c> is the position of the last record read, whoever's (-1: none).
    /// </summary>
    public async Task<(List<LakeEventRow> Rows, long End)> ReadLogAsync(
        int partition, long after, string? tenant = null, string? userId = null, CancellationToken cancellationToken = default)
    {
        var (rows, last, _) = await ReadRecordsAsync(partition, Math.Max(0, after), position => position > after, tenant, userId is null ? null : u => u == userId, cancellationToken);
        return (rows, last ?? after);
    }

    /// <summary>
    /// As <see cref="ReadLogAsync"/>, and also every record from <paramref name="unwrittenFrom"/> on (a partition's
    /// checkpoint: a record position) when that lies at or before <paramref name="after"/>. <c>Trimmed</c>: the log no
    /// longer holds the record at <paramref name="unwrittenFrom"/> (an archive step trimmed it meanwhile), so the read
    /// missed rows and must be made again. Only the events of <paramref name="userIds"/> become rows when given (a merge's
    /// read runs through every record of the partition from the checkpoint on, most of them other users').
    /// </summary>
    public async Task<(List<LakeEventRow> Rows, long End, bool Trimmed)> ReadLogFromAsync(
        int partition, long after, long unwrittenFrom, string? tenant = null, IReadOnlySet<string>? userIds = null, CancellationToken cancellationToken = default)
    {
        Func<string, bool>? wanted = userIds is null ? null : userIds.Contains;
        if (unwrittenFrom > after)
        {
            var (rows, end, _) = await ReadRecordsAsync(partition, Math.Max(0, after), position => position > after, tenant, wanted, cancellationToken);
            return (rows, end ?? after, false);
        }

        var (kept, last, first) = await ReadRecordsAsync(partition, Math.Max(0, unwrittenFrom), _ => true, tenant, wanted, cancellationToken);
        return (kept, Math.Max(after, last ?? after), first is { } position && position != unwrittenFrom);
    }

    /// <summary>The events of the records from <paramref name="from"/> on that <paramref name="keep"/> takes, and the first and last such record.</summary>
    private async Task<(List<LakeEventRow> Rows, long? Last, long? First)> ReadRecordsAsync(
        int partition, long from, Func<long, bool> keep, string? tenant, Func<string, bool>? wantsUser, CancellationToken cancellationToken)
    {
        var rows = new List<LakeEventRow>();
        long? first = null, last = null;
        var now = DateTimeOffset.UtcNow;
        await foreach (var (position, record) in log.ReadAsync(partition, from, cancellationToken))
        {
            if (!keep(position))
            {
                continue;
            }

            first ??= position;
            last = position;
            var index = 0;
            foreach (var batch in LogRecords.Read(record, serializer))
            {
                foreach (var e in batch.Batch.Events)
                {
                    if ((tenant is null || e.Tenant == tenant) && (wantsUser is null || wantsUser(e.UserId)))
                    {
                        rows.Add(LakeEventRow.From(e, partition, position, index, now));
                    }

                    index++;
                }
            }
        }

        return (rows, last, first);
    }

    /// <summary>Every file of the lake under <paramref name="prefix"/> (e.g. "events/"), for copying it elsewhere.</summary>
    public async IAsyncEnumerable<LakeFile> FilesAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var file in Store.ListAsync(prefix, cancellationToken))
        {
            yield return file;
        }
    }
}
