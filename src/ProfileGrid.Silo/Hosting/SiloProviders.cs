using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Storage;
using ProfileGrid.Abstractions;
using ProfileGrid.Grains.Ingest;

namespace ProfileGrid.Silo.Hosting;

/// <summary>Wires Orleans storage, streams and clustering from <see cref="HostSettings"/>.</summary>
public static class SiloProviders
{
    /// <summary>Profile state and log checkpoints as Orleans' table storage wrote them (read until a grain's first write here).</summary>
    public const string ProfilesTable = "profiles";

    /// <summary>Profile state and log checkpoints, written in transactions (<see cref="BatchedTableGrainStorage"/>).</summary>
    public const string ProfileStateTable = "profilestate";
    public const string PubSubTable = "pubsub";
    public const string MembershipTable = "membership";
    public const string CheckpointTable = "checkpoints";
    public const string RemindersTable = "reminders";

    /// <summary>API keys: their hashes, scopes and tenants (never their secrets).</summary>
    public const string KeysTable = "apikeys";

    /// <summary>Feature shards and models: blobs, because a shard holds tens of thousands of vectors (Table entities stop at 1 MB).</summary>
    public const string SegmentsContainer = "segments";

    public static ISiloBuilder AddProfileGridProviders(this ISiloBuilder silo, HostSettings settings, string? storageConnectionString)
    {
        silo.Configure<ClusterOptions>(o =>
        {
            o.ServiceId = settings.ServiceId;
            o.ClusterId = settings.ClusterId;
        });

        AddStorage(silo, settings, storageConnectionString);
        if (settings.Storage == StorageProvider.AzureStorage)
        {
            // The log path's durable log; registered before the grains' in-memory default.
            silo.Services.AddSingleton<IEventLog>(new AzureBlobEventLog(new BlobServiceClient(storageConnectionString), settings.ServiceId));
        }

        AddLake(silo, settings, storageConnectionString);
        if (settings.UsesStreams)
        {
            AddStreams(silo, settings, storageConnectionString);
        }

        AddClustering(silo, settings, storageConnectionString);
        return silo;
    }

    /// <summary>The data lake's container: ProfileGrid:Lake:Container, or "{ServiceId}-lake".</summary>
    public static string LakeContainer(HostSettings settings, ProfileGrid.Grains.Lake.LakeOptions lake) =>
        string.IsNullOrEmpty(lake.Container) ? $"{settings.ServiceId}-lake" : lake.Container;

    /// <summary>
    /// The lake's store: ProfileGrid:Lake:Folder when set, else the blob container on Azure Storage; memory runs without a
    /// folder have no lake (docs/lake.md).
    /// </summary>
    private static void AddLake(ISiloBuilder silo, HostSettings settings, string? connectionString)
    {
        var lake = silo.Configuration.GetSection(ProfileGrid.Grains.Lake.LakeOptions.Section).Get<ProfileGrid.Grains.Lake.LakeOptions>() ?? new();
        if (!lake.Enabled)
        {
            return;
        }

        if (!string.IsNullOrEmpty(lake.Folder))
        {
            silo.Services.AddSingleton<ProfileGrid.Grains.Lake.ILakeStore>(new ProfileGrid.Grains.Lake.FolderLakeStore(lake.Folder));
        }
        else if (settings.Storage == StorageProvider.AzureStorage)
        {
            silo.Services.AddSingleton<ProfileGrid.Grains.Lake.ILakeStore>(
                new AzureBlobLakeStore(new BlobServiceClient(connectionString).GetBlobContainerClient(LakeContainer(settings, lake))));
        }
    }

    /// <summary>The Azure Queues of the events stream: "{ServiceId}-events-{n}".</summary>
    public static List<string> EventQueueNames(HostSettings settings) =>
        Enumerable.Range(0, settings.QueueCount).Select(i => $"{settings.ServiceId}-events-{i}").ToList();

    private static void AddStorage(ISiloBuilder silo, HostSettings settings, string? connectionString)
    {
        if (settings.Storage == StorageProvider.Memory)
        {
            silo.AddMemoryGrainStorage(ProfileStores.Profiles);
            silo.AddMemoryGrainStorage(ProfileStores.PubSub);
            silo.AddMemoryGrainStorage(ProfileStores.Segments);
            silo.AddMemoryGrainStorage(ProfileStores.Keys);
            silo.UseInMemoryReminderService();
            return;
        }

        // Every store goes through BoundedKeyGrainStorage: a grain key of two long ids (or a long tenant) exceeds Azure's
        // key and blob-name limits; keys that fit are stored exactly as before.
        silo.AddAzureBlobGrainStorage(BoundedKeyGrainStorageExtensions.InnerName(ProfileStores.Segments), o =>
        {
            o.BlobServiceClient = new BlobServiceClient(connectionString);
            o.ContainerName = $"{settings.ServiceId}-{SegmentsContainer}";
        });
        silo.UseAzureTableReminderService(o =>
        {
            o.TableServiceClient = new TableServiceClient(connectionString);
            o.TableName = RemindersTable;
        });

        silo.AddAzureTableGrainStorage(BoundedKeyGrainStorageExtensions.InnerName(ProfileStores.Profiles), o =>
        {
            o.TableServiceClient = new TableServiceClient(connectionString);
            o.TableName = ProfilesTable;
        });
        silo.AddAzureTableGrainStorage(ProfileStores.Keys, o =>
        {
            // Key ids are 16 hex digits: no key encoding needed.
            o.TableServiceClient = new TableServiceClient(connectionString);
            o.TableName = KeysTable;
        });
        silo.AddAzureTableGrainStorage(BoundedKeyGrainStorageExtensions.InnerName(ProfileStores.PubSub), o =>
        {
            o.TableServiceClient = new TableServiceClient(connectionString);
            o.TableName = PubSubTable;
        });
        silo.Services
            .AddBoundedKeys(ProfileStores.Segments, blob: true)
            .AddBoundedKeys(ProfileStores.PubSub, blob: false);

        // Profiles write behind in bursts (every active profile once per flush interval): in transactions of up to 100
        // rows. Rows Orleans' table storage wrote before are read from there and moved on their first write.
        silo.Services.AddKeyedSingleton<IGrainStorage>(ProfileStores.Profiles, (services, _) =>
        {
            var serviceId = services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId;
            var legacy = BoundedKeyGrainStorage.ForTable(
                services.GetRequiredKeyedService<IGrainStorage>(BoundedKeyGrainStorageExtensions.InnerName(ProfileStores.Profiles)), serviceId);
            return new BatchedTableGrainStorage(
                new TableServiceClient(connectionString).GetTableClient(ProfileStateTable), serviceId,
                services.GetRequiredService<IGrainStorageSerializer>(), legacy, services.GetRequiredService<ILogger<BatchedTableGrainStorage>>(),
                () => LegacyProfileRowsExistAsync(new TableServiceClient(connectionString), serviceId));
        });
    }

    /// <summary>Whether Orleans' table storage wrote any profile or checkpoint row of this service (PartitionKey "{ServiceId}_...").</summary>
    public static async Task<bool> LegacyProfileRowsExistAsync(TableServiceClient tables, string serviceId)
    {
        await foreach (var _ in tables.QueryAsync(t => t.Name == ProfilesTable))
        {
            var (from, to) = (serviceId + "_", serviceId + "`"); // '`' follows '_'
            await foreach (var __ in tables.GetTableClient(ProfilesTable)
                .QueryAsync<TableEntity>(e => e.PartitionKey.CompareTo(from) >= 0 && e.PartitionKey.CompareTo(to) < 0, maxPerPage: 1, select: ["RowKey"]))
            {
                return true;
            }
        }

        return false;
    }

    private static void AddStreams(ISiloBuilder silo, HostSettings settings, string? connectionString)
    {
        switch (settings.Streams)
        {
            case StreamProvider.Memory:
                silo.AddMemoryStreams(StreamNames.EventsProvider);
                break;

            case StreamProvider.AzureQueue:
                silo.AddAzureQueueStreams(StreamNames.EventsProvider, configurator =>
                {
                    configurator.ConfigureAzureQueue(options => options.Configure(o =>
                    {
                        o.QueueServiceClient = new QueueServiceClient(connectionString);
                        o.QueueNames = EventQueueNames(settings);
                        o.MessageVisibilityTimeout = settings.QueueVisibilityTimeout;
                    }));
                    configurator.ConfigurePullingAgent(options => options.Configure(o =>
                    {
                        o.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(50);

                        // The default gives up on a batch after a minute (say, while Table storage is down) and then
                        // deletes its message: an acknowledged event lost. Keep retrying instead.
                        o.MaxEventDeliveryTime = TimeSpan.FromDays(365);
                    }));
                });
                break;

            case StreamProvider.EventHubs:
                silo.AddEventHubStreams(StreamNames.EventsProvider, (ISiloEventHubStreamConfigurator configurator) =>
                {
                    var hubs = settings.EventHubs;
                    configurator.ConfigureEventHub(options => options.Configure(o =>
                        o.ConfigureEventHubConnection(hubs.ConnectionString!, hubs.EventHubName!, hubs.ConsumerGroup)));
                    configurator.UseAzureTableCheckpointer(options => options.Configure(o =>
                    {
                        o.TableServiceClient = new TableServiceClient(connectionString);
                        o.TableName = CheckpointTable;
                        o.PersistInterval = TimeSpan.FromSeconds(10);
                    }));
                });
                break;
        }
    }

    private static void AddClustering(ISiloBuilder silo, HostSettings settings, string? connectionString)
    {
        var endpoints = settings.Endpoints;
        if (settings.Clustering == ClusteringProvider.Localhost)
        {
            silo.UseLocalhostClustering(endpoints.SiloPort, endpoints.GatewayPort);
            return;
        }

        silo.UseAzureStorageClustering(o =>
        {
            o.TableServiceClient = new TableServiceClient(connectionString);
            o.TableName = MembershipTable;
        });

        // Orleans' strongly consistent in-cluster directory: the default one is eventually consistent and, while a killed
        // silo is being declared dead, lets a grain activate twice. A second activation of a shard or a log partition
        // then fails every write on its ETag for good while the profiles on its silo keep pushing to it (probe64: 93
        // users gone from ListProfiles and segments after the next kill; a login's merge held by the stray partition
        // activation for seven minutes).
#pragma warning disable ORLEANSEXP003 // evaluation API; what it prevents is data that is never stored
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        if (settings.Clustering == ClusteringProvider.Kubernetes)
        {
            // Kubernetes hosting advertises the pod IP and listens on all interfaces (a post-configuration, so the ports
            // set here stay); membership stays in the table, and silos whose pod is gone are declared dead at once.
            silo.Configure<EndpointOptions>(o =>
            {
                o.SiloPort = endpoints.SiloPort;
                o.GatewayPort = endpoints.GatewayPort;
            });
            silo.UseKubernetesHosting();
            return;
        }

        silo.Configure<EndpointOptions>(o =>
        {
            if (endpoints.EffectiveAdvertisedAddress() is { } advertised)
            {
                o.AdvertisedIPAddress = advertised;
            }

            o.SiloPort = endpoints.SiloPort;
            o.GatewayPort = endpoints.GatewayPort;
            o.SiloListeningEndpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(endpoints.ListenAddress), endpoints.SiloPort);
            o.GatewayListeningEndpoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(endpoints.ListenAddress), endpoints.GatewayPort);
        });
    }
}
