using System.Diagnostics;
using System.Text;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using ProfileGrid.DevHost;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// The real host (ProfileGrid.Silo.dll) as a child process on free loopback ports, so tests talk to it the way a
/// user does, over gRPC and HTTP, and can kill it with SIGKILL.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private SiloProcess(Process process, int grpcPort, int httpPort)
    {
        _process = process;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        Client = new ProfileGateway.ProfileGatewayClient(Channel);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
    }

    public int GrpcPort { get; }

    public int HttpPort { get; }

    public GrpcChannel Channel { get; }

    public ProfileGateway.ProfileGatewayClient Client { get; }

    public HttpClient Http { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>A silo with memory storage and streams: throwaway, for gateway behaviour.</summary>
    public static Task<SiloProcess> StartEphemeralAsync(params string[] extraSettings) =>
        StartAsync(["--ProfileGrid:Storage=Memory", "--ProfileGrid:Streams=Memory", .. extraSettings]);

    /// <summary>A silo on Azure Queue streams and Azure Table storage in the given Azurite.</summary>
    public static Task<SiloProcess> StartDurableAsync(string storageConnectionString, string serviceId, params string[] extraSettings) =>
        StartAsync([
            "--ProfileGrid:Storage=AzureStorage", "--ProfileGrid:Streams=AzureQueue",
            $"--ProfileGrid:StorageConnectionString={storageConnectionString}", $"--ProfileGrid:ServiceId={serviceId}",
            .. extraSettings]);

    public static async Task<SiloProcess> StartAsync(IEnumerable<string> settings)
    {
        var list = settings.ToList();
        if (!list.Any(s => s.StartsWith("--ProfileGrid:Auth:", StringComparison.OrdinalIgnoreCase)))
        {
            // Tests of other features talk to the silo without keys; the access tests (AccessTests) turn keys on.
            list.Add("--ProfileGrid:Auth:Enabled=false");
        }

        for (var attempt = 1; ; attempt++)
        {
            var silo = Launch(list);
            try
            {
                await silo.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
                return silo;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // A free port is found by binding port 0 and letting it go; another process on the machine can take it
                // before the silo binds it. New ports, not a new silo setting.
                await silo.DisposeAsync();
            }
        }
    }

    private static SiloProcess Launch(IReadOnlyList<string> settings)
    {
        var grpcPort = AzuriteServer.FreeTcpPort();
        var httpPort = AzuriteServer.FreeTcpPort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssemblyPath());
        foreach (var setting in settings.Concat([
                     $"--ProfileGrid:Endpoints:GrpcPort={grpcPort}", $"--ProfileGrid:Endpoints:HttpPort={httpPort}",
                     $"--ProfileGrid:Endpoints:SiloPort={AzuriteServer.FreeTcpPort()}", $"--ProfileGrid:Endpoints:GatewayPort={AzuriteServer.FreeTcpPort()}"]))
        {
            start.ArgumentList.Add(setting);
        }

        var process = Process.Start(start)!;
        var silo = new SiloProcess(process, grpcPort, httpPort);
        process.OutputDataReceived += (_, e) => silo.Append(e.Data);
        process.ErrorDataReceived += (_, e) => silo.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    /// <summary>SIGKILL: no shutdown, no flush, exactly what a crash does.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    public bool HasExited => _process.HasExited;

    /// <summary>SIGTERM: the graceful shutdown an orchestrator asks for.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Http.Dispose();
        await KillAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit(); // drains the redirected output, so that the message says why
                throw new InvalidOperationException($"The silo exited with code {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var response = await Http.GetAsync("/healthz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The silo did not become healthy within {timeout}:\n{Output}");
    }

    private static string HostAssemblyPath()
    {
        // The test project references the host, so it is built next to the tests; run that copy.
        var path = Path.Combine(AppContext.BaseDirectory, "ProfileGrid.Silo.dll");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("The host assembly is not in the test output.", path);
        }

        return path;
    }
}
