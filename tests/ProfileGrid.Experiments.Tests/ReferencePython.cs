using System.Diagnostics;
using System.Text.Json;

namespace ProfileGrid.Experiments.Tests;

/// <summary>
/// Runs a script on Debian's python3 with numpy and scipy (scipy comes with python3-sklearn, which test.sh installs)
/// over files written for it, as the recommendation tests run pandas: the script gets the folder as
/// <c>sys.argv[1]</c> and prints one JSON document.
/// </summary>
internal static class ReferencePython
{
    // Debian's interpreter, where apt puts python3-scipy; a pyenv python3 on PATH would not see it.
    private const string Python = "/usr/bin/python3";

    public static JsonElement Run(string script, IReadOnlyDictionary<string, string> files)
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-stats-python-");
        try
        {
            foreach (var (name, content) in files)
            {
                File.WriteAllText(Path.Combine(folder.FullName, name), content);
            }

            var scriptPath = Path.Combine(folder.FullName, "check.py");
            File.WriteAllText(scriptPath, script);
            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(scriptPath);
            start.ArgumentList.Add(folder.FullName);
            Process process;
            try
            {
                process = Process.Start(start)!;
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                throw new InvalidOperationException($"{Python} is missing; install Debian's python3-scipy (test.sh does).", ex);
            }

            using (process)
            {
                var output = process.StandardOutput.ReadToEndAsync();
                var errors = process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"The scipy check failed (install Debian's python3-scipy; test.sh does): {errors}");
                }

                return JsonDocument.Parse(output.Result).RootElement.Clone();
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
