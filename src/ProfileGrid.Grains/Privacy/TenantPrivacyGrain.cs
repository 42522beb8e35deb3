using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Privacy;

/// <summary>What a tenant's privacy ledger persists (one blob per tenant, rewritten whole by each change; see docs/privacy.md for its cost).</summary>
[GenerateSerializer, Alias("pg.tenant-privacy-state")]
public sealed class TenantPrivacyState
{
    /// <summary>The tenant's salt for user hashes: random, made on first use, never changed.</summary>
    [Id(0)] public byte[] Salt { get; set; } = [];

    /// <summary>Erased users' hashes, each with its cut-off (events at or before it are never applied or archived again).</summary>
    [Id(1)] public Dictionary<string, DateTimeOffset> Erased { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Hashes of users whose personalization consent is withdrawn now.</summary>
    [Id(2)] public HashSet<string> OptedOut { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Erasures under way, by user id: the only user ids in clear here, dropped when the erasure completes.</summary>
    [Id(3)] public Dictionary<string, ErasureStart> Pending { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Erasures completed, ever.</summary>
    [Id(4)] public long Completed { get; set; }

    /// <summary>When each user's consent last changed, by hash (users who never changed it are not here).</summary>
    [Id(5)] public Dictionary<string, DateTimeOffset> ConsentChangedAt { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// A tenant's privacy ledger; see <see cref="ITenantPrivacyGrain"/>. While an erasure is pending a reminder looks at it
/// every minute and finishes one that nobody has touched for a minute (its silo died mid-way), retrying every 15 seconds
/// after that until it completes, so an acknowledged erasure completes without its caller.
/// </summary>
public sealed partial class TenantPrivacyGrain(
    [PersistentState("privacy", ProfileStores.Segments)] IPersistentState<TenantPrivacyState> state,
    TimeProvider clock,
    ILogger<TenantPrivacyGrain> logger)
    : Grain, ITenantPrivacyGrain, IRemindable
{
    private const string ResumeReminder = "erasure-resume";
    private static readonly TimeSpan ResumeAfter = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(15);

    private IGrainTimer? _retryTimer;

    private PrivacyFilterView? _filter;

    // Erasures this activation resumed and that are still running, by user id: a slow one (a loaded cluster, a long log
    // to archive) is not started again by the next tick, which would only compete with it for the same partitions.
    private readonly Dictionary<string, Task> _resuming = new(StringComparer.Ordinal);

    private string Tenant => this.GetPrimaryKeyString();

    public Task<PrivacyFilterView> GetFilterAsync() =>
        Task.FromResult(_filter ??= new PrivacyFilterView(Salt(), new Dictionary<string, DateTimeOffset>(state.State.Erased, StringComparer.Ordinal), [.. state.State.OptedOut]));

    public async Task<ErasureStart> BeginErasureAsync(string[] userIds)
    {
        var salt = Salt();
        var now = clock.GetUtcNow();
        var userId = userIds[0];
        var ids = state.State.Pending.TryGetValue(userId, out var pending)
            ? pending.UserIds.Union(userIds, StringComparer.Ordinal).ToArray()
            : userIds.Distinct(StringComparer.Ordinal).ToArray();
        var start = new ErasureStart(userId, ids, now, pending?.StartedAt ?? now);
        foreach (var id in ids)
        {
            state.State.Erased[PrivacyFilter.Hash(salt, id)] = now;
            state.State.OptedOut.Remove(PrivacyFilter.Hash(salt, id));
            state.State.ConsentChangedAt.Remove(PrivacyFilter.Hash(salt, id));
        }

        state.State.Pending[userId] = start;
        await WriteAsync();
        try
        {
            await GrainReminders.RegisterOrUpdateAsync(this, ResumeReminder, ResumeAfter, ResumeAfter);
        }
        catch (Exception ex)
        {
            // The erasure goes on; only its unattended resumption after a crash is lost (a retry of the request finishes it).
            LogReminderFailed(Tenant, ex);
        }

        return start;
    }

    public async Task CompleteErasureAsync(string userId)
    {
        if (state.State.Pending.Remove(userId))
        {
            state.State.Completed++;
            await WriteAsync();
        }
    }

    public Task<ErasureStart[]> GetPendingAsync() => Task.FromResult(state.State.Pending.Values.ToArray());

    public async Task SetPersonalizationConsentsAsync(ConsentChange[] changes)
    {
        var salt = Salt();
        var changed = false;
        foreach (var change in changes)
        {
            var hash = PrivacyFilter.Hash(salt, change.UserId);
            if (state.State.ConsentChangedAt.TryGetValue(hash, out var newest) && newest > change.ChangedAt
                || state.State.Erased.TryGetValue(hash, out var cutoff) && change.ChangedAt <= cutoff)
            {
                continue; // older than what the ledger holds, or of a history that was erased
            }

            state.State.ConsentChangedAt[hash] = change.ChangedAt;
            changed |= change.OptedIn ? state.State.OptedOut.Remove(hash) : state.State.OptedOut.Add(hash);
        }

        if (changed)
        {
            await WriteAsync();
        }
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != ResumeReminder)
        {
            return;
        }

        if (state.State.Pending.Count == 0)
        {
            await GrainReminders.UnregisterAsync(this, ResumeReminder);

            return;
        }

        ResumeStalled();

        // The reminder brought this activation up (a restart), and a resumed erasure's first attempt often fails while the
        // cluster settles (the log's checkpoint not there yet). Retry on a short timer while any is pending, rather than
        // waiting a whole reminder period each time; the reminder stays as the net across restarts.
        _retryTimer ??= this.RegisterGrainTimer(
            () =>
            {
                if (state.State.Pending.Count == 0)
                {
                    _retryTimer?.Dispose();
                    _retryTimer = null;
                }
                else
                {
                    ResumeStalled();
                }

                return Task.CompletedTask;
            },
            new GrainTimerCreationOptions(RetryEvery, RetryEvery) { KeepAlive = true, Interleave = false });
    }

    /// <summary>Starts every pending erasure nobody has touched for <see cref="ResumeAfter"/> that is not already running here.</summary>
    private void ResumeStalled()
    {
        var erasure = ServiceProvider.GetRequiredService<UserErasure>();
        var tenant = Tenant;
        foreach (var done in _resuming.Where(r => r.Value.IsCompleted).Select(r => r.Key).ToList())
        {
            _resuming.Remove(done);
        }

        foreach (var pending in state.State.Pending.Values.Where(p => clock.GetUtcNow() - p.StartedAt >= ResumeAfter))
        {
            if (_resuming.ContainsKey(pending.UserId))
            {
                continue;
            }

            LogResuming(tenant, pending.StartedAt);
            // Off this grain's turn: the erasure calls back into this grain. A failure is in the erasure's log (its
            // step's warning) and leaves the erasure pending for the next try.
            _resuming[pending.UserId] = Task.Run(async () =>
            {
                try
                {
                    await erasure.EraseAsync(tenant, pending.UserId);
                }
                catch (Exception ex)
                {
                    LogResumeFailed(tenant, ex);
                }
            });
        }
    }

    private byte[] Salt()
    {
        if (state.State.Salt.Length == 0)
        {
            state.State.Salt = RandomNumberGenerator.GetBytes(32);
        }

        return state.State.Salt;
    }

    private async Task WriteAsync()
    {
        _filter = null;
        await state.WriteStateAsync();
        _writes++;
    }

    // Per activation: a reactivated ledger answers another version, so a reader reads its filter again.
    private readonly string _activation = Guid.NewGuid().ToString("N");
    private long _writes;

    public Task<string> GetVersionAsync() => Task.FromResult($"{_activation}:{_writes}");

    [LoggerMessage(EventId = 3760, Level = LogLevel.Warning, Message = "Privacy ledger of tenant {Tenant}: registering the erasure reminder failed")]
    private partial void LogReminderFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3768, Level = LogLevel.Warning, Message = "Privacy ledger of tenant {Tenant}: a resumed erasure failed before its steps; it stays pending and is retried")]
    private partial void LogResumeFailed(string tenant, Exception exception);

    [LoggerMessage(EventId = 3761, Level = LogLevel.Warning, Message = "Privacy ledger of tenant {Tenant}: resuming an erasure begun at {StartedAt} that did not complete")]
    private partial void LogResuming(string tenant, DateTimeOffset startedAt);
}
