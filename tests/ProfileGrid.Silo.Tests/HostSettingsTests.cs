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
        var (exitCode, _, errors) = await HostRun.ToExitAsync(start);

        Assert.Equal(2, exitCode);
        Assert.Contains("ProfileGrid: ServiceId 'Bad_Id'", errors);
        Assert.Contains("ProfileGrid:Gateway: MaxEventsPerRequest", errors);
        Assert.Contains("ProfileGrid: StorageConnectionString is empty", errors);
    }

    private static async Task<(int ExitCode, string Errors)> RunHostAsync(IEnumerable<string> arguments, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll"));
        foreach (var argument in arguments.Concat(["--ProfileGrid:Storage=Memory"]))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var (exitCode, _, errors) = await HostRun.ToExitAsync(start);
        return (exitCode, errors);
    }

    [Fact]
    public async Task A_mistyped_setting_on_the_command_line_stops_the_host_naming_it()
    {
        var (exitCode, errors) = await RunHostAsync(["--ProfileGrid:Endpoints:RestPort=7081", "--ProfileGrid:Profile:SessionTimout=00:10:00"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("ProfileGrid:Endpoints:RestPort is not a setting", errors);
        Assert.Contains("ProfileGrid:Profile:SessionTimout is not a setting (did you mean ProfileGrid:Profile:SessionTimeout?)", errors);
    }

    [Fact]
    public async Task A_kubernetes_silo_outside_a_pod_or_with_two_service_ids_refuses_to_start_naming_what_is_wrong()
    {
        string[] kubernetes = ["--ProfileGrid:Clustering=Kubernetes", "--ProfileGrid:StorageConnectionString=UseDevelopmentStorage=true"];
        var (exitCode, errors) = await RunHostAsync(kubernetes, new Dictionary<string, string> { ["POD_NAME"] = string.Empty, ["POD_NAMESPACE"] = string.Empty, ["POD_IP"] = string.Empty });

        Assert.Equal(2, exitCode);
        Assert.Contains("Clustering=Kubernetes needs the environment variables POD_NAME, POD_NAMESPACE, POD_IP", errors);

        (exitCode, errors) = await RunHostAsync(kubernetes, new Dictionary<string, string>
        {
            ["POD_NAME"] = "profilegrid-0", ["POD_NAMESPACE"] = "shop", ["POD_IP"] = "10.0.0.7", ["ORLEANS_SERVICE_ID"] = "another-service",
        });

        Assert.Equal(2, exitCode);
        Assert.Contains("ORLEANS_SERVICE_ID is 'another-service' but ServiceId is 'profilegrid'", errors);
        Assert.DoesNotContain("POD_NAME", errors);
    }

    [Fact]
    public async Task A_mistyped_setting_in_the_environment_stops_the_host_naming_it()
    {
        var (exitCode, errors) = await RunHostAsync([], new Dictionary<string, string> { ["ProfileGrid__Segmentation__Shardz"] = "4" });

        Assert.Equal(2, exitCode);
        Assert.Contains("ProfileGrid:Segmentation:Shardz is not a setting (did you mean ProfileGrid:Segmentation:Shards?)", errors);
    }

    [Fact]
    public async Task Label_thresholds_are_settings_checked_like_any_other()
    {
        var (exitCode, errors) = await RunHostAsync(
            ["--ProfileGrid:Segmentation:Labels:DormantAfterDays=60", "--ProfileGrid:Segmentation:Labels:AtRiskAfterDays=90", "--ProfileGrid:Segmentation:Labels:LoyalMinOrder=4"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("ProfileGrid:Segmentation:Labels:LoyalMinOrder is not a setting (did you mean ProfileGrid:Segmentation:Labels:LoyalMinOrders?)", errors);
        Assert.Contains("at_risk_after_days: must be positive and below dormant_after_days (60); got 90.", errors);
    }

    [Fact]
    public async Task A_mistyped_setting_in_an_appsettings_file_stops_the_host_naming_it()
    {
        // The host reads appsettings.{environment}.json beside its binary; a file of our own, under a name no one else uses.
        var environment = "typo" + Guid.NewGuid().ToString("N")[..8];
        var file = Path.Combine(AppContext.BaseDirectory, $"appsettings.{environment}.json");
        await File.WriteAllTextAsync(file, """{"ProfileGrid": {"Gateway": {"Limits": {"MaxEventsPerRequest": 10}}}}""");
        try
        {
            var (exitCode, errors) = await RunHostAsync([], new Dictionary<string, string> { ["DOTNET_ENVIRONMENT"] = environment });

            Assert.Equal(2, exitCode);
            Assert.Contains("ProfileGrid:Gateway:Limits:MaxEventsPerRequest is not a setting", errors);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_invalid_value_of_a_grain_option_stops_the_host_like_the_others()
    {
        var (exitCode, errors) = await RunHostAsync(["--ProfileGrid:Ingest:Partitions=0", "--ProfileGrid:Endpoints:HttpPort=many", "--ProfileGrid:Residency:PackIdleAfter=-00:00:01"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("ProfileGrid:Ingest: Partitions must be between 1 and 1024.", errors);
        Assert.Contains("ProfileGrid:Residency: PackIdleAfter must be 0 (off) or at least 10 ms.", errors);
        Assert.Contains("'many' at 'ProfileGrid:Endpoints:HttpPort'", errors);
    }

    private static IReadOnlyList<string> Unknown(string json) =>
        SettingsCheck.UnknownKeys(new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build());

    [Fact]
    public void Dictionary_keys_are_data_and_list_entries_are_indices_but_a_typo_at_any_depth_is_caught()
    {
        var problems = Unknown("""
            {"ProfileGrid": {
              "Profile": {"ExchangeRates": {"XYZ": 1.5, "brl": 0.2}, "WindowDays": [7, 30], "Session": {"Timeout": "00:10:00"}},
              "Endpoints": {"HttpPort": 1},
              "EventHubs": {"ConnectionString": "x", "Hub": {"Name": "y"}},
              "ServiceId": {"Value": "z"},
              "UsesStreams": true},
             "Logging": {"Anything": 1}}
            """);

        Assert.Equal(
            [
                "ProfileGrid:EventHubs:Hub:Name is not a setting",
                "ProfileGrid:Profile:Session:Timeout is not a setting",
                "ProfileGrid:ServiceId:Value is not a setting",
                "ProfileGrid:UsesStreams is not a setting",
            ],
            problems.Select(p => p[..(p.IndexOf(" is not a setting", StringComparison.Ordinal) + " is not a setting".Length)]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_shipped_appsettings_and_every_documented_setting_are_known()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"))
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ProfileGrid:StorageConnectionString"] = "UseDevelopmentStorage=true", ["ProfileGrid:IngestPath"] = "Stream", ["ProfileGrid:Ingest:FlushInterval"] = "00:00:01",
                ["ProfileGrid:Segmentation:RetrainInterval"] = "00:00:00", ["ProfileGrid:Profile:SessionTimeout"] = "00:20:00",
                ["ProfileGrid:Endpoints:AdvertisedAddress"] = "10.0.0.1", ["ProfileGrid:Gateway:MaxRequestBytes"] = "100000",
                ["ProfileGrid:Residency:PackIdleAfter"] = "00:01:00", ["ProfileGrid:Residency:ViewKeptFor"] = "00:02:00",
            })
            .Build();

        Assert.Empty(SettingsCheck.Problems(configuration));
    }

    [Fact]
    public void Every_setting_the_docs_name_is_one_the_silo_knows()
    {
        // The dev host's own settings (Demo, Azurite) and the README's example of a typo are not the silo's.
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir.FullName, "README.md")) || !Directory.Exists(Path.Combine(dir.FullName, "docs")))
        {
            dir = dir.Parent ?? throw new InvalidOperationException("The repository root was not found.");
        }

        var named = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(dir.FullName, "docs"), "*.md").Append(Path.Combine(dir.FullName, "README.md")))
        {
            var text = File.ReadAllText(file);
            foreach (System.Text.RegularExpressions.Match match in System.Text.RegularExpressions.Regex.Matches(text, @"ProfileGrid:[A-Za-z]+(:[A-Za-z]+)+"))
            {
                named.Add(match.Value);
            }

            // A table of options under a heading naming its section: "## Options (`ProfileGrid:Fairness`)", "| `MinimumUsers` | ...".
            string? section = null;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith('#'))
                {
                    section = System.Text.RegularExpressions.Regex.Match(line, @"`(ProfileGrid:[A-Za-z]+)`") is { Success: true } heading ? heading.Groups[1].Value : null;
                }
                else if (section is not null && System.Text.RegularExpressions.Regex.Match(line, @"^\| `([A-Za-z]+)` \|") is { Success: true } row)
                {
                    named.Add($"{section}:{row.Groups[1].Value}");
                }
            }
        }

        named.RemoveWhere(n => n.StartsWith("ProfileGrid:Demo:", StringComparison.Ordinal) || n.StartsWith("ProfileGrid:Azurite:", StringComparison.Ordinal) || n == "ProfileGrid:Endpoints:RestPort");
        Assert.Contains("ProfileGrid:Fairness:MinimumUsers", named);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(named.Select(n => new KeyValuePair<string, string?>(n, "1"))).Build();
        Assert.Empty(SettingsCheck.UnknownKeys(configuration));
    }

    [Fact]
    public async Task A_taken_port_stops_the_host_with_a_message_naming_it()
    {
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var others = AzuriteServer.FreeTcpPorts(3);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll"),
                     "--ProfileGrid:Storage=Memory", $"--ProfileGrid:Endpoints:HttpPort={port}",
                     $"--ProfileGrid:Endpoints:GrpcPort={others[0]}",
                     $"--ProfileGrid:Endpoints:SiloPort={others[1]}", $"--ProfileGrid:Endpoints:GatewayPort={others[2]}",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var (exitCode, _, errors) = await HostRun.ToExitAsync(start);

        Assert.Equal(1, exitCode);
        Assert.Contains($"ProfileGrid cannot start: Failed to bind to address http://127.0.0.1:{port}", errors);
    }
}
