using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ProfileGrid.Benchmarks;

/// <summary>What the numbers were measured on, captured when the run starts.</summary>
public sealed record MachineInfo(
    DateTimeOffset StartedAt, int Cores, string Cpu, string Memory, string Kernel, string LoadAverage, string Dotnet, string Redis, string Azurite, string Commit, string MemoryMonitor)
{
    public static MachineInfo Capture() => new(
        DateTimeOffset.UtcNow,
        Environment.ProcessorCount,
        FirstValue("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString(),
        MemTotal(),
        Run("uname", "-r") ?? RuntimeInformation.OSDescription,
        ReadOrNull("/proc/loadavg") is { } load ? string.Join(' ', load.Split(' ').Take(3)) : "?",
        RuntimeInformation.FrameworkDescription,
        Run("redis-server", "--version") ?? "not installed",
        AzuriteVersion(),
        CommitOfHost(),
        DamonState());

    public IEnumerable<string> Lines()
    {
        yield return $"date (UTC):      {StartedAt:yyyy-MM-dd HH:mm:ss}";
        yield return $"cores:           {Cores} ({Cpu})";
        yield return $"memory:          {Memory}";
        yield return $"kernel:          {Kernel} (uname -r)";
        yield return $"load average:    {LoadAverage} (1, 5, 15 min, at the start of the run)";
        yield return $".NET:            {Dotnet}";
        yield return $"redis:           {Redis}";
        yield return $"azurite:         {Azurite}";
        yield return $"commit:          {Commit}";
        yield return $"memory monitor:  {MemoryMonitor}";
    }

    private const string Kdamonds = "/sys/kernel/mm/damon/admin/kdamonds";

    /// <summary>
    /// Whether the kernel's DAMON monitor runs: on the VMs measured, its kdamond thread took the CPU for up to 50 ms every
    /// ~0.6 s, which set the open-loop latency tail of every process (docs/benchmarks.md, "Recommend serving").
    /// </summary>
    private static string DamonState()
    {
        if (!Directory.Exists(Kdamonds))
        {
            return "no DAMON (kdamond) on this kernel";
        }

        var running = Directory.EnumerateDirectories(Kdamonds)
            .Select(folder => (Folder: folder, State: ReadOrNull(Path.Combine(folder, "state"))))
            .Where(kdamond => kdamond.State == "on")
            .ToList();
        if (running.Count == 0)
        {
            return "DAMON present, no kdamond running";
        }

        var context = Path.Combine(running[0].Folder, "contexts", "0");
        var sampleUs = ReadOrNull(Path.Combine(context, "monitoring_attrs", "intervals", "sample_us"));
        var action = ReadOrNull(Path.Combine(context, "schemes", "0", "action"));
        return $"DAMON on ({running.Count} kdamond, sampling every {(long.TryParse(sampleUs, out var us) ? $"{us / 1000} ms" : "?")}"
            + $"{(action is null ? "" : $", scheme {action}")}): its bursts stall both cores, see docs/benchmarks.md";
    }

    private static string? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? FirstValue(string path, string key) =>
        ReadOrNull(path)?.Split('\n')
            .Where(line => line.StartsWith(key, StringComparison.Ordinal))
            .Select(line => line[(line.IndexOf(':') + 1)..].Trim())
            .FirstOrDefault();

    private static string MemTotal()
    {
        var value = FirstValue("/proc/meminfo", "MemTotal");
        return value is not null && long.TryParse(value.Split(' ')[0], out var kb) ? $"{kb / 1024.0 / 1024.0:F1} GiB" : "?";
    }

    private static string AzuriteVersion()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var package = Path.Combine(dir.FullName, "node_modules", "azurite", "package.json");
            if (File.Exists(package))
            {
                using var json = JsonDocument.Parse(File.ReadAllText(package));
                return json.RootElement.GetProperty("version").GetString() ?? "?";
            }
        }

        return "not found";
    }

    /// <summary>The repository commit the host was built from, and whether src/ had uncommitted changes then.</summary>
    private static string CommitOfHost()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            // A linked work tree (git worktree) has a .git file rather than a folder.
            var git = Path.Combine(dir.FullName, ".git");
            if (!Directory.Exists(git) && !File.Exists(git))
            {
                continue;
            }

            var head = Run("git", $"-C \"{dir.FullName}\" rev-parse --short HEAD");
            var dirty = Run("git", $"-C \"{dir.FullName}\" status --porcelain -- src");
            return head is null ? "?" : $"{head}{(string.IsNullOrEmpty(dirty) ? " (src/ clean)" : " + uncommitted changes in src/")}";
        }

        return "? (not in a git work tree)";
    }

    private static string? Run(string file, string arguments)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
