using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Abstractions.Profiles;

/// <summary>Where and how the user shows up: last known device, channel and place, and their mixes.</summary>
/// <remarks>
/// Each "last" value comes from the latest event (by event time) that carried it, and the matching
/// "...At" property records that event time, so an old event arriving late never overwrites a newer value.
/// </remarks>
[GenerateSerializer, Alias("pg.context")]
public sealed class ContextState
{
    [Id(0)] public DeviceType LastDevice { get; set; }

    [Id(1)] public DateTimeOffset? LastDeviceAt { get; set; }

    [Id(2)] public Channel LastChannel { get; set; }

    [Id(3)] public DateTimeOffset? LastChannelAt { get; set; }

    /// <summary>ISO 3166-1 alpha-2 of the last event that carried a country.</summary>
    [Id(4)] public string? LastCountry { get; set; }

    [Id(5)] public DateTimeOffset? LastCountryAt { get; set; }

    /// <summary>BCP 47 locale of the last event that carried one.</summary>
    [Id(6)] public string? LastLocale { get; set; }

    [Id(7)] public DateTimeOffset? LastLocaleAt { get; set; }

    /// <summary>Truncated to a bounded length.</summary>
    [Id(8)] public string? LastUserAgent { get; set; }

    [Id(9)] public DateTimeOffset? LastUserAgentAt { get; set; }

    /// <summary>Events per source channel.</summary>
    [Id(10)] public Dictionary<Channel, long> ChannelMix { get; set; } = [];

    /// <summary>Events per device type; events without a context count as <see cref="DeviceType.Unknown"/>.</summary>
    [Id(11)] public Dictionary<DeviceType, long> DeviceMix { get; set; } = [];

    /// <summary>Events per UTC hour of day (index 0..23).</summary>
    [Id(12)] public long[] HourOfDay { get; set; } = new long[24];

}
