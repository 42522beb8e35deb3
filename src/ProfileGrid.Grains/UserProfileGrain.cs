using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Orleans.Streams.Core;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains;

/// <summary>
/// One user's profile. Each delivered <see cref="EventBatch"/> is applied and then persisted once, before the
/// delivery completes: the stream provider removes the durable message only after that, and a redelivered batch
/// is recognised by its event ids, so an acknowledged event is applied exactly once.
/// </summary>
[ImplicitStreamSubscription(StreamNames.UserEventsNamespace)]
public sealed partial class UserProfileGrain(
    [PersistentState("profile", ProfileStores.Profiles)] IPersistentState<UserProfile> state,
    IOptions<ProfileOptions> options,
    TimeProvider clock,
    ILogger<UserProfileGrain> logger)
    : Grain, IUserProfileGrain, IStreamSubscriptionObserver, IAsyncObserver<EventBatch>
{
    private readonly ProfileOptions _options = options.Value;

    async Task IStreamSubscriptionObserver.OnSubscribed(IStreamSubscriptionHandleFactory handleFactory)
    {
        await handleFactory.Create<EventBatch>().ResumeAsync(this);
    }

    async Task IAsyncObserver<EventBatch>.OnNextAsync(EventBatch batch, StreamSequenceToken? token)
    {
        var profile = EnsureIdentity();
        var result = ProfileUpdater.Apply(profile, batch.Events, _options, clock.GetUtcNow());
        if (result.Applied > 0)
        {
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

    Task<UserProfile?> IUserProfileGrain.GetSnapshotAsync() =>
        Task.FromResult(state.RecordExists || state.State.EventsApplied > 0 ? state.State.DeepCopy() : null);

    async Task<UserProfile> IUserProfileGrain.UpsertAttributesAsync(DemographicsUpdate update)
    {
        ProfileUpdater.ApplyAttributes(EnsureIdentity(), update, clock.GetUtcNow(), _options);
        await PersistAsync();
        return state.State.DeepCopy();
    }

    async Task<UserProfile> IUserProfileGrain.SetPreferencesAsync(PreferenceUpdate update)
    {
        ProfileUpdater.ApplyPreferences(EnsureIdentity(), update, clock.GetUtcNow(), _options);
        await PersistAsync();
        return state.State.DeepCopy();
    }

    private UserProfile EnsureIdentity()
    {
        var profile = state.State;
        if (string.IsNullOrEmpty(profile.Tenant))
        {
            var key = ProfileKey.Parse(this.GetPrimaryKeyString());
            profile.Tenant = key.Tenant;
            profile.UserId = key.UserId;
            profile.CreatedAt = clock.GetUtcNow();
        }

        return profile;
    }

    private async Task PersistAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // The in-memory profile is now ahead of storage and its dedupe window already holds the failed
            // events; reload the durable state so a redelivery applies them again instead of skipping them.
            LogPersistFailed(this.GetPrimaryKeyString(), ex);
            await state.ReadStateAsync();
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Profile {ProfileKey}: applied {Applied} events, {Duplicates} duplicates ignored")]
    private partial void LogBatchApplied(string profileKey, int applied, int duplicates);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Profile {ProfileKey}: stream error")]
    private partial void LogStreamError(string profileKey, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Profile {ProfileKey}: writing state failed; reloaded the last durable state")]
    private partial void LogPersistFailed(string profileKey, Exception exception);
}
