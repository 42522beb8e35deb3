using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using ProfileGrid.DevHost;
using ProfileGrid.Silo.Hosting;

namespace ProfileGrid.Silo.Tests;

public class HostSettingsTests
{
    private static HostSettings Bind(Dictionary<string, string?> values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values).Build().GetSection(HostSettings.Section).Get<HostSettings>()!;

    [Fact]
    public void The_defaults_are_the_local_durable_setup()
    {
        var settings = new HostSettings { StorageConnectionString = "UseDevelopmentStorage=true" };

        Assert.Equal(StorageProvider.AzureStorage, settings.Storage);
        Assert.Equal(IngestPath.Log, settings.IngestPath);
        Assert.False(settings.IsEphemeral);
        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void Durable_defaults_without_a_storage_account_are_refused_with_what_to_give()
    {
        var problems = new HostSettings().Validate();

        Assert.Contains(problems, p => p.StartsWith("StorageConnectionString is empty", StringComparison.Ordinal) && p.Contains("UseDevelopmentStorage=true"));
    }

    [Fact]
    public void Everything_in_memory_needs_no_storage_account()
    {
        var settings = new HostSettings { Storage = StorageProvider.Memory, Streams = StreamProvider.Memory };

        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void Event_Hubs_production_settings_bind_from_configuration()
    {
        var settings = Bind(new()
        {
            ["ProfileGrid:IngestPath"] = "Stream",
            ["ProfileGrid:Streams"] = "EventHubs",
            ["ProfileGrid:Storage"] = "AzureStorage",
            ["ProfileGrid:Clustering"] = "AzureTable",
            ["ProfileGrid:StorageConnectionString"] = "DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;EndpointSuffix=core.windows.net",
            ["ProfileGrid:EventHubs:ConnectionString"] = "Endpoint=sb://prod-hubs.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=a2V5",
            ["ProfileGrid:EventHubs:EventHubName"] = "profile-events",
            ["ProfileGrid:EventHubs:ConsumerGroup"] = "profilegrid",
        });

        Assert.Equal(StreamProvider.EventHubs, settings.Streams);
        Assert.Equal(ClusteringProvider.AzureTable, settings.Clustering);
        Assert.Equal("profile-events", settings.EventHubs.EventHubName);
        Assert.Equal("profilegrid", settings.EventHubs.ConsumerGroup);
        Assert.StartsWith("Endpoint=sb://prod-hubs", settings.EventHubs.ConnectionString);
        Assert.Empty(settings.Validate());
    }

    [Fact]
    public void Event_Hubs_without_a_connection_is_refused()
    {
        var settings = Bind(new() { ["ProfileGrid:IngestPath"] = "Stream", ["ProfileGrid:Streams"] = "EventHubs" });

        Assert.Contains(settings.Validate(), p => p.Contains("EventHubs:ConnectionString"));
    }

    [Theory]
    [InlineData("Profile_Grid")]
    [InlineData("pg")]
    [InlineData("-profilegrid")]
    [InlineData("profile--grid")]
    public void Service_ids_that_would_make_invalid_queue_names_are_refused(string serviceId)
    {
        var settings = new HostSettings { ServiceId = serviceId };

        Assert.Contains(settings.Validate(), p => p.Contains("ServiceId"));
    }

    [Fact]
    public void Durable_streams_over_memory_storage_are_refused()
    {
        var settings = new HostSettings { IngestPath = IngestPath.Stream, Streams = StreamProvider.AzureQueue, Storage = StorageProvider.Memory };

        Assert.Contains(settings.Validate(), p => p.Contains("memory storage"));
    }

    [Fact]
    public async Task The_host_refuses_to_start_with_an_invalid_configuration_and_says_why()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll"));
        start.ArgumentList.Add("--ProfileGrid:ServiceId=Bad_Id");
        start.ArgumentList.Add("--ProfileGrid:Gateway:MaxEventsPerRequest=0");
        using var process = Process.Start(start)!;

        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();

        Assert.Equal(2, process.ExitCode);
        Assert.Contains("ProfileGrid: ServiceId 'Bad_Id'", errors);
        Assert.Contains("ProfileGrid:Gateway: MaxEventsPerRequest", errors);
        Assert.Contains("ProfileGrid: StorageConnectionString is empty", errors);
    }

    [Fact]
    public async Task A_taken_port_stops_the_host_with_a_message_naming_it()
    {
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll"),
                     "--ProfileGrid:Storage=Memory", $"--ProfileGrid:Endpoints:HttpPort={port}",
                     $"--ProfileGrid:Endpoints:GrpcPort={AzuriteServer.FreeTcpPort()}",
                     $"--ProfileGrid:Endpoints:SiloPort={AzuriteServer.FreeTcpPort()}", $"--ProfileGrid:Endpoints:GatewayPort={AzuriteServer.FreeTcpPort()}",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        await output;

        Assert.Equal(1, process.ExitCode);
        Assert.Contains($"ProfileGrid cannot start: Failed to bind to address http://127.0.0.1:{port}", errors);
    }
}
