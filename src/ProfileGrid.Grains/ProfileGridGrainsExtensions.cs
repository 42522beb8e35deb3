using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ProfileGrid.Domain;

namespace ProfileGrid.Grains;

public static class ProfileGridGrainsExtensions
{
    public const string ProfileSection = "ProfileGrid:Profile";

    /// <summary>Registers what the grains need: <see cref="ProfileOptions"/> (validated at start-up) and a clock.</summary>
    public static IServiceCollection AddProfileGridGrains(this IServiceCollection services, IConfiguration? configuration = null)
    {
        var options = services.AddOptions<ProfileOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration.GetSection(ProfileSection));
        }

        options.ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProfileOptions>, ProfileOptionsValidator>());
        return services;
    }

    private sealed class ProfileOptionsValidator : IValidateOptions<ProfileOptions>
    {
        public ValidateOptionsResult Validate(string? name, ProfileOptions options)
        {
            var problems = options.Validate();
            return problems.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(problems.Select(p => $"{ProfileSection}: {p}"));
        }
    }
}
