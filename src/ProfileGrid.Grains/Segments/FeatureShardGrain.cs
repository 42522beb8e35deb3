using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;
using Orleans.Streams;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Segments;
using ProfileGrid.Domain;
using ProfileGrid.Segmentation;

namespace ProfileGrid.Grains.Segments;

/// <summary>What a feature shard persists: every vector it owns with its segment and RFM score, and the model version assigned with.</summary>
[GenerateSerializer, Alias("pg.feature-shard-state")]
public sealed class FeatureShardState
{
    [Id(0)] public Dictionary<string, ShardEntry> Entries { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The version of the model the segments in <see cref="Entries"/> come from; 0 before any.</summary>
    [Id(1)] public long ModelVersion { get; set; }
}

[GenerateSerializer, Alias("pg.shard-entry")]
public sealed class ShardEntry
{
    /// <summary>The feature vector in <see cref="ProfileFeatures.All"/> order, as of <see cref="AsOf"/>.</summary>
    [Id(0)] public double[] Values { get; set; } = [];

    [Id(1)] public DateTimeOffset AsOf { get; set; }

    /// <summary>Segment id under the shard's model; -1 when unassigned.</summary>
    [Id(2)] public int Segment { get; set; } = -1;

    /// <summary>When the user entered <see cref="Segment"/>.</summary>
    [Id(3)] public DateTimeOffset Since { get; set; }

    /// <summary>
    /// When a windowed feature of <see cref="Values"/> changes with no event (as the profile computed it; see
    /// <see cref="FeatureUpdate.NextWindowChange"/>): the shard asks the profile to push again once it has passed. Null
    /// when none will, and while the profile has been asked and not answered yet.
    /// </summary>
    [Id(4)] public DateTimeOffset? NextWindowChange { get; set; }

    /// <summary>
    /// The RFM score under the shard's model as three digits (<see cref="RfmScore.Packed"/>, e.g. 545); 0 when the user
    /// is not a customer yet, the model has no RFM, or the entry was stored before RFM existed.
    /// </summary>
    [Id(5)] public int Rfm { get; set; }

    /// <summary>The profile's engagement velocity at its last event (<see cref="FeatureUpdate.EngagementAtLastSeen"/>).</summary>
    [Id(6)] public double? EngagementAtLastSeen { get; set; }

    /// <summary><see cref="Values"/> moved to <paramref name="at"/> (<see cref="ProfileFeatures.MoveTo(double[], IReadOnlyList{string}, DateTimeOffset, DateTimeOffset, ProfileOptions, double?)"/>).</summary>
    public double[] ValuesAt(DateTimeOffset at, ProfileOptions options) =>
        ProfileFeatures.MoveTo(Values, ProfileFeatures.All, AsOf, at, options, EngagementAtLastSeen);
}

/// <summary>
/// Holds the feature vectors of the users that hash to it, assigns each to its nearest segment and scores its RFM
/// where it lives (on every update, and all at once when a model is published), and answers sizes and member lists
/// per segment and per RFM cell. Its state is written behind (at most once per
/// <see cref="SegmentationOptions.ShardFlushInterval"/>) and segment membership changes are published with it, one
/// stream item per flush; a restart reloads the vectors from storage without waking any profile grain.
/// A push is answered with the write that will carry it (<see cref="IWriteBehindShard"/>): a profile reports its log records
/// written only once that write has succeeded, so a kill loses no vector of a record the log's checkpoint passed.
/// The 365-day counts in a vector fall as days pass without events, which a shard cannot compute (it has no daily
/// buckets): each profile sends the instant its next falls, and a timer (<see cref="SegmentationOptions.WindowRefreshInterval"/>)
/// asks the profiles whose instant has passed to push again, a bounded number per tick.
/// </summary>
public sealed partial class FeatureShardGrain(
    [PersistentState("shard", ProfileStores.Segments)] IPersistentState<FeatureShardState> state,
    IOptions<SegmentationOptions> options,
    IOptions<ProfileOptions> profileOptions,
    Stats.StatsCollector stats,
    Ingest.IngestActivity ingest,
    TimeProvider clock,
    ILogger<FeatureShardGrain> logger)
    : Grain, IFeatureShardGrain
{
    // Live moves (a profile's update put it in another segment of the same model) since the last flush: the stats' moves per hour.
    private int _liveMoves;

    private readonly List<SegmentMembershipChange> _pendingChanges = [];

    private readonly ShardWrites _writes = new();

    /// <summary>Profile keys per segment id, in key order: sizes and member pages without scanning every vector.</summary>
    private readonly Dictionary<int, SortedSet<string>> _members = [];

    /// <summary>Every profile key in order, for <see cref="IFeatureShardGrain.GetUsersAsync"/>; rebuilt when the count changes.</summary>
    private string[]? _sortedUsers;

    /// <summary>Profile keys per RFM cell id, in key order, kept like <see cref="_members"/>.</summary>
    private readonly Dictionary<string, SortedSet<string>> _rfmMembers = new(StringComparer.Ordinal);
    private SegmentModel? _model;
    private bool _dirty;

    // Users erased through this activation: a stored row read to reconcile a write conflict does not bring them back.
    private readonly HashSet<string> _forgotten = new(StringComparer.Ordinal);
    private bool _scheduled;
    private IGrainTimer? _flushTimer;
    private IGrainTimer? _refreshTimer;
    private string _tenant = "";

    // Profiles asked at once by a refresh tick: enough to overlap their activations, few enough not to crowd the silo.
    private const int RefreshConcurrency = 8;

    private Dictionary<string, ShardEntry> Entries => state.State.Entries;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _tenant = ProfileKey.Parse(this.GetPrimaryKeyString()).Tenant;

        // Vectors stored before the feature set changed cannot be assigned; their profiles push anew when next active.
        var outdated = Entries.Where(pair => pair.Value.Values.Length != ProfileFeatures.All.Count).Select(pair => pair.Key).ToList();
        foreach (var key in outdated)
        {
            Entries.Remove(key);
        }

        if (outdated.Count > 0)
        {
            MarkDirty();
        }
        foreach (var (key, entry) in Entries)
        {
            if (entry.Segment >= 0)
            {
                MembersOf(entry.Segment).Add(key);
            }

            if (RfmScore.FromPacked(entry.Rfm) is { } score)
            {
                RfmMembersOf(score.Cell).Add(key);
            }
        }

        if (Entries.Values.Any(entry => entry.NextWindowChange is not null))
        {
            StartWindowRefresh();
        }

        var published = await Segmentation.GetModelAsync();
        _model = published?.ToAssignmentModel();
        if (published is not null && published.Version != state.State.ModelVersion && Entries.Count > 0)
        {
            // A model was published while this shard was not active (or its publish call failed): catch up.
            await ApplyModelAsync(published);
        }
        else if (_model?.Rfm is { } rfm && published?.Version == state.State.ModelVersion)
        {
            // Entries stored before RFM existed (or by a release that skipped it) hold no score under a model that has
            // one: score them now, as the model's publish would have. Non-buyers stay unscored; scored entries keep
            // their score until their next update or model, as segments do.
            var now = clock.GetUtcNow();
            var scored = 0;
            foreach (var (key, entry) in Entries)
            {
                if (entry.Rfm == 0 && ScoreRfm(key, entry, rfm, entry.Values, entry.AsOf, _model.EvaluatedAt ?? now))
                {
                    scored++;
                }
            }

            if (scored > 0)
            {
                MarkDirty();
            }
        }
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) =>
        _writes.EndAfterAsync(FlushAsync(cancellationToken));

    public Task<ShardWriteState> WaitWrittenAsync(ShardWriteTicket ticket)
    {
        _flushTimer = _writes.BringForwardIfQuiet(_flushTimer, _dirty, ingest.IsQuiet, Entries.Count, due =>
            this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(due, Timeout.InfiniteTimeSpan) { KeepAlive = true }));
        return _writes.WaitAsync(ticket, clock);
    }

    private ISegmentationGrain Segmentation => GrainFactory.GetGrain<ISegmentationGrain>(_tenant);

    public Task<ShardWriteTicket> UpdateAsync(FeatureUpdate update)
    {
        if (update.Values.Length != ProfileFeatures.All.Count)
        {
            // A silo on another release (a rolling upgrade that changed the feature set): the profile pushes again from
            // a silo on this one.
            LogOutdatedVector(this.GetPrimaryKeyString(), update.Values.Length, ProfileFeatures.All.Count);
            return Task.FromResult(_writes.Ticket(_dirty));
        }

        if (!_scheduled)
        {
            _scheduled = true;
            Segmentation.EnsureScheduledAsync().Ignore();
        }

        if (!Apply(update))
        {
            return Task.FromResult(_writes.Ticket(_dirty)); // an older push overtaken by a newer one
        }

        _forgotten.Remove(update.ProfileKey); // back (unmerged, or new since an erasure): its stored rows count again

        MarkDirty();
        return Task.FromResult(_writes.Ticket(_dirty));
    }

    /// <summary>Takes a profile's vector, assigning it under the model; false when the shard holds a newer one.</summary>
    private bool Apply(FeatureUpdate update)
    {
        if (!Entries.TryGetValue(update.ProfileKey, out var entry))
        {
            entry = new ShardEntry();
            Entries[update.ProfileKey] = entry;
        }
        else if (update.AsOf < entry.AsOf)
        {
            return false;
        }

        entry.Values = update.Values;
        entry.AsOf = update.AsOf;
        entry.NextWindowChange = update.NextWindowChange;
        entry.EngagementAtLastSeen = update.EngagementAtLastSeen;
        if (update.NextWindowChange is not null)
        {
            StartWindowRefresh();
        }

        if (_model is not null)
        {
            var was = entry.Segment;
            // A model as of a past instant (a run with as_of) measures every vector to that instant; a live model takes it as pushed.
            var values = _model.EvaluatedAt is { } evaluatedAt
                ? entry.ValuesAt(evaluatedAt, profileOptions.Value)
                : update.Values;
            Assign(update.ProfileKey, entry, _model.Assign(values), update.AsOf);
            if (was >= 0 && entry.Segment != was)
            {
                _liveMoves++;
            }

            ScoreRfm(update.ProfileKey, entry, _model.Rfm, update.Values, update.AsOf, _model.EvaluatedAt ?? clock.GetUtcNow());
        }

        return true;
    }

    public Task<ShardWriteTicket> RemoveAsync(string profileKey)
    {
        _forgotten.Add(profileKey); // merged into another: a stored row read to reconcile does not bring it back
        if (RemoveEntry(profileKey))
        {
            MarkDirty();
        }

        return Task.FromResult(_writes.Ticket(_dirty));
    }

    /// <summary>Takes the profile out of the shard and out of its segment's and RFM cell's member lists.</summary>
    private bool RemoveEntry(string profileKey)
    {
        if (!Entries.Remove(profileKey, out var entry))
        {
            return false;
        }

        if (entry.Segment >= 0)
        {
            MembersOf(entry.Segment).Remove(profileKey);
        }

        if (RfmScore.FromPacked(entry.Rfm) is { } score)
        {
            RfmMembersOf(score.Cell).Remove(profileKey);
        }

        return true;
    }

    public Task<int> CountAsync() => Task.FromResult(Entries.Count);

    public async Task<int> ForgetAsync(string[] profileKeys)
    {
        var removed = profileKeys.Count(RemoveEntry);
        _forgotten.UnionWith(profileKeys);

        // Membership moves not yet announced would name the user on the segments stream.
        _pendingChanges.RemoveAll(change => profileKeys.Contains(change.ProfileKey, StringComparer.Ordinal));
        _sortedUsers = null;
        if (removed > 0)
        {
            try
            {
                await WriteReconcilingAsync();
            }
            catch
            {
                MarkDirty(); // the removal is still to be stored, whether or not the erasure asks again
                throw;
            }

            _dirty = false;
            _writes.Written();
            // The tenant's segment sizes no longer count them (no membership change is announced for an erased user).
            ReportToStats();
        }

        return removed;
    }

    public Task<double[][]> SampleAsync(int maxRows, int seed, DateTimeOffset? asOf)
    {
        var at = asOf ?? clock.GetUtcNow();
        // As of a past instant, only the users known then: one first seen later had no history to segment (its tenure
        // would be negative; moved back it would be clamped to a customer of one day with all its later orders).
        var entries = asOf is null ? Entries.Values.ToArray() : Entries.Values.Where(e => KnownAt(e, at)).ToArray();
        IEnumerable<ShardEntry> chosen = entries;
        if (entries.Length > maxRows)
        {
            var rng = new Random(seed);
            rng.Shuffle(entries);
            chosen = entries.Take(Math.Max(0, maxRows));
        }

        return Task.FromResult(chosen.Select(e => e.ValuesAt(at, profileOptions.Value)).ToArray());
    }

    private static readonly int TenureIndex = ProfileFeatures.All.ToList().IndexOf("tenure_days");

    private static bool KnownAt(ShardEntry entry, DateTimeOffset at) =>
        at >= entry.AsOf || entry.Values[TenureIndex] + (at - entry.AsOf).TotalDays >= 0;

    public async Task ApplyModelAsync(SegmentModelView published)
    {
        if (published.Version < state.State.ModelVersion)
        {
            return; // a late publish of an older model
        }

        if (_pendingChanges.Count > 0)
        {
            // Moves made under the model being replaced go out labelled with it, before the new model's reassignment.
            var earlier = _pendingChanges.ToArray();
            _pendingChanges.Clear();
            await PublishAsync(earlier, _model?.Version ?? 0);
        }

        var model = published.ToAssignmentModel();
        _model = model;
        var now = clock.GetUtcNow();
        var at = model.EvaluatedAt ?? now;
        foreach (var (key, entry) in Entries)
        {
            var aged = entry.ValuesAt(at, profileOptions.Value);
            Assign(key, entry, model.Assign(aged), now);
            ScoreRfm(key, entry, model.Rfm, aged, at, at);
        }

        state.State.ModelVersion = model.Version;
        _dirty = true;
        await FlushAsync(CancellationToken.None);
        LogModelApplied(this.GetPrimaryKeyString(), model.Version, Entries.Count);
    }

    public Task<ShardSegmentStats> GetStatsAsync()
    {
        var sizes = _members.Where(pair => pair.Value.Count > 0).ToDictionary(pair => pair.Key, pair => pair.Value.Count);
        var rfmSizes = _rfmMembers.Where(pair => pair.Value.Count > 0).ToDictionary(pair => pair.Key, pair => pair.Value.Count, StringComparer.Ordinal);
        return Task.FromResult(new ShardSegmentStats(_model?.Version ?? 0, Entries.Count, sizes, rfmSizes));
    }

    public Task<UserSegment?> GetSegmentAsync(string profileKey)
    {
        if (_model is null || !Entries.TryGetValue(profileKey, out var entry) || entry.Segment < 0)
        {
            return Task.FromResult<UserSegment?>(null);
        }

        return Task.FromResult<UserSegment?>(Listed(_model, entry));
    }

    public Task<SegmentLabels> GetSegmentLabelsAsync()
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var byId = new Dictionary<int, string>();
        if (_model is { } model)
        {
            foreach (var segment in model.Segments)
            {
                if (segment.Label is { Length: > 0 } name)
                {
                    byId[segment.Id] = name;
                }
            }

            foreach (var (key, entry) in Entries)
            {
                if (entry.Segment >= 0 && model.Segment(entry.Segment)?.Label is { Length: > 0 } label)
                {
                    labels[key] = label;
                }
            }
        }

        return Task.FromResult(new SegmentLabels(labels, byId));
    }

    /// <summary>The user's segment (and RFM score) as the shard lists it; the entry must be assigned.</summary>
    private static UserSegment Listed(SegmentModel model, ShardEntry entry) =>
        new(entry.Segment, model.Segment(entry.Segment)?.Label ?? "", model.Version, entry.Since, RfmScore.FromPacked(entry.Rfm)?.ToContract());

    public Task<SegmentExplanationResult> ExplainAsync(string profileKey)
    {
        if (_model is null)
        {
            return Task.FromResult(new SegmentExplanationResult(SegmentExplanationOutcome.NoModel, null));
        }

        if (!Entries.TryGetValue(profileKey, out var entry))
        {
            return Task.FromResult(new SegmentExplanationResult(SegmentExplanationOutcome.NoFeatures, null));
        }

        // Aged as a new model would assign it, so the explanation is about the user as they are now.
        var now = clock.GetUtcNow();
        var profile = profileOptions.Value;
        var aged = entry.ValuesAt(_model.EvaluatedAt ?? now, profile);
        var explanation = SegmentExplanation.Explain(_model, aged, (feature, value) => FeatureUnits.Format(feature, value, profile.ReportingCurrency));
        var listed = entry.Segment < 0 ? null : Listed(_model, entry);
        return Task.FromResult(new SegmentExplanationResult(SegmentExplanationOutcome.Explained, explanation.ToView(_model.EvaluatedAt ?? now, listed)));
    }

    public Task<string[]> GetMembersAsync(int segmentId, string? afterProfileKey, int pageSize) =>
        Task.FromResult(_members.TryGetValue(segmentId, out var members) ? Page(members, afterProfileKey, pageSize) : []);

    public Task<ShardSnapshotEntry[]> GetSnapshotAsync() =>
        Task.FromResult(Entries.Select(pair => new ShardSnapshotEntry(pair.Key, pair.Value.Values, pair.Value.AsOf, pair.Value.Segment, pair.Value.Since, pair.Value.Rfm)).ToArray());

    public Task<Dictionary<string, int>> GetAssignmentsAsync() =>
        Task.FromResult(Entries.Where(pair => pair.Value.Segment >= 0).ToDictionary(pair => pair.Key, pair => pair.Value.Segment, StringComparer.Ordinal));

    public Task<string[]> GetUsersAsync(string? afterProfileKey, int pageSize)
    {
        if (pageSize <= 0 || Entries.Count == 0)
        {
            return Task.FromResult<string[]>([]);
        }

        // Sorted at the first page and kept while no user comes or goes, so that paging through a big shard costs each
        // page a binary search and its own size; a user added meanwhile sorts in and is found if after the cursor.
        if (afterProfileKey is null || _sortedUsers is null || _sortedUsers.Length != Entries.Count)
        {
            _sortedUsers = Entries.Keys.Order(StringComparer.Ordinal).ToArray();
        }

        var start = 0;
        if (afterProfileKey is not null)
        {
            var found = Array.BinarySearch(_sortedUsers, afterProfileKey, StringComparer.Ordinal);
            start = found >= 0 ? found + 1 : ~found;
        }

        var count = Math.Min(pageSize, _sortedUsers.Length - start);
        return Task.FromResult(count <= 0 ? [] : _sortedUsers[start..(start + count)]);
    }

    public Task<string[]> GetRfmMembersAsync(string cell, string? afterProfileKey, int pageSize) =>
        Task.FromResult(_rfmMembers.TryGetValue(cell, out var members) ? Page(members, afterProfileKey, pageSize) : []);

    private static string[] Page(SortedSet<string> members, string? afterProfileKey, int pageSize)
    {
        if (members.Count == 0 || pageSize <= 0)
        {
            return [];
        }

        if (afterProfileKey is null)
        {
            return members.Take(pageSize).ToArray();
        }

        if (string.CompareOrdinal(afterProfileKey, members.Max) >= 0)
        {
            return [];
        }

        // A view from the key on, found in O(log n): paging through a big segment costs each page its own size.
        return members.GetViewBetween(afterProfileKey, members.Max!)
            .SkipWhile(key => key == afterProfileKey)
            .Take(pageSize)
            .ToArray();
    }

    /// <summary>
    /// Scores the entry's RFM on its vector aged from <paramref name="asOf"/> to <paramref name="now"/> (days since the
    /// last purchase grow while the user is away) and moves it between cell member sets; no model RFM clears the
    /// score. True when the stored score changed.
    /// </summary>
    /// <summary>Scores <paramref name="values"/> (extracted at <paramref name="asOf"/>) as of <paramref name="at"/>; true when the score changed.</summary>
    private bool ScoreRfm(string profileKey, ShardEntry entry, RfmModel? rfm, double[] values, DateTimeOffset asOf, DateTimeOffset at)
    {
        var score = rfm?.ScoreVector(ProfileFeatures.MoveTo(values, ProfileFeatures.All, asOf, at, profileOptions.Value));
        var packed = score?.Packed ?? 0;
        if (packed == entry.Rfm)
        {
            return false;
        }

        if (RfmScore.FromPacked(entry.Rfm) is { } previous)
        {
            RfmMembersOf(previous.Cell).Remove(profileKey);
        }

        if (score is { } current)
        {
            RfmMembersOf(current.Cell).Add(profileKey);
        }

        entry.Rfm = packed;
        return true;
    }

    private SortedSet<string> RfmMembersOf(string cell)
    {
        if (!_rfmMembers.TryGetValue(cell, out var members))
        {
            _rfmMembers[cell] = members = new SortedSet<string>(StringComparer.Ordinal);
        }

        return members;
    }

    /// <summary>
    /// Starts the refresh timer unless it runs or is turned off. The first tick comes soon, so that a shard activated
    /// for a moment (by a retrain, a read) after its profiles' instants passed still asks them.
    /// </summary>
    private void StartWindowRefresh()
    {
        var period = options.Value.WindowRefreshInterval;
        if (_refreshTimer is not null || period <= TimeSpan.Zero)
        {
            return;
        }

        var first = period < FirstRefreshDelay ? period : FirstRefreshDelay;
        _refreshTimer = this.RegisterGrainTimer(RefreshWindowsAsync, new GrainTimerCreationOptions(first, period) { KeepAlive = true, Interleave = true });
    }

    private static readonly TimeSpan FirstRefreshDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// One refresh tick: asks the profiles whose windowed features have changed since they pushed (their instant has
    /// passed), earliest first, at most <see cref="SegmentationOptions.WindowRefreshBatch"/> of them and
    /// <see cref="RefreshConcurrency"/> at a time; each pushes its vector as of now through the usual update, which
    /// replaces the vector and reassigns the segment. Interleaves, so updates keep arriving meanwhile; the timer stops
    /// when no entry holds an instant.
    /// </summary>
    private async Task RefreshWindowsAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var due = new List<(string Key, ShardEntry Entry, DateTimeOffset At)>();
        var waiting = 0;
        foreach (var (key, entry) in Entries)
        {
            if (entry.NextWindowChange is not { } at)
            {
                continue;
            }

            if (at <= now)
            {
                due.Add((key, entry, at));
            }
            else
            {
                waiting++;
            }
        }

        if (due.Count == 0)
        {
            if (waiting == 0)
            {
                _refreshTimer?.Dispose();
                _refreshTimer = null;
            }

            return;
        }

        var batch = new Queue<(string Key, ShardEntry Entry, DateTimeOffset At)>(due.OrderBy(d => d.At).Take(options.Value.WindowRefreshBatch));
        int asked = 0, failed = 0;
        async Task AskAsync()
        {
            while (!cancellationToken.IsCancellationRequested && batch.TryDequeue(out var item))
            {
                if (item.Entry.NextWindowChange is not { } at || at > now)
                {
                    continue; // the profile pushed a newer instant meanwhile
                }

                // Cleared while asked: the push brings the next instant (none for a profile with no orders left in the window).
                item.Entry.NextWindowChange = null;
                try
                {
                    await GrainFactory.GetGrain<IUserProfileGrain>(item.Key).RefreshFeaturesAsync();
                    asked++;
                }
                catch (Exception ex)
                {
                    item.Entry.NextWindowChange ??= at; // asked again on the next tick
                    if (failed++ == 0)
                    {
                        LogRefreshFailed(this.GetPrimaryKeyString(), ex);
                    }
                }
            }
        }

        var total = batch.Count;
        await Task.WhenAll(Enumerable.Range(0, Math.Min(RefreshConcurrency, total)).Select(_ => AskAsync()));
        LogWindowsRefreshed(this.GetPrimaryKeyString(), asked, failed, due.Count - total);
    }

    private void Assign(string profileKey, ShardEntry entry, int segment, DateTimeOffset at)
    {
        if (entry.Segment == segment)
        {
            return;
        }

        _pendingChanges.Add(new SegmentMembershipChange(profileKey, entry.Segment < 0 ? null : entry.Segment, segment, at));
        if (entry.Segment >= 0)
        {
            MembersOf(entry.Segment).Remove(profileKey);
        }

        MembersOf(segment).Add(profileKey);
        entry.Segment = segment;
        entry.Since = at;
    }

    private SortedSet<string> MembersOf(int segment)
    {
        if (!_members.TryGetValue(segment, out var members))
        {
            _members[segment] = members = new SortedSet<string>(StringComparer.Ordinal);
        }

        return members;
    }

    /// <summary>Writes the state, reconciling with a stored row it did not write last (<see cref="ReconcilingWrites"/>).</summary>
    private Task WriteReconcilingAsync() =>
        ReconcilingWrites.WriteAsync(state, reason => LogWriteConflict(this.GetPrimaryKeyString(), reason), AdoptStored);

    /// <summary>Every user's newer vector of the stored row's and this activation's is kept; users erased here stay erased.</summary>
    private void AdoptStored(FeatureShardState stored)
    {
        var adopted = 0;
        foreach (var (key, theirs) in stored.Entries)
        {
            if (!_forgotten.Contains(key) && theirs.Values.Length == ProfileFeatures.All.Count
                && (!Entries.TryGetValue(key, out var mine) || theirs.AsOf > mine.AsOf)
                && Apply(new FeatureUpdate(key, theirs.Values, theirs.AsOf, theirs.NextWindowChange, theirs.EngagementAtLastSeen)))
            {
                adopted++;
            }
        }

        LogReconciled(this.GetPrimaryKeyString(), adopted, stored.Entries.Count);
    }

    private void MarkDirty()
    {
        _dirty = true;
        _flushTimer ??= this.RegisterGrainTimer(
            FlushAsync,
            new GrainTimerCreationOptions(ShardWritePacing.Interval(options.Value.ShardFlushInterval, Entries.Count), Timeout.InfiniteTimeSpan) { KeepAlive = true });
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        _flushTimer?.Dispose();
        _flushTimer = null;
        _writes.WriteStarting();
        if (_dirty)
        {
            try
            {
                // Not the timer's token: disposing the timer (above) cancels it.
                await WriteReconcilingAsync();
                _dirty = false;
                _writes.Written();
            }
            catch (Exception ex)
            {
                // Changes are announced only once they are stored: they wait for the next write that succeeds.
                LogWriteFailed(this.GetPrimaryKeyString(), ex);
                MarkDirty();
                return;
            }
        }

        if (_pendingChanges.Count > 0)
        {
            var changes = _pendingChanges.ToArray();
            _pendingChanges.Clear();
            ReportToStats();
            await PublishAsync(changes, _model?.Version ?? 0);
        }
    }

    /// <summary>Tells the silo's stats collector the shard's sizes now and its live moves since the last report: once per flush with changes.</summary>
    private void ReportToStats()
    {
        if (stats.For(_tenant) is not { } buffer)
        {
            return;
        }

        var sizes = _members.Where(pair => pair.Value.Count > 0).ToDictionary(pair => pair.Key, pair => pair.Value.Count);
        buffer.Segments(this.GetPrimaryKeyString(), _liveMoves, new Abstractions.Stats.ShardSizes(_model?.Version ?? 0, sizes));
        _liveMoves = 0;
    }

    private async Task PublishAsync(SegmentMembershipChange[] changes, long modelVersion)
    {
        const int ChangesPerItem = 5000;
        try
        {
            var stream = this.GetStreamProvider(StreamNames.SegmentsProvider)
                .GetStream<SegmentMembershipChanges>(StreamId.Create(StreamNames.SegmentChangesNamespace, _tenant));
            foreach (var chunk in changes.Chunk(ChangesPerItem))
            {
                await stream.OnNextAsync(new SegmentMembershipChanges(_tenant, modelVersion, chunk));
            }
        }
        catch (Exception ex)
        {
            // Notifications only: the shard's state stays the source of truth, and subscribers can re-read members.
            LogPublishFailed(this.GetPrimaryKeyString(), changes.Length, ex);
        }
    }

    [LoggerMessage(EventId = 3220, Level = LogLevel.Warning, Message = "Feature shard {Shard}: ignored a vector of {Length} features; this release has {Expected}")]
    private partial void LogOutdatedVector(string shard, int length, int expected);

    [LoggerMessage(EventId = 3221, Level = LogLevel.Debug, Message = "Feature shard {Shard}: model {Version} applied to {Vectors} vectors")]
    private partial void LogModelApplied(string shard, long version, int vectors);

    [LoggerMessage(EventId = 3222, Level = LogLevel.Warning, Message = "Feature shard {Shard}: writing state failed; will retry")]
    private partial void LogWriteFailed(string shard, Exception exception);

    [LoggerMessage(EventId = 3226, Level = LogLevel.Warning, Message = "Feature shard {Shard}: a write was refused on its ETag ({Reason}); reading the stored row to reconcile")]
    private partial void LogWriteConflict(string shard, string reason);

    [LoggerMessage(EventId = 3227, Level = LogLevel.Warning, Message = "Feature shard {Shard}: reconciled with the stored row: {Adopted} of its {Stored} entries were newer and are kept")]
    private partial void LogReconciled(string shard, int adopted, int stored);

    [LoggerMessage(EventId = 3223, Level = LogLevel.Warning, Message = "Feature shard {Shard}: publishing {Changes} membership changes failed")]
    private partial void LogPublishFailed(string shard, int changes, Exception exception);

    [LoggerMessage(EventId = 3224, Level = LogLevel.Debug, Message = "Feature shard {Shard}: asked {Asked} profiles to push their aged windowed features ({Failed} failed, {Left} left for the next tick)")]
    private partial void LogWindowsRefreshed(string shard, int asked, int failed, int left);

    [LoggerMessage(EventId = 3225, Level = LogLevel.Warning, Message = "Feature shard {Shard}: asking a profile to push its aged windowed features failed; it is asked again on the next tick")]
    private partial void LogRefreshFailed(string shard, Exception exception);
}
