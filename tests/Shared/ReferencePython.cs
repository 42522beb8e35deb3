using System.Diagnostics;
using System.Text.Json;

namespace ProfileGrid.Tests;

/// <summary>
/// Runs a script on Debian's python3 (numpy, pandas, scipy, installed by test.sh) over files written for it, so that
/// cross-check tests compare with the real library rather than with numbers copied from it: the script gets the
/// folder as <c>sys.argv[1]</c> and prints one JSON document. Shared (linked) by the test projects that need it.
/// </summary>
internal static class ReferencePython
{
    // Debian's interpreter, where apt puts its python3-* packages; a pyenv python3 on PATH would not see them.
    private const string Python = "/usr/bin/python3";

    /// <param name="package">The Debian package the script needs, named in the error when it is missing.</param>
    public static JsonElement Run(string script, IReadOnlyDictionary<string, string> files, string package)
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-python-");
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
                throw new InvalidOperationException($"{Python} is missing; install Debian's {package} (test.sh does).", ex);
            }

            using (process)
            {
                var output = process.StandardOutput.ReadToEndAsync();
                var errors = process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"The {package} check failed (install Debian's {package}; test.sh does): {errors}");
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
