using System.Runtime.CompilerServices;
using Orleans.Serialization;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Reads events back: a tenant's (or one user's) rows from the lake, and the log's records past a partition's archive
/// watermark. Rows come once each (a row archived twice, by a crashed step or an unfinished compaction, is read once)
/// and in log order per partition (partition, position, index), which is each user's order of application.
/// For the erasure and identity-merge jobs as much as for rebuilds.
/// </summary>
public sealed class LakeReader(ILakeStore store, IEventLog log, Serializer serializer)
{
    /// <summary>
    /// The tenant's rows in the lake (only <paramref name="userId"/>'s when given), deduplicated, in log order.
    /// Holds one tenant's rows in memory to order them.
    /// </summary>
    public async Task<List<LakeEventRow>> ReadTenantAsync(string tenant, string? userId = null, CancellationToken cancellationToken = default)
    {
        var rows = new Dictionary<(int, long, int), LakeEventRow>();
        var read = new HashSet<string>(StringComparer.Ordinal);
        for (var pass = 0; pass < 10; pass++)
        {
            var missing = false;
            await foreach (var file in store.ListAsync(LakePaths.TenantEvents(tenant), cancellationToken))
            {
                if (LakePaths.ParseFile(file.Name) is null || !read.Add(file.Name))
                {
                    continue;
                }

                // A compaction may delete a part between the listing and its read: its rows are in a compacted file
                // written before the delete, which the next listing finds.
                if (await store.ReadAsync(file.Name, cancellationToken) is not { } bytes)
                {
                    missing = true;
                    continue;
                }

                foreach (var row in await LakeParquet.ReadAsync<LakeEventRow>(bytes, cancellationToken))
                {
                    // The tenant's folder name may be a digest (long tenants): the row's own tenant decides.
                    if (row.Tenant == tenant && (userId is null || row.UserId == userId))
                    {
                        rows.TryAdd((row.LogPartition, row.LogPosition, row.EventIndex), row);
                    }
                }
            }

            if (!missing)
            {
                break;
            }
        }

        return [.. rows.Values.OrderBy(r => r.LogPartition).ThenBy(r => r.LogPosition).ThenBy(r => r.EventIndex)];
    }

    /// <summary>
    /// The log's records of <paramref name="partition"/> after <paramref name="after"/> (an archive watermark) as lake rows,
    /// only the tenant's (and user's) when given; <c>End</c> is the position of the last record read, whoever's (-1: none).
    /// </summary>
    public async Task<(List<LakeEventRow> Rows, long End)> ReadLogAsync(
        int partition, long after, string? tenant = null, string? userId = null, CancellationToken cancellationToken = default)
    {
        var rows = new List<LakeEventRow>();
        var end = after;
        var now = DateTimeOffset.UtcNow;
        await foreach (var (position, record) in log.ReadAsync(partition, Math.Max(0, after), cancellationToken))
        {
            if (position <= after)
            {
                continue;
            }

            end = position;
            var index = 0;
            foreach (var batch in LogRecords.Read(record, serializer))
            {
                foreach (var e in batch.Batch.Events)
                {
                    if ((tenant is null || e.Tenant == tenant) && (userId is null || e.UserId == userId))
                    {
                        rows.Add(LakeEventRow.From(e, partition, position, index, now));
                    }

                    index++;
                }
            }
        }

        return (rows, end);
    }

    /// <summary>Every file of the lake under <paramref name="prefix"/> (e.g. "events/"), for copying it elsewhere.</summary>
    public async IAsyncEnumerable<LakeFile> FilesAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var file in store.ListAsync(prefix, cancellationToken))
        {
            yield return file;
        }
    }
}
