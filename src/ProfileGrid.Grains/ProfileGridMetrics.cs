using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using ProfileGrid.Abstractions.Events;

namespace ProfileGrid.Grains;

/// <summary>
/// ProfileGrid's own instruments (meter <see cref="MeterName"/>), made once per silo through <see cref="IMeterFactory"/>.
/// Every tag value is taken from a fixed set (event type, source, reason code, partition number, model kind), never a
/// tenant or a user, so the series a scraper keeps stay bounded; and every recording passes pre-built tags, so the hot
/// paths allocate nothing for it. docs/observability.md lists the names and units.
/// </summary>
public sealed class ProfileGridMetrics
{
    public const string MeterName = "ProfileGrid";

    /// <summary>The model kinds <see cref="TrainingDuration"/> is tagged with.</summary>
    public static class Models
    {
        public const string Segmentation = "segmentation";
        public const string Recommender = "recommender";
        public const string Reranker = "reranker";
    }

    private static readonly string[] KindNames = Names<EventKind>();
    private static readonly string[] SourceNames = Names<Channel>();

    private readonly Counter<long> _acknowledged;
    private readonly Counter<long> _rejected;
    private readonly Histogram<double> _writeDuration;
    private readonly Histogram<double> _trainingDuration;
    private readonly ConcurrentDictionary<int, PartitionBacklog> _partitions = new();
    private long _unpackedProfiles;

    public ProfileGridMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _acknowledged = meter.CreateCounter<long>(
            "profilegrid.events.acknowledged", "{event}", "Events the gateway acknowledged: durably recorded, by event type and source");
        _rejected = meter.CreateCounter<long>(
            "profilegrid.events.rejected", "{event}", "Events the gateway rejected, by reason code (the request's other events are still accepted)");
        _writeDuration = meter.CreateHistogram(
            "profilegrid.profile.write.duration", "ms", "Time a profile's state write takes, from the start of the storage call to its answer (successful writes)",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000] });
        _trainingDuration = meter.CreateHistogram(
            "profilegrid.model.training.duration", "s", "Time a model's fit takes (off the grain's turn), by model kind",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800] });
        meter.CreateObservableGauge(
            "profilegrid.ingest.unwritten_profiles", () => Backlog(static b => b.ProfilesUnwritten), "{profile}",
            "Profiles holding acknowledged events that are not yet in their written state, per log partition hosted by this silo");
        meter.CreateObservableGauge(
            "profilegrid.ingest.records_awaiting_dispatch", () => Backlog(static b => b.RecordsAwaitingDispatch), "{record}",
            "Log records appended (acknowledged) but not yet handed to their profiles, per log partition hosted by this silo");
        meter.CreateObservableGauge(
            "profilegrid.profiles.unpacked", () => Volatile.Read(ref _unpackedProfiles), "{profile}",
            "Profile activations in this silo holding their state as objects: in use, or idle for less than Residency:PackIdleAfter and one check");
    }

    /// <summary>A profile activation began (true) or stopped (false) holding its state as objects: activated or unpacked; packed or deactivated.</summary>
    public void ProfileUnpackedChanged(bool unpacked) => Interlocked.Add(ref _unpackedProfiles, unpacked ? 1 : -1);

    /// <summary>
    /// Counts the events of an acknowledged request, per event type and source: tallied here first, so that the counter
    /// is touched once per (type, source) pair of the request, not once per event.
    /// </summary>
    public void Acknowledged(IReadOnlyList<(string ProfileKey, EventBatch Batch)> batches)
    {
        if (!_acknowledged.Enabled)
        {
            return;
        }

        Span<int> tally = stackalloc int[KindNames.Length * SourceNames.Length];
        foreach (var (_, batch) in batches)
        {
            foreach (var e in batch.Events)
            {
                tally[(Index(KindNames, (int)e.Kind) * SourceNames.Length) + Index(SourceNames, (int)e.Source)]++;
            }
        }

        for (var i = 0; i < tally.Length; i++)
        {
            if (tally[i] > 0)
            {
                _acknowledged.Add(tally[i], new("event.type", KindNames[i / SourceNames.Length]), new("source", SourceNames[i % SourceNames.Length]));
            }
        }
    }

    /// <summary>One rejected event; <paramref name="reason"/> is a code from a fixed set (see the gateway's rejection reasons).</summary>
    public void Rejected(string reason) => _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>A profile state write that succeeded, timed from <paramref name="startedAt"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public void ProfileWritten(long startedAt) => _writeDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalMilliseconds);

    /// <summary>Runs a model's fit off the grain's turn (on the thread pool) and records how long it took, whether it succeeded or threw.</summary>
    public async Task<T> TrainAsync<T>(string model, Func<T> fit)
    {
        var startedAt = Stopwatch.GetTimestamp();
        try
        {
            return await Task.Run(fit);
        }
        finally
        {
            _trainingDuration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, new KeyValuePair<string, object?>("model", model));
        }
    }

    /// <summary>
    /// The backlog figures of a log partition active in this silo, read by the gauges when they are collected. The
    /// partition sets them as its state changes and disposes of them when it deactivates.
    /// </summary>
    public PartitionBacklog TrackPartition(int partition)
    {
        var backlog = new PartitionBacklog(partition, this);
        _partitions[partition] = backlog;
        return backlog;
    }

    private IEnumerable<Measurement<long>> Backlog(Func<PartitionBacklog, long> figure)
    {
        foreach (var backlog in _partitions.Values)
        {
            yield return new Measurement<long>(figure(backlog), backlog.Tag);
        }
    }

    private static int Index(string[] names, int value) => (uint)value < (uint)names.Length ? value : 0;

    /// <summary>Wire names indexed by the enum's value; values without a member read "unknown".</summary>
    private static string[] Names<TEnum>()
        where TEnum : struct, Enum
    {
        var values = Enum.GetValues<TEnum>();
        var names = Enumerable.Repeat("unknown", values.Max(v => Convert.ToInt32(v)) + 1).ToArray();
        foreach (var value in values)
        {
            names[Convert.ToInt32(value)] = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
        }

        return names;
    }

    /// <summary>A log partition's backlog as last set by the partition grain (plain fields: a gauge may read a figure a step old).</summary>
    public sealed class PartitionBacklog : IDisposable
    {
        private readonly ProfileGridMetrics _owner;
        private long _unwritten;
        private long _awaiting;

        internal PartitionBacklog(int partition, ProfileGridMetrics owner)
        {
            Partition = partition;
            _owner = owner;
            Tag = new KeyValuePair<string, object?>("partition", partition.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        public int Partition { get; }

        internal KeyValuePair<string, object?> Tag { get; }

        public long ProfilesUnwritten => Volatile.Read(ref _unwritten);

        public long RecordsAwaitingDispatch => Volatile.Read(ref _awaiting);

        public void Set(long profilesUnwritten, long recordsAwaitingDispatch)
        {
            Volatile.Write(ref _unwritten, profilesUnwritten);
            Volatile.Write(ref _awaiting, recordsAwaitingDispatch);
        }

        public void Dispose() => ((ICollection<KeyValuePair<int, PartitionBacklog>>)_owner._partitions).Remove(new(Partition, this));
    }
}
