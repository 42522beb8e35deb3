namespace ProfileGrid.Abstractions.Profiles;

/// <summary>What the user told us explicitly: preference values and consent flags (null = never answered).</summary>
[GenerateSerializer, Alias("pg.preferences")]
public sealed class PreferencesState
{
    /// <summary>Explicit preferences by key; bounded.</summary>
    [Id(0)] public Dictionary<string, string> Values { get; set; } = [];

    [Id(1)] public bool? EmailOptIn { get; set; }

    [Id(2)] public bool? SmsOptIn { get; set; }

    [Id(3)] public bool? PersonalizationOptIn { get; set; }

    /// <summary>When any preference last changed (event time, or call time of a preference-centre write).</summary>
    [Id(4)] public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>
    /// When each field's current value was observed ("emailOptIn", "smsOptIn", "personalizationOptIn",
    /// "values.{key}"), so that out-of-order preference events still leave the newest answer.
    /// </summary>
    [Id(5)] public Dictionary<string, DateTimeOffset> FieldUpdatedAt { get; set; } = [];

}
