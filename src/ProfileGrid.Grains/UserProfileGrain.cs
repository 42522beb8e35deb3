using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using Orleans.Streams;
using Orleans.Streams.Core;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Identity;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Privacy;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Grains.Stats;

namespace ProfileGrid.Grains;

/// <summary>What a profile grain persists: the profile, and how far into its log partition it has applied.</summary>
[GenerateSerializer, Alias("pg.profile-grain-state")]
public sealed class UserProfileGrainState
{
    [Id(0)] public UserProfile Profile { get; set; } = new();

    /// <summary>Position of the last log record applied; records at or before it are skipped on replay.</summary>
    [Id(1)] public long LogPosition { get; set; } = -1;

    /// <summary>The canonical profile this one is merged into (its records are forwarded there); null when it stands alone.</summary>
    [Id(2)] public string? MergedInto { get; set; }

    /// <summary>Profiles merged into this one: the last position of each one's log partition brought in (history or forwarded).</summary>
    [Id(3)] public Dictionary<string, long>? Absorbed { get; set; }

    /// <summary>
    /// Attributes and preferences set directly (UpsertAttributes, SetPreferences), with their field times: not events, so
    /// a rebuild from events lays them over again. Null for profiles written before it was kept (their current layers stand in).
    /// </summary>
    [Id(4)] public UserProfile? Direct { get; set; }

    /// <summary>Set for profiles created since direct writes are kept apart: a null <see cref="Direct"/> then means none.</summary>
    [Id(5)] public bool DirectKept { get; set; }

    /// <summary>
    /// Direct writes made to the ids of profiles merged into this one, per member: laid over a rebuild only while that
    /// member is still merged, so an unmerge takes them out of this profile (the member keeps its own copy).
    /// </summary>
    [Id(6)] public Dictionary<string, UserProfile>? MemberDirect { get; set; }
}

/// <summary>What a profile activation holds in memory now: for diagnostics and the memory benchmark, not a contract of the gateway.</summary>
public interface IProfileResidencyGrain : IGrainWithStringKey
{
    /// <summary>The bytes of the packed state while the profile is packed (see <see cref="ResidencyOptions.PackIdleAfter"/>); null while unpacked. Does not unpack.</summary>
    Task<int?> PackedBytesAsync();

    /// <summary>Whether a read view is kept (see <see cref="ResidencyOptions.ViewKeptFor"/>).</summary>
    Task<bool> HoldsViewAsync();
}

/// <summary>A direct write would add a trait or a preference value past the profile's bound (ProfileOptions.MaxTraits, MaxPreferences).</summary>
[GenerateSerializer, Alias("pg.profile-limit")]
public sealed class ProfileLimitException(string message) : Exception(message);

/// <summary>A profile's stored state belongs to another user: two long keys met on one hashed storage key.</summary>
[GenerateSerializer, Alias("pg.profile-key-collision")]
public sealed class ProfileKeyCollisionException : Exception
{
    public ProfileKeyCollisionException(ProfileKey requested, ProfileKey stored)
        : base($"The stored profile for tenant '{requested.Tenant}', user '{requested.UserId}' holds tenant '{stored.Tenant}', user " +
            $"'{stored.UserId}' (their ids share a hashed storage key); the profile is refused rather than merged. Report this: it needs a SHA-256 collision.")
    {
    }

    public ProfileKeyCollisionException(string message) : base(message)
    {
    }
}

/// <summary>
/// One user's profile. Events arrive by one of two paths, chosen by the host:
/// <list type="bullet">
/// <item>the event log (<see cref="IUserProfileGrain.ApplyLoggedAsync"/>): the log record is the durable copy, the
/// state is written behind (at most once per <see cref="IngestOptions.FlushInterval"/>), and the log partition is
/// told once it is; a replay skips records at or before <see cref="UserProfileGrainState.LogPosition"/>;</item>
/// <item>an Orleans stream (Azure Queue, Event Hubs): each delivered <see cref="EventBatch"/> is applied and written
/// before the delivery completes, so the provider drops the durable message only after that.</item>
/// </list>
/// Either way, event ids in a bounded window make redeliveries and client retries change nothing.
/// </summary>
[ImplicitStreamSubscription(StreamNames.UserEventsNamespace)]
public sealed partial class UserProfileGrain(
    [PersistentState("profile", ProfileStores.Profiles)] IPersistentState<UserProfileGrainState> state,
    IOptions<ProfileOptions> options,
    IOptions<IngestOptions> ingestOptions,
    IOptions<SegmentationOptions> segmentationOptions,
    IOptions<ResidencyOptions> residencyOptions,
    ProfileWriteGate writeGate,
    ProfilePacker packer,
    StatsCollector stats,
    ConsentReporter consentReporter,
    ProfileGridMetrics metrics,
    TimeProvider clock,
    ILogger<UserProfileGrain> logger)
    : Grain, IUserProfileGrain, IProfileResidencyGrain, IProfileMergeGrain, IStreamSubscriptionObserver, IAsyncObserver<EventBatch>
{
    private readonly ProfileOptions _options = options.Value;
    private int _logPartition = -1;

    // The last log position handed to this activation, applied or refused: the partition waits for a write through it.
    private long _lastHanded = -1;

    // What the archive of spilled event ids answered for the batch being applied (null: not asked); the dedupe window
    // and its count of ids added as of the last successful write; set while a record waits for a write before it applies.
    private HashSet<ulong>? _archiveAnswer;
    private (EventIdWindow? Window, long Added) _writtenIds;
    private bool _writingBeforeApply;
    private Task _handingSpilledIds = Task.CompletedTask;

    // The earliest log position applied but not in written state, that the partition holds its checkpoint for; while a
    // write is in flight the positions it carries move to _writingFrom until it succeeds.
    private long? _unwrittenFrom;
    private long? _writingFrom;

    // Log-path changes in memory and not in storage, even those the partition set aside (which it no longer waits for).
    private bool _unsaved;

    // Set while a write refused on its ETag reads the stored row back (which briefly replaces state.State): changes
    // arriving then are refused (log records, replayed later) or wait (direct updates, stream batches).
    private bool _reconciling;
    private int _failedWrites;
    private Task _writing = Task.CompletedTask;
    private IGrainTimer? _flushTimer;
    private double[]? _pushedFeatures;

    // Item histories go to the interaction shard after the write that made them durable, with what the batches since
    // said of the items (category, price): derived data, so a push lost with a silo is healed by the next one.
    private bool _itemsChanged;
    private Dictionary<string, ItemFact>? _itemFacts;
    private IInteractionShardGrain? _interactionShard;

    // The feedback figures go to the feedback shard likewise, after the write that made them durable: once per activation
    // and on feedback, conversions and identity changes, by profiles that were shown or clicked a list. Profiles without
    // feedback do not report: a shard entry per user would double the derived state a bulk load writes behind.
    private bool _feedbackChanged;
    private IFeedbackShardGrain? _feedbackShard;

    // Whether the tenant's privacy ledger knows this user as consenting to personalization, as far as this activation
    // knows: a written change of consent is reported (the lake's archivers leave an opted-out user's context out).
    private bool _consentReported = true;

    // The merged members whose consent this activation reported (as _consentReported); an opted-out person's new member
    // is reported once.
    private readonly HashSet<string> _consentReportedMembers = new(StringComparer.Ordinal);

    // References kept, and made without GetGrain's reflection (see GrainReferences).
    private IEventLogPartitionGrain? _partitionGrain;
    private IFeatureShardGrain? _shardGrain;
    private DateTimeOffset _pushedAt;

    // When the last pushed vector's windowed features change with no event (see ProfileFeatures.NextWindowChange): the
    // shard keeps it to ask again then, so a change of it is pushed even when the vector barely moved.
    private DateTimeOffset? _pushedNextWindowChange;

    // A write changed the features by less than the material change since the last push (so it was not pushed): the
    // exact vector goes when the profile goes idle, so the segmentation does not keep the last small change missing.
    private bool _featuresUnpushed;

    // The read view of the state as it is, for the current UTC day, and one for the last past day asked for (as_of
    // reads): built on the first read after a change or a day boundary, then only moved to the instant asked for. Only
    // reads keep them: a view costs about a third of a resident profile again, and most profiles are written, not read.
    private ProfileView? _view;
    private ProfileView? _pastView;

    // The last read: views are dropped once no read came for ResidencyOptions.ViewKeptFor (checked by the residency timer),
    // and a packed profile keeps one only when read again within it.
    private DateTimeOffset _viewReadAt;

    // While a write conflict is reconciled, state.State briefly holds the stored row; reads keep seeing this activation's.
    private UserProfileGrainState? _heldDuringReconcile;

    // While the profile is idle its state is kept packed (ResidencyOptions.PackIdleAfter) and state.State is null: every use
    // but a read goes through State, which unpacks on demand, and counts as a use (_uses) for the idle check; a read builds
    // its view from a copy (ProfileToRead) and leaves the profile packed.
    private byte[]? _packed;
    private int _uses;
    private bool _countedUnpacked;
    private int _usesAtLastCheck;
    private int _idleChecks;

    // What a read needs of a packed profile besides its view, taken when it packs: a read leaves a packed profile packed.
    private (string? MergedInto, long EventsApplied) _packedFacts;

    // One timer checks both the idle state to pack and the views to drop, and runs only while there is either: a packed
    // profile without views has none. One, not one for each, because a read of a packed profile needs both, and at a
    // million profiles read at random, creating and disposing timers contended on the runtime's timer-queue lock
    // (docs/benchmarks.md, "A quiet 1M run").
    private IGrainTimer? _residencyTimer;

    private UserProfileGrainState State
    {
        get
        {
            _uses++;
            return _packed is null ? state.State : Unpack();
        }
    }

    private UserProfile Profile => (_heldDuringReconcile ?? State).Profile;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // Long ids are stored under a hashed key (see ProfileKey.BoundStorageKey): should two ever share one, the ids kept
        // in the state tell, and this grain refuses to run rather than merge two people.
        var key = ProfileKey.Parse(this.GetPrimaryKeyString());
        if (Profile.Tenant.Length > 0 && (Profile.Tenant != key.Tenant || Profile.UserId != key.UserId))
        {
            LogStoredIdentityMismatch(this.GetPrimaryKeyString());
            throw new ProfileKeyCollisionException(key, new ProfileKey(Profile.Tenant, Profile.UserId));
        }

        // As read from storage the profile holds text of its own and may hold an earlier row shape: compact it once.
        ProfileUpdater.Compact(Profile);

        // Whatever woke this profile (an event, a read), its shard hears of it once per activation: that heals a shard
        // that lost its last unwritten vectors with a silo, and fills the shards for profiles stored before segmentation.
        // Item histories likewise.
        PushFeaturesOnMaterialChange();
        _itemsChanged = Profile.Behavior.Items.Count > 0;
        PushItemsIfChanged();
        _feedbackChanged = FeedbackReport.HasFeedback(Profile);
        PushFeedbackIfChanged();
        LeaveShardsIfMerged();
        _consentReported = Profile.Preferences.PersonalizationOptIn != false;
        CountUnpacked(true);
        WatchResidency();
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _deactivating = true; // pushes sent again in the background stop: the next activation knows of erasures and merges

        // A migration carries state.State to the new silo (after this method): it must be the state, not null. Any other
        // deactivation leaves a packed profile packed: it has nothing unwritten (a last write would unpack through State),
        // and unpacking a million idle profiles collected at once would cost CPU for nothing.
        _residencyTimer?.Dispose();
        _residencyTimer = null;
        if (_packed is not null && reason.ReasonCode == DeactivationReasonCode.Migrating)
        {
            Unpack(watchIdle: false);
        }

        try
        {
            await _writing;
        }
        catch (Exception)
        {
            // Reported where it failed; the unsaved changes are still marked and written below.
        }

        try
        {
            if (_unsaved)
            {
                await PersistAsync(behind: true);
            }

            await UntilSpilledIdsHandedAsync();
            if (state.State is { } held && held.Profile.RecentEventIds.Spilled.Count > 0)
            {
                // The spilled ids live in memory only: what this activation holds goes now, however few.
                await HandSpilledIdsAsync(held.Profile.RecentEventIds);
            }

            if (_featuresUnpushed && state.State is not null)
            {
                PushFeaturesOnMaterialChange(force: true); // as when it packs: the last small change is not lost
            }

            await UntilReportedAsync(cancellationToken);
        }
        finally
        {
            CountUnpacked(false);
        }
    }

    /// <summary>
    /// Waits (a few seconds) for reports waiting for the shards' writes: gone with the activation, their records would
    /// wait for the partition's stuck-profile replay.
    /// </summary>
    private async Task UntilReportedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _reporting.WaitAsync(ShardWrites.DefaultMaxWait, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // The partition replays what this activation did not report; the next activation pushes again.
        }
    }

    async Task IStreamSubscriptionObserver.OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        await handleFactory.Create<EventBatch>().ResumeAsync(this);
    }

    async Task IAsyncObserver<EventBatch>.OnNextAsync(EventBatch batch, StreamSequenceToken? token)
    {
        // On the stream path no log partition stands between the queue and the profile: the erasure filter applies here.
        if (ServiceProvider.GetService(typeof(Privacy.PrivacyFilters)) is Privacy.PrivacyFilters privacy)
        {
            var key = ProfileKey.Parse(this.GetPrimaryKeyString());
            var filter = await privacy.ForTenantAsync(key.Tenant);
            if (!filter.IsEmpty && filter.Keep(key.UserId, batch) is var kept && kept != batch)
            {
                if (kept is null)
                {
                    return;
                }

                batch = kept;
            }
        }

        await UntilReconciledAsync();
        if (ProfileUpdater.ArchiveQuestion(Profile, batch.Events) is { } question)
        {
            _archiveAnswer = await AskArchiveAsync(question);
            await UntilReconciledAsync();
        }

        ApplyResult result;
        try
        {
            result = ApplyCounted(batch.Events);
        }
        finally
        {
            _archiveAnswer = null;
        }

        StateChanged();
        NoteItems(batch.Events);
        if (result.Applied > 0 || _failedWrites > 0)
        {
            // After a failed write the redelivery's events are already in the dedupe window (Applied is 0), yet storage
            // lacks them: write before this delivery completes and its message is deleted.
            await PersistAsync();
        }

        LogBatchApplied(this.GetPrimaryKeyString(), result.Applied, result.Duplicates);
    }

    Task IAsyncObserver<EventBatch>.OnCompletedAsync() => Task.CompletedTask;

    Task IAsyncObserver<EventBatch>.OnErrorAsync(Exception ex)
    {
        LogStreamError(this.GetPrimaryKeyString(), ex);
        return Task.CompletedTask;
    }

    Task<LoggedApplyResult> IUserProfileGrain.ApplyLoggedAsync(EventBatch batch, int partition, long position, long? previous)
    {
        _logPartition = partition;
        _lastHanded = Math.Max(_lastHanded, position);
        if (_reconciling)
        {
            // state.State may be the stored row for a moment: refuse, and the partition replays this record in order.
            return Task.FromResult(new LoggedApplyResult(UnwrittenFrom, Gap: true));
        }

        if (position <= State.LogPosition)
        {
            // A record this profile holds, handed again: a replay after a crash, in which the shards may have lost what
            // the profile pushed before it. The activation pushed anew; the record counts as written once that is.
            LeftNothingToWrite(position, State.LogPosition);

            return Task.FromResult(new LoggedApplyResult(UnwrittenFrom));
        }

        if (previous is { } predecessor && State.LogPosition < predecessor)
        {
            // The record handed before this one is missing: lost with a dead activation's unwritten state, or its call
            // failed and may yet arrive late. Applying this one would move LogPosition past the gap for good; refuse,
            // and let the log replay in order.
            LogGap(this.GetPrimaryKeyString(), predecessor, State.LogPosition);
            return Task.FromResult(new LoggedApplyResult(UnwrittenFrom, Gap: true));
        }

        if (State.MergedInto is { } canonical)
        {
            return ForwardThenApplyAsync(canonical, batch, position);
        }

        if (!_linkChecked && State.LogPosition < 0 && Profile.EventsApplied == 0)
        {
            return FirstRecordAsync(batch, position);
        }

        if (!_writingBeforeApply && WouldSpillUnwrittenIds(batch.Events.Count))
        {
            return WriteThenApplyLoggedAsync(batch, partition, position, previous);
        }

        if (_archiveAnswer is null && ProfileUpdater.ArchiveQuestion(Profile, batch.Events) is { } question)
        {
            return AskArchiveThenApplyLoggedAsync(question, batch, partition, position, previous);
        }

        return Task.FromResult(ApplyLogged(batch, position));
    }

    /// <summary>
    /// Whether applying <paramref name="events"/> more could trim ids out of the dedupe window that no written state
    /// holds: more ids unwritten than the window keeps. The ids a window trims go to the archive before the next write,
    /// so they must be ids of events already written; otherwise a profile that died unwritten would find its own lost
    /// events in the archive when the log hands them again, and skip them.
    /// </summary>
    private bool WouldSpillUnwrittenIds(int events)
    {
        var window = Profile.RecentEventIds;
        var unwritten = ReferenceEquals(window, _writtenIds.Window) ? window.Added - _writtenIds.Added : window.Added;
        return unwritten + events > _options.DedupeWindow && window.Count + events > _options.DedupeWindow;
    }

    /// <summary>
    /// A heavy user's record that could trim unwritten ids out of the window (a bulk import of its history, faster than
    /// write-behind): the profile writes first. If that write fails the record is refused and the log hands it again.
    /// </summary>
    private async Task<LoggedApplyResult> WriteThenApplyLoggedAsync(EventBatch batch, int partition, long position, long? previous)
    {
        try
        {
            await _writing;
        }
        catch (Exception)
        {
            // That write's caller saw it; the one below carries its changes.
        }

        try
        {
            if (_unsaved)
            {
                await PersistAsync();
            }
        }
        catch (Exception)
        {
            // Logged by the write, which backs off and tries again.
            return new LoggedApplyResult(UnwrittenFrom, Gap: true);
        }

        _writingBeforeApply = true;
        try
        {
            return await ((IUserProfileGrain)this).ApplyLoggedAsync(batch, partition, position, previous);
        }
        finally
        {
            _writingBeforeApply = false;
        }
    }

    /// <summary>
    /// A heavy user's batch with events no newer than the ids its window spilled (a replay of an export, a backfill):
    /// the archive says which it holds, and the record is then taken as any other (its checks made again, as the
    /// profile may have changed meanwhile).
    /// </summary>
    private async Task<LoggedApplyResult> AskArchiveThenApplyLoggedAsync(ulong[] question, EventBatch batch, int partition, long position, long? previous)
    {
        _archiveAnswer = await AskArchiveAsync(question);
        try
        {
            return await ((IUserProfileGrain)this).ApplyLoggedAsync(batch, partition, position, previous);
        }
        finally
        {
            _archiveAnswer = null;
        }
    }

    private IEventIdArchiveGrain Archive => GrainFactory.GetGrain<IEventIdArchiveGrain>(this.GetPrimaryKeyString());

    /// <summary>
    /// The hashes of <paramref name="question"/> the archive holds, with those the profile still held as spilled when it
    /// asked: a hand-over during the question moves them from the one to the other.
    /// </summary>
    private async Task<HashSet<ulong>> AskArchiveAsync(ulong[] question)
    {
        var window = Profile.RecentEventIds;
        var spilled = question.Where(window.IsSpilled).ToArray();
        HashSet<ulong> known = [.. await Archive.KnownAsync(question)];
        known.UnionWith(spilled);
        return known;
    }

    private LoggedApplyResult ApplyLogged(EventBatch batch, long position)
    {
        var result = ApplyCounted(batch.Events);
        StateChanged();
        NoteItems(batch.Events);
        State.LogPosition = position;
        if (result.Applied > 0 || (_writingFrom is not null && _unwrittenFrom is null))
        {
            // Also for a record that changed nothing while a write is in flight: that write carries an earlier
            // LogPosition, so its report would not cover this record and the partition would wait for one that never
            // comes (until its stuck-profile replay, a minute later). One more write reports it.
            _unwrittenFrom ??= position;
            _unsaved = true;
            ScheduleFlush(ingestOptions.Value.FlushInterval);
        }
        else
        {
            LeftNothingToWrite(position, position);
        }

        LogBatchApplied(this.GetPrimaryKeyString(), result.Applied, result.Duplicates);
        return new LoggedApplyResult(UnwrittenFrom);
    }

    /// <summary>
    /// Applies events and tells the silo's stats collector what changed: events by type and source, duplicates, and the
    /// profile's moves between distribution buckets (read before and after), so the tenant's stats never ask a profile.
    /// </summary>
    private ApplyResult ApplyCounted(IReadOnlyList<UserEvent> events)
    {
        var profile = EnsureIdentity();
        if (stats.For(profile.Tenant) is not { } buffer)
        {
            return ProfileUpdater.Apply(profile, events, _options, clock.GetUtcNow(), archived: _archiveAnswer);
        }

        if (State.MergedInto is not null)
        {
            // A merged profile applies only records its canonical profile applied first (forwarded), and the canonical one
            // counted what it kept of them: an order its person had from the CRM is a duplicate there, not an event here.
            return ProfileUpdater.Apply(profile, events, _options, clock.GetUtcNow(), archived: _archiveAnswer);
        }

        var before = ProfileStatsMark.Of(profile);
        var tally = EventTally.Begin();
        var result = ProfileUpdater.Apply(profile, events, _options, clock.GetUtcNow(), tally, _archiveAnswer);
        buffer.ProfileApplied(before, ProfileStatsMark.Of(profile), result, tally);
        return result;
    }

    private ProfileStatsMark StatsMark() => stats.Enabled && State.MergedInto is null ? ProfileStatsMark.Of(Profile) : default;

    private void StatsChanged(ProfileStatsMark before)
    {
        if (stats.For(Profile.Tenant) is { } buffer)
        {
            buffer.ProfileChanged(before, State.MergedInto is null ? ProfileStatsMark.Of(Profile) : default);
        }
    }

    /// <summary>The earliest log position this profile holds that is not known to be in written state.</summary>
    private long? UnwrittenFrom => Min(Min(_writingFrom, _unwrittenFrom), Min(_runningReportFrom, _nextReport?.From));

    Task<ProfileView?> IUserProfileGrain.GetViewAsync(DateTimeOffset? asOf)
    {
        var (mergedInto, eventsApplied) = ReadsPacked ? _packedFacts : (State.MergedInto, Profile.EventsApplied);
        if (!state.RecordExists && eventsApplied == 0)
        {
            ReleaseIfNobody();
            return Task.FromResult<ProfileView?>(null);
        }

        // The gateway refuses a future as_of; a silo whose clock is a little behind the gateway's still answers.
        var now = clock.GetUtcNow();
        var keep = true;
        if (ReadsPacked)
        {
            // A packed profile read once keeps no view (no timer to drop it, nothing held for a minute): at a million users
            // read at random nearly every read is such a one. Read again within ViewKeptFor, it keeps one.
            keep = now - _viewReadAt < residencyOptions.Value.ViewKeptFor;
        }

        _viewReadAt = now;
        var view = View(asOf ?? now, now, keep);
        return Task.FromResult<ProfileView?>(mergedInto is { } into ? view with { MergedInto = into } : view);
    }

    // A packed profile is read without being unpacked for good: its view is built from a copy that is dropped after the
    // read, so nothing is left to pack again later and no unpacked state outlives the read (at a million profiles read at
    // random, nearly every read meets a packed one; docs/benchmarks.md).
    private bool ReadsPacked => _packed is not null && _heldDuringReconcile is null;

    private UserProfile ProfileToRead => ReadsPacked ? packer.ReadCopy(_packed!).Profile : Profile;

    async Task<bool> IUserProfileGrain.RebuildAsync(EventBatch events, long logEnd)
    {
        await UntilReconciledAsync();
        if (State.LogPosition > logEnd)
        {
            return false;
        }

        if (State.Absorbed is { Count: > 0 })
        {
            // A canonical profile holds its members' histories too, which a rebuild from its own events would drop: its
            // identity grain rebuilds it from all of them (asked, not awaited: it calls back into this grain).
            GrainFactory.GetGrain<IIdentityGrain>(this.GetPrimaryKeyString()).RebuildAsync().Ignore();
            return true;
        }

        await ReplaceFromEventsAsync(events, logEnd);
        return true;
    }

    /// <summary>
    /// Rebuild: the profile again from <paramref name="events"/> alone (its creation time and the attributes and
    /// preferences set directly kept), as held through <paramref name="logEnd"/>, and written.
    /// </summary>
    private async Task ReplaceFromEventsAsync(EventBatch events, long logEnd, Action? alsoBeforeWrite = null)
    {
        // The archive of older ids goes first (no await between the new profile and its write, which the flush timer
        // could otherwise write half built); the ids the rebuilt window spills go to it after that write.
        await UntilSpilledIdsHandedAsync();
        await Archive.ClearAsync();
        var before = StatsMark();
        var created = State.Profile.CreatedAt;
        var direct = DirectWrites();
        State.Profile = new UserProfile();
        EnsureIdentity();
        if (created != default)
        {
            Profile.CreatedAt = created;
        }

        // Every event is at hand: repeats are told apart by all their ids, not only by the window's last ones.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        ProfileUpdater.Apply(Profile, [.. events.Events.Where(e => seen.Add(e.DedupeId ?? e.EventId))], _options, clock.GetUtcNow());

        LayDirectWrites(direct);
        State.LogPosition = logEnd;
        alsoBeforeWrite?.Invoke();
        StatsChanged(before);
        StateChanged();
        NoteItems(events.Events);
        _unsaved = true;
        await PersistAsync();
    }

    Task<ProfileView> IUserProfileGrain.UpsertAttributesAsync(DemographicsUpdate update) => DirectWriteAsync(update, null);

    Task<ProfileView> IUserProfileGrain.SetPreferencesAsync(PreferenceUpdate update) => DirectWriteAsync(null, update);

    async Task<ProfileView> IProfileMergeGrain.ApplyMemberWriteAsync(string fromUserId, DemographicsUpdate? attributes, PreferenceUpdate? preferences)
    {
        await UntilReconciledAsync();
        var members = State.MemberDirect ??= new Dictionary<string, UserProfile>(StringComparer.Ordinal);
        if (!members.TryGetValue(fromUserId, out var layer))
        {
            layer = new UserProfile();
        }

        var consented = Profile.Preferences.PersonalizationOptIn != false;
        ApplyDirectWrite(attributes, preferences, layer, checkBounds: true);
        members[fromUserId] = layer;
        await PersistAsync();
        await OptOutKnownAsync(consented);
        var now = clock.GetUtcNow();
        return View(now, now);
    }

    /// <summary>
    /// A direct opt-out is in the tenant's privacy ledger before it is answered, as an event's opt-out is in the log before
    /// it is: the lake's archiver reads the ledger after the events it archives, so events sent after the answer lose
    /// their context (probe72: a search sent 0.25 s after an acknowledged SetPreferences opt-out kept it). One ledger call
    /// for this person (and the profiles merged into it), only when the write withdrew consent, sent with the other direct
    /// opt-outs of the tenant that arrive meanwhile; a failure fails the write's answer (retried, it asks again). Opt-ins and unchanged consents go with the silo's batched reports.
    /// </summary>
    private async Task OptOutKnownAsync(bool consentedBefore)
    {
        if (!consentedBefore || Profile.Preferences.PersonalizationOptIn != false || Profile.Tenant.Length == 0)
        {
            return;
        }

        var at = Profile.Preferences.FieldUpdatedAt is { } fieldClock && fieldClock.TryGetValue("personalizationOptIn", out var changed) ? changed : clock.GetUtcNow();
        await consentReporter.ReportNowAsync(Profile.Tenant, [(Profile.UserId, false, at), .. (State.Absorbed?.Keys ?? Enumerable.Empty<string>()).Select(member => (member, false, at))]);
    }

    /// <summary>
    /// A direct write (UpsertAttributes, SetPreferences). To a merged id it is the person's (a consent change made on a
    /// device, a CRM duplicate's new address): the person applies it first, checking its own bounds, and keeps it as this
    /// member's, so that an unmerge takes it back out there; this profile keeps it too, so that an unmerge finds it here
    /// (probe58: it stayed here, where no read looks). The answer is the person's profile, as a read of this id is.
    /// </summary>
    private async Task<ProfileView> DirectWriteAsync(DemographicsUpdate? attributes, PreferenceUpdate? preferences)
    {
        await UntilReconciledAsync();
        if (State.MergedInto is { } canonical)
        {
            // The person's profile tells the ledger, for itself and its members (this one among them).
            var person = await MergeSide(canonical).ApplyMemberWriteAsync(OwnUserId(), attributes, preferences);
            ApplyDirectWrite(attributes, preferences, DirectWrites(), checkBounds: false);
            await PersistAsync();
            return person;
        }

        var consented = Profile.Preferences.PersonalizationOptIn != false;
        ApplyDirectWrite(attributes, preferences, DirectWrites(), checkBounds: true);
        await PersistAsync();
        await OptOutKnownAsync(consented);
        var now = clock.GetUtcNow();
        return View(now, now);
    }

    private string OwnUserId() => Profile.UserId.Length > 0 ? Profile.UserId : ProfileKey.Parse(this.GetPrimaryKeyString()).UserId;

    /// <summary>
    /// Applies a direct write to the profile and to <paramref name="layer"/>, where it is kept apart from events. Past the
    /// profile's bounds it is refused whole, before anything is applied (<see cref="ProfileLimitException"/>): an answer
    /// of 200 with the trait or value left out read as stored (probe58).
    /// </summary>
    private void ApplyDirectWrite(DemographicsUpdate? attributes, PreferenceUpdate? preferences, UserProfile layer, bool checkBounds)
    {
        var profile = EnsureIdentity();
        if (checkBounds)
        {
            var newTraits = attributes?.Traits?.Count(pair => pair.Value.Length > 0 && !profile.Demographics.Traits.ContainsKey(pair.Key)) ?? 0;
            if (newTraits > 0 && profile.Demographics.Traits.Count + newTraits > _options.MaxTraits)
            {
                throw new ProfileLimitException(
                    $"traits: the profile holds {profile.Demographics.Traits.Count} traits and this write adds {newTraits}; the limit is {_options.MaxTraits} " +
                    "(remove one by sending it with an empty value); nothing of this write was applied");
            }

            if (preferences is { Key: { Length: > 0 } key, Value: { } } && !profile.Preferences.Values.ContainsKey(key)
                && profile.Preferences.Values.Count >= _options.MaxPreferences)
            {
                throw new ProfileLimitException(
                    $"preference.key: the profile holds {profile.Preferences.Values.Count} preference values, the limit; remove one (send its key with an empty value) " +
                    $"before adding '{key}'; nothing of this write was applied (send consent flags on their own)");
            }
        }

        var now = clock.GetUtcNow();
        var before = StatsMark();
        if (attributes is not null)
        {
            var at = DirectWriteTime(now, profile.Demographics.FieldUpdatedAt, FieldsOf(attributes));
            ProfileUpdater.ApplyAttributes(profile, attributes, at, _options);
            ProfileUpdater.ApplyAttributes(layer, attributes, at, _options);
        }

        if (preferences is not null)
        {
            var at = DirectWriteTime(now, profile.Preferences.FieldUpdatedAt, FieldsOf(preferences));
            ProfileUpdater.ApplyPreferences(profile, preferences, at, _options);
            ProfileUpdater.ApplyPreferences(layer, preferences, at, _options);
        }

        StatsChanged(before);
        StateChanged();
    }

    private static IEnumerable<string> FieldsOf(DemographicsUpdate update)
    {
        if (update.BirthYear is not null) yield return "birthYear";
        if (update.Gender is not null) yield return "gender";
        if (update.Country is not null) yield return "country";
        if (update.Language is not null) yield return "language";
        if (update.City is not null) yield return "city";
        foreach (var key in update.Traits?.Keys ?? Enumerable.Empty<string>())
        {
            yield return "traits." + key;
        }
    }

    private static IEnumerable<string> FieldsOf(PreferenceUpdate update)
    {
        if (!string.IsNullOrEmpty(update.Key)) yield return "values." + update.Key;
        if (update.EmailOptIn is not null) yield return "emailOptIn";
        if (update.SmsOptIn is not null) yield return "smsOptIn";
        if (update.PersonalizationOptIn is not null) yield return "personalizationOptIn";
    }

    /// <summary>
    /// The time a direct write is applied at: now, or just after a value of a field it writes dated ahead of the grid's
    /// clock by no more than the skew the gateway accepts (a sender's clock running fast), which would otherwise outrank
    /// a change made now: a preference centre's opt-out answered 200 and was discarded (probe58).
    /// </summary>
    private static DateTimeOffset DirectWriteTime(DateTimeOffset now, Dictionary<string, DateTimeOffset> fieldTimes, IEnumerable<string> fields)
    {
        var at = now;
        foreach (var field in fields)
        {
            if (fieldTimes.TryGetValue(field, out var time) && time >= at && time - now <= ProfileView.ClockAheadTolerance)
            {
                at = time.AddTicks(1);
            }
        }

        return at;
    }

    /// <summary>
    /// The view as of <paramref name="asOf"/>, from the cache when it holds the state as it is and the same UTC day; a
    /// view built for a read is kept (<paramref name="keep"/>), one built for a write's answer or its features is not.
    /// </summary>
    private ProfileView View(DateTimeOffset asOf, DateTimeOffset now, bool keep = false)
    {
        if (_view is { } current && current.Covers(asOf))
        {
            return current.At(asOf);
        }

        if (_pastView is { } past && past.Covers(asOf))
        {
            return past.At(asOf);
        }

        var built = ProfileViews.Build(ProfileToRead, _options, asOf);
        if (!keep)
        {
            return built;
        }

        if (ProfileView.DayOf(asOf) == ProfileView.DayOf(now))
        {
            _view = built;
        }
        else
        {
            _pastView = built;
        }

        WatchResidency();
        return built;
    }

    Task<int?> IProfileResidencyGrain.PackedBytesAsync() => Task.FromResult(_packed?.Length);

    Task<bool> IProfileResidencyGrain.HoldsViewAsync() => Task.FromResult((_view, _pastView) is not (null, null));

    /// <summary>
    /// Starts the residency timer if the profile has something for it to watch: an unpacked state (when packing is on) or a
    /// kept view. It ticks every <see cref="ResidencyOptions.PackIdleAfter"/> or <see cref="ResidencyOptions.ViewKeptFor"/>,
    /// whichever is shorter, so a profile packs, and a view is dropped, between one and two of its intervals after its last use.
    /// </summary>
    private void WatchResidency()
    {
        if (_residencyTimer is not null)
        {
            return;
        }

        var options = residencyOptions.Value;
        var packs = options.PackIdleAfter > TimeSpan.Zero;
        if (!packs && (_view, _pastView) is (null, null))
        {
            return;
        }

        var period = ResidencyPeriod(options);
        (_usesAtLastCheck, _idleChecks) = (_uses, 0);
        _residencyTimer = this.RegisterGrainTimer(CheckResidency, new GrainTimerCreationOptions(period, period) { KeepAlive = false, Interleave = false });
    }

    private static int ChecksToIdle(ResidencyOptions options) =>
        (int)Math.Ceiling(options.PackIdleAfter / ResidencyPeriod(options));

    private static TimeSpan ResidencyPeriod(ResidencyOptions options) =>
        options.PackIdleAfter > TimeSpan.Zero && options.PackIdleAfter < options.ViewKeptFor ? options.PackIdleAfter : options.ViewKeptFor;

    /// <summary>Drops views no read came for, then packs the profile if it went unused long enough; stops when nothing is left to watch.</summary>
    private Task CheckResidency(CancellationToken cancellationToken)
    {
        var options = residencyOptions.Value;
        var now = clock.GetUtcNow();
        if ((_view, _pastView) is not (null, null) && now - _viewReadAt >= options.ViewKeptFor)
        {
            StateChanged();
        }

        // Idle for PackIdleAfter: that many checks in a row found no use (counted, not timed, as timer ticks drift).
        _idleChecks = _uses == _usesAtLastCheck ? _idleChecks + 1 : 0;
        _usesAtLastCheck = _uses;
        var packs = options.PackIdleAfter > TimeSpan.Zero;
        if (packs && _idleChecks >= ChecksToIdle(options) && CanPack)
        {
            if (_featuresUnpushed)
            {
                PushFeaturesOnMaterialChange(force: true);
            }

            Pack();
        }

        if ((_view, _pastView) is (null, null) && (_packed is not null || !packs))
        {
            _residencyTimer?.Dispose();
            _residencyTimer = null;
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Nothing depends on the object graph but the state itself: nothing unwritten or being written, no write to retry,
    /// no conflict being reconciled, no read view kept (a view and its answer template are kept only while being read).
    /// </summary>
    private bool CanPack =>
        _packed is null && state.State is not null && !_unsaved && _writing.IsCompleted && !_reconciling && _heldDuringReconcile is null
        && _unwrittenFrom is null && _writingFrom is null && _failedWrites == 0 && _flushTimer is null && (_view, _pastView) is (null, null)
        && _handingSpilledIds.IsCompleted && state.State.Profile.RecentEventIds.Spilled.Count == 0;

    private void Pack()
    {
        // The written mark's window goes with the state (a packed profile holds nothing unwritten; the window unpacked
        // later is a new object, all of whose ids are written).
        _writtenIds = default;
        // Pushes no report took: made a pack's idle time ago, and long written by their shards (which write every few seconds).
        Array.Clear(_unconfirmedPushes);
        Array.Clear(_lastPushes);
        (_featuresPush, _canonicalPushes) = (null, null);
        _packedFacts = (state.State.MergedInto, state.State.Profile.EventsApplied);
        _packed = packer.Pack(state.State);
        state.State = null!;
        CountUnpacked(false);
    }

    private UserProfileGrainState Unpack(bool watchIdle = true)
    {
        var unpacked = packer.Unpack(_packed!);
        state.State = unpacked;
        _packed = null;
        CountUnpacked(true);
        if (watchIdle)
        {
            WatchResidency();
        }

        return unpacked;
    }

    /// <summary>Keeps the silo's count of unpacked profiles (<see cref="ProfileGridMetrics"/>) by this activation's transitions.</summary>
    private void CountUnpacked(bool unpacked)
    {
        if (_countedUnpacked != unpacked)
        {
            _countedUnpacked = unpacked;
            metrics.ProfileUnpackedChanged(unpacked);
        }
    }

    /// <summary>Drops the cached views: the next read builds from the changed state.</summary>
    private void StateChanged() => (_view, _pastView) = (null, null);

    private async Task UntilReconciledAsync()
    {
        while (_reconciling)
        {
            try
            {
                await _writing;
            }
            catch (Exception)
            {
                // Its own caller handles it.
            }
        }
    }

    private UserProfile EnsureIdentity()
    {
        if (string.IsNullOrEmpty(Profile.Tenant))
        {
            var key = ProfileKey.Parse(this.GetPrimaryKeyString());
            Profile.Tenant = key.Tenant;
            Profile.UserId = key.UserId;
            Profile.CreatedAt = clock.GetUtcNow();
            State.DirectKept = true;
        }

        return Profile;
    }

    /// <summary>
    /// Writes behind after <paramref name="delay"/>, spread by up to a fifth so that profiles that began together do not
    /// all flush in the same instant. The timer interleaves: while the flush waits for a write slot or for storage,
    /// the profile keeps taking events (a write carries the state as it was when it started).
    /// </summary>
    private void ScheduleFlush(TimeSpan delay)
    {
        _flushTimer ??= this.RegisterGrainTimer(
            FlushAsync,
            new GrainTimerCreationOptions(delay + delay * (Random.Shared.NextDouble() / 5), Timeout.InfiniteTimeSpan) { KeepAlive = true, Interleave = true });
    }

    Task IUserProfileGrain.WriteBehindNowAsync()
    {
        // Only a flush that is waiting out its interval moves forward; the timer keeps the write off this call's turn.
        if (_unsaved && _flushTimer is not null && _failedWrites == 0)
        {
            _flushTimer.Dispose();
            _flushTimer = null;
            ScheduleFlush(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        _flushTimer?.Dispose();
        _flushTimer = null;
        if (_unsaved)
        {
            try
            {
                await PersistAsync(behind: true);
            }
            catch (Exception)
            {
                // Reported and rescheduled by the write itself.
            }
        }
    }

    /// <summary>
    /// Writes the whole state after any write in flight (one at a time: two at once would fail on the ETag). Writes
    /// behind wait for a slot of the silo's <see cref="ProfileWriteGate"/>; a write someone awaits (a direct update, a
    /// stream delivery) does not queue behind a backlog of flushes.
    /// </summary>
    private Task PersistAsync(bool behind = false) => _writing = WriteAfterAsync(_writing, behind);

    private async Task WriteAfterAsync(Task previous, bool behind)
    {
        try
        {
            await previous;
        }
        catch (Exception)
        {
            // That write's caller saw its failure; this one carries its changes too.
        }

        if (behind && !_unsaved)
        {
            return; // the write before this one took everything
        }

        if (behind)
        {
            await writeGate.RunAsync(WriteNowAsync);
        }
        else
        {
            await WriteNowAsync();
        }
    }

    /// <summary>Writes the whole state; then tells the log partition (if events came from the log) that it is durable.</summary>
    private async Task WriteNowAsync()
    {
        var (from, through, unsaved) = (_unwrittenFrom, State.LogPosition, _unsaved);
        (_writingFrom, _unwrittenFrom, _unsaved) = (from, null, false);
        var window = Profile.RecentEventIds;
        var added = window.Added;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        try
        {
            await UntilSpilledIdsHandedAsync();
            await HandSpilledIdsAsync(window);
            await WriteReconcilingAsync();
        }
        catch (Exception ex) when ((unsaved || _unsaved) && ex is not StorageAheadException)
        {
            // Log-path changes stay in memory and safe in the log; try again later, backing off, and tell the partition,
            // which sets this profile aside once it has failed too often.
            (_writingFrom, _unwrittenFrom, _unsaved) = (null, Min(from, _unwrittenFrom), true);
            _failedWrites++;
            LogPersistFailed(this.GetPrimaryKeyString(), _failedWrites, ex);
            var backoff = ingestOptions.Value.FlushInterval * Math.Pow(2, Math.Min(_failedWrites - 1, 10));
            ScheduleFlush(backoff < MaxRetryDelay ? backoff : MaxRetryDelay);
            if (_unwrittenFrom is not null && _logPartition >= 0)
            {
                // Not awaited: the write slot is not held while the partition records a set-aside.
                _ = ReportWriteFailedAsync(ex);
            }

            throw;
        }
        catch (Exception ex)
        {
            // Stream-path or direct write: the in-memory profile is now ahead of storage and its dedupe window already
            // holds the failed events. Drop this activation, so the redelivery meets the last durable state.
            _writingFrom = null;
            LogPersistFailed(this.GetPrimaryKeyString(), ++_failedWrites, ex);
            DeactivateOnIdle();
            throw;
        }

        metrics.ProfileWritten(started);
        _writingFrom = null;
        _failedWrites = 0;
        _writtenIds = (window, added);
        if (window.Spilled.Count > 0)
        {
            // Ids of events this write made durable (a batch larger than the window, an absorbed member's history) go now,
            // not at the next write, which may never come.
            _handingSpilledIds = HandSpilledIdsAfterWriteAsync(window);
        }

        // Written, so most likely idle for a while: give back the spare capacity the batches left in its collections.
        ProfileUpdater.TrimExcess(Profile);
        PushFeaturesOnMaterialChange();
        PushItemsIfChanged();
        PushFeedbackIfChanged();
        if (from is { } first)
        {
            ReportWritten(first, through);
        }

        ReportConsentIfChanged();
    }

    private enum PushKind
    {
        Features,
        Items,
        Feedback,
    }

    // The latest push to each write-behind shard that no report to the log partition has taken yet (by PushKind), and
    // the latest of each whether taken or not (what a merged profile's forwarded record waits for).
    private readonly Task<SentPush>?[] _unconfirmedPushes = new Task<SentPush>?[3];
    private readonly Task<SentPush>?[] _lastPushes = new Task<SentPush>?[3];

    // A forwarded record's wait for the canonical profile's pushes, that no report has taken yet.
    private Task? _canonicalPushes;

    // Reports of written state waiting for their pushes to be in the shards' written state: the one running (from the
    // position it covers from) and the next, into which later reports merge. What they cover stays unwritten to the
    // partition until they have gone.
    private Task _reporting = Task.CompletedTask;
    private long? _runningReportFrom;
    private WaitingReport? _nextReport;

    // The last record handed that left nothing to write (it changed nothing, or the profile held it already): the
    // partition counts it as unwritten while a report waits, so the report covers it.
    private long _quietThrough = -1;

    // Moved on by an erasure or a merge: a push sent before is not sent again (it would put the user back in the shard).
    private int _pushEpoch;

    /// <summary>
    /// How long after a push its report waits for the shard to write it: beyond that (a shard whose writes keep failing)
    /// the report goes with a warning, and the shard holds the push in memory only. Three quarters of the partition's
    /// <see cref="IngestOptions.StuckAfter"/> (45 s by default), so that a waiting report never looks like a lost profile.
    /// </summary>
    private TimeSpan PushWrittenWait => ingestOptions.Value.StuckAfter * 3 / 4;

    /// <summary>
    /// A push sent to a shard: the write that will carry it (null: the send failed), when and in which epoch it was
    /// sent, and how to send it again should that write never come.
    /// </summary>
    private sealed record SentPush(IWriteBehindShard Shard, ShardWriteTicket? Ticket, DateTimeOffset SentAt, int Epoch, Func<Task<SentPush>> Resend);

    private sealed class WaitingReport(long from, long through)
    {
        public long From { get; set; } = from;

        public long Through { get; set; } = through;

        public Task<SentPush>?[] Pushes { get; } = new Task<SentPush>?[3];

        public Task? CanonicalPushes { get; set; }
    }

    /// <summary>
    /// A record handed that leaves nothing to write: while pushes wait to be confirmed, it is reported written through
    /// them (the first record of an activation that pushed on activation, after a crash); otherwise it is written already,
    /// or the next write reports it.
    /// </summary>
    private void LeftNothingToWrite(long position, long through)
    {
        _quietThrough = Math.Max(_quietThrough, position);
        if (_unwrittenFrom is null && _writingFrom is null && (_canonicalPushes is not null || Array.Exists(_unconfirmedPushes, push => push is not null)))
        {
            ReportWritten(position, through);
        }
    }

    /// <summary>
    /// Tells the log partition that the state is written through <paramref name="through"/> (covering positions from
    /// <paramref name="from"/>), once what the profile pushed to its shards so far is in their written state too: the
    /// shards write behind, and a checkpoint past a record whose pushes a kill then lost would leave the tenant's counts,
    /// segments, listings and experiment figures short of this profile until it changed again. A record the
    /// checkpoint has not passed is replayed after a crash, which wakes the profile, which pushes again.
    /// </summary>
    private void ReportWritten(long from, long through)
    {
        var pushes = (Task<SentPush>?[])_unconfirmedPushes.Clone();
        var canonicalPushes = _canonicalPushes;
        Array.Clear(_unconfirmedPushes);
        _canonicalPushes = null;
        if (_reporting.IsCompleted && _nextReport is null && canonicalPushes is null && Array.TrueForAll(pushes, push => push is null))
        {
            PartitionGrain().FlushedAsync(this.GetPrimaryKeyString(), through, Min(_unwrittenFrom, _writingFrom)).Ignore();
            return;
        }

        // One report waiting to run at most: a later push of a kind stands for the earlier one (it replaces the same
        // user's entry in the same shard, and a write that carries it carries the earlier one).
        var next = _nextReport ??= new WaitingReport(from, through);
        (next.From, next.Through) = (Math.Min(next.From, from), Math.Max(next.Through, through));
        for (var kind = 0; kind < pushes.Length; kind++)
        {
            next.Pushes[kind] = pushes[kind] ?? next.Pushes[kind];
        }

        next.CanonicalPushes = canonicalPushes is null || next.CanonicalPushes is null ? canonicalPushes ?? next.CanonicalPushes : Task.WhenAll(next.CanonicalPushes, canonicalPushes);

        if (_reporting.IsCompleted)
        {
            _reporting = RunReportsAsync();
        }
    }

    private async Task RunReportsAsync()
    {
        while (_nextReport is { } report)
        {
            (_nextReport, _runningReportFrom) = (null, report.From);
            try
            {
                await Task.WhenAll(report.Pushes.OfType<Task<SentPush>>().Select(UntilWrittenAsync).Append(report.CanonicalPushes ?? Task.CompletedTask));
            }
            finally
            {
                _runningReportFrom = null;
                ForgetConfirmed(report.Pushes);
            }

            if (_logPartition < 0)
            {
                continue;
            }

            // What is still unwritten lets the partition move its checkpoint past this report even while the profile
            // keeps taking records (a busy user would otherwise hold it at the first record of the session).
            var stillUnwritten = Min(Min(_unwrittenFrom, _writingFrom), _nextReport?.From);
            var reported = stillUnwritten is null ? Math.Max(report.Through, _quietThrough) : report.Through;
            PartitionGrain().FlushedAsync(this.GetPrimaryKeyString(), reported, stillUnwritten).Ignore();
        }
    }

    /// <summary>Waits until the shard has written the push, sending it again if its send failed or the shard's activation ended without the write; never throws.</summary>
    private async Task UntilWrittenAsync(Task<SentPush> sending)
    {
        var push = await sending;
        var deadline = push.SentAt + PushWrittenWait;
        for (var resends = 0; ; resends++)
        {
            var written = ShardWriteState.Lost;
            if (push.Ticket is { } ticket)
            {
                try
                {
                    written = await push.Shard.WaitWrittenAsync(ticket);
                }
                catch (Exception)
                {
                    // Its silo died or the call timed out: sending it again is harmless.
                }
            }

            if (written == ShardWriteState.Written || push.Epoch != _pushEpoch)
            {
                return;
            }

            if (clock.GetUtcNow() >= deadline)
            {
                LogPushNotWritten(this.GetPrimaryKeyString(), push.Shard.GetGrainId().ToString(), written);
                KeepSendingUntilWrittenAsync(push).Ignore();
                return;
            }

            if (written == ShardWriteState.Lost)
            {
                if (resends > 0 || push.Ticket is null)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), clock);
                }

                if (push.Epoch != _pushEpoch)
                {
                    return;
                }

                push = await push.Resend();
            }
        }
    }

    /// <summary>How long a push its report stopped waiting for is still sent again (<see cref="KeepSendingUntilWrittenAsync"/>).</summary>
    private static readonly TimeSpan KeepSendingFor = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Goes on sending a push whose report went without it, until its shard has written it. The report goes so that a
    /// shard that cannot be reached (its silo killed and not yet declared dead, for longer than the wait) does not hold
    /// the partition's checkpoint; but the push is not given up: the shard's activation that took it may die holding it
    /// unwritten, and the profile, with no further event, would then be missing from the tenant's listing, export, count
    /// and segments for good (CI at a853bb2: one of 150 users, after a kill). A shard ignores a resend older than what it
    /// holds, so a later push overtaking this one does no harm. The profile stays active meanwhile; an erasure or merge
    /// (a new epoch) ends it.
    /// </summary>
    private async Task KeepSendingUntilWrittenAsync(SentPush push)
    {
        // One at a time per shard: a later push to it (reports run in order) stands for this one, which stops.
        var shard = push.Shard.GetGrainId();
        var mine = new object();
        _keptSending[shard] = mine;
        bool Current() => push.Epoch == _pushEpoch && !_deactivating && ReferenceEquals(_keptSending.GetValueOrDefault(shard), mine);
        try
        {
            await KeepSendingAsync(push, Current);
        }
        finally
        {
            if (ReferenceEquals(_keptSending.GetValueOrDefault(shard), mine))
            {
                _keptSending.Remove(shard);
            }
        }
    }

    // The push each shard is being sent again (KeepSendingUntilWrittenAsync), by shard; and whether the activation is ending.
    private readonly Dictionary<GrainId, object> _keptSending = [];
    private bool _deactivating;

    private async Task KeepSendingAsync(SentPush push, Func<bool> current)
    {
        var giveUpAt = push.SentAt + KeepSendingFor;
        var delay = TimeSpan.FromSeconds(1);
        for (var resends = 0; clock.GetUtcNow() < giveUpAt; resends++)
        {
            if (!current())
            {
                return;
            }

            DelayDeactivation(delay * 4);
            await Task.Delay(delay, clock);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            if (!current())
            {
                return;
            }

            var written = ShardWriteState.Lost;
            if (push.Ticket is { } ticket)
            {
                try
                {
                    written = await push.Shard.WaitWrittenAsync(ticket);
                }
                catch (Exception)
                {
                    // Still unreachable: sent again below.
                }
            }

            if (written == ShardWriteState.Written)
            {
                LogPushWrittenLate(this.GetPrimaryKeyString(), push.Shard.GetGrainId().ToString(), resends);
                return;
            }

            if (written == ShardWriteState.Lost && current())
            {
                push = await push.Resend();
            }
        }

        LogPushGivenUp(this.GetPrimaryKeyString(), push.Shard.GetGrainId().ToString(), KeepSendingFor);
    }

    [LoggerMessage(EventId = 3122, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: shard {Shard} has not written what the profile pushed ({State}); its log partition is told the profile is written all the same, and the push is sent again until written")]
    private partial void LogPushNotWritten(string profileKey, string shard, ShardWriteState state);

    [LoggerMessage(EventId = 3124, Level = LogLevel.Information, Message = "Profile {ProfileKey}: shard {Shard} has written the push it had not (after {Resends} more tries)")]
    private partial void LogPushWrittenLate(string profileKey, string shard, int resends);

    [LoggerMessage(EventId = 3125, Level = LogLevel.Error, Message = "Profile {ProfileKey}: shard {Shard} has not written the profile's push in {For}; it is sent again when the profile next changes materially")]
    private partial void LogPushGivenUp(string profileKey, string shard, TimeSpan @for);

    private async Task HandSpilledIdsAfterWriteAsync(EventIdWindow window)
    {
        try
        {
            await HandSpilledIdsAsync(window);
        }
        catch (Exception)
        {
            // Logged; the next write hands them.
        }
    }

    /// <summary>Waits for a hand-over after a write (one at a time: each forgets the first ids it handed).</summary>
    private async Task UntilSpilledIdsHandedAsync()
    {
        try
        {
            await _handingSpilledIds;
        }
        catch (Exception)
        {
            // Logged where it failed.
        }
    }

    /// <summary>
    /// Before a write: hands the ids the dedupe window spilled since the last one to the archive, since the state about
    /// to be written no longer holds them. A failure fails the write (which is tried again); the ids stay meanwhile.
    /// Only ids of written events go: an id of an event not yet written (a batch larger than the window itself) waits
    /// for the next write, so a profile lost unwritten never finds its own lost events in the archive.
    /// </summary>
    private async Task HandSpilledIdsAsync(EventIdWindow window)
    {
        // At every write, however few: a state written without ids the archive lacks would forget them in a crash. Each
        // hand-over rewrites the archive's row (up to about 600 KB for a user with 60,000 older ids).
        var written = window.SpilledAddedBefore(ReferenceEquals(window, _writtenIds.Window) ? _writtenIds.Added : 0);
        if (written == 0)
        {
            return;
        }

        var spilled = window.Spilled.Take(written).ToArray();
        try
        {
            await Archive.AddAsync(spilled);
        }
        catch (Exception ex)
        {
            LogSpillFailed(this.GetPrimaryKeyString(), spilled.Length, ex);
            throw;
        }

        // Only appended to meanwhile (a record applied while the archive wrote): the first ones are those handed.
        window.Archived(spilled.Length);
    }

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: handing {Count} older event ids to its archive failed; the profile's write waits and is tried again")]
    private partial void LogSpillFailed(string profileKey, int count, Exception exception);

    /// <summary>
    /// Tells the tenant's privacy ledger the person's consent to personalization when it changed, for this profile and
    /// for every profile merged into it: their events keep their own ids in the log and the lake (a device's events after
    /// its login stay under <c>anon:</c> its id), and the lake leaves the context out by those ids. A member merged into a
    /// person who has opted out is reported as soon as it is absorbed.
    /// </summary>
    private void ReportConsentIfChanged()
    {
        if (Profile.Tenant.Length == 0)
        {
            return;
        }

        var consents = Profile.Preferences.PersonalizationOptIn != false;
        var changedAt = Profile.Preferences.FieldUpdatedAt is { } fieldClock && fieldClock.TryGetValue("personalizationOptIn", out var at) ? at : clock.GetUtcNow();
        if (consents != _consentReported)
        {
            _consentReported = consents;
            _consentReportedMembers.Clear();
            consentReporter.Report(Profile.Tenant, Profile.UserId, consents, changedAt);
            foreach (var member in State.Absorbed?.Keys ?? Enumerable.Empty<string>())
            {
                consentReporter.Report(Profile.Tenant, member, consents, changedAt);
                _consentReportedMembers.Add(member);
            }
        }
        else if (!consents && State.Absorbed is { } members)
        {
            foreach (var member in members.Keys.Where(_consentReportedMembers.Add))
            {
                consentReporter.Report(Profile.Tenant, member, consents, changedAt);
            }
        }
    }

    async Task<ProfileErasure> IUserProfileGrain.EraseAsync()
    {
        await UntilReconciledAsync();
        try
        {
            await _writing;
        }
        catch (Exception)
        {
            // Whatever it carried is being erased.
        }

        var profile = Profile;
        var erased = new ProfileErasure(
            state.RecordExists || profile.EventsApplied > 0,
            profile.EventsApplied,
            [.. profile.AnonymousIds],
            [.. profile.Feedback.RecentLists.Select(list => list.RecommendationId)]);
        var (from, through) = (UnwrittenFrom, State.LogPosition);
        // The tenant's stats take the profile out of their distributions (completeness, staleness, events per profile),
        // as they do a merged visitor's: an erased user is in no figure.
        var (statsBuffer, statsBefore) = (stats.For(Profile.Tenant), StatsMark());
        _flushTimer?.Dispose();
        _flushTimer = null;
        await UntilSpilledIdsHandedAsync();
        await Archive.ClearAsync();

        try
        {
            await state.ClearStateAsync();
        }
        catch (InconsistentStateException)
        {
            // Another activation's write landed (a timed-out write of this one): read the row's version, delete it.
            await state.ReadStateAsync();
            await state.ClearStateAsync();
        }

        (_unsaved, _unwrittenFrom, _writingFrom, _failedWrites) = (false, null, null, 0);
        (_pushedFeatures, _itemsChanged, _itemFacts, _feedbackChanged) = (null, false, null, false);
        Array.Clear(_unconfirmedPushes);
        Array.Clear(_lastPushes);
        _canonicalPushes = null;
        _pushEpoch++;
        _consentReported = true;
        StateChanged();
        statsBuffer?.ProfileChanged(statsBefore, default);
        if (_logPartition >= 0 && (from is not null || _lastHanded > through))
        {
            // Nothing of it is left to write: the partition's checkpoint stops waiting for it, also for records it refused
            // (a merged visitor refuses its records while its merge is carried out). Those are an erased user's and never
            // reach it again, so a write through them would never come: the partition stalled, and with it the erasure.
            PartitionGrain().FlushedAsync(this.GetPrimaryKeyString(), Math.Max(through, _lastHanded), null).Ignore();
        }

        LogErased(_logPartition);
        DeactivateOnIdle();
        return erased;
    }

    [LoggerMessage(EventId = 3765, Level = LogLevel.Information, Message = "A profile of log partition {Partition} was erased (stored record deleted); its id is not logged")]
    private partial void LogErased(int partition);

    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    private IEventLogPartitionGrain PartitionGrain() =>
        _partitionGrain is { } cached && cached.GetPrimaryKeyLong() == _logPartition
            ? cached
            : _partitionGrain = GrainReferences<IEventLogPartitionGrain>.Get(
                GrainFactory, GrainIdKeyExtensions.CreateIntegerKey(_logPartition), () => GrainFactory.GetGrain<IEventLogPartitionGrain>(_logPartition));

    private IFeatureShardGrain ShardGrain(string shardKey) =>
        GrainReferences<IFeatureShardGrain>.Get(GrainFactory, IdSpan.Create(shardKey), () => GrainFactory.GetGrain<IFeatureShardGrain>(shardKey));

    private sealed class StorageAheadException(Exception inner)
        : Exception("Stored profile state is ahead of this activation; it deactivates.", inner);

    private static long? Min(long? a, long? b) => a is null ? b : b is null ? a : Math.Min(a.Value, b.Value);

    private async Task ReportWriteFailedAsync(Exception failure)
    {
        try
        {
            var error = failure.InnerException is { } inner ? $"{failure.GetType().Name}: {failure.Message} ({inner.GetType().Name}: {inner.Message})" : $"{failure.GetType().Name}: {failure.Message}";
            if (await PartitionGrain().WriteFailedAsync(this.GetPrimaryKeyString(), error) is { } setAsideThrough
                && _unwrittenFrom is { } from && from <= setAsideThrough)
            {
                // The partition recorded what it held for this profile, up to setAsideThrough, and no longer waits for it.
                // The changes stay in memory and writes go on being tried. Records applied while the report was on its
                // way are not in that record: they stay tracked, so the checkpoint cannot pass them unwritten.
                _unwrittenFrom = State.LogPosition > setAsideThrough ? setAsideThrough + 1 : null;
            }
        }
        catch (Exception ex)
        {
            LogReportFailed(this.GetPrimaryKeyString(), ex);
        }
    }

    /// <summary>
    /// Writes the state. A write refused on its ETag (an insert that found the row there, an update that found another
    /// version) most often follows a call that timed out at the client after it had landed: then the stored row is
    /// this activation's own, as written or older (log position and events applied not ahead of ours), and the write
    /// is retried over it with its fresh ETag. A row that is ahead belongs to someone else: this activation yields.
    /// </summary>
    private async Task WriteReconcilingAsync()
    {
        try
        {
            await state.WriteStateAsync();
            return;
        }
        catch (InconsistentStateException conflict)
        {
            // Reading replaces state.State: until ours is put back, changes are refused (see _reconciling).
            var ours = State;
            UserProfileGrainState stored;
            _reconciling = true;
            _heldDuringReconcile = ours;
            try
            {
                await state.ReadStateAsync();
                stored = state.State;
                state.State = ours;
            }
            catch (Exception)
            {
                state.State = ours;
                throw;
            }
            finally
            {
                _reconciling = false;
                _heldDuringReconcile = null;
            }

            var key = ProfileKey.Parse(this.GetPrimaryKeyString());
            if (stored.Profile.Tenant.Length > 0 && (stored.Profile.Tenant != key.Tenant || stored.Profile.UserId != key.UserId))
            {
                // As on activation: a row of someone else under the same hashed key is neither overwritten nor adopted.
                LogStoredIdentityMismatch(this.GetPrimaryKeyString());
                DeactivateOnIdle();
                throw new ProfileKeyCollisionException(key, new ProfileKey(stored.Profile.Tenant, stored.Profile.UserId));
            }

            if (stored.LogPosition <= ours.LogPosition && stored.Profile.EventsApplied <= ours.Profile.EventsApplied)
            {
                LogReconciled(this.GetPrimaryKeyString(), conflict.InnerException?.Message ?? conflict.Message);
                await state.WriteStateAsync();
                return;
            }

            // Storage is ahead of this activation: take what storage holds, forget the changes (the log still has them
            // and the partition's tracking replays them), and let the next call meet a fresh activation.
            state.State = stored;
            StateChanged();
            (_unwrittenFrom, _unsaved) = (null, false);
            _quietThrough = -1; // records taken as quiet were quiet against the state now dropped
            DeactivateOnIdle();
            throw new StorageAheadException(conflict);
        }
    }

    Task IUserProfileGrain.RefreshFeaturesAsync()
    {
        // Pushed even when nothing moved materially: the shard asks because the instant it holds has passed, and a shard
        // that lost the last push (a silo died before it wrote) would otherwise ask again on every tick.
        PushFeaturesOnMaterialChange(force: true);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Sends the feature vector to the user's feature shard when it moved materially since the last push (aged to now,
    /// so the mere passing of time is not a change) or the instant its windowed features next change moved. Once per
    /// write at most, so pushes are amortised like the writes; not awaited by the write, because segments are derived
    /// data: a failed push is forgotten, so the next write sends again.
    /// </summary>
    private void PushFeaturesOnMaterialChange(bool force = false)
    {
        if (!ProfileFeatures.HasFeatures(Profile) || State.MergedInto is not null)
        {
            return;
        }

        var now = clock.GetUtcNow();
        // From the kept read view, or else from the part of one that vectors read, built by the same code: segments and
        // GetProfile agree either way, and a write does not decode recent actions and layers for nothing.
        var basis = _view is { } kept && kept.Covers(now) ? kept.At(now) : ProfileViews.BuildFeatureBasis(ProfileToRead, _options, now);
        var features = ProfileFeatures.Extract(basis);
        var nextWindowChange = ProfileFeatures.NextWindowChange(Profile, _options, now);
        if (!force && _pushedFeatures is not null && nextWindowChange == _pushedNextWindowChange &&
            !ProfileFeatures.MateriallyDiffers(ProfileFeatures.Age(_pushedFeatures, ProfileFeatures.All, _pushedAt, now, _options), features, segmentationOptions.Value.MaterialChange))
        {
            _featuresUnpushed = true;
            return;
        }

        _featuresUnpushed = false;
        _pushedFeatures = features;
        _pushedAt = now;
        _pushedNextWindowChange = nextWindowChange;
        var key = this.GetPrimaryKeyString();
        var shard = _shardGrain ?? ShardGrain(SegmentKeys.Shard(Profile.Tenant, SegmentKeys.ShardOf(key, segmentationOptions.Value.Shards)));
        _shardGrain = Profile.Tenant.Length > 0 ? shard : null; // kept once the profile knows its tenant
        _featuresPush = _unconfirmedPushes[(int)PushKind.Features] = _lastPushes[(int)PushKind.Features] = PushAsync(shard, new FeatureUpdate(key, features, now, nextWindowChange, ProfileFeatures.EngagementAtLastSeen(basis)));
    }

    // The latest feature push, not awaited by the write; a merge waits for it before taking the profile out of its shard,
    // so that a push still on its way does not put the merged profile back.
    private Task? _featuresPush;

    /// <summary>
    /// A merged profile's shards are told again, once per activation, that it left them: a shard keeps its entries write-behind,
    /// so a silo killed soon after a merge can bring the merged profile back into the tenant's listing, export and count
    /// (an outside run: every device whose login was in flight at the kill). Its records replay after the restart, which
    /// activates it.
    /// </summary>
    private void LeaveShardsIfMerged()
    {
        if (State.MergedInto is null || Profile.Tenant.Length == 0)
        {
            return;
        }

        var key = this.GetPrimaryKeyString();
        _ = LeaveShardsAsync(key, SegmentKeys.Shard(Profile.Tenant, SegmentKeys.ShardOf(key, segmentationOptions.Value.Shards)));
    }

    /// <summary>
    /// Takes a merged profile out of its feature, interaction and feedback shards, as pushes like any other: its reports,
    /// and the merge that waits for <see cref="IProfileMergeGrain.UntilPushesWrittenAsync"/>, wait until the shards have
    /// written that it left. Never throws (a failed send is sent again by whoever waits).
    /// </summary>
    private Task LeaveShardsAsync(string key, string shard)
    {
        var left = _unconfirmedPushes[(int)PushKind.Features] = _lastPushes[(int)PushKind.Features] = RemoveFromShardAsync(ShardGrain(shard), key);
        var emptied = _unconfirmedPushes[(int)PushKind.Items] = _lastPushes[(int)PushKind.Items] =
            PushItemsAsync(GrainFactory.GetGrain<IInteractionShardGrain>(shard), new InteractionUpdate(key, [], [], clock.GetUtcNow(), null));
        // Its lists shown and clicked are the person's now, and counted there once (probe73: a visitor who logged in after
        // seeing a list was counted twice in every experiment and the fairness audit). After the last push it sent, which
        // it would otherwise overtake.
        _feedbackChanged = false;
        var recentLists = FeedbackReport.HasFeedback(Profile) ? FeedbackReport.Of(key, Profile, _options, clock.GetUtcNow()).RecentLists : null;
        var gone = _unconfirmedPushes[(int)PushKind.Feedback] = _lastPushes[(int)PushKind.Feedback] =
            LeaveFeedbackAsync(_lastPushes[(int)PushKind.Feedback], GrainFactory.GetGrain<IFeedbackShardGrain>(shard), key, recentLists);
        return Task.WhenAll(left, emptied, gone);
    }

    private async Task<SentPush> LeaveFeedbackAsync(Task<SentPush>? previous, IFeedbackShardGrain shard, string key, ListClicksReport[]? recentLists)
    {
        if (previous is not null)
        {
            await previous; // never throws
        }

        return await PushFeedbackAsync(shard, FeedbackUpdate.Leaving(key, clock.GetUtcNow(), recentLists));
    }

    private async Task<SentPush> RemoveFromShardAsync(IFeatureShardGrain shard, string key)
    {
        var (epoch, sentAt) = (_pushEpoch, clock.GetUtcNow());
        try
        {
            return new SentPush(shard, await shard.RemoveAsync(key), sentAt, epoch, () => RemoveFromShardAsync(shard, key));
        }
        catch (Exception ex)
        {
            LogPushFailed(key, ex);
            return new SentPush(shard, null, sentAt, epoch, () => RemoveFromShardAsync(shard, key));
        }
    }

    private async Task<SentPush> PushAsync(IFeatureShardGrain shard, FeatureUpdate update)
    {
        // Before the send: an erasure or merge while it is under way must stop it being sent again.
        var (epoch, sentAt) = (_pushEpoch, clock.GetUtcNow());
        try
        {
            return new SentPush(shard, await shard.UpdateAsync(update), sentAt, epoch, () => PushAsync(shard, update));
        }
        catch (Exception ex)
        {
            // Forget what was sent, so that the next write pushes again even without a material change.
            if (ReferenceEquals(_pushedFeatures, update.Values))
            {
                _pushedFeatures = null;
            }

            LogPushFailed(this.GetPrimaryKeyString(), ex);
            return new SentPush(shard, null, sentAt, epoch, () => PushAsync(shard, update));
        }
    }

    Task<RecommendationInput> IUserProfileGrain.GetRecommendationInputAsync(bool withTargeting)
    {
        if (_packed is { } packed && _heldDuringReconcile is null)
        {
            // Read beside the packed state: serving neither unpacks the profile nor counts as a use that keeps it unpacked.
            var (optIn, eventsApplied, items, ignored, targeting, forgottenOwned, exposed) = ProfilePacker.ReadServingInput(packed, withTargeting);
            return Task.FromResult(new RecommendationInput(state.RecordExists || eventsApplied, optIn, items, ignored, targeting, _packedFacts.MergedInto, forgottenOwned, exposed));
        }

        var exists = state.RecordExists || Profile.EventsApplied > 0;
        if (!exists)
        {
            ReleaseIfNobody();
        }

        return Task.FromResult(new RecommendationInput(
            exists, Profile.Preferences.PersonalizationOptIn, ItemViews(), PackedServingInput.Ignored(Profile.Feedback), withTargeting ? UserTargeting.Of(Profile) : null,
            State.MergedInto, Profile.Behavior.ForgottenOwned?.ToArray(), ExperimentVariant.Of(Profile.Feedback)));
    }

    /// <summary>
    /// A read of a user the grid has never heard of (nothing stored, nothing applied, nothing being written) leaves no
    /// activation behind: otherwise every unknown id asked for (cold-start Recommend calls, a crawler's guesses) would stay
    /// resident until idle collection, and the heap would grow with them.
    /// </summary>
    private void ReleaseIfNobody()
    {
        if (!state.RecordExists && _packed is null && state.State.Profile.Tenant.Length == 0 && !_unsaved && _writing.IsCompleted && !_reconciling)
        {
            DeactivateOnIdle();
        }
    }

    private ItemInteractionView[] ItemViews()
    {
        var items = Profile.Behavior.Items;
        var views = new ItemInteractionView[items.Count];
        var i = 0;
        foreach (var (id, stats) in items)
        {
            views[i++] = new ItemInteractionView(id, stats.Views, stats.CartAdds, stats.Purchases, stats.Rating, stats.LastAt);
        }

        return views;
    }

    /// <summary>Notes that a batch touched items, and what its events said of them (the latest by event time wins).</summary>
    private void NoteItems(IReadOnlyList<UserEvent> events)
    {
        foreach (var e in events)
        {
            if (e.Kind is EventKind.Impression or EventKind.Click ||
                (e.Kind is EventKind.AddToCart or EventKind.Purchase or EventKind.Identify && FeedbackReport.HasFeedback(Profile)))
            {
                _feedbackChanged = true;
            }

            switch (e.Kind)
            {
                case EventKind.ProductView or EventKind.AddToCart or EventKind.Rating when e.Product is { } product:
                    _itemsChanged = true;
                    NoteFact(product.ProductId, product.Category, product.UnitPrice?.Amount, product.UnitPrice?.Currency, e.OccurredAt);
                    break;
                case EventKind.Identify when Profile.Behavior.Items.Count > 0:
                    _itemsChanged = true; // the slicing attributes travel with the item history
                    break;
                case EventKind.Purchase when e.Purchase is { } purchase:
                    _itemsChanged = true;
                    foreach (var line in purchase.Lines)
                    {
                        NoteFact(line.ProductId, line.Category, line.UnitPrice, purchase.Currency, e.OccurredAt);
                    }

                    break;
            }
        }
    }

    private const int MaxPendingFacts = 256;

    private void NoteFact(string itemId, string? category, decimal? price, string? currency, DateTimeOffset at)
    {
        _itemFacts ??= new Dictionary<string, ItemFact>(StringComparer.Ordinal);
        var known = _itemFacts.GetValueOrDefault(itemId);
        if (known is null && _itemFacts.Count >= MaxPendingFacts && State.MergedInto is null)
        {
            // Hundreds of new items between two writes (a wholesaler's history imported): the facts so far go now rather
            // than the rest being dropped, which left items only this customer bought out of the catalog.
            PushItemsIfChanged();
            _itemFacts ??= new Dictionary<string, ItemFact>(StringComparer.Ordinal);
        }

        if (known is not null || _itemFacts.Count < MaxPendingFacts)
        {
            _itemFacts[itemId] = ItemFact.Merge(known, new ItemFact(itemId, category, price, price is null ? null : currency, at));
        }
    }

    /// <summary>Facts of a push that failed, kept for the next one (within the bound).</summary>
    private void KeepUnsentFacts(ItemFact[] facts)
    {
        _itemFacts ??= new Dictionary<string, ItemFact>(StringComparer.Ordinal);
        foreach (var fact in facts)
        {
            var known = _itemFacts.GetValueOrDefault(fact.ItemId);
            if (known is not null || _itemFacts.Count < MaxPendingFacts)
            {
                _itemFacts[fact.ItemId] = ItemFact.Merge(known, fact);
            }
        }
    }

    /// <summary>Sends the whole item history (and the pending item facts) to the interaction shard when items changed.</summary>
    private void PushItemsIfChanged()
    {
        if (!_itemsChanged || Profile.Tenant.Length == 0 || State.MergedInto is not null)
        {
            return;
        }

        _itemsChanged = false;
        var facts = _itemFacts?.Values.ToArray() ?? [];
        _itemFacts = null;
        var key = this.GetPrimaryKeyString();
        _interactionShard ??= GrainFactory.GetGrain<IInteractionShardGrain>(SegmentKeys.Shard(Profile.Tenant, SegmentKeys.ShardOf(key, segmentationOptions.Value.Shards)));
        var demographics = Profile.Demographics;
        var attributes = new UserAttributesView(
            demographics.Gender == Gender.Unknown ? null : WireNames.Of(demographics.Gender),
            demographics.BirthYear,
            demographics.Country ?? Profile.Context.LastCountry);
        _unconfirmedPushes[(int)PushKind.Items] = _lastPushes[(int)PushKind.Items] = PushItemsAsync(_interactionShard, new InteractionUpdate(key, ItemViews(), facts, clock.GetUtcNow(), attributes, Profile.Behavior.ItemsForgotten));
    }

    /// <summary>Sends the feedback figures (absolute, so a repeat changes nothing) to the feedback shard when they changed.</summary>
    private void PushFeedbackIfChanged()
    {
        if (!_feedbackChanged || Profile.Tenant.Length == 0 || State.MergedInto is not null)
        {
            return;
        }

        _feedbackChanged = false;
        var key = this.GetPrimaryKeyString();
        _feedbackShard ??= GrainFactory.GetGrain<IFeedbackShardGrain>(SegmentKeys.Shard(Profile.Tenant, SegmentKeys.ShardOf(key, segmentationOptions.Value.Shards)));
        _unconfirmedPushes[(int)PushKind.Feedback] = _lastPushes[(int)PushKind.Feedback] = PushFeedbackAsync(_feedbackShard, FeedbackReport.Of(key, Profile, _options, clock.GetUtcNow()));
    }

    private async Task<SentPush> PushFeedbackAsync(IFeedbackShardGrain shard, FeedbackUpdate update)
    {
        // Before the send: an erasure or merge while it is under way must stop it being sent again.
        var (epoch, sentAt) = (_pushEpoch, clock.GetUtcNow());
        try
        {
            return new SentPush(shard, await shard.UpdateAsync(update), sentAt, epoch, () => PushFeedbackAsync(shard, update));
        }
        catch (Exception ex)
        {
            _feedbackChanged = true; // sent again after the next write
            LogFeedbackPushFailed(this.GetPrimaryKeyString(), ex);
            return new SentPush(shard, null, sentAt, epoch, () => PushFeedbackAsync(shard, update));
        }
    }

    /// <summary>The direct writes, kept apart (created on the first one; for older profiles, their current layers).</summary>
    private UserProfile DirectWrites()
    {
        if (State.Direct is null)
        {
            State.Direct = State.DirectKept ? new UserProfile() : Domain.DirectWrites.LayersOf(Profile);
            State.DirectKept = true;
        }

        return State.Direct;
    }

    private void LayDirectWrites(UserProfile direct)
    {
        State.Direct = direct;
        State.DirectKept = true;
        Domain.DirectWrites.Overlay(Profile, direct, _options);
    }

    private IProfileMergeGrain MergeSide(string userId) =>
        GrainFactory.GetGrain<IProfileMergeGrain>(new ProfileKey(Profile.Tenant.Length > 0 ? Profile.Tenant : ProfileKey.Parse(this.GetPrimaryKeyString()).Tenant, userId).ToString());

    /// <summary>
    /// A merged profile's record: forwarded to the canonical profile (which writes it before answering), then applied
    /// here too, so that an unmerge finds this profile as it would be had it never merged (asking this profile's archive of
    /// older ids, as any record does). Not forwarded (the canonical profile has not brought this one's history in yet, or
    /// the call failed): refused, and the log replays it.
    /// </summary>
    private async Task<LoggedApplyResult> ForwardThenApplyAsync(string canonical, EventBatch batch, long position)
    {
        bool forwarded;
        try
        {
            forwarded = await MergeSide(canonical).ApplyForwardedAsync(OwnUserId(), batch, position);
        }
        catch (Exception ex)
        {
            LogForwardFailed(this.GetPrimaryKeyString(), canonical, ex);
            forwarded = false;
        }

        if (forwarded)
        {
            // The canonical profile wrote the record and pushed; this record is reported written once those pushes are stored.
            var canonicalPushes = CanonicalPushesWrittenAsync(canonical);
            _canonicalPushes = _canonicalPushes is null ? canonicalPushes : Task.WhenAll(_canonicalPushes, canonicalPushes);
        }

        var archived = forwarded && ProfileUpdater.ArchiveQuestion(Profile, batch.Events) is { } question ? await AskArchiveAsync(question) : null;
        if (!forwarded || _reconciling || position <= State.LogPosition || State.MergedInto != canonical)
        {
            return new LoggedApplyResult(UnwrittenFrom, Gap: !forwarded || _reconciling || State.MergedInto != canonical);
        }

        _archiveAnswer = archived;
        try
        {
            return ApplyLogged(batch, position);
        }
        finally
        {
            _archiveAnswer = null;
        }
    }

    // Whether this activation has asked if its anonymous id was linked by a login before its first record.
    private bool _linkChecked;

    /// <summary>
    /// A visitor's first record: a login may have linked the anonymous id while it had no history (no merge was made
    /// then). Linked: the merge is asked for and the record refused (the log replays it, forwarded once merged).
    /// </summary>
    private async Task<LoggedApplyResult> FirstRecordAsync(EventBatch batch, long position)
    {
        var key = ProfileKey.Parse(this.GetPrimaryKeyString());
        if (!AnonymousProfiles.IsAnonymous(key.UserId))
        {
            _linkChecked = true;
            return ApplyLogged(batch, position);
        }

        var identifier = GrainFactory.GetGrain<IIdentifierGrain>(
            new ProfileKey(key.Tenant, IdentifierKinds.Name(IdentifierKinds.Anonymous, key.UserId[AnonymousProfiles.Prefix.Length..])).ToString());
        string? owner;
        try
        {
            owner = await identifier.OwnerAsync();
        }
        catch (Exception ex)
        {
            LogForwardFailed(this.GetPrimaryKeyString(), "(identity)", ex);
            return new LoggedApplyResult(UnwrittenFrom, Gap: true);
        }

        if (owner is null || State.MergedInto is not null || _reconciling || State.LogPosition >= 0)
        {
            var result = State.MergedInto is null && !_reconciling && position > State.LogPosition
                ? ApplyLogged(batch, position)
                : new LoggedApplyResult(UnwrittenFrom, Gap: true);

            // Checked only once a record is in: a refused one is asked about again when it replays, since a login may link
            // the id meanwhile and, finding no history, leave the merge to this record.
            _linkChecked = owner is null && !result.Gap;
            return result;
        }

        identifier.EnsureMergedAsync().Ignore();
        return new LoggedApplyResult(UnwrittenFrom, Gap: true);
    }

    Task<bool> IProfileMergeGrain.HasHistoryAsync()
    {
        var has = State.LogPosition >= 0 || Profile.EventsApplied > 0 || State.MergedInto is not null;
        if (!has)
        {
            ReleaseIfNobody();
        }

        return Task.FromResult(has);
    }

    async Task<bool> IProfileMergeGrain.SetMergedIntoAsync(string? canonicalUserId)
    {
        await UntilReconciledAsync();
        var hasHistory = State.LogPosition >= 0 || Profile.EventsApplied > 0;
        if (State.MergedInto == canonicalUserId)
        {
            return hasHistory;
        }

        EnsureIdentity();
        var key = this.GetPrimaryKeyString();
        var buffer = stats.For(Profile.Tenant);
        var shard = SegmentKeys.Shard(Profile.Tenant, SegmentKeys.ShardOf(key, segmentationOptions.Value.Shards));
        if (canonicalUserId is not null)
        {
            // Leaves the tenant's counts, segments and training data: its canonical profile now counts for both.
            buffer?.ProfileChanged(ProfileStatsMark.Of(Profile), default);
            State.MergedInto = canonicalUserId;
            _pushEpoch++;
            if (Profile.EventsApplied > 0)
            {
                if (_featuresPush is { } push)
                {
                    await push; // never throws: a failed push is logged and forgotten
                }

                await LeaveShardsAsync(key, shard);
            }
            _pushedFeatures = null;
        }
        else
        {
            State.MergedInto = null;
            _pushEpoch++; // the merge's "left the shard" still being sent again must not take the profile out once more
            buffer?.ProfileReturned(ProfileStatsMark.Of(Profile));
            _itemsChanged = Profile.Behavior.Items.Count > 0;
            _feedbackChanged = FeedbackReport.HasFeedback(Profile);
        }

        StateChanged();
        await PersistAsync();
        if (canonicalUserId is null)
        {
            PushFeaturesOnMaterialChange(force: true);
        }

        return hasHistory;
    }

    async Task<int> IProfileMergeGrain.AbsorbAsync(string fromUserId, EventBatch events, long end)
    {
        await UntilReconciledAsync();
        State.Absorbed ??= new Dictionary<string, long>(StringComparer.Ordinal);
        if (State.Absorbed.ContainsKey(fromUserId))
        {
            return 0; // brought in before: a retried merge
        }

        var before = StatsMark();
        var buffer = stats.For(EnsureIdentity().Tenant);
        EventTally? counted = null, applied = null;
        if (buffer is not null && events.Events.Count > 0)
        {
            // What the visitor counted of this history when it applied it (all but its own repeats), against what this
            // profile applies of it (not what it had already, such as the same order reported by the CRM).
            counted = new EventTally();
            applied = new EventTally();
            ProfileUpdater.Apply(new UserProfile { Tenant = Profile.Tenant, UserId = fromUserId, CreatedAt = Profile.CreatedAt }, events.Events, _options, clock.GetUtcNow(), counted);
        }

        var result = ProfileUpdater.Apply(Profile, MemberEventIds.Qualified(fromUserId, events.Events), _options, clock.GetUtcNow(), applied);
        if (counted is not null)
        {
            buffer!.MergeDeduplicated(counted, applied!);
        }

        State.Absorbed[fromUserId] = end;
        StatsChanged(before);
        StateChanged();
        NoteItems(events.Events);
        _itemsChanged = true;
        await PersistAsync();
        return result.Applied;
    }

    // Set while a forwarded record is applied and not yet written: a repeat of it (the merged profile replaying after a
    // failure) waits for the write instead of being answered "done" from memory.
    private bool _forwardedUnwritten;

    async Task IProfileMergeGrain.UntilPushesWrittenAsync()
    {
        var pushes = (Task<SentPush>?[])_lastPushes.Clone();
        await Task.WhenAll(pushes.OfType<Task<SentPush>>().Select(UntilWrittenAsync));
        ForgetConfirmed(pushes);
    }

    /// <summary>Pushes waited for (written, or given up on) need no second wait: a merged visitor's next record finds none.</summary>
    private void ForgetConfirmed(Task<SentPush>?[] pushes)
    {
        for (var kind = 0; kind < pushes.Length; kind++)
        {
            if (pushes[kind] is { } push && ReferenceEquals(_lastPushes[kind], push))
            {
                _lastPushes[kind] = null;
            }
        }
    }

    private async Task CanonicalPushesWrittenAsync(string canonical)
    {
        try
        {
            await MergeSide(canonical).UntilPushesWrittenAsync();
        }
        catch (Exception ex)
        {
            LogCanonicalPushesUnconfirmed(this.GetPrimaryKeyString(), canonical, ex);
        }
    }

    [LoggerMessage(EventId = 3123, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: waiting for its canonical profile {Canonical} to have its pushes stored failed; the forwarded record is reported written all the same")]
    private partial void LogCanonicalPushesUnconfirmed(string profileKey, string canonical, Exception exception);

    async Task<bool> IProfileMergeGrain.ApplyForwardedAsync(string fromUserId, EventBatch batch, long position)
    {
        await UntilReconciledAsync();
        if (State.Absorbed is null || !State.Absorbed.TryGetValue(fromUserId, out var through))
        {
            return false;
        }

        var events = MemberEventIds.Qualified(fromUserId, batch.Events);
        HashSet<ulong>? archived = null;
        if (position > through && ProfileUpdater.ArchiveQuestion(EnsureIdentity(), events) is { } question)
        {
            // The member's events resent from further back than this profile's window reaches: its archive of older ids
            // knows them, as for the profile's own events.
            archived = await AskArchiveAsync(question);
            await UntilReconciledAsync();
            if (State.Absorbed is null || !State.Absorbed.TryGetValue(fromUserId, out through))
            {
                return false;
            }
        }

        if (position > through)
        {
            var profile = EnsureIdentity();
            if (stats.For(profile.Tenant) is { } buffer)
            {
                // Counted here, as applied by the person (the member applies the record after this and counts nothing).
                var before = StatsMark();
                var tally = EventTally.Begin();
                var result = ProfileUpdater.Apply(profile, events, _options, clock.GetUtcNow(), tally, archived);
                buffer.ProfileApplied(before, StatsMark(), result, tally);
            }
            else
            {
                ProfileUpdater.Apply(profile, events, _options, clock.GetUtcNow(), archived: archived);
            }

            State.Absorbed[fromUserId] = position;
            StateChanged();
            NoteItems(batch.Events);
            _forwardedUnwritten = true;
        }

        if (_forwardedUnwritten)
        {
            await PersistAsync();
            _forwardedUnwritten = false;
        }

        return true;
    }

    async Task<bool> IProfileMergeGrain.RebuildWithMembersAsync(EventBatch events, long logEnd, Dictionary<string, long> memberEnds)
    {
        await UntilReconciledAsync();
        if (State.LogPosition > logEnd || memberEnds.Any(m => State.Absorbed?.GetValueOrDefault(m.Key, -1) > m.Value))
        {
            return false;
        }

        await ReplaceFromEventsAsync(events, logEnd, () =>
        {
            State.Absorbed = memberEnds.Count == 0 ? null : new Dictionary<string, long>(memberEnds, StringComparer.Ordinal);
            if (State.MemberDirect is { } memberWrites)
            {
                // Writes made to a member's id while it was merged stay only while it still is.
                foreach (var gone in memberWrites.Keys.Where(member => !memberEnds.ContainsKey(member)).ToList())
                {
                    memberWrites.Remove(gone);
                }

                foreach (var layer in memberWrites.Values)
                {
                    Domain.DirectWrites.Overlay(Profile, layer, _options);
                }

                State.MemberDirect = memberWrites.Count == 0 ? null : memberWrites;
            }

            _itemsChanged = true;
        });
        return true;
    }

    [LoggerMessage(EventId = 3120, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: forwarding a record to its canonical profile {Canonical} failed; the log replays it")]
    private partial void LogForwardFailed(string profileKey, string canonical, Exception exception);

    [LoggerMessage(EventId = 3119, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: sending the feedback figures to the feedback shard failed; will send again on the next write")]
    private partial void LogFeedbackPushFailed(string profileKey, Exception exception);

    private async Task<SentPush> PushItemsAsync(IInteractionShardGrain shard, InteractionUpdate update)
    {
        // Before the send: an erasure or merge while it is under way must stop it being sent again.
        var (epoch, sentAt) = (_pushEpoch, clock.GetUtcNow());
        try
        {
            return new SentPush(shard, await shard.UpdateAsync(update), sentAt, epoch, () => PushItemsAsync(shard, update));
        }
        catch (Exception ex)
        {
            _itemsChanged = true; // sent again after the next write
            KeepUnsentFacts(update.Facts);
            LogItemsPushFailed(this.GetPrimaryKeyString(), ex);
            return new SentPush(shard, null, sentAt, epoch, () => PushItemsAsync(shard, update));
        }
    }

    [LoggerMessage(EventId = 3118, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: sending the item history to the interaction shard failed; will send again on the next write")]
    private partial void LogItemsPushFailed(string profileKey, Exception exception);

    [LoggerMessage(EventId = 3113, Level = LogLevel.Error, Message = "Profile {ProfileKey}: the state stored for it names another user; refusing to load it")]
    private partial void LogStoredIdentityMismatch(string profileKey);

    [LoggerMessage(EventId = 3114, Level = LogLevel.Debug, Message = "Profile {ProfileKey}: applied {Applied} events, {Duplicates} duplicates ignored")]
    private partial void LogBatchApplied(string profileKey, int applied, int duplicates);

    [LoggerMessage(EventId = 3115, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: refused a log record; it misses the record at {Previous} (holds up to {Held}); the log will replay")]
    private partial void LogGap(string profileKey, long previous, long held);

    [LoggerMessage(EventId = 3116, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: stream error")]
    private partial void LogStreamError(string profileKey, Exception exception);

    [LoggerMessage(EventId = 3117, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: sending features to the segment shard failed; will send again on the next write")]
    private partial void LogPushFailed(string profileKey, Exception exception);

    [LoggerMessage(EventId = 3110, Level = LogLevel.Error, Message = "Profile {ProfileKey}: writing state failed (attempt {Attempt})")]
    private partial void LogPersistFailed(string profileKey, int attempt, Exception exception);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Profile {ProfileKey}: a write was refused on its ETag but storage holds this activation's own row (a timed-out write that landed: {Reason}); written again over it")]
    private partial void LogReconciled(string profileKey, string reason);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning, Message = "Profile {ProfileKey}: could not report a failed write to its log partition")]
    private partial void LogReportFailed(string profileKey, Exception exception);
}
