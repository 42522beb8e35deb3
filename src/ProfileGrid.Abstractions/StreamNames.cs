namespace ProfileGrid.Abstractions;

/// <summary>Names shared by producers and consumers of Orleans streams and storage.</summary>
public static class StreamNames
{
    /// <summary>The stream provider that carries behavioral events to profile grains.</summary>
    public const string EventsProvider = "events";

    /// <summary>Namespace of the per-user event streams; the stream key is the <see cref="ProfileKey"/>.</summary>
    public const string UserEventsNamespace = "user-events";

    /// <summary>The stream provider that carries segment membership changes (in-cluster notifications).</summary>
    public const string SegmentsProvider = "segments";

    /// <summary>Namespace of the per-tenant membership-change streams; the stream key is the tenant.</summary>
    public const string SegmentChangesNamespace = "segment-changes";
}

public static class ProfileStores
{
    /// <summary>Grain storage holding user profiles.</summary>
    public const string Profiles = "profiles";

    /// <summary>Grain storage Orleans streams need for subscriptions.</summary>
    public const string PubSub = "PubSubStore";

    /// <summary>Grain storage holding feature shards and segmentation models.</summary>
    public const string Segments = "segments";

    /// <summary>Grain storage holding API keys (their hashes, never their secrets).</summary>
    public const string Keys = "keys";
}
