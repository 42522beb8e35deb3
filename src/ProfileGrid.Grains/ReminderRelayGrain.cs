using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;

namespace ProfileGrid.Grains;

[GenerateSerializer]
public sealed class ReminderRelayState
{
    /// <summary>The grain whose reminders this relay holds.</summary>
    [Id(0)] public GrainId? Target { get; set; }
}

/// <summary>
/// See <see cref="IReminderRelayGrain"/> and <see cref="GrainReminders"/>. Reentrant: the grain a tick is passed to takes
/// its reminder off (or registers it again) while the tick is still being passed.
/// </summary>
[Reentrant]
public sealed partial class ReminderRelayGrain(
    [PersistentState("reminder-relay", ProfileStores.Segments)] IPersistentState<ReminderRelayState> state,
    ILogger<ReminderRelayGrain> logger) : Grain, IReminderRelayGrain, IRemindable
{
    public async Task RegisterAsync(GrainId target, string name, TimeSpan dueTime, TimeSpan period)
    {
        if (state.State.Target != target)
        {
            if (state.State.Target is { } other)
            {
                // Two grain ids with one hash prefix (128 bits): never seen, and never forwarded to the wrong grain.
                LogCollision(other.ToString(), target.ToString());
                throw new InvalidOperationException($"Reminder relay {this.GetPrimaryKeyString()} holds the reminders of another grain.");
            }

            state.State.Target = target;
            await state.WriteStateAsync();
        }

        await this.RegisterOrUpdateReminder(name, dueTime, period);
    }

    public async Task UnregisterAsync(string name)
    {
        if (await this.GetReminder(name) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }

        if (state.State.Target is not null && (await this.GetReminders()).Count == 0)
        {
            // Nothing left to relay: the target's id (a user's identifier, say) is not kept beyond its reminders.
            await state.ClearStateAsync();
            state.State = new ReminderRelayState();
        }
    }

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (state.State.Target is not { } target)
        {
            await UnregisterAsync(reminderName); // nobody to pass it to
            return;
        }

        await GrainFactory.GetGrain<IRemindable>(target).ReceiveReminder(reminderName, status);
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error, Message = "Reminder relay: grain {Held} and grain {Asking} share a relay key; the second's reminder is refused")]
    private partial void LogCollision(string held, string asking);
}
