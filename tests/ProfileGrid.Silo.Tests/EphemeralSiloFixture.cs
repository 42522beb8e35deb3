namespace ProfileGrid.Silo.Tests;

/// <summary>One ephemeral (memory) silo process shared by the gateway tests; each test uses fresh user ids.</summary>
public sealed class EphemeralSiloFixture : IAsyncLifetime
{
    public SiloProcess Silo { get; private set; } = null!;

    public async Task InitializeAsync() => Silo = await SiloProcess.StartEphemeralAsync();

    public async Task DisposeAsync() => await Silo.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class EphemeralSiloCollection : ICollectionFixture<EphemeralSiloFixture>
{
    public const string Name = "ephemeral-silo";
}
