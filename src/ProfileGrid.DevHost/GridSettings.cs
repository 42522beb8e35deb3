using Microsoft.Extensions.Configuration;

namespace ProfileGrid.DevHost;

/// <summary>
/// What the dev host needs to know of the silo it starts, read from the same configuration the silo reads (its
/// appsettings.json and the command line): where it listens and whether it needs Azure Storage.
/// </summary>
internal sealed class GridSettings
{
    private GridSettings(IConfiguration configuration)
    {
        var grid = configuration.GetSection("ProfileGrid");
        Storage = grid["Storage"] ?? "AzureStorage";
        IngestPath = grid["IngestPath"] ?? "Log";
        Streams = grid["Streams"] ?? "AzureQueue";
        Clustering = grid["Clustering"] ?? "Localhost";
        StorageConnectionString = grid["StorageConnectionString"];
        var endpoints = grid.GetSection("Endpoints");
        var listen = endpoints["ListenAddress"] ?? "127.0.0.1";
        // A silo listening on every interface is still reached on loopback from here.
        var reach = listen is "0.0.0.0" or "::" ? "127.0.0.1" : listen;
        GrpcAddress = $"http://{reach}:{endpoints["GrpcPort"] ?? "7070"}";
        HttpAddress = $"http://{reach}:{endpoints["HttpPort"] ?? "7080"}";
        DashboardEnabled = !string.Equals(grid["Dashboard:Enabled"], "false", StringComparison.OrdinalIgnoreCase);
        AuthEnabled = !string.Equals(grid["Auth:Enabled"], "false", StringComparison.OrdinalIgnoreCase);
        KeyFile = grid["Auth:BootstrapKeyFile"] is { Length: > 0 } file ? file : null;
    }

    /// <summary>Whether the silo requires API keys (ProfileGrid:Auth:Enabled, true by default).</summary>
    public bool AuthEnabled { get; }

    /// <summary>The silo's bootstrap key file as given on the command line; null: the dev host chooses .profilegrid/admin.key.</summary>
    public string? KeyFile { get; }

    /// <summary>The operator key the demo feed and the printed curl lines use; null when keys are off.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The key file as the printed curl lines name it (relative to the working directory); null when keys are off.</summary>
    public string? KeyFileShown { get; set; }

    /// <summary>A gRPC channel to the silo that sends <see cref="ApiKey"/> on every call.</summary>
    public Grpc.Net.Client.GrpcChannel Channel() =>
        Grpc.Net.Client.GrpcChannel.ForAddress(GrpcAddress, new Grpc.Net.Client.GrpcChannelOptions { HttpHandler = new KeyHandler(ApiKey) });

    /// <summary>An HTTP client for the silo's REST API that sends <see cref="ApiKey"/>.</summary>
    public HttpClient Http(TimeSpan? timeout = null) =>
        new(new KeyHandler(ApiKey)) { BaseAddress = new Uri(HttpAddress), Timeout = timeout ?? TimeSpan.FromSeconds(100) };

    private sealed class KeyHandler(string? key) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (key is not null)
            {
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    public string Storage { get; }

    public string IngestPath { get; }

    public string Streams { get; }

    public string Clustering { get; }

    public string? StorageConnectionString { get; }

    public string GrpcAddress { get; }

    public string HttpAddress { get; }

    /// <summary>Whether the silo serves the web dashboard (ProfileGrid:Dashboard:Enabled, true by default).</summary>
    public bool DashboardEnabled { get; }

    /// <summary>The dashboard's address for a tenant, or null when the silo does not serve it.</summary>
    public string? DashboardAddress(string tenant) =>
        DashboardEnabled ? $"{HttpAddress}/dashboard/?tenant={Uri.EscapeDataString(tenant)}" : null;

    /// <summary>Where the Azurite that the dev host started keeps its data; null when it started none.</summary>
    public string? DataLocation { get; set; }

    public bool UsesStreams => Is(IngestPath, "Stream");

    public bool IsEphemeral => Is(Storage, "Memory") || (UsesStreams && Is(Streams, "Memory"));

    /// <summary>The same rule as the silo's: Azure Storage is needed for state, Azure Queue streams or Azure Table clustering.</summary>
    public bool NeedsAzureStorage =>
        Is(Storage, "AzureStorage") || (UsesStreams && Is(Streams, "AzureQueue")) || Is(Clustering, "AzureTable");

    public static GridSettings From(IConfiguration configuration) => new(configuration);

    private static bool Is(string value, string expected) => string.Equals(value, expected, StringComparison.OrdinalIgnoreCase);
}

/// <summary>The local Azurite the dev host starts (configuration section "ProfileGrid:Azurite", read by the dev host only).</summary>
internal sealed class AzuriteSettings
{
    public const string Section = "ProfileGrid:Azurite";

    /// <summary>Where Azurite keeps its data, relative to the directory run.sh is started from.</summary>
    public string Location { get; set; } = ".profilegrid/azurite";

    public int BlobPort { get; set; } = 10000;

    public int QueuePort { get; set; } = 10001;

    public int TablePort { get; set; } = 10002;
}
