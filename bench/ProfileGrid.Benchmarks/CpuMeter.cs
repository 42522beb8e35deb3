using System.Diagnostics;
using System.Globalization;

namespace ProfileGrid.Benchmarks;

/// <summary>Cores kept busy on average over a measured phase, per process and for the whole machine.</summary>
public sealed record CpuUsage(double Seconds, double Server, double Storage, double Client, double Machine)
{
    /// <summary>Whatever else ran on the machine meanwhile (other builds and tests, the kernel's own work).</summary>
    public double Others => Math.Max(0, Machine - Server - Storage - Client);
}

/// <summary>
/// Reads CPU time from /proc (Linux): utime + stime of the server, the storage process and this client, and the
/// machine's busy time. Shows what a phase was bound by, and how much of the machine other work took.
/// </summary>
public sealed class CpuMeter
{
    private const double TicksPerSecond = 100; // USER_HZ: 100 on every Linux architecture .NET runs on.
    private readonly int? _server;
    private readonly int? _storage;
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly double _server0;
    private readonly double _storage0;
    private readonly double _client0;
    private readonly double _machine0;

    public CpuMeter(int? serverPid, int? storagePid)
    {
        _server = serverPid;
        _storage = storagePid;
        _server0 = ProcessSeconds(serverPid);
        _storage0 = ProcessSeconds(storagePid);
        _client0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
        _machine0 = MachineBusySeconds();
    }

    public CpuUsage Stop()
    {
        var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
        double Cores(double used) => seconds > 0 ? used / seconds : 0;
        return new CpuUsage(
            seconds,
            Cores(ProcessSeconds(_server) - _server0),
            Cores(ProcessSeconds(_storage) - _storage0),
            Cores(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - _client0),
            Cores(MachineBusySeconds() - _machine0));
    }

    /// <summary>The process with an argument containing <paramref name="contains"/> and one equal to <paramref name="exact"/> (e.g. Azurite by its port).</summary>
    public static int? FindProcess(string contains, string exact)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0');
                if (args.Any(a => a.Contains(contains, StringComparison.Ordinal)) && args.Contains(exact))
                {
                    return pid;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    public static double ProcessSeconds(int? pid)
    {
        if (pid is null)
        {
            return 0;
        }

        try
        {
            // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return 0;
        }
    }

    private static double MachineBusySeconds()
    {
        try
        {
            // cpu  user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
            var line = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            var ticks = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            return (ticks.Sum() - ticks[3] - ticks[4]) / TicksPerSecond;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            return 0;
        }
    }
}
