namespace ProfileGrid.Silo.Hosting.Operations;

/// <summary>How the OTLP exporter talks to its collector.</summary>
public enum OtlpProtocol
{
    /// <summary>OTLP over gRPC (a collector's port 4317).</summary>
    Grpc,

    /// <summary>OTLP over HTTP with protobuf bodies (a collector's port 4318; /v1/traces and /v1/metrics are appended).</summary>
    HttpProtobuf,
}

/// <summary>Metrics and traces (configuration section "ProfileGrid:Telemetry"); docs/observability.md.</summary>
public sealed class TelemetrySettings
{
    public const string Section = "ProfileGrid:Telemetry";

    /// <summary>
    /// Where to send metrics and traces over OTLP, e.g. http://otel-collector:4317. Empty: the standard
    /// OTEL_EXPORTER_OTLP_ENDPOINT environment variable decides, and without it nothing is exported over OTLP.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The protocol of <see cref="OtlpEndpoint"/>; ignored when the OTEL_* variables configure the exporter.</summary>
    public OtlpProtocol OtlpProtocol { get; set; } = OtlpProtocol.Grpc;

    /// <summary>
    /// Share of traces started here that are recorded (0..1), when traces are exported; a trace started by a caller follows
    /// the caller's decision.
    /// </summary>
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>Answer Prometheus scrapes at GET /metrics on the HTTP port.</summary>
    public bool Prometheus { get; set; } = true;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!string.IsNullOrEmpty(OtlpEndpoint)
            && !(Uri.TryCreate(OtlpEndpoint, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps) && uri.Host.Length > 0))
        {
            problems.Add($"{Section}:OtlpEndpoint '{OtlpEndpoint}' is not an absolute http:// or https:// URI (e.g. http://otel-collector:4317).");
        }

        if (TraceSampleRatio is < 0 or > 1 || double.IsNaN(TraceSampleRatio))
        {
            problems.Add($"{Section}:TraceSampleRatio must be between 0 and 1.");
        }

        return problems;
    }
}

/// <summary>The operator surface: the admin API (/v1/admin/*) and the Orleans dashboard (/orleans), section "ProfileGrid:Admin".</summary>
public sealed class AdminSettings
{
    public const string Section = "ProfileGrid:Admin";

    /// <summary>Map the admin API (and the Orleans dashboard, with <see cref="OrleansDashboard"/>) at all; off, they answer 404 and the dashboard's profiler is not installed.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Answer them to callers that are not on this machine (loopback). Off (the default), a remote caller gets 403. With API
    /// keys on, an operator key is needed as well (docs/security.md); turn this on only behind a boundary that admits operators alone.
    /// </summary>
    public bool AllowRemote { get; set; }

    /// <summary>
    /// Install the Orleans dashboard at /orleans (with <see cref="Enabled"/>). Off by default: the dashboard reads every
    /// Orleans meter once a second, and two of Orleans' gauges walk every activation of the silo (one under the lock that
    /// new activations take), which at a million resident profiles kept a core busy (docs/observability.md).
    /// </summary>
    public bool OrleansDashboard { get; set; }
}

/// <summary>What the detailed health report checks, and when it degrades (section "ProfileGrid:Health").</summary>
public sealed class HealthSettings
{
    public const string Section = "ProfileGrid:Health";

    /// <summary>Degraded above this many profiles holding acknowledged events not yet in their written state (the whole cluster).</summary>
    public int MaxUnwrittenProfiles { get; set; } = 100_000;

    /// <summary>Degraded above this many log records appended but not yet handed to their profiles (the whole cluster).</summary>
    public int MaxRecordsAwaitingDispatch { get; set; } = 1_000;

    /// <summary>
    /// Degraded when a log partition has replayed this many times in a row without progress (a profile refusing its records
    /// again each time): its checkpoint is stuck there and events after it are not durable beyond the log. Such a replay
    /// waits for the partition's maintenance tick, so 12 is about a minute: longer than a merge reading a long history,
    /// during which the merged profile's records are refused and replayed.
    /// </summary>
    public int MaxReplaysWithoutProgress { get; set; } = 12;

    /// <summary>How long the storage probe may take before storage counts as unreachable.</summary>
    public TimeSpan StorageTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a probe's answer is reused, so that a storm of health requests does not become a storm of storage calls.</summary>
    public TimeSpan CacheFor { get; set; } = TimeSpan.FromSeconds(5);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxUnwrittenProfiles < 0)
        {
            problems.Add($"{Section}:MaxUnwrittenProfiles must not be negative.");
        }

        if (MaxRecordsAwaitingDispatch < 0)
        {
            problems.Add($"{Section}:MaxRecordsAwaitingDispatch must not be negative.");
        }

        if (MaxReplaysWithoutProgress < 1)
        {
            problems.Add($"{Section}:MaxReplaysWithoutProgress must be at least 1.");
        }

        if (StorageTimeout <= TimeSpan.Zero || StorageTimeout > TimeSpan.FromMinutes(1))
        {
            problems.Add($"{Section}:StorageTimeout must be between 0 and 1 minute (e.g. 00:00:02).");
        }

        if (CacheFor < TimeSpan.Zero || CacheFor > TimeSpan.FromMinutes(5))
        {
            problems.Add($"{Section}:CacheFor must be between 0 and 5 minutes.");
        }

        return problems;
    }
}
