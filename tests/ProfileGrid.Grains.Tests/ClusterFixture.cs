using ProfileGrid.Grains.Segments;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ProfileGrid.Abstractions;

namespace ProfileGrid.Grains.Tests;

/// <summary>A two-silo test cluster with memory storage and memory streams, shared by the cluster tests.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public TestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(initialSilosCount: 2);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        builder.AddClientBuilderConfigurator<ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }

    /// <summary>The grains on memory storage, memory streams and in-memory reminders, as every test cluster here runs them.</summary>
    public static void AddGrainsInMemory(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(ProfileStores.Profiles);
        silo.AddMemoryGrainStorage(ProfileStores.PubSub);
        silo.AddMemoryGrainStorage(ProfileStores.Segments);
        silo.AddMemoryStreams(StreamNames.EventsProvider);
        silo.UseInMemoryReminderService();
        silo.AddProfileGridGrains();
    }

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            AddGrainsInMemory(silo);

            // Profile state through a storage that refuses some users' writes (see FaultyProfileStorage).
            silo.AddMemoryGrainStorage(FaultyProfileStorage.InnerName);
            silo.Services.AddKeyedSingleton<Orleans.Storage.IGrainStorage>(
                ProfileStores.Profiles, (services, _) => new FaultyProfileStorage(services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(FaultyProfileStorage.InnerName)));

            // The other grains' state through a storage that counts writes per grain (see CountingSegmentStorage).
            silo.AddMemoryGrainStorage(CountingSegmentStorage.InnerName);
            silo.Services.AddKeyedSingleton<Orleans.Storage.IGrainStorage>(
                ProfileStores.Segments, (services, _) => new CountingSegmentStorage(services.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(CountingSegmentStorage.InnerName)));
            silo.Services.Configure<ProfileGrid.Grains.Segments.SegmentationOptions>(o =>
            {
                o.Shards = 4;
                o.ShardFlushInterval = TimeSpan.FromMilliseconds(100);
                o.SizesCacheDuration = TimeSpan.Zero;
                o.StabilityRuns = 2;
            });
            silo.Services.Configure<ProfileGrid.Grains.Ingest.IngestOptions>(o =>
            {
                o.FlushInterval = TimeSpan.FromMilliseconds(200);
                o.CheckpointInterval = TimeSpan.FromMilliseconds(200);
                o.MaxWriteAttempts = 3;
            });

            // Small enough that RerankLogTests can fill a log shard.
            silo.Services.Configure<ProfileGrid.Grains.Recommendations.RerankingOptions>(o => o.MaxListsPerShard = RerankLogTests.MaxListsPerShard);

            // Profiles pack soon after their last use, so that every cluster test also runs over packing and unpacking.
            silo.Services.Configure<ResidencyOptions>(o =>
            {
                o.PackIdleAfter = TimeSpan.FromMilliseconds(100);
                o.ViewKeptFor = TimeSpan.FromMilliseconds(300);
            });
        }
    }

    public sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(Microsoft.Extensions.Configuration.IConfiguration configuration, IClientBuilder client)
        {
            client.AddMemoryStreams(StreamNames.EventsProvider);
            client.AddMemoryStreams(StreamNames.SegmentsProvider);

            // Like any Orleans client of the grid: the rules grain's contract carries the recommender library's rule types.
            client.Services.AddSegmentationSerializer();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}

/// <summary>
/// A one-silo cluster of a test class's own, for silos that need settings the shared <see cref="ClusterFixture"/> must
/// not have (reminders every few seconds, a clock the test moves, a reminder table that fails).
/// </summary>
public abstract class OneSiloClusterTests : IAsyncLifetime
{
    protected TestCluster Cluster { get; private set; } = null!;

    /// <summary>Adds the class's silo configurator (<c>builder.AddSiloBuilderConfigurator&lt;T&gt;()</c>).</summary>
    protected abstract void ConfigureSilo(TestClusterBuilder builder);

    public async Task InitializeAsync()
    {
        var builder = new TestClusterBuilder(initialSilosCount: 1);
        ConfigureSilo(builder);
        builder.AddClientBuilderConfigurator<ClusterFixture.ClientConfigurator>();
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
    }
}
