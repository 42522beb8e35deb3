using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using ProfileGrid.Contracts;
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
    private readonly GrpcChannel _channel;

    private SiloProcess(Process process, SiloPorts ports, IReadOnlyList<string> settings)
    {
        _process = process;
        Ports = ports;
        Settings = settings;
        GrpcPort = ports.Grpc;
        HttpPort = ports.Http;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{ports.Grpc}");
        Calls = _channel.Intercept(new DefaultDeadline(TimeSpan.FromMinutes(5)));
        Client = new ProfileGateway.ProfileGatewayClient(Calls);
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Http}") };
    }

    /// <summary>The loopback ports this silo listens on; <see cref="StartAgainAsync"/> binds the same ones.</summary>
    public SiloPorts Ports { get; }

    /// <summary>The settings it was started with (ports apart).</summary>
    public IReadOnlyList<string> Settings { get; }

    /// <summary>The silo's address as Orleans names it in membership ("S127.0.0.1:{silo port}:{generation}"), up to the generation.</summary>
    public string SiloAddressPrefix => $"S127.0.0.1:{Ports.Silo}:";

    public int GrpcPort { get; }

    public int HttpPort { get; }

    /// <summary>gRPC to this silo; a call without a deadline gets one of five minutes (<see cref="DefaultDeadline"/>).</summary>
    public CallInvoker Calls { get; }

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

    /// <summary>
    /// The last <paramref name="lines"/> lines of the silo's output, for a failed test's report: CI shows only the end of
    /// the run's output, and a whole silo log there would push the failure's message out of sight.
    /// </summary>
    public string OutputTail(int lines)
    {
        var all = Output.Split('\n');
        return all.Length <= lines ? Output : $"[{all.Length - lines} earlier lines left out]\n" + string.Join('\n', all[^lines..]);
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
            var silo = Launch(list, SiloPorts.Free());
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
            catch
            {
                await silo.DisposeAsync(); // a silo that did not come up is not left running beside the next tests
                throw;
            }
        }
    }

    /// <summary>
    /// The same silo started again after it exited (killed or stopped): same settings, same ports, so it takes its old
    /// place in the cluster as a new incarnation (Orleans tells them apart by the generation in the silo address).
    /// </summary>
    public async Task<SiloProcess> StartAgainAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("Stop or kill the silo before starting it again.");
        }

        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var silo = Launch(Settings, Ports);
            try
            {
                await silo.WaitUntilHealthyAsync(deadline - DateTime.UtcNow);
                return silo;
            }
            catch (InvalidOperationException ex) when (DateTime.UtcNow < deadline && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // The dead process's sockets can linger for a moment after it exits; the ports are ours, so wait for them.
                await silo.DisposeAsync();
                await Task.Delay(500);
            }
            catch
            {
                await silo.DisposeAsync();
                throw;
            }
        }
    }

    private static SiloProcess Launch(IReadOnlyList<string> settings, SiloPorts ports)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssemblyPath());
        foreach (var setting in settings.Concat([
                     $"--ProfileGrid:Endpoints:GrpcPort={ports.Grpc}", $"--ProfileGrid:Endpoints:HttpPort={ports.Http}",
                     $"--ProfileGrid:Endpoints:SiloPort={ports.Silo}", $"--ProfileGrid:Endpoints:GatewayPort={ports.Gateway}"]))
        {
            start.ArgumentList.Add(setting);
        }

        var process = Process.Start(start)!;
        var silo = new SiloProcess(process, ports, settings);
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

        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException) when (_process.HasExited)
        {
            // Dead, but something it started still holds its output open: nothing more of it to wait for.
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited (0 after a graceful stop).</summary>
    public int ExitCode => _process.ExitCode;

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
        _channel.Dispose();
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
                // The asynchronous wait also drains the redirected output (the timed WaitForExit does not), so that the message
                // says why; bounded, for a child of the silo that still holds its output open.
                try
                {
                    await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (TimeoutException)
                {
                }

                throw new InvalidOperationException($"The silo exited with code {_process.ExitCode}:\n{Output}");
            }

            try
            {
                using var probe = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var response = await Http.GetAsync("/healthz", probe.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
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

/// <summary>The four loopback ports of one silo process: gRPC, HTTP (REST, health, admin), Orleans silo-to-silo and client gateway.</summary>
public sealed record SiloPorts(int Grpc, int Http, int Silo, int Gateway)
{
    public static SiloPorts Free() => AzuriteServer.FreeTcpPorts(4) is [var grpc, var http, var silo, var gateway]
        ? new(grpc, http, silo, gateway)
        : throw new InvalidOperationException("four ports were asked for");
}
