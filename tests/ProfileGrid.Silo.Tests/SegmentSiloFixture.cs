namespace ProfileGrid.Silo.Tests;

/// <summary>
/// One ephemeral silo process shared by the segment API tests (each test uses its own tenant), with short flush
/// intervals so that a profile's features reach its shard, and a shard's sizes the overview, within a second.
/// </summary>
public sealed class SegmentSiloFixture : IAsyncLifetime
{
    /// <summary>Short write-behind intervals, and several shards so that member pages cross shard boundaries.</summary>
    public static readonly string[] Settings =
    [
        "--ProfileGrid:Ingest:FlushInterval=00:00:00.200",
        "--ProfileGrid:Ingest:CheckpointInterval=00:00:00.200",
        "--ProfileGrid:Segmentation:ShardFlushInterval=00:00:00.200",
        "--ProfileGrid:Segmentation:SizesCacheDuration=00:00:00.200",
        "--ProfileGrid:Segmentation:Shards=4",
    ];

    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await SiloProcess.StartEphemeralAsync(Settings);

    public async Task DisposeAsync() => await Silo.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SegmentSiloCollection : ICollectionFixture<SegmentSiloFixture>
{
    public const string Name = "segment-silo";
}
