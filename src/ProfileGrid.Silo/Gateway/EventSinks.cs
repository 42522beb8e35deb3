using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Events;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Silo.Gateway;

/// <summary>Where the gateway records a request's accepted events; it returns once they are durable.</summary>
public interface IEventSink
{
    Task RecordAsync(IReadOnlyList<(string ProfileKey, EventBatch Batch)> batches, CancellationToken cancellationToken);

    /// <summary>
    /// Waits (briefly) until the events of <paramref name="profileKey"/> acknowledged so far have reached its profile, so
    /// that a direct write made now comes after them. False when they could not be waited for.
    /// </summary>
    Task<bool> AwaitAcknowledgedAsync(string profileKey);

    /// <summary>The largest event (its <see cref="SizeOf"/>) the sink can carry; null when the request's limit is the only one.</summary>
    int? MaxEventBytes => null;

    /// <summary>The bytes <paramref name="userEvent"/> takes in what the sink carries; by default its size as sent.</summary>
    int SizeOf(UserEvent userEvent, int sentBytes) => sentBytes;
}

/// <summary>
/// The log path: one append per log partition touched by the request (and group commit across requests). The events
/// keep the profile key the gateway grouped them by, so nothing downstream groups or derives keys again.
/// </summary>
public sealed class LogEventSink(IClusterClient cluster, IOptions<IngestOptions> options) : IEventSink
{
    // Batches arrive below GatewayOptions.MaxStreamItemBytes (24 KiB) each; 32 of them stay far below one log record.
    private const int MaxBatchesPerAppend = 32;

    // References made once: GetGrain looks the grain interface up by reflection on every call (Orleans 10.4).
    private readonly IEventLogPartitionGrain[] _partitions =
        [.. Enumerable.Range(0, options.Value.Partitions).Select(p => cluster.GetGrain<IEventLogPartitionGrain>(p))];

    public Task RecordAsync(IReadOnlyList<(string ProfileKey, EventBatch Batch)> batches, CancellationToken cancellationToken)
    {
        var byPartition = new Dictionary<int, List<ProfileBatch>>();
        foreach (var (key, batch) in batches)
        {
            var partition = ProfileBuckets.LogPartition(key, _partitions.Length);
            if (!byPartition.TryGetValue(partition, out var list))
            {
                byPartition[partition] = list = [];
            }

            list.Add(new ProfileBatch(key, batch));
        }

        var appends = new List<Task>(byPartition.Count);
        foreach (var (partition, list) in byPartition)
        {
            for (var start = 0; start < list.Count; start += MaxBatchesPerAppend)
            {
                appends.Add(_partitions[partition].AppendAsync(list.GetRange(start, Math.Min(MaxBatchesPerAppend, list.Count - start)).ToArray()));
            }
        }

        return Task.WhenAll(appends);
    }

    /// <summary>
    /// How long a direct write waits for its user's acknowledged events: their dispatch normally takes milliseconds;
    /// behind a backlog the write goes ahead after this, ordered by time alone.
    /// </summary>
    public static readonly TimeSpan DirectWriteDeliveryWait = TimeSpan.FromSeconds(2);

    public Task<bool> AwaitAcknowledgedAsync(string profileKey) =>
        _partitions[ProfileBuckets.LogPartition(profileKey, _partitions.Length)].AwaitDeliveredAsync(profileKey, DirectWriteDeliveryWait);
}

/// <summary>The stream path: one stream item (one queue message) per user batch.</summary>
public sealed class StreamEventSink(IClusterClient cluster, Orleans.Serialization.Serializer? queueEncoding = null, int? maxEventBytes = null) : IEventSink
{
    private const int PublishParallelism = 32;

    /// <summary>
    /// The largest event (in Orleans' encoding) an Azure Queue message carries: 64 KiB of base64 hold 48 KiB, less the
    /// stream's envelope. A larger event failed the whole request after part of it was queued (probe70); it is refused
    /// alone at the edge instead.
    /// </summary>
    public const int AzureQueueMaxEventBytes = 40 * 1024;

    public int? MaxEventBytes => maxEventBytes;

    // A queue message carries the events in Orleans' encoding, not as they were sent: an order of 200 short lines takes
    // more than twice its protobuf size there (decimals, field headers), so batches measured as sent overflowed the message.
    public int SizeOf(UserEvent userEvent, int sentBytes) => queueEncoding is null ? sentBytes : queueEncoding.SerializeToArray(userEvent).Length;

    public async Task RecordAsync(IReadOnlyList<(string ProfileKey, EventBatch Batch)> batches, CancellationToken cancellationToken)
    {
        var provider = cluster.GetStreamProvider(StreamNames.EventsProvider);
        await Parallel.ForEachAsync(
            batches,
            new ParallelOptions { MaxDegreeOfParallelism = PublishParallelism, CancellationToken = cancellationToken },
            async (item, _) => await provider
                .GetStream<EventBatch>(StreamId.Create(StreamNames.UserEventsNamespace, item.ProfileKey))
                .OnNextAsync(item.Batch));
    }

    // A stream delivers in its own time and order; nothing to wait on (docs/architecture.md: the stream path).
    public Task<bool> AwaitAcknowledgedAsync(string profileKey) => Task.FromResult(false);
}
