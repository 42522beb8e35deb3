using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ProfileGrid.Grains.Privacy;

public static class PrivacyServices
{
    /// <summary>
    /// Erasure and consent: the silo's cache of the tenants' privacy filters, the <see cref="ConsentReporter"/> that carries
    /// profiles' consent changes to the ledgers, the <see cref="UserErasure"/> coordinator and
    /// its steps (profiles, identity graph, shards, log and lake). Add a store's step with <c>services.AddSingleton&lt;IErasureStep, TStep&gt;()</c>.
    /// </summary>
    public static IServiceCollection AddProfileGridPrivacy(this IServiceCollection services)
    {
        services.TryAddSingleton<PrivacyFilters>();
        services.TryAddSingleton<UserErasure>();
        if (!services.Any(d => d.ServiceType == typeof(ConsentReporter)))
        {
            services.AddSingleton<ConsentReporter>();
            services.AddHostedService(sp => sp.GetRequiredService<ConsentReporter>());
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IErasureStep, ProfileErasureStep>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IErasureStep, IdentityErasureStep>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IErasureStep, ShardErasureStep>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IErasureStep, LogAndLakeErasureStep>());
        return services;
    }
}
