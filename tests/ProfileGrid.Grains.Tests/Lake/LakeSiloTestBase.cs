using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Lake;

namespace ProfileGrid.Grains.Tests.Lake;

/// <summary>
/// One in-memory silo with a lake in a temp folder (removed afterwards), flushing and checkpointing every 100 ms, archiving
/// as the test class says (<see cref="ArchiveInterval"/>, <see cref="MaxRecordsPerArchive"/>, <see cref="CompactionThreshold"/>).
/// </summary>
public abstract class LakeSiloTestBase : OneSiloClusterTests, IDisposable
{
    protected const int Partitions = 16;
    private const string FolderProperty = "LakeTests:Folder", IntervalProperty = "LakeTests:ArchiveInterval",
        MaxRecordsProperty = "LakeTests:MaxRecordsPerArchive", CompactionProperty = "LakeTests:CompactionThreshold";

    protected string Folder { get; } = LakeTestData.TempFolder();

    protected abstract TimeSpan ArchiveInterval { get; }

    protected abstract int MaxRecordsPerArchive { get; }

    protected virtual int CompactionThreshold => 3;

    protected IServiceProvider Silo => ((InProcessSiloHandle)Cluster.Primary!).SiloHost.Services;

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // An archive step of the stopping silo still writing: the temp folder goes with the machine's cleanup.
        }
    }

    protected override void ConfigureSilo(TestClusterBuilder builder)
    {
        builder.Properties[FolderProperty] = Folder;
        builder.Properties[IntervalProperty] = ArchiveInterval.ToString("c", CultureInfo.InvariantCulture);
        builder.Properties[MaxRecordsProperty] = MaxRecordsPerArchive.ToString(CultureInfo.InvariantCulture);
        builder.Properties[CompactionProperty] = CompactionThreshold.ToString(CultureInfo.InvariantCulture);
        builder.AddSiloBuilderConfigurator<Configurator>();
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder silo)
        {
            var settings = silo.Configuration;
            ClusterFixture.AddGrainsInMemory(silo);
            silo.Services.AddSingleton<ILakeStore>(new FolderLakeStore(settings[FolderProperty]!));
            silo.Services.Configure<LakeOptions>(o =>
            {
                o.ArchiveInterval = TimeSpan.Parse(settings[IntervalProperty]!, CultureInfo.InvariantCulture);
                o.MaxRecordsPerArchive = int.Parse(settings[MaxRecordsProperty]!, CultureInfo.InvariantCulture);
                o.CompactionThreshold = int.Parse(settings[CompactionProperty]!, CultureInfo.InvariantCulture);
            });
            silo.Services.Configure<IngestOptions>(o =>
            {
                o.FlushInterval = TimeSpan.FromMilliseconds(100);
                o.CheckpointInterval = TimeSpan.FromMilliseconds(100);
            });
        }
    }
}
