using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;

namespace ProfileGrid.Grains.Tests;

/// <summary>
/// Test-only reminder table over the silo's own, standing for a reminder store that times out, chosen by the grain key:
/// a "landed-..." grain's registrations are stored but answered with a time-out (a storage call whose answer never
/// came), and a "refused-..." grain's first <see cref="RefusalsBeforeSuccess"/> registrations fail without being stored.
/// </summary>
public sealed class FaultyReminderTable(IReminderTable inner) : IReminderTable
{
    public const int RefusalsBeforeSuccess = 2;

    /// <summary>Registrations refused so far, per grain key.</summary>
    public static ConcurrentDictionary<string, int> Refused { get; } = new();

    /// <summary>Replaces the silo's <see cref="IReminderTable"/> registration by this decorator over it.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var original = services.Last(d => d.ServiceType == typeof(IReminderTable));
        services.Remove(original);
        services.AddSingleton<IReminderTable>(sp => new FaultyReminderTable(original switch
        {
            { ImplementationInstance: IReminderTable instance } => instance,
            { ImplementationFactory: { } factory } => (IReminderTable)factory(sp),
            _ => (IReminderTable)ActivatorUtilities.CreateInstance(sp, original.ImplementationType!),
        }));
    }

    public Task<string?> UpsertRow(ReminderEntry entry) => UpsertRow(entry, CancellationToken.None);

    public async Task<string?> UpsertRow(ReminderEntry entry, CancellationToken cancellationToken)
    {
        var key = entry.GrainId.Key.ToString()!;
        if (key.StartsWith("refused-", StringComparison.Ordinal) && Refused.AddOrUpdate(key, 1, (_, n) => n + 1) <= RefusalsBeforeSuccess)
        {
            throw new TimeoutException("The reminder table did not answer (test table); nothing was stored.");
        }

        var etag = await inner.UpsertRow(entry, cancellationToken);
        if (key.StartsWith("landed-", StringComparison.Ordinal))
        {
            throw new TimeoutException("The reminder table did not answer in time (test table); the row was stored all the same.");
        }

        return etag;
    }

    public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

    [Obsolete("Implement and use StartAsync instead")]
    public Task Init() => inner.Init();

    public Task<ReminderTableData> ReadRows(GrainId grainId) => inner.ReadRows(grainId);

    public Task<ReminderTableData> ReadRows(GrainId grainId, CancellationToken cancellationToken) => inner.ReadRows(grainId, cancellationToken);

    public Task<ReminderTableData> ReadRows(uint begin, uint end) => inner.ReadRows(begin, end);

    public Task<ReminderTableData> ReadRows(uint begin, uint end, CancellationToken cancellationToken) => inner.ReadRows(begin, end, cancellationToken);

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName) => inner.ReadRow(grainId, reminderName);

    public Task<ReminderEntry?> ReadRow(GrainId grainId, string reminderName, CancellationToken cancellationToken) => inner.ReadRow(grainId, reminderName, cancellationToken);

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag) => inner.RemoveRow(grainId, reminderName, eTag);

    public Task<bool> RemoveRow(GrainId grainId, string reminderName, string eTag, CancellationToken cancellationToken) =>
        inner.RemoveRow(grainId, reminderName, eTag, cancellationToken);

    public Task TestOnlyClearTable() => inner.TestOnlyClearTable();

    public Task TestOnlyClearTable(CancellationToken cancellationToken) => inner.TestOnlyClearTable(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);
}
