using System.Diagnostics;

namespace ProfileGrid.Silo.Tests;

/// <summary>A process expected to stop by itself (a host refusing its settings), run to its exit within a minute.</summary>
internal static class HostRun
{
    /// <summary>
    /// Its exit code and both outputs, read while it runs (an unread output that fills its pipe would block it). A
    /// process still running after <paramref name="seconds"/> fails the test and is killed, so that a host which starts
    /// when it should have refused cannot hold the whole test run.
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Errors)> ToExitAsync(ProcessStartInfo start, int seconds = 60)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start)!;
        try
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(seconds));
            return (process.ExitCode, await output.WaitAsync(TimeSpan.FromSeconds(10)), await errors.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
