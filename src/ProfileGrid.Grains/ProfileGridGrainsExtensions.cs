using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Storage;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Domain;
using ProfileGrid.Grains.Ingest;
using ProfileGrid.Grains.Recommendations;
using ProfileGrid.Grains.Segments;

namespace ProfileGrid.Grains;

public static class ProfileGridGrainsExtensions
{
    public const string ProfileSection = "ProfileGrid:Profile";

    /// <summary>
    /// Registers what the grains need: <see cref="ProfileOptions"/>, <see cref="IngestOptions"/> and <see cref="ResidencyOptions"/> (validated at
    /// start-up), a clock, an event log (in memory unless the host registered a durable one first), and a start-up
    /// task and a keeper that wake every log partition, so that what no profile has written yet is replayed.
    /// </summary>
    public static ISiloBuilder AddProfileGridGrains(this ISiloBuilder silo, IConfiguration? configuration = null)
    {
        var services = silo.Services;
        AddValidatedOptions<ProfileOptions>(services, configuration, ProfileSection, o => o.Validate());
        AddValidatedOptions<IngestOptions>(services, configuration, IngestOptions.Section, o => o.Validate());
        AddValidatedOptions<ResidencyOptions>(services, configuration, ResidencyOptions.Section, o => o.Validate());
        AddValidatedOptions<SegmentationOptions>(services, configuration, SegmentationOptions.Section, o => o.Validate());
        AddValidatedOptions<RecommendationOptions>(services, configuration, RecommendationOptions.Section, o => o.Validate());
        AddValidatedOptions<RerankingOptions>(services, configuration, RerankingOptions.Section, o => o.Validate());
        services.TryAddSingleton<RecommendationServing>();
        services.TryAddSingleton<RecommendationEngine>();
        AddValidatedOptions<ProfileGrid.Experiments.Fairness.FairnessOptions>(services, configuration, ProfileGrid.Experiments.Fairness.FairnessOptions.SectionName, o => o.Validate());
        services.TryAddSingleton<Experiments.FairnessAuditService>();
        services.AddSegmentationSerializer();

        // Membership changes are in-cluster notifications of derived state (the shards' state is the source of truth,
        // and members can be re-read), so a memory stream serves; it needs the host's PubSubStore.
        silo.AddMemoryStreams(StreamNames.SegmentsProvider);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IEventLog, MemoryEventLog>();
        services.TryAddSingleton<ProfileWriteGate>();
        services.TryAddSingleton<IngestActivity>();
        services.TryAddSingleton<ProfilePacker>();
        services.AddMetrics();
        services.TryAddSingleton<ProfileGridMetrics>();

        // Grain state is stored in Orleans' binary format: version tolerant through the [Id]s, smaller than the default
        // Newtonsoft JSON (which writes a .NET type name into every object) and much cheaper to produce, which
        // matters because every profile is rewritten as it changes.
        services.AddSingleton<IGrainStorageSerializer, OrleansGrainStorageSerializer>();
        silo.AddStartupTask(async (provider, cancellationToken) =>
        {
            var partitions = provider.GetRequiredService<IOptions<IngestOptions>>().Value.Partitions;
            var grains = provider.GetRequiredService<IGrainFactory>();
            await Task.WhenAll(Enumerable.Range(0, partitions).Select(p => grains.GetGrain<IEventLogPartitionGrain>(p).GetStatusAsync()));
        });
        services.AddHostedService<LogPartitionKeeper>();
        silo.AddProfileGridStats(configuration);
        AddValidatedOptions<Lake.LakeOptions>(services, configuration, Lake.LakeOptions.Section, o => o.Validate());

        // Made on first use, by factories: a silo without a lake has no ILakeStore, and the container's validation at
        // build time must not ask for one.
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<Lake.LakeArchiver>(sp));
        services.TryAddSingleton(sp => new Lake.LakeReader(sp.GetService<Lake.ILakeStore>(), sp.GetRequiredService<IEventLog>(), sp.GetRequiredService<Orleans.Serialization.Serializer>()));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<Lake.LakeRebuilder>(sp));
        services.TryAddSingleton(sp => ActivatorUtilities.CreateInstance<Lake.LakeSnapshotter>(sp));
        services.TryAddSingleton<Lake.ProfileDayBounds>();
        AddValidatedOptions<Identity.IdentityOptions>(services, configuration, Identity.IdentityOptions.Section, o => o.Validate());
        services.TryAddSingleton<Identity.IdentityHistory>();
        Privacy.PrivacyServices.AddProfileGridPrivacy(services);
        return silo;
    }

    /// <summary>
    /// The cluster statistics: <see cref="Stats.StatsOptions"/>, the silo-local <see cref="Stats.StatsCollector"/> every
    /// recorder writes into, and the <see cref="Stats.StatsFlusher"/> that sends it to the tenants' stats grains.
    /// </summary>
    public static ISiloBuilder AddProfileGridStats(this ISiloBuilder silo, IConfiguration? configuration = null)
    {
        AddValidatedOptions<Stats.StatsOptions>(silo.Services, configuration, Stats.StatsOptions.Section, o => o.Validate());
        silo.Services.TryAddSingleton<Stats.StatsCollector>();
        silo.Services.TryAddSingleton<Stats.StatsFlusher>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<Stats.StatsFlusher>());
        return silo;
    }

    private static void AddValidatedOptions<TOptions>(
        IServiceCollection services, IConfiguration? configuration, string section, Func<TOptions, IReadOnlyList<string>> validate)
        where TOptions : class
    {
        var builder = services.AddOptions<TOptions>();
        if (configuration is not null)
        {
            builder.Bind(configuration.GetSection(section));
        }

        builder.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TOptions>>(new DelegateValidator<TOptions>(section, validate)));
    }

    private sealed class DelegateValidator<TOptions>(string section, Func<TOptions, IReadOnlyList<string>> validate) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? name, TOptions options)
        {
            var problems = validate(options);
            return problems.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(problems.Select(p => p.StartsWith(section, StringComparison.Ordinal) ? p : $"{section}: {p}"));
        }
    }
}
