using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ProfileGrid.DevHost;

/// <summary>
/// A local Azurite (the Azure Storage emulator from npm) run as a child process on loopback. Used by the dev host
/// command and by integration tests; production points at Azure Storage instead.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    private const string SetSid = "/usr/bin/setsid";

    // Azurite's well-known development account; not a secret.
    private const string AccountName = "devstoreaccount1";
    private const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process? _process;
    private readonly string? _location;
    private readonly System.Text.StringBuilder? _errors;

    private AzuriteServer(Process? process, int blobPort, int queuePort, int tablePort, string? location = null, System.Text.StringBuilder? errors = null)
    {
        _process = process;
        _location = location;
        _errors = errors;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
    }

    public int BlobPort { get; }

    public int QueuePort { get; }

    public int TablePort { get; }

    /// <summary>True when this instance started the process (and will stop it).</summary>
    public bool Owned => _process is not null;

    public string ConnectionString => ConnectionStringFor(BlobPort, QueuePort, TablePort);

    /// <summary>
    /// Bytes of the table database as last saved (Azurite keeps every table row in memory and saves them all, as one
    /// JSON file, every 5 s while anything changed); null for an Azurite this instance did not start or one in memory.
    /// </summary>
    public long? TableDatabaseBytes =>
        _location is null ? null : new FileInfo(Path.Combine(_location, "__azurite_db_table__.json")) is { Exists: true } file ? file.Length : null;

    /// <summary>The process of the Azurite this instance started; null for one it found running.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Null while the Azurite this instance started runs; once it has exited, its exit code and the last of its error output.</summary>
    public string? Exited()
    {
        if (_process is null || !_process.HasExited)
        {
            return null;
        }

        string[] last;
        lock (_errors!)
        {
            last = [.. _errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Where(line => line.Trim('#').Length > 0).TakeLast(3)];
        }

        return $"exit code {_process.ExitCode}" + (last.Length > 0 ? ": " + string.Join(" | ", last) : "");
    }

    public static string ConnectionStringFor(int blobPort, int queuePort, int tablePort) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{blobPort}/{AccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{queuePort}/{AccountName};" +
        $"TableEndpoint=http://127.0.0.1:{tablePort}/{AccountName};";

    /// <summary>
    /// Starts Azurite with its data in <paramref name="location"/> (null: in memory), or reuses one that already
    /// answers on these ports.
    /// </summary>
    public static async Task<AzuriteServer> StartAsync(string? location, int blobPort, int queuePort, int tablePort, CancellationToken cancellationToken = default)
    {
        if (await IsListeningAsync(tablePort) && await IsListeningAsync(queuePort) && await IsListeningAsync(blobPort))
        {
            return new AzuriteServer(null, blobPort, queuePort, tablePort);
        }

        var executable = FindExecutable()
            ?? throw new InvalidOperationException(
                "Azurite was not found. Run 'npm ci' in the repository root (it installs Azurite into node_modules), " +
                "or set PROFILEGRID_AZURITE to the azurite executable, or give ProfileGrid:StorageConnectionString.");

        // In a session of its own (setsid), so that a terminal's Ctrl-C, which reaches the whole foreground process group,
        // does not stop Azurite while the silo is still writing to it on its way down: the dev host stops it last.
        var ownSession = File.Exists(SetSid);
        var start = new ProcessStartInfo(ownSession ? SetSid : executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (ownSession)
        {
            start.ArgumentList.Add(executable);
        }

        foreach (var argument in new[]
                 {
                     "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose",
                     "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                     "--blobPort", blobPort.ToString(), "--queuePort", queuePort.ToString(), "--tablePort", tablePort.ToString(),
                 })
        {
            start.ArgumentList.Add(argument);
        }

        if (location is null)
        {
            start.ArgumentList.Add("--inMemoryPersistence");
        }
        else
        {
            Directory.CreateDirectory(location);
            start.ArgumentList.Add("--location");
            start.ArgumentList.Add(Path.GetFullPath(location));
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {executable}.");
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.AppendLine(e.Data); } } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();

        var server = new AzuriteServer(process, blobPort, queuePort, tablePort, location is null ? null : Path.GetFullPath(location), errors);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await IsListeningAsync(tablePort) && await IsListeningAsync(queuePort) && await IsListeningAsync(blobPort)))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                await server.DisposeAsync();
                string output;
                lock (errors)
                {
                    output = errors.ToString();
                }

                throw new InvalidOperationException($"Azurite did not start on ports {blobPort}/{queuePort}/{tablePort}: {output}");
            }

            await Task.Delay(100, cancellationToken);
        }

        return server;
    }

    public static int FreeTcpPort() => FreeTcpPorts(1)[0];

    /// <summary>
    /// <paramref name="count"/> distinct free loopback ports. Every listener stays open until all are chosen: one closed
    /// at once can be handed out again by the next ask (a CI run got 38211 for both Azurite's queue and table ports).
    /// </summary>
    public static int[] FreeTcpPorts(int count)
    {
        var listeners = new List<TcpListener>(count);
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listeners.Add(listener);
                listener.Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            // Azurite keeps its blob and table metadata in memory and saves it every few seconds and when asked to stop:
            // a kill would lose the last seconds (containers and rows that the grid was told are written). So ask first.
            if (!_process.HasExited && (OperatingSystem.IsWindows() || SendSignal(_process.Id, SigTerm) != 0 ||
                                        !await ExitsWithinAsync(_process, TimeSpan.FromSeconds(15))))
            {
                _process.Kill(entireProcessTree: true);
            }

            // Azurite takes over a second to let go of its ports; a restart on the same ports must wait for it.
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    private static async Task<bool> ExitsWithinAsync(Process process, TimeSpan timeout)
    {
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private static string? FindExecutable()
    {
        var configured = Environment.GetEnvironmentVariable("PROFILEGRID_AZURITE");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                var candidate = Path.Combine(directory.FullName, "node_modules", ".bin", "azurite");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(TimeSpan.FromSeconds(1));
            return true;
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            return false;
        }
    }
}
