using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains;

/// <summary>
/// Reminders for grains keyed by tenant or user ids, whatever the length of those ids. The reminder table keys a row by
/// the grain's id and the reminder's name; Azurite refuses keys over 512 characters (Azure Table over 1 KiB), and ids the
/// API accepts (256 characters, percent-encoded in the grain's key: an 'é' is six) can go far past that. Such a grain's
/// reminders are held by a <see cref="IReminderRelayGrain"/> under a short hashed key, which passes each tick on; every
/// other grain holds its own, as before.
/// </summary>
public static class GrainReminders
{
    /// <summary>The longest grain id and reminder name (together) a grain holds its own reminder for; a margin under Azurite's 512.</summary>
    public const int MaxOwnKeyLength = 400;

    /// <summary>
    /// Azure Table's key limit (1 KiB): a grain past <see cref="MaxOwnKeyLength"/> but within this may hold a reminder of its
    /// own that a release before the relay registered, which its relayed registration and removal take off as well.
    /// </summary>
    private const int MaxStoredKeyLength = 1024;

    public static bool FitsOwnKey(GrainId grain, string name) => grain.ToString().Length + 1 + name.Length <= MaxOwnKeyLength;

    /// <summary>The relay's key for <paramref name="grain"/>: 32 hex digits of SHA-256 of the grain's id.</summary>
    public static string RelayKey(GrainId grain) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(grain.ToString())))[..32];

    /// <summary>The grain whose id the reminder is stored under: <paramref name="grain"/>'s own, or its relay's.</summary>
    private static GrainId Holder(IGrainFactory grains, GrainId grain, string name) =>
        FitsOwnKey(grain, name) ? grain : grains.GetGrain<IReminderRelayGrain>(RelayKey(grain)).GetGrainId();

    /// <summary>Registers or updates the reminder; answers the grain's own reminder, or null when its relay holds it.</summary>
    public static async Task<IGrainReminder?> RegisterOrUpdateAsync(Grain grain, string name, TimeSpan dueTime, TimeSpan period)
    {
        if (FitsOwnKey(grain.GetGrainId(), name))
        {
            return await grain.RegisterOrUpdateReminder(name, dueTime, period);
        }

        await Relay(grain).RegisterAsync(grain.GetGrainId(), name, dueTime, period);
        await ForgetOwnFromBeforeTheRelayAsync(grain, name);
        return null;
    }

    /// <summary>Takes the reminder off if it exists; <paramref name="known"/>: the grain's own reminder, if it has it at hand.</summary>
    public static async Task UnregisterAsync(Grain grain, string name, IGrainReminder? known = null)
    {
        if (!FitsOwnKey(grain.GetGrainId(), name))
        {
            await Relay(grain).UnregisterAsync(name);
            await ForgetOwnFromBeforeTheRelayAsync(grain, name);
        }
        else if ((known ?? await grain.GetReminder(name)) is { } reminder)
        {
            await grain.UnregisterReminder(reminder);
        }
    }

    /// <summary>The reminder's row (with its period) from the reminder table, wherever it is held; null when there is none.</summary>
    public static async Task<ReminderEntry?> ReadAsync(Grain grain, IReminderTable table, string name) =>
        await table.ReadRow(Holder(Factory(grain), grain.GetGrainId(), name), name);

    /// <summary>Whether the reminder exists, wherever it is held.</summary>
    public static async Task<bool> ExistsAsync(Grain grain, string name)
    {
        if (grain.GrainContext.ActivationServices.GetService<IReminderTable>() is { } table)
        {
            return await ReadAsync(grain, table, name) is not null;
        }

        return FitsOwnKey(grain.GetGrainId(), name) && await grain.GetReminder(name) is not null;
    }

    private static async Task ForgetOwnFromBeforeTheRelayAsync(Grain grain, string name)
    {
        if (grain.GetGrainId().ToString().Length + 1 + name.Length > MaxStoredKeyLength)
        {
            return;
        }

        try
        {
            if (await grain.GetReminder(name) is { } own)
            {
                await grain.UnregisterReminder(own);
            }
        }
        catch (Exception)
        {
            // The table refused the key (Azurite's limit is 512), so nothing was ever stored under it.
        }
    }

    private static IReminderRelayGrain Relay(Grain grain) => Factory(grain).GetGrain<IReminderRelayGrain>(RelayKey(grain.GetGrainId()));

    private static IGrainFactory Factory(Grain grain) => grain.GrainContext.ActivationServices.GetRequiredService<IGrainFactory>();
}
