using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// The JSON document view of a profile: camelCase names, enums as snake_case strings, timestamps as ISO-8601
/// UTC ("2026-11-28T17:20:00Z"), money as {amount, currency}, derived fields evaluated as of a given time, unknown
/// fields left out. Built from a <see cref="ProfileView"/>. Map keys are sorted, so the same profile always gives the same text.
/// </summary>
public static class ProfileJson
{
    /// <summary>The serializer options of the document (shareable, thread-safe).</summary>
    public static JsonSerializerOptions SerializerOptions { get; } = CreateOptions(indented: false);

    private static readonly JsonSerializerOptions IndentedOptions = CreateOptions(indented: true);

    /// <summary>The document of <paramref name="view"/> as JSON text.</summary>
    public static string Serialize(ProfileView view, bool indented = false) =>
        JsonSerializer.Serialize(ToDocument(view), indented ? IndentedOptions : SerializerOptions);

    public static byte[] SerializeToUtf8Bytes(ProfileView view) =>
        JsonSerializer.SerializeToUtf8Bytes(ToDocument(view), SerializerOptions);

    /// <summary>The document of <paramref name="profile"/>'s state with derived fields evaluated as of <paramref name="now"/>.</summary>
    public static string Serialize(UserProfile profile, ProfileOptions options, DateTimeOffset now, bool indented = false) =>
        Serialize(ProfileViews.Build(profile, options, now), indented);

    public static byte[] SerializeToUtf8Bytes(UserProfile profile, ProfileOptions options, DateTimeOffset now) =>
        SerializeToUtf8Bytes(ProfileViews.Build(profile, options, now));

    /// <summary>The document of <paramref name="profile"/>'s state with derived fields evaluated as of <paramref name="now"/>.</summary>
    public static ProfileDocument ToDocument(UserProfile profile, ProfileOptions options, DateTimeOffset now) =>
        ToDocument(ProfileViews.Build(profile, options, now));

    /// <summary>The document of <paramref name="view"/>, field for field; derived fields as of its <see cref="ProfileView.AsOf"/>.</summary>
    public static ProfileDocument ToDocument(ProfileView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var demographics = view.Demographics;
        var behavior = view.Behavior;
        var preferences = view.Preferences;
        var context = view.Context;

        return new ProfileDocument
        {
            Tenant = view.Tenant,
            UserId = view.UserId,
            AnonymousIds = view.AnonymousIds,
            CreatedAt = view.CreatedAt,
            UpdatedAt = view.UpdatedAt,
            AsOf = view.AsOf,
            EventsApplied = view.EventsApplied,
            Demographics = new DemographicsDocument
            {
                AgeBand = view.AgeBand,
                BirthYear = demographics.BirthYear,
                Gender = demographics.Gender,
                Country = demographics.Country,
                Language = demographics.Language,
                City = demographics.City,
                Traits = Map(demographics.Traits),
                UpdatedAt = demographics.UpdatedAt,
            },
            Behavior = new BehaviorDocument
            {
                EventCounts = Map(behavior.EventCounts),
                FirstSeen = behavior.FirstSeen,
                LastSeen = behavior.LastSeen,
                Sessions = behavior.Sessions,
                AverageSessionMinutes = behavior.AverageSessionMinutes,
                Orders = behavior.Orders,
                Monetary = behavior.Monetary,
                AverageOrderValue = behavior.AverageOrderValue,
                MonetaryByCurrency = behavior.MonetaryByCurrency,
                FirstPurchaseAt = behavior.FirstPurchaseAt,
                LastPurchaseAt = behavior.LastPurchaseAt,
                RecencyDays = view.RecencyDays,
                Windows = behavior.Windows,
                EngagementVelocity = view.EngagementVelocity,
                CategoryAffinities = [.. view.CategoryAffinities()],
                RecentActions = [.. behavior.RecentActions.Select(a => new RecentActionDocument(a.EventId, a.Type, a.OccurredAt, a.ProductId, a.Category, a.Detail))],
                CartAdds = behavior.CartAdds,
                CartRemoves = behavior.CartRemoves,
                Searches = behavior.Searches,
            },
            Preferences = new PreferencesDocument
            {
                Values = Map(preferences.Values),
                EmailOptIn = preferences.EmailOptIn,
                SmsOptIn = preferences.SmsOptIn,
                PersonalizationOptIn = preferences.PersonalizationOptIn,
                UpdatedAt = preferences.UpdatedAt,
            },
            Feedback = view.Feedback.Impressions == 0 && view.Feedback.Clicks == 0 && view.Feedback.RecentLists.IsEmpty ? null : view.Feedback,
            Context = new ContextDocument
            {
                LastDevice = context.LastDevice,
                LastChannel = context.LastChannel,
                LastCountry = context.LastCountry,
                LastLocale = context.LastLocale,
                LastUserAgent = context.LastUserAgent,
                ChannelMix = Map(context.ChannelMix),
                DeviceMix = Map(context.DeviceMix),
                HourOfDay = context.HourOfDay,
            },
            Completeness = view.Completeness,
            MissingFields = view.MissingFields,
            StalenessDays = view.StalenessDays,
            Dormant = view.Dormant,
        };
    }

    /// <summary>The view's ordered pairs as a map that serializes in the same (ordinal) order.</summary>
    private static SortedDictionary<string, T> Map<T>(ImmutableArray<KeyValuePair<string, T>> pairs)
    {
        var map = new SortedDictionary<string, T>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
        {
            map[key] = value;
        }

        return map;
    }

    private static JsonSerializerOptions CreateOptions(bool indented)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = indented,
            // Unknown is absent, never a sentinel: a null field is left out.
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new UtcTimestampConverter() },
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>Writes timestamps as ISO-8601 in UTC with a "Z" and no trailing zero fractions.</summary>
    private sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
    {
        private const string Format = "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'";

        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal).ToUniversalTime();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture));
    }
}
