using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Serialization;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Grains.Lake;

/// <summary>
/// Archives one log partition into the lake, compacts what it archived and trims the log behind it. Called by the
/// partition's grain (<see cref="EventLogPartitionGrain"/>) off its turn; holds no state of its own but a lock per
/// partition. A step is exactly-once in the lake by a durable intent:
/// <list type="number">
/// <item>the watermark file names the range [first, last] of log positions the step will archive (the intent);</item>
/// <item>one Parquet part per tenant/day of the range is written under a name made of the range alone, so writing it
/// again after a crash replaces it with the same rows;</item>
/// <item>the watermark moves to last, and the intent is cleared.</item>
/// </list>
/// After a crash between 1 and 3 the next step redoes exactly the intended range; nothing else is ever written.
/// </summary>
public sealed partial class LakeArchiver(
    ILakeStore store, IEventLog log, Serializer serializer, IOptions<LakeOptions> options, TimeProvider clock, ILogger<LakeArchiver> logger,
    Privacy.PrivacyFilters? privacy = null)
{
    private readonly LakeOptions _options = options.Value;
    private readonly Dictionary<int, SemaphoreSlim> _locks = [];
    private readonly Dictionary<int, LogTrimGate> _trimGates = [];
    private readonly HashSet<string> _tenants = new(StringComparer.Ordinal);

    // Consent changes this process has archived, until the privacy ledger surely holds them: the profile reports a change
    // after its next write and the silos' filters reread the ledger every few seconds, so for a moment the archiver
    // knows better than its filter. Memory only, bounded.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Tenant, string UserId), (bool OptedIn, DateTimeOffset At)> _consentSeen = new();
    private static readonly TimeSpan ConsentSeenFor = TimeSpan.FromMinutes(2);
    private const int MaxConsentSeen = 100_000;

    public ILakeStore Store => store;

    /// <summary>Whether archive steps delete the log's segments behind them (<see cref="LakeOptions.TrimLog"/>).</summary>
    public bool TrimsLog => _options.TrimLog;

    /// <summary>How often a partition archives by itself.</summary>
    public TimeSpan Interval => _options.ArchiveInterval;

    /// <summary>
    /// <see cref="ArchiveAsync"/> for the partition's timer: a failure is logged and the next step tries again (the
    /// watermark has not moved past what is not written). Returns the watermark.
    /// </summary>
    public async Task<long> ArchiveGuardedAsync(int partition, long checkpoint)
    {
        try
        {
            return (await ArchiveAsync(partition, checkpoint)).Through;
        }
        catch (Exception ex)
        {
            LogArchiveFailed(partition, store.Location, ex);
            return -1;
        }
    }

    /// <summary>
    /// Archives what lies past the partition's watermark (at most <see cref="LakeOptions.MaxRecordsPerArchive"/>
    /// records), compacts the tenant/day folders it wrote to, then trims the log's segments wholly before both
    /// <paramref name="checkpoint"/> (the partition's durable checkpoint) and the watermark.
    /// </summary>
    public async Task<ArchiveStep> ArchiveAsync(int partition, long checkpoint, CancellationToken cancellationToken = default)
    {
        var gate = Lock(partition);
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await ArchiveLockedAsync(partition, checkpoint, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The partition's watermark: the position of the last archived record (-1: none), and an unfinished step's range.</summary>
    public async Task<ArchiveWatermark> GetWatermarkAsync(int partition, CancellationToken cancellationToken = default)
    {
        var bytes = await store.ReadAsync(LakePaths.Watermark(partition), cancellationToken);
        return bytes is null ? new ArchiveWatermark(-1, null, null) : JsonSerializer.Deserialize<ArchiveWatermark>(bytes)!;
    }

    /// <summary>
    /// The watermarks of <paramref name="partitions"/>, for a read of the lake and of the log past them that
    /// <see cref="ChangedSinceAsync"/> then checks. Waits, two seconds at most in all, for compactions under way to
    /// finish; a mark a crashed compaction left stays until the partition's next archive step, and the caller's read
    /// is then tried again.
    /// </summary>
    public async Task<Dictionary<int, ArchiveWatermark>> WatermarksAsync(IEnumerable<int> partitions, CancellationToken cancellationToken = default)
    {
        var marks = new Dictionary<int, ArchiveWatermark>();
        foreach (var partition in partitions)
        {
            marks[partition] = await GetWatermarkAsync(partition, cancellationToken);
        }

        var deadline = DateTime.UtcNow.AddSeconds(2);
        for (var wait = 1; marks.Values.Any(m => m.Compacting) && DateTime.UtcNow < deadline; wait++)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(20 * wait, 200)), cancellationToken);
            foreach (var partition in marks.Where(m => m.Value.Compacting).Select(m => m.Key).ToList())
            {
                marks[partition] = await GetWatermarkAsync(partition, cancellationToken);
            }
        }

        return marks;
    }

    /// <summary>
    /// Whether the lake may have changed under a read that began after <paramref name="marks"/> were taken: an archive
    /// step or a compaction ran (or was under way) on one of their partitions. A read it answers false for saw every row
    /// archived through the marks once; the caller then adds the log past them.
    /// </summary>
    public async Task<bool> ChangedSinceAsync(IReadOnlyDictionary<int, ArchiveWatermark> marks, CancellationToken cancellationToken = default)
    {
        foreach (var (partition, mark) in marks)
        {
            if (mark.Compacting || await GetWatermarkAsync(partition, cancellationToken) != mark)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Today's snapshots, if not taken yet; a failure is logged and the next step tries again.</summary>
    public async Task SnapshotGuardedAsync(LakeSnapshotter snapshots)
    {
        try
        {
            await snapshots.SnapshotDueAsync();
        }
        catch (Exception ex)
        {
            LogSnapshotFailed(store.Location, ex);
        }
    }

    private async Task<ArchiveStep> ArchiveLockedAsync(
        int partition, long checkpoint, CancellationToken cancellationToken, bool erasing = false,
        (string Tenant, IReadOnlySet<string>? Users, long Before)? erased = null)
    {
        var mark = await GetWatermarkAsync(partition, cancellationToken);
        if (mark.Compacting)
        {
            // Left by a compaction that died (no other runs: this step holds the partition's lock). Its merged file and the
            // parts it had not deleted yet hold the same rows, which readers read once.
            mark = mark with { Compacting = false };
            await WriteWatermarkAsync(partition, mark, cancellationToken);
        }

        var now = clock.GetUtcNow();
        var rows = new List<LakeEventRow>();
        HashSet<(string Tenant, Privacy.PrivacyFilter Filter)>? filtersUsed = null;
        (string? Tenant, Privacy.PrivacyFilter? Filter) lastUsed = default; // most events repeat the one before: no set lookup
        long first = -1, last = mark.Through;
        var records = 0;
        await foreach (var (position, record) in log.ReadAsync(partition, Math.Max(0, mark.Through), cancellationToken))
        {
            if (position <= mark.Through)
            {
                continue;
            }

            if (mark.PendingLast is { } pendingLast ? position > pendingLast : records >= _options.MaxRecordsPerArchive)
            {
                break;
            }

            var index = 0;
            foreach (var batch in LogRecords.Read(record, serializer))
            {
                foreach (var e in batch.Batch.Events)
                {
                    // The index counts every event of the record, kept or not, so that a redone step names rows the same.
                    var at = index++;
                    var filter = await FilterOfAsync(e.Tenant);
                    if (lastUsed.Filter != filter || lastUsed.Tenant != e.Tenant)
                    {
                        lastUsed = (e.Tenant, filter);
                        (filtersUsed ??= []).Add(lastUsed);
                    }
                    if (e.Preference?.PersonalizationOptIn is { } optedIn)
                    {
                        NoteConsent(e.Tenant, e.UserId, optedIn, now);
                    }

                    if (erased is { Users: { } users } && position < erased.Value.Before && e.Tenant == erased.Value.Tenant && users.Contains(e.UserId))
                    {
                        // Acknowledged before the erasure that archives it, so the user's whatever its time (see EraseAsync).
                        continue;
                    }

                    if (filter.IsEmpty && _consentSeen.IsEmpty)
                    {
                        rows.Add(LakeEventRow.From(e, partition, position, at, now));
                    }
                    else if (!filter.IsErased(e.UserId, e.OccurredAt))
                    {
                        var row = LakeEventRow.From(e, partition, position, at, now);
                        if (WithoutConsent(e.Tenant, e.UserId, filter, now))
                        {
                            row.StripWithoutConsent();
                        }

                        rows.Add(row);
                    }
                }
            }

            if (first < 0)
            {
                first = position;
            }

            last = position;
            records++;
        }

        rows = await WithCurrentConsentAsync(rows, filtersUsed, now);

        if (mark.PendingLast is { } intended)
        {
            // A crashed step's range: redone whole, under the same names (the log still holds it: trim waits for the watermark).
            (first, last) = (mark.PendingFirst!.Value, intended);
        }
        else if (records > 0)
        {
            await WriteWatermarkAsync(partition, mark with { PendingFirst = first, PendingLast = last }, cancellationToken);
        }

        var written = new List<string>();
        foreach (var tenant in rows.Select(r => r.Tenant).Distinct(StringComparer.Ordinal))
        {
            await NoteTenantAsync(tenant, cancellationToken);
        }

        if (first >= 0)
        {
            // Old by each tenant's own newest event: another tenant's traffic in the same step does not move a tenant's folders.
            var newest = rows.GroupBy(r => r.Tenant, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Max(r => r.Day()), StringComparer.Ordinal);
            foreach (var group in rows.GroupBy(r => (r.Tenant, Folder: LakePaths.FolderSegment(r.Day(), newest[r.Tenant]))))
            {
                var name = LakePaths.Part(group.Key.Tenant, group.Key.Folder, partition, first, last);
                await store.WriteAsync(name, await LakeParquet.WriteAsync(group.ToList(), cancellationToken), cancellationToken);
                written.Add(name);
            }

            mark = mark with { Through = last, PendingFirst = null, PendingLast = null };
            await WriteWatermarkAsync(partition, mark, cancellationToken);
            LogArchived(partition, records, rows.Count, written.Count, last);
        }

        var compacted = 0;
        foreach (var folder in written.Select(n => n[..(n.LastIndexOf('/') + 1)]).Distinct(StringComparer.Ordinal))
        {
            compacted += await CompactAsync(folder, partition, last, cancellationToken) ? 1 : 0;
        }

        var trimmed = 0;
        var gate = TrimGate(partition);
        if (_options.TrimLog && gate.TryBeginTrim(regardless: erasing))
        {
            try
            {
                // A step that found nothing past the watermark has archived every record that existed when it read, and so
                // every record before the checkpoint it was given (taken before it started): the checkpoint alone bounds the
                // trim, which reaches a segment sealed by an erasure (last + 1 still lies inside it).
                var archivedBefore = records == 0 && mark.PendingLast is null ? long.MaxValue : last + 1;
                trimmed = await log.TrimAsync(partition, Math.Min(checkpoint, archivedBefore), cancellationToken);
                if (trimmed > 0)
                {
                    LogTrimmed(partition, trimmed, Math.Min(checkpoint, archivedBefore));
                }
            }
            finally
            {
                gate.EndTrim();
            }
        }

        return new ArchiveStep(records, rows.Count, written.Count, compacted, trimmed, last);
    }

    /// <summary>
    /// Merges this partition's files in one tenant/day folder into one once there are <see cref="LakeOptions.CompactionThreshold"/>
    /// of them: writes the merged file, then deletes the files it merged. Rows are keyed by (partition, position, index),
    /// so a merge that crashed between its write and its deletes is merged again later without doubling; until then a
    /// reader sees those rows twice, which the documented queries' dedupe on event id absorbs (docs/lake.md).
    /// </summary>
    public async Task<bool> CompactAsync(string folder, int partition, long through, CancellationToken cancellationToken = default, bool force = false)
    {
        var files = new List<(string Name, long Until)>();
        await foreach (var file in store.ListAsync(folder, cancellationToken))
        {
            if (file.Name.IndexOf('/', folder.Length) < 0 && LakePaths.ParseFile(file.Name) is { } parsed && parsed.Partition == partition && parsed.Until <= through)
            {
                files.Add((file.Name, parsed.Until));
            }
        }

        if (files.Count < (force ? 2 : _options.CompactionThreshold))
        {
            return false;
        }

        var merged = new Dictionary<(long, int), LakeEventRow>();
        foreach (var (name, _) in files)
        {
            if (await store.ReadAsync(name, cancellationToken) is { } bytes)
            {
                foreach (var row in await LakeParquet.ReadAsync<LakeEventRow>(bytes, cancellationToken))
                {
                    // A part written before an erasure reached it (a step that overlapped the erasure) loses the rows here.
                    if (!(await FilterOfAsync(row.Tenant)).IsErased(row.UserId, row.Instant()))
                    {
                        merged.TryAdd((row.LogPosition, row.EventIndex), row);
                    }
                }
            }
        }

        var target = LakePaths.Compacted(folder, partition, files.Max(f => f.Until));
        var ordered = merged.Values.OrderBy(r => r.LogPosition).ThenBy(r => r.EventIndex).ToList();

        // A listing that runs while the merged file appears and its parts go may see neither (neither a folder nor a blob
        // listing is a snapshot): the watermark says a compaction runs, and that one ran, so that a reader who takes it
        // before and after its read (ChangedSinceAsync) reads again.
        var mark = await GetWatermarkAsync(partition, cancellationToken);
        await WriteWatermarkAsync(partition, mark with { Compactions = mark.Compactions + 1, Compacting = true }, cancellationToken);
        await store.WriteAsync(target, await LakeParquet.WriteAsync(ordered, cancellationToken), cancellationToken);
        foreach (var (name, _) in files.Where(f => f.Name != target))
        {
            await store.DeleteAsync(name, cancellationToken);
        }

        await WriteWatermarkAsync(partition, mark with { Compactions = mark.Compactions + 1, Compacting = false }, cancellationToken);

        LogCompacted(partition, folder, files.Count, ordered.Count);
        return true;
    }

    /// <summary>
    /// Erasure, for one partition, under its archive lock (so no archive step or compaction of it runs meanwhile): archives
    /// what the log holds (the filter keeps the erased rows out), rewrites this partition's files of the tenant without
    /// the erased rows (each file replaced whole, or deleted when nothing is left; readers see the old file or the new),
    /// the tenant's profile snapshots too when <paramref name="snapshots"/>, and trims the log behind the archive and
    /// <paramref name="checkpoint"/>. It archives every record before <paramref name="archiveBefore"/> (the log's end when
    /// its segment was sealed for the erasure), in as many steps as that takes: a step count would leave the rest, and the
    /// segments holding them, to the partition's timer (<see cref="LakeOptions.ArchiveInterval"/>), which an erasure must
    /// not depend on. Records appended after it are left to the timer, so traffic cannot keep an erasure going.
    /// </summary>
    public async Task<LakeErasure> EraseAsync(
        int partition, string tenant, Privacy.PrivacyFilter filter, long checkpoint, bool snapshots, long archiveBefore = long.MaxValue,
        IReadOnlySet<string>? users = null, CancellationToken cancellationToken = default)
    {
        var gate = Lock(partition);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var trimmed = 0;
            while (true)
            {
                var step = await ArchiveLockedAsync(partition, checkpoint, cancellationToken, erasing: true, erased: (tenant, users, archiveBefore));
                trimmed += step.SegmentsTrimmed;
                if (step.Records == 0 || step.Through >= archiveBefore)
                {
                    break;
                }
            }

            var (files, rows) = (0, 0L);
            var names = new List<string>();
            await foreach (var file in store.ListAsync(LakePaths.TenantEvents(tenant), cancellationToken))
            {
                if (LakePaths.ParseFile(file.Name) is { } parsed && parsed.Partition == partition)
                {
                    names.Add(file.Name);
                }
            }

            foreach (var name in names)
            {
                if (await store.ReadAsync(name, cancellationToken) is not { } bytes)
                {
                    continue;
                }

                var all = await LakeParquet.ReadAsync<LakeEventRow>(bytes, cancellationToken);
                // Every row the log held before the erasure of the users erased now, whatever its time: an event acknowledged
                // before the erasure may be dated after its cut-off (a device clock ahead, within the gateway's skew), and it
                // is theirs as much as the rest (probe68: such rows stayed, and a rebuild brought the user back). Rows of a
                // user erased before and back since (a new profile, after that cut-off) are kept, as are this user's new
                // events, appended after the seal.
                var kept = all.Where(r => r.Tenant != tenant
                    || !(filter.IsErased(r.UserId, r.Instant()) || (r.LogPosition < archiveBefore && users?.Contains(r.UserId) == true))).ToList();
                if (kept.Count == all.Count)
                {
                    continue;
                }

                await ReplaceAsync(name, kept, cancellationToken);
                (files, rows) = (files + 1, rows + all.Count - kept.Count);
            }

            var snapshotRows = 0;
            if (snapshots)
            {
                var snapshotNames = new List<string>();
                await foreach (var file in store.ListAsync($"{LakePaths.Snapshots}{LakePaths.TenantSegment(tenant)}/", cancellationToken))
                {
                    snapshotNames.Add(file.Name);
                }

                foreach (var name in snapshotNames)
                {
                    if (await store.ReadAsync(name, cancellationToken) is not { } bytes)
                    {
                        continue;
                    }

                    var all = await LakeParquet.ReadAsync<LakeProfileSnapshotRow>(bytes, cancellationToken);
                    var kept = all.Where(r => r.Tenant != tenant || filter.ErasedBefore(r.UserId) is null).ToList();
                    if (kept.Count != all.Count)
                    {
                        await ReplaceAsync(name, kept, cancellationToken);
                        snapshotRows += all.Count - kept.Count;
                    }
                }
            }

            LogErased(partition, files, rows, snapshotRows, trimmed);
            return new LakeErasure(files, rows, snapshotRows, trimmed);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task ReplaceAsync<T>(string name, List<T> kept, CancellationToken cancellationToken)
        where T : class, new()
    {
        if (kept.Count == 0)
        {
            await store.DeleteAsync(name, cancellationToken);
        }
        else
        {
            await store.WriteAsync(name, await LakeParquet.WriteAsync(kept, cancellationToken), cancellationToken);
        }
    }

    private void NoteConsent(string tenant, string userId, bool optedIn, DateTimeOffset now)
    {
        if (_consentSeen.Count >= MaxConsentSeen)
        {
            foreach (var (key, value) in _consentSeen)
            {
                if (now - value.At >= ConsentSeenFor)
                {
                    _consentSeen.TryRemove(key, out _);
                }
            }
        }

        _consentSeen[(tenant, userId)] = (optedIn, now);
    }

    /// <summary>Whether the user's row loses its context: an opt-out seen in the log just now, else the ledger's.</summary>
    private bool WithoutConsent(string tenant, string userId, Privacy.PrivacyFilter filter, DateTimeOffset now)
    {
        var seen = _consentSeen.TryGetValue((tenant, userId), out var noted) && now - noted.At < ConsentSeenFor ? noted.OptedIn : (bool?)null;
        return seen is false || (seen is null && filter.IsOptedOut(userId));
    }

    /// <summary>
    /// The step's rows under the ledger as it is after the step read its records. A consent given by a direct write
    /// (SetPreferences) reaches the ledger before the write is answered, so every event sent after that answer was
    /// appended after the ledger knew it; the cached filter (read up to 10 s before) may not (probe72: a search sent 0.25 s
    /// after an acknowledged opt-out was archived with its words and city). One version call per tenant of the step.
    /// </summary>
    private async Task<List<LakeEventRow>> WithCurrentConsentAsync(List<LakeEventRow> rows, HashSet<(string Tenant, Privacy.PrivacyFilter Filter)>? used, DateTimeOffset now)
    {
        if (privacy is null || rows.Count == 0 || used is null)
        {
            return rows;
        }

        var kept = rows;
        foreach (var tenant in rows.Select(r => r.Tenant).Distinct(StringComparer.Ordinal).ToList())
        {
            // Compared with every filter the step's rows were kept or stripped by (the silo's copy is shared, and another
            // partition's reload may have replaced it meanwhile: review73), not with the copy as it is now.
            var current = await privacy.CurrentAsync(tenant);
            if (used.All(u => u.Tenant != tenant || ReferenceEquals(u.Filter, current)) || current.IsEmpty)
            {
                continue;
            }

            kept = [.. kept.Where(r => r.Tenant != tenant || !current.IsErased(r.UserId, r.Instant()))];
            // The ledger read after the records is the newer word: its opt-out strips even a user whose opt-in the log
            // showed a moment ago (review73; stripping a consenting user's context is the safe side).
            foreach (var row in kept.Where(r => r.Tenant == tenant && (current.IsOptedOut(r.UserId) || WithoutConsent(tenant, r.UserId, current, now))))
            {
                row.StripWithoutConsent();
            }
        }

        return kept;
    }

    private ValueTask<Privacy.PrivacyFilter> FilterOfAsync(string tenant) =>
        privacy is null ? ValueTask.FromResult(Privacy.PrivacyFilter.None) : privacy.ForTenantAsync(tenant);

    /// <summary>Records that the lake holds the tenant's events (the daily snapshots' list of tenants), once per process.</summary>
    private async Task NoteTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        lock (_tenants)
        {
            if (_tenants.Contains(tenant))
            {
                return;
            }
        }

        await store.WriteAsync($"{LakePaths.State}tenants/{LakePaths.TenantSegment(tenant)}.json", JsonSerializer.SerializeToUtf8Bytes(tenant), cancellationToken);
        lock (_tenants)
        {
            _tenants.Add(tenant);
        }
    }

    private async Task WriteWatermarkAsync(int partition, ArchiveWatermark mark, CancellationToken cancellationToken) =>
        await store.WriteAsync(LakePaths.Watermark(partition), JsonSerializer.SerializeToUtf8Bytes(mark), cancellationToken);

    /// <summary>
    /// The partition's trim gate in this silo (the silo of its grain, which runs its archive steps): readers of its log
    /// hold it through the grain (<see cref="IEventLogPartitionGrain.HoldTrimAsync"/>); a step that is not an erasure's
    /// trims only when no reader holds it, and a later step trims what it left.
    /// </summary>
    public LogTrimGate TrimGate(int partition)
    {
        lock (_trimGates)
        {
            return _trimGates.TryGetValue(partition, out var gate) ? gate : _trimGates[partition] = new LogTrimGate(clock);
        }
    }

    private SemaphoreSlim Lock(int partition)
    {
        lock (_locks)
        {
            return _locks.TryGetValue(partition, out var gate) ? gate : _locks[partition] = new SemaphoreSlim(1, 1);
        }
    }

    [LoggerMessage(EventId = 3300, Level = LogLevel.Information, Message = "Lake: partition {Partition} archived {Records} records ({Rows} events) into {Files} files, through position {Through}")]
    private partial void LogArchived(int partition, int records, int rows, int files, long through);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Information, Message = "Lake: partition {Partition} compacted {Files} files of {Folder} into one ({Rows} events)")]
    private partial void LogCompacted(int partition, string folder, int files, int rows);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Warning, Message = "Lake: archiving partition {Partition} to {Location} failed; the next step retries")]
    private partial void LogArchiveFailed(int partition, string location, Exception exception);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Warning, Message = "Lake: taking the daily profile snapshots in {Location} failed; the next step retries")]
    private partial void LogSnapshotFailed(string location, Exception exception);

    [LoggerMessage(EventId = 3762, Level = LogLevel.Information, Message = "Lake: erasure on partition {Partition} rewrote {Files} files ({Rows} rows removed), {SnapshotRows} snapshot rows removed, {Segments} log segments trimmed")]
    private partial void LogErased(int partition, int files, long rows, int snapshotRows, int segments);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Lake: partition {Partition} trimmed {Segments} log segments before position {Before}")]
    private partial void LogTrimmed(int partition, int segments, long before);
}

/// <summary>
/// How far a partition is archived: <see cref="Through"/> is the position of the last record in the lake (-1: none);
/// a pending range is a step that wrote its intent and may not have finished. <see cref="Compactions"/> counts the
/// compactions of the partition's files begun, and <see cref="Compacting"/> says one is under way.
/// </summary>
public sealed record ArchiveWatermark(long Through, long? PendingFirst, long? PendingLast, long Compactions = 0, bool Compacting = false);

/// <summary>What an erasure did to one partition's part of the lake.</summary>
public readonly record struct LakeErasure(int FilesRewritten, long RowsRemoved, int SnapshotRowsRemoved, int SegmentsTrimmed);

/// <summary>What one archive step did.</summary>
public readonly record struct ArchiveStep(int Records, int Events, int Files, int Compacted, int SegmentsTrimmed, long Through);

/// <summary>Registration of the lake in a silo.</summary>
public static class LakeArchiving
{
    /// <summary>The silo's archiver, or null when the lake is off or the host gave it no store.</summary>
    public static LakeArchiver? ArchiverOf(IServiceProvider services) =>
        services.GetService(typeof(ILakeStore)) is not null && services.GetService(typeof(IOptions<LakeOptions>)) is IOptions<LakeOptions> { Value.Enabled: true }
            ? (LakeArchiver?)services.GetService(typeof(LakeArchiver))
            : null;
}
