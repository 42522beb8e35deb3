using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Profiles;

/// <summary>Who the user is, from identify events and CRM upserts.</summary>
[GenerateSerializer, Alias("pg.demographics")]
public sealed class DemographicsState
{
    [Id(0)] public int? BirthYear { get; set; }

    [Id(1)] public Gender Gender { get; set; }

    /// <summary>ISO 3166-1 alpha-2, upper case.</summary>
    [Id(2)] public string? Country { get; set; }

    /// <summary>ISO 639-1, lower case.</summary>
    [Id(3)] public string? Language { get; set; }

    [Id(4)] public string? City { get; set; }

    /// <summary>Free-form CRM attributes; bounded.</summary>
    [Id(5)] public Dictionary<string, string> Traits { get; set; } = [];

    /// <summary>When any field of this layer last changed (event time of the identify, or call time of an upsert).</summary>
    [Id(6)] public DateTimeOffset? UpdatedAt { get; set; }

    /// <summary>
    /// When each field's current value was observed ("birthYear", "gender", "country", "language", "city",
    /// "traits.{key}"). A field only takes a value observed at least as late, so identify events that arrive
    /// out of order still leave the newest value.
    /// </summary>
    [Id(7)] public Dictionary<string, DateTimeOffset> FieldUpdatedAt { get; set; } = [];

}
