using System.Diagnostics;
using System.Text;

namespace ProfileGrid.Silo.Tests;

/// <summary>The dev host that <c>./run.sh</c> starts, as a process: what it does when its silo dies under it.</summary>
public class DevHostTests
{
    /// <summary>
    /// probe51: after a kill -9 of the silo, <c>./run.sh</c> stopped Azurite and exited 0 without a word, as after a
    /// Ctrl-C, so a script or a terminal showed no failure while the grid was down.
    /// </summary>
    [Fact]
    public async Task A_silo_killed_under_the_dev_host_is_reported_and_the_dev_host_fails()
    {
        var ports = SiloPorts.Free();
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ProfileGrid.DevHost.dll"));
        foreach (var setting in new[]
                 {
                     "--ProfileGrid:Demo:Enabled=false", "--ProfileGrid:Storage=Memory", "--ProfileGrid:Streams=Memory", "--ProfileGrid:Auth:Enabled=false",
                     $"--ProfileGrid:Endpoints:GrpcPort={ports.Grpc}", $"--ProfileGrid:Endpoints:HttpPort={ports.Http}",
                     $"--ProfileGrid:Endpoints:SiloPort={ports.Silo}", $"--ProfileGrid:Endpoints:GatewayPort={ports.Gateway}",
                 })
        {
            start.ArgumentList.Add(setting);
        }

        var output = new StringBuilder();
        using var devHost = Process.Start(start)!;
        devHost.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        devHost.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        devHost.BeginOutputReadLine();
        devHost.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports.Http}") };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!await AnswersAsync(http))
            {
                Assert.True(DateTime.UtcNow < deadline && !devHost.HasExited, $"The dev host's silo never answered its health check.\n{output}");
                await Task.Delay(200);
            }

            var silo = Assert.Single(ChildrenOf(devHost.Id));
            using (var kill = Process.Start("kill", ["-KILL", silo.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            await devHost.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)); // also waits for the output read to its end
            Assert.Equal(137, devHost.ExitCode);
            Assert.Contains("The silo stopped on its own (exit code 137: killed by signal 9)", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            if (!devHost.HasExited)
            {
                devHost.Kill(entireProcessTree: true);
            }
        }
    }

    private static async Task<bool> AnswersAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("/healthz");
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static int[] ChildrenOf(int pid) =>
        [.. Directory.GetDirectories($"/proc/{pid}/task")
            .SelectMany(task => File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(int.Parse)
            .Distinct()];
}
