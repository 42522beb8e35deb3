using System.Globalization;
using System.Text.Json;
using Google.Protobuf.Collections;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Cli.Export;

/// <summary>The type of an exported column: how CSV formats it and which Parquet type holds it.</summary>
internal enum ColumnType
{
    Text,
    Integer,
    Real,
    Decimal,
    Boolean,
}

/// <summary>One column of a flat export (CSV, Parquet): its name, type, meaning and value; null is an absent value.</summary>
internal sealed record ExportColumn<TRow>(string Name, ColumnType Type, string Description, Func<TRow, object?> Value);

/// <summary>
/// The flat shape of a profile for CSV and Parquet (docs/export.md lists the same columns): one row per profile, the
/// layers' scalar fields as columns, maps and lists as JSON text. A value the profile does not know is empty (CSV) or
/// null (Parquet), never a stand-in. JSONL carries the whole profile instead.
/// </summary>
internal static class ProfileColumns
{
    /// <summary>The windows flattened into columns of their own; every window is in the <c>windows</c> column too.</summary>
    private static readonly string[] FlatWindows = ["30d", "90d", "365d"];

    public static IReadOnlyList<ExportColumn<Profile>> All { get; } = Build();

    private static List<ExportColumn<Profile>> Build()
    {
        List<ExportColumn<Profile>> columns =
        [
            new("tenant", ColumnType.Text, "The tenant.", p => p.Tenant),
            new("user_id", ColumnType.Text, "The user's id, as sent.", p => p.UserId),
            new("anonymous_ids", ColumnType.Text, "JSON array of the anonymous ids the profile's own events carried (its logins).", p => Json(p.AnonymousIds)),
            new("created_at", ColumnType.Text, "When the profile was created (ISO-8601 UTC).", p => p.HasCreatedAt ? p.CreatedAt : null),
            new("updated_at", ColumnType.Text, "When the profile last changed.", p => p.HasUpdatedAt ? p.UpdatedAt : null),
            new("as_of", ColumnType.Text, "The instant the export evaluated the profile at (one for the whole file).", p => p.AsOf),
            new("events_applied", ColumnType.Integer, "Events applied to the profile.", p => p.EventsApplied),
            new("completeness", ColumnType.Real, "Share of the profile's fields that are known (0..1).", p => p.Completeness),
            new("staleness_days", ColumnType.Real, "Days from the last event to as_of.", p => p.HasStalenessDays ? p.StalenessDays : null),
            new("dormant", ColumnType.Boolean, "No event for longer than the dormancy threshold.", p => p.Dormant),

            new("age_band", ColumnType.Text, "Demographics: age band at as_of, e.g. 25_34.", p => p.Demographics is { HasAgeBand: true } d ? d.AgeBand : null),
            new("gender", ColumnType.Text, "Demographics: gender.", p => p.Demographics is { HasGender: true } d ? d.Gender : null),
            new("country", ColumnType.Text, "Demographics: country (ISO 3166-1 alpha-2).", p => p.Demographics is { HasCountry: true } d ? d.Country : null),
            new("language", ColumnType.Text, "Demographics: language (ISO 639-1).", p => p.Demographics is { HasLanguage: true } d ? d.Language : null),
            new("city", ColumnType.Text, "Demographics: city.", p => p.Demographics is { HasCity: true } d ? d.City : null),
            new("traits", ColumnType.Text, "Demographics: JSON object of the free-form traits.", p => Json(p.Demographics?.Traits)),

            new("first_seen", ColumnType.Text, "Behavior: time of the first event.", p => p.Behavior is { HasFirstSeen: true } b ? b.FirstSeen : null),
            new("last_seen", ColumnType.Text, "Behavior: time of the last event.", p => p.Behavior is { HasLastSeen: true } b ? b.LastSeen : null),
            new("sessions", ColumnType.Integer, "Behavior: sessions.", p => p.Behavior?.Sessions ?? 0),
            new("average_session_minutes", ColumnType.Real, "Behavior: mean session length in minutes.", p => p.Behavior is { HasAverageSessionMinutes: true } b ? b.AverageSessionMinutes : null),
            new("orders", ColumnType.Integer, "Behavior: orders, all time.", p => p.Behavior?.Orders ?? 0),
            new("monetary", ColumnType.Decimal, "Behavior: revenue, all time, in monetary_currency (refunds deducted).", p => Amount(p.Behavior?.Monetary)),
            new("monetary_currency", ColumnType.Text, "Behavior: the reporting currency of monetary, average_order_value and the windows' revenue.", p => p.Behavior?.Monetary?.Currency),
            new("monetary_by_currency", ColumnType.Text, "Behavior: JSON object of revenue per currency paid, e.g. {\"EUR\":\"89.90\"}.", p => Json(p.Behavior?.MonetaryByCurrency)),
            new("average_order_value", ColumnType.Decimal, "Behavior: monetary / orders.", p => Amount(p.Behavior?.AverageOrderValue)),
            new("first_purchase_at", ColumnType.Text, "Behavior: time of the first purchase.", p => p.Behavior is { HasFirstPurchaseAt: true } b ? b.FirstPurchaseAt : null),
            new("last_purchase_at", ColumnType.Text, "Behavior: time of the last purchase.", p => p.Behavior is { HasLastPurchaseAt: true } b ? b.LastPurchaseAt : null),
            new("recency_days", ColumnType.Real, "Behavior: days from the last purchase to as_of.", p => p.Behavior is { HasRecencyDays: true } b ? b.RecencyDays : null),
            new("engagement_velocity", ColumnType.Real, "Behavior: decayed events per day.", p => p.Behavior is { HasEngagementVelocity: true } behavior ? behavior.EngagementVelocity : null),
            new("cart_adds", ColumnType.Integer, "Behavior: cart adds.", p => p.Behavior?.CartAdds ?? 0),
            new("cart_removes", ColumnType.Integer, "Behavior: cart removals.", p => p.Behavior?.CartRemoves ?? 0),
            new("searches", ColumnType.Integer, "Behavior: searches.", p => p.Behavior?.Searches ?? 0),
            new("event_counts", ColumnType.Text, "Behavior: JSON object of events applied per type.", p => Json(p.Behavior?.EventCounts)),
        ];

        foreach (var window in FlatWindows)
        {
            columns.Add(new($"orders_{window}", ColumnType.Integer, $"Behavior: orders in the {window} window up to as_of.", p => Window(p, window)?.Orders));
            columns.Add(new($"revenue_{window}", ColumnType.Decimal, $"Behavior: revenue in the {window} window, in monetary_currency.", p => Amount(Window(p, window)?.Revenue)));
            columns.Add(new($"events_{window}", ColumnType.Integer, $"Behavior: events in the {window} window.", p => Window(p, window)?.Events));
            columns.Add(new($"sessions_{window}", ColumnType.Integer, $"Behavior: sessions in the {window} window.", p => Window(p, window)?.Sessions));
            columns.Add(new($"partial_{window}", ColumnType.Boolean, $"Behavior: true when the {window} window reaches back before the daily activity the profile keeps and misses days (an early as_of).", p => Window(p, window)?.Partial));
        }

        columns.AddRange(
        [
            new("windows", ColumnType.Text, "Behavior: JSON array of every window the grid reports (window, orders, revenue, events, sessions, partial).", p => WindowsJson(p.Behavior?.Windows)),
            new("top_category", ColumnType.Text, "Behavior: the category of highest affinity.", p => p.Behavior?.CategoryAffinities.MaxBy(a => a.Score)?.Category),
            new("category_affinities", ColumnType.Text, "Behavior: JSON object of affinity per category.", p => Json(p.Behavior?.CategoryAffinities)),

            new("email_opt_in", ColumnType.Boolean, "Preferences: consent to e-mail.", p => p.Preferences is { HasEmailOptIn: true } c ? c.EmailOptIn : null),
            new("sms_opt_in", ColumnType.Boolean, "Preferences: consent to SMS.", p => p.Preferences is { HasSmsOptIn: true } c ? c.SmsOptIn : null),
            new("personalization_opt_in", ColumnType.Boolean, "Preferences: consent to personalization.", p => p.Preferences is { HasPersonalizationOptIn: true } c ? c.PersonalizationOptIn : null),
            new("preferences", ColumnType.Text, "Preferences: JSON object of the explicit preferences.", p => Json(p.Preferences?.Values)),

            new("last_device", ColumnType.Text, "Context: device of the last event.", p => p.Context is { HasLastDevice: true } c ? c.LastDevice : null),
            new("last_channel", ColumnType.Text, "Context: channel of the last event.", p => p.Context is { HasLastChannel: true } c ? c.LastChannel : null),
            new("last_country", ColumnType.Text, "Context: country of the last event.", p => p.Context is { HasLastCountry: true } c ? c.LastCountry : null),
            new("last_locale", ColumnType.Text, "Context: locale of the last event.", p => p.Context is { HasLastLocale: true } c ? c.LastLocale : null),

            new("impressions", ColumnType.Integer, "Feedback: recommendation lists shown.", p => p.Feedback?.Impressions ?? 0),
            new("clicks", ColumnType.Integer, "Feedback: recommended items clicked.", p => p.Feedback?.Clicks ?? 0),
            new("click_through_rate", ColumnType.Real, "Feedback: clicks / items shown.", p => p.Feedback is { HasClickThroughRate: true } f ? f.ClickThroughRate : null),

            new("segment_id", ColumnType.Integer, "The user's segment under the published model; empty before the first segmentation.", p => p.Segment is { } s ? s.SegmentId : null),
            new("segment_label", ColumnType.Text, "The segment's label.", p => p.Segment?.Label),
            new("segment_model_version", ColumnType.Integer, "The version of the segmentation model.", p => p.Segment is { } s ? s.ModelVersion : null),
            new("rfm_cell", ColumnType.Text, "The user's RFM cell, e.g. champions.", p => p.Segment?.Rfm is { Cell.Length: > 0 } r ? r.Cell : null),
        ]);
        return columns;
    }

    // Non-Latin text stays readable in the file; the JSON is still valid (quotes and controls are escaped).
    private static readonly JsonSerializerOptions JsonText = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static RfmWindow? Window(Profile profile, string window) => profile.Behavior?.Windows.FirstOrDefault(w => w.Window == window);

    private static decimal? Amount(Money? money) =>
        money is { Amount.Length: > 0 } ? decimal.Parse(money.Amount, NumberStyles.Number, CultureInfo.InvariantCulture) : null;

    private static string Json(RepeatedField<string> values) => JsonSerializer.Serialize(values, JsonText);

    private static string Json(MapField<string, string>? values) =>
        JsonSerializer.Serialize(new SortedDictionary<string, string>(values ?? new MapField<string, string>(), StringComparer.Ordinal), JsonText);

    private static string Json(MapField<string, long>? values) =>
        JsonSerializer.Serialize(new SortedDictionary<string, long>(values ?? new MapField<string, long>(), StringComparer.Ordinal), JsonText);

    private static string Json(RepeatedField<Money>? values) =>
        JsonSerializer.Serialize((values ?? []).ToDictionary(m => m.Currency, m => m.Amount, StringComparer.Ordinal), JsonText);

    private static string Json(RepeatedField<CategoryAffinity>? values) =>
        JsonSerializer.Serialize((values ?? []).ToDictionary(a => a.Category, a => a.Score, StringComparer.Ordinal), JsonText);

    private static string WindowsJson(RepeatedField<RfmWindow>? windows) =>
        JsonSerializer.Serialize((windows ?? []).Select(w => new { window = w.Window, orders = w.Orders, revenue = w.Revenue?.Amount, events = w.Events, sessions = w.Sessions, partial = w.Partial }), JsonText);
}

/// <summary>One user's segment assignment, a row of <c>export segments</c>.</summary>
internal sealed record SegmentAssignment(string Tenant, string UserId, SegmentMembership? Segment);

/// <summary>The columns of <c>export segments</c>: one row per user with features, assigned or not.</summary>
internal static class AssignmentColumns
{
    public static IReadOnlyList<ExportColumn<SegmentAssignment>> All { get; } =
    [
        new("tenant", ColumnType.Text, "The tenant.", a => a.Tenant),
        new("user_id", ColumnType.Text, "The user's id.", a => a.UserId),
        new("segment_id", ColumnType.Integer, "The segment the user is in now; empty when not assigned (no model yet).", a => a.Segment is { } s ? s.SegmentId : null),
        new("segment_label", ColumnType.Text, "The segment's label.", a => a.Segment?.Label),
        new("model_version", ColumnType.Integer, "The version of the model the assignment comes from.", a => a.Segment is { } s ? s.ModelVersion : null),
        new("since", ColumnType.Text, "Since when the user has been in the segment.", a => a.Segment is { Since.Length: > 0 } s ? s.Since : null),
        new("rfm_code", ColumnType.Text, "The RFM scores as a code, e.g. 545.", a => a.Segment?.Rfm is { Code.Length: > 0 } r ? r.Code : null),
        new("rfm_cell", ColumnType.Text, "The RFM cell, e.g. champions.", a => a.Segment?.Rfm is { Cell.Length: > 0 } r ? r.Cell : null),
    ];
}

/// <summary>The columns of the segments file written beside <c>export segments</c>: the published model's segments.</summary>
internal static class SegmentColumns
{
    public static IReadOnlyList<ExportColumn<(long ModelVersion, Segment Segment)>> All { get; } =
    [
        new("model_version", ColumnType.Integer, "The version of the published model.", s => s.ModelVersion),
        new("segment_id", ColumnType.Integer, "The segment's id (segment_id in the assignments).", s => s.Segment.Id),
        new("label", ColumnType.Text, "The segment's label.", s => s.Segment.Label),
        new("size", ColumnType.Integer, "Users in the segment now.", s => s.Segment.Size),
        new("share", ColumnType.Real, "size / users assigned.", s => s.Segment.Share),
        new("rule", ColumnType.Text, "The naming rule the segment satisfies.", s => s.Segment.Rule),
        new("description", ColumnType.Text, "One line in business words.", s => s.Segment.Description),
    ];
}
