using System.Text.RegularExpressions;

namespace ProfileGrid.Silo.Hosting;

public enum StorageProvider
{
    /// <summary>Azure Table storage: Azurite locally (the default), Azure Storage in production.</summary>
    AzureStorage,

    /// <summary>In-memory grain storage: tests and throwaway runs only; everything is lost when the process stops.</summary>
    Memory,
}

public enum IngestPath
{
    /// <summary>
    /// The durable event log (append blobs on Azure Storage): one storage write per group of requests, profile state
    /// written behind and recovered by replay. The default: tens of times faster on Azurite.
    /// </summary>
    Log,

    /// <summary>An Orleans stream per user (<see cref="StreamProvider"/>), each batch written through before its message is deleted.</summary>
    Stream,
}

public enum StreamProvider
{
    /// <summary>Azure Queue streams: durable; Azurite locally (the default).</summary>
    AzureQueue,

    /// <summary>Azure Event Hubs: production only, needs a real namespace.</summary>
    EventHubs,

    /// <summary>In-memory streams: tests and throwaway runs only; not durable.</summary>
    Memory,
}

public enum ClusteringProvider
{
    /// <summary>One machine (or a primary silo on loopback).</summary>
    Localhost,

    /// <summary>Membership in Azure Table storage: many silos in one cluster.</summary>
    AzureTable,

    /// <summary>
    /// Pods of a Kubernetes Deployment: membership in Azure Table storage as <see cref="AzureTable"/>, plus Orleans'
    /// Kubernetes hosting (silo named after its pod, the pod IP advertised, silos whose pod is gone declared dead).
    /// Needs the pod's POD_NAME, POD_NAMESPACE and POD_IP (deploy/kubernetes.yaml sets them).
    /// </summary>
    Kubernetes,
}

/// <summary>Provider and endpoint settings of the host (configuration section "ProfileGrid").</summary>
public sealed partial class HostSettings
{
    public const string Section = "ProfileGrid";

    /// <summary>Names every queue, table row and cluster; lower-case letters, digits and '-'.</summary>
    public string ServiceId { get; set; } = "profilegrid";

    public string ClusterId { get; set; } = "local";

    public StorageProvider Storage { get; set; } = StorageProvider.AzureStorage;

    /// <summary>How events travel from the gateway to profiles.</summary>
    public IngestPath IngestPath { get; set; } = IngestPath.Log;

    /// <summary>The stream provider of <see cref="IngestPath.Stream"/>; not used by the log path.</summary>
    public StreamProvider Streams { get; set; } = StreamProvider.AzureQueue;

    public ClusteringProvider Clustering { get; set; } = ClusteringProvider.Localhost;

    /// <summary>
    /// Azure Storage connection string; required unless everything is in memory. <c>UseDevelopmentStorage=true</c> is an
    /// Azurite on its default ports; ./run.sh starts an Azurite and passes its connection string.
    /// </summary>
    public string? StorageConnectionString { get; set; }

    /// <summary>Azure Queues the events stream is spread over; each is read by one pulling agent.</summary>
    public int QueueCount { get; set; } = 8;

    /// <summary>
    /// How long a dequeued, not yet deleted events message stays invisible. After a crash, unfinished batches
    /// come back after this long; too short and slow batches are delivered twice (harmless, but wasted work).
    /// </summary>
    public TimeSpan QueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public EventHubsSettings EventHubs { get; set; } = new();

    public EndpointSettings Endpoints { get; set; } = new();

    public bool UsesStreams => IngestPath == IngestPath.Stream;

    /// <summary>Grain state, Azure Queue streams or Azure Table clustering need a storage account.</summary>
    public bool NeedsAzureStorage =>
        Storage == StorageProvider.AzureStorage || (UsesStreams && Streams == StreamProvider.AzureQueue) || Clustering != ClusteringProvider.Localhost;

    public bool IsEphemeral => Storage == StorageProvider.Memory || (UsesStreams && Streams == StreamProvider.Memory);

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!ServiceIdPattern().IsMatch(ServiceId))
        {
            // Queue names derive from it, and an invalid queue name leaves the silo up with streaming silently dead.
            problems.Add($"ServiceId '{ServiceId}' must be 3-40 characters of lower-case letters, digits and single '-', starting with a letter.");
        }

        if (QueueCount is < 1 or > 64)
        {
            problems.Add("QueueCount must be between 1 and 64.");
        }

        if (QueueVisibilityTimeout < TimeSpan.FromSeconds(1))
        {
            problems.Add("QueueVisibilityTimeout must be at least 1 second.");
        }

        if (UsesStreams && Streams == StreamProvider.EventHubs && (string.IsNullOrEmpty(EventHubs.ConnectionString) || string.IsNullOrEmpty(EventHubs.EventHubName)))
        {
            problems.Add("Streams=EventHubs needs EventHubs:ConnectionString and EventHubs:EventHubName.");
        }

        if (UsesStreams && Streams != StreamProvider.Memory && Storage == StorageProvider.Memory)
        {
            problems.Add("Durable streams with memory storage would delete events before their profile is durable; use Storage=AzureStorage or Streams=Memory.");
        }

        if (NeedsAzureStorage && string.IsNullOrEmpty(StorageConnectionString))
        {
            problems.Add(
                "StorageConnectionString is empty, and Azure Storage is needed (for Storage=AzureStorage, Azure Queue streams or " +
                "Clustering=AzureTable). Give the account's connection string (UseDevelopmentStorage=true is an Azurite on its " +
                "default ports; ./run.sh starts one and passes it), or use Storage=Memory and Streams=Memory for a throwaway run.");
        }

        if (Clustering == ClusteringProvider.Kubernetes)
        {
            problems.AddRange(KubernetesProblems(Environment.GetEnvironmentVariable));
        }

        return problems;
    }

    /// <summary>What a pod must give a silo with Clustering=Kubernetes, read from <paramref name="environment"/>.</summary>
    public IReadOnlyList<string> KubernetesProblems(Func<string, string?> environment)
    {
        var problems = new List<string>();
        var missing = new[] { "POD_NAME", "POD_NAMESPACE", "POD_IP" }.Where(name => string.IsNullOrWhiteSpace(environment(name))).ToList();
        if (missing.Count > 0)
        {
            problems.Add($"Clustering=Kubernetes needs the environment variables {string.Join(", ", missing)} from the pod (fieldRef metadata.name, metadata.namespace, status.podIP; see deploy/kubernetes.yaml).");
        }

        // Orleans' Kubernetes hosting takes the cluster's ids from these; the event log, queues and tables are named
        // after ServiceId, so a silo whose two ids differ would join one cluster and write another's storage.
        foreach (var (variable, setting, value) in new[] { ("ORLEANS_SERVICE_ID", nameof(ServiceId), ServiceId), ("ORLEANS_CLUSTER_ID", nameof(ClusterId), ClusterId) })
        {
            if (environment(variable) is { Length: > 0 } fromPod && fromPod != value)
            {
                problems.Add($"Clustering=Kubernetes: {variable} is '{fromPod}' but {setting} is '{value}'; set both from the same pod label.");
            }
        }

        return problems;
    }

    [GeneratedRegex("^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){2,39}$")]
    private static partial Regex ServiceIdPattern();
}

public sealed class EventHubsSettings
{
    public string? ConnectionString { get; set; }

    public string? EventHubName { get; set; }

    public string ConsumerGroup { get; set; } = "$Default";
}

public sealed class EndpointSettings
{
    /// <summary>Address the gateway listens on; 127.0.0.1 locally, 0.0.0.0 in a container.</summary>
    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>gRPC (HTTP/2 without TLS).</summary>
    public int GrpcPort { get; set; } = 7070;

    /// <summary>REST through JSON transcoding, health and the root page (HTTP/1.1).</summary>
    public int HttpPort { get; set; } = 7080;

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>
    /// Address other silos reach this one at (AzureTable clustering); empty: the listen address when it is one address
    /// (the default 127.0.0.1: silos on one machine), this machine's own when it listens on all (0.0.0.0, a container).
    /// </summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>
    /// The address to advertise, or null for Orleans' choice (this machine's own). Advertising the machine's address
    /// while listening on loopback only made a second silo on the same machine unreachable: the first declared it dead.
    /// </summary>
    public System.Net.IPAddress? EffectiveAdvertisedAddress()
    {
        if (!string.IsNullOrEmpty(AdvertisedAddress))
        {
            return System.Net.IPAddress.Parse(AdvertisedAddress);
        }

        var listen = System.Net.IPAddress.Parse(ListenAddress);
        return listen.Equals(System.Net.IPAddress.Any) || listen.Equals(System.Net.IPAddress.IPv6Any) ? null : listen;
    }
}
