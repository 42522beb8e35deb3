namespace ProfileGrid.Silo.Hosting;

public static class DemoFeederExtensions
{
    /// <summary>Placeholder until the simulator lands.</summary>
    public static IServiceCollection AddDemoFeeder(this IServiceCollection services, IConfiguration configuration) => services;
}
