using ProfileGrid.DevHost;

namespace ProfileGrid.Silo.Tests;

/// <summary>A real Azurite on free loopback ports with its data in a temporary folder, shared by the durability tests.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly string _location = Path.Combine(Path.GetTempPath(), "profilegrid-azurite-" + Guid.NewGuid().ToString("N")[..8]);

    public AzuriteServer Server { get; private set; } = null!;

    public string ConnectionString => Server.ConnectionString;

    public async Task InitializeAsync()
    {
        var ports = AzuriteServer.FreeTcpPorts(3);
        Server = await AzuriteServer.StartAsync(_location, ports[0], ports[1], ports[2]);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(_location, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "azurite";
}
