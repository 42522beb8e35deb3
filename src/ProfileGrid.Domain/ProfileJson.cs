using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Profiles;

namespace ProfileGrid.Domain;

/// <summary>
/// The JSON document view of a profile: camelCase names, enums as snake_case strings, timestamps as ISO-8601
/// UTC ("2026-11-28T17:20:00Z"), money as {amount, currency}, derived fields evaluated as of a given time.
/// Map keys are sorted, so the same profile always gives the same text.
/// </summary>
public static class ProfileJson
{
    /// <summary>The serializer options of the document (shareable, thread-safe).</summary>
    public static JsonSerializerOptions SerializerOptions { get; } = CreateOptions(indented: false);

    private static readonly JsonSerializerOptions IndentedOptions = CreateOptions(indented: true);

    public static string Serialize(UserProfile profile, ProfileOptions options, DateTimeOffset now, bool indented = false) =>
        JsonSerializer.Serialize(ToDocument(profile, options, now), indented ? IndentedOptions : SerializerOptions);

    public static byte[] SerializeToUtf8Bytes(UserProfile profile, ProfileOptions options, DateTimeOffset now) =>
        JsonSerializer.SerializeToUtf8Bytes(ToDocument(profile, options, now), SerializerOptions);

    /// <summary>The document of <paramref name="profile"/> with derived fields evaluated as of <paramref name="now"/>.</summary>
    public static ProfileDocument ToDocument(UserProfile profile, ProfileOptions options, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(options);
        var demographics = profile.Demographics;
        var behavior = profile.Behavior;
        var preferences = profile.Preferences;
        var context = profile.Context;

        return new ProfileDocument
        {
            Tenant = profile.Tenant,
            UserId = profile.UserId,
            AnonymousIds = [.. profile.AnonymousIds],
            CreatedAt = profile.CreatedAt == default ? null : profile.CreatedAt,
            UpdatedAt = profile.UpdatedAt == default ? null : profile.UpdatedAt,
            AsOf = now,
            EventsApplied = profile.EventsApplied,
            Demographics = new DemographicsDocument
            {
                AgeBand = ProfileMetrics.AgeBand(demographics.BirthYear, now),
                BirthYear = demographics.BirthYear,
                Gender = demographics.Gender,
                Country = demographics.Country,
                Language = demographics.Language,
                City = demographics.City,
                Traits = Sorted(demographics.Traits),
                UpdatedAt = demographics.UpdatedAt,
            },
            Behavior = new BehaviorDocument
            {
                EventCounts = CountsByName(behavior.EventCounts),
                FirstSeen = behavior.FirstSeen,
                LastSeen = behavior.LastSeen,
                Sessions = behavior.Sessions,
                AverageSessionMinutes = Math.Round(ProfileMetrics.AverageSessionMinutes(profile), 4),
                Orders = behavior.Orders,
                Monetary = ProfileMetrics.Monetary(profile, options),
                AverageOrderValue = ProfileMetrics.AverageOrderValue(profile, options),
                MonetaryByCurrency = behavior.MonetaryByCurrency
                    .OrderBy(pair => pair.Key, StringComparer.Ordinal)
                    .Select(pair => new Money(pair.Value.Amount, pair.Key))
                    .ToArray(),
                FirstPurchaseAt = behavior.FirstPurchaseAt,
                LastPurchaseAt = behavior.LastPurchaseAt,
                RecencyDays = Math.Round(ProfileMetrics.RecencyDays(profile, now), 4),
                Windows = ProfileMetrics.Windows(profile, options, now),
                EngagementVelocity = Math.Round(ProfileMetrics.EngagementVelocity(profile, options, now), 4),
                CategoryAffinities = ProfileMetrics.CategoryAffinities(profile, options, now)
                    .Select(affinity => affinity with { Score = Math.Round(affinity.Score, 4) })
                    .ToArray(),
                RecentActions = behavior.RecentActions
                    .Select(a => new RecentActionDocument(a.EventId, a.Kind, a.OccurredAt, a.ProductId, a.Category, a.Detail))
                    .ToArray(),
                CartAdds = behavior.CartAdds,
                CartRemoves = behavior.CartRemoves,
                Searches = behavior.Searches,
            },
            Preferences = new PreferencesDocument
            {
                Values = Sorted(preferences.Values),
                EmailOptIn = preferences.EmailOptIn,
                SmsOptIn = preferences.SmsOptIn,
                PersonalizationOptIn = preferences.PersonalizationOptIn,
                UpdatedAt = preferences.UpdatedAt,
            },
            Context = new ContextDocument
            {
                LastDevice = context.LastDevice,
                LastChannel = context.LastChannel,
                LastCountry = context.LastCountry,
                LastLocale = context.LastLocale,
                LastUserAgent = context.LastUserAgent,
                ChannelMix = CountsByName(context.ChannelMix),
                DeviceMix = CountsByName(context.DeviceMix),
                HourOfDay = [.. context.HourOfDay],
            },
            Completeness = Math.Round(ProfileMetrics.Completeness(profile), 4),
            MissingFields = ProfileMetrics.MissingFields(profile),
            StalenessDays = Math.Round(ProfileMetrics.StalenessDays(profile, now), 4),
            Dormant = ProfileMetrics.IsDormant(profile, options, now),
        };
    }

    private static SortedDictionary<string, string> Sorted(Dictionary<string, string> values) =>
        new(values, StringComparer.Ordinal);

    /// <summary>Counts keyed by snake_case name with every enum value present, so the columns are stable.</summary>
    private static SortedDictionary<string, long> CountsByName<TEnum>(Dictionary<TEnum, long> counts) where TEnum : struct, Enum
    {
        var byName = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var value in Enum.GetValues<TEnum>())
        {
            byName[WireNames.Of(value)] = 0;
        }

        foreach (var (value, count) in counts)
        {
            var name = WireNames.Of(value);
            byName[name] = byName.GetValueOrDefault(name) + count;
        }

        return byName;
    }

    private static JsonSerializerOptions CreateOptions(bool indented)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = indented,
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
