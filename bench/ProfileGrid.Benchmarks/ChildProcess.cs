using System.Diagnostics;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// A server the benchmark starts (the host, redis-server): output kept for error messages, killed with the benchmark
/// even on Ctrl-C.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private static readonly List<ChildProcess> Running = [];
    private static readonly List<Func<ValueTask>> AbortActions = [];
    private readonly Queue<string> _tail = new();
    private readonly Dictionary<string, int> _counts = [];
    private readonly Process _process;

    static ChildProcess()
    {
        Console.CancelKeyPress += (_, _) => KillAll();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    private ChildProcess(Process process, string name)
    {
        _process = process;
        Name = name;
    }

    public string Name { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the process wrote (stdout and stderr).</summary>
    public string Tail
    {
        get
        {
            lock (_tail)
            {
                return string.Join('\n', _tail);
            }
        }
    }

    /// <summary>
    /// What the host says when storage is overwhelmed, counted over its whole output: Orleans' slow-table warning, an
    /// Orleans message that expired before it was handled, a timed-out insert that had landed, and failed state writes.
    /// </summary>
    public static readonly string[] Counted = ["Slow access to Azure Table", "expired", "EntityAlreadyExists", "writing state failed", "set aside"];

    /// <summary>Lines so far that contain each of <see cref="Counted"/>.</summary>
    public IReadOnlyDictionary<string, int> Counts
    {
        get
        {
            lock (_tail)
            {
                return new Dictionary<string, int>(_counts);
            }
        }
    }

    private const string LoadGeneratorGen0Size = "DOTNET_GCgen0size";

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // bench.sh sizes the load generator's gen0 for itself; the host keeps the runtime's default.
        start.Environment.Remove(LoadGeneratorGen0Size);

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var child = new ChildProcess(process, name);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (Running)
        {
            Running.Add(child);
        }

        return child;
    }

    public async ValueTask DisposeAsync()
    {
        lock (Running)
        {
            Running.Remove(this);
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>Also runs <paramref name="action"/> if the benchmark is interrupted (e.g. stops an Azurite it started).</summary>
    public static IDisposable OnAbort(Func<ValueTask> action)
    {
        lock (AbortActions)
        {
            AbortActions.Add(action);
        }

        return new Unregister(() => { lock (AbortActions) { AbortActions.Remove(action); } });
    }

    private sealed class Unregister(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private static void KillAll()
    {
        Func<ValueTask>[] actions;
        lock (AbortActions)
        {
            actions = [.. AbortActions];
        }

        foreach (var action in actions)
        {
            try
            {
                action().AsTask().Wait(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
            }
        }

        ChildProcess[] running;
        lock (Running)
        {
            running = [.. Running];
        }

        foreach (var child in running)
        {
            try
            {
                if (!child._process.HasExited)
                {
                    child._process.Kill(entireProcessTree: true);
                }
            }
            catch (InvalidOperationException)
            {
            }
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_tail)
        {
            foreach (var pattern in Counted)
            {
                if (line.Contains(pattern, StringComparison.OrdinalIgnoreCase))
                {
                    _counts[pattern] = _counts.GetValueOrDefault(pattern) + 1;
                }
            }

            _tail.Enqueue(line);
            while (_tail.Count > 60)
            {
                _tail.Dequeue();
            }
        }
    }
}
