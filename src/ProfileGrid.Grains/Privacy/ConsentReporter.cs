using Microsoft.Extensions.Logging;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains.Privacy;

/// <summary>
/// Carries consent changes from this silo's profiles to their tenants' privacy ledgers, one call (and so one ledger write)
/// per tenant per <see cref="FlushInterval"/> however many users changed. A call and a write per user made the tenant's
/// ledger a hot grain: a bulk load in which 16% of users had opted out wrote the ledger's whole row once per such user
/// (477 writes for 3,000 users, a row that grows with every one of them). A change waits here a fraction of a second,
/// well inside the profile's own write-behind; a send that fails is kept and sent again with the next flush, and the
/// silo flushes once more when it stops.
/// </summary>
public sealed partial class ConsentReporter(IGrainFactory grains, ILogger<ConsentReporter> logger) : PeriodicFlusher
{
    public static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new();

    // Per tenant, the newest consent of each user changed since the last flush.
    private Dictionary<string, Dictionary<string, (bool OptedIn, DateTimeOffset ChangedAt)>> _pending = new(StringComparer.Ordinal);

    private readonly SemaphoreSlim _flushing = new(1, 1);

    /// <summary>
    /// Records the user's consent to personalization (false: opted out) as of <paramref name="changedAt"/> (the time of
    /// the event that gave or withdrew it); sent with the next flush.
    /// </summary>
    public void Report(string tenant, string userId, bool optedIn, DateTimeOffset changedAt)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(tenant, out var users))
            {
                _pending[tenant] = users = new(StringComparer.Ordinal);
            }

            if (!users.TryGetValue(userId, out var known) || known.ChangedAt <= changedAt)
            {
                users[userId] = (optedIn, changedAt);
            }
        }
    }

    protected override TimeSpan Interval => FlushInterval;

    /// <summary>Sends every tenant's pending changes, one call per tenant; a tenant whose call fails keeps its changes.</summary>
    public override async Task FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            Dictionary<string, Dictionary<string, (bool OptedIn, DateTimeOffset ChangedAt)>> taken;
            lock (_gate)
            {
                if (_pending.Count == 0)
                {
                    return;
                }

                (taken, _pending) = (_pending, new(StringComparer.Ordinal));
            }

            await Task.WhenAll(taken.Select(tenant => SendAsync(tenant.Key, tenant.Value)));
        }
        finally
        {
            _flushing.Release();
        }
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> _tenantSends = new(StringComparer.Ordinal);

    /// <summary>
    /// Records the changes and returns once the tenant's ledger holds them (a direct opt-out answers only then: the lake's
    /// archiver reads the ledger after the events it archives). Callers of one tenant that arrive while a send is in
    /// flight go together in the next one, so a burst of opt-outs is a few ledger writes, not one per user. Throws when
    /// the send fails (the changes stay pending for the next flush).
    /// </summary>
    public async Task ReportNowAsync(string tenant, IEnumerable<(string UserId, bool OptedIn, DateTimeOffset ChangedAt)> changes)
    {
        foreach (var (userId, optedIn, changedAt) in changes)
        {
            Report(tenant, userId, optedIn, changedAt);
        }

        var gate = _tenantSends.GetOrAdd(tenant, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            Dictionary<string, (bool OptedIn, DateTimeOffset ChangedAt)>? users;
            lock (_gate)
            {
                _pending.Remove(tenant, out users);
            }

            if (users is { Count: > 0 })
            {
                // Empty: a send before this one took these changes along (a failed one puts them back).
                await SendAsync(tenant, users, rethrow: true);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task SendAsync(string tenant, Dictionary<string, (bool OptedIn, DateTimeOffset ChangedAt)> users, bool rethrow = false)
    {
        try
        {
            var changes = users.Select(u => new ConsentChange(u.Key, u.Value.OptedIn, u.Value.ChangedAt)).ToArray();
            await grains.GetGrain<ITenantPrivacyGrain>(tenant).SetPersonalizationConsentsAsync(changes);
        }
        catch (Exception ex)
        {
            LogSendFailed(tenant, users.Count, ex);
            lock (_gate)
            {
                if (!_pending.TryGetValue(tenant, out var newer))
                {
                    _pending[tenant] = newer = new(StringComparer.Ordinal);
                }

                foreach (var (user, change) in users)
                {
                    if (!newer.TryGetValue(user, out var since) || since.ChangedAt < change.ChangedAt)
                    {
                        newer[user] = change; // a change reported since that is newer stays
                    }
                }
            }

            if (rethrow)
            {
                throw;
            }
        }
    }

    [LoggerMessage(EventId = 3769, Level = LogLevel.Warning, Message = "Reporting {Count} consent changes to the privacy ledger of tenant {Tenant} failed; they go with the next flush")]
    private partial void LogSendFailed(string tenant, int count, Exception exception);
}
