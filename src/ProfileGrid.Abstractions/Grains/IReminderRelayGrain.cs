namespace ProfileGrid.Abstractions.Grains;

/// <summary>
/// Holds the reminders of a grain whose id is too long for the reminder table's key (Azure Table: 512 characters on
/// Azurite; a tenant or user id of 256 characters outside ASCII is about 1,500 once percent-encoded), under a short key
/// of its own, and passes each tick to that grain's <see cref="IRemindable.ReceiveReminder"/>. Keyed by
/// <c>GrainReminders.RelayKey</c> of the grain's id.
/// </summary>
public interface IReminderRelayGrain : IGrainWithStringKey
{
    /// <summary>Registers (or updates) reminder <paramref name="name"/> on behalf of <paramref name="target"/>.</summary>
    Task RegisterAsync(GrainId target, string name, TimeSpan dueTime, TimeSpan period);

    /// <summary>Takes reminder <paramref name="name"/> off, if it is registered.</summary>
    Task UnregisterAsync(string name);
}
