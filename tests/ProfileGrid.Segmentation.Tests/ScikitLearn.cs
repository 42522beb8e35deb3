using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ProfileGrid.Segmentation.Tests;

/// <summary>
/// Runs scikit-learn (Debian's python3-sklearn, installed by test.sh) on the same data, so the cross-check tests
/// compare with the real library rather than with numbers copied from it.
/// </summary>
internal static class ScikitLearn
{
    public static JsonElement Run(string script, double[][] points, int[]? labels = null) =>
        DebianPython.Run(script, points, labels, "python3-sklearn");
}

/// <summary>Runs pandas (Debian's python3-pandas, installed by test.sh) on the same data, as <see cref="ScikitLearn"/> runs scikit-learn.</summary>
internal static class Pandas
{
    public static JsonElement Run(string script, double[][] points) => DebianPython.Run(script, points, null, "python3-pandas");
}

/// <summary>
/// A script on Debian's python3 with the data as <c>X</c> (the rows of the points, loaded by numpy) and
/// <c>labels</c>; the script prints one JSON document, which is returned.
/// </summary>
internal static class DebianPython
{
    // Debian's interpreter, where apt puts python3-sklearn and python3-pandas; a pyenv python3 on PATH would not see them.
    private const string Python = "/usr/bin/python3";

    public static JsonElement Run(string script, double[][] points, int[]? labels, string package)
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-python-");
        try
        {
            var dataPath = Path.Combine(folder.FullName, "points.csv");
            File.WriteAllLines(dataPath, points.Select(row => string.Join(',', row.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
            var labelsPath = Path.Combine(folder.FullName, "labels.csv");
            File.WriteAllLines(labelsPath, (labels ?? []).Select(l => l.ToString(CultureInfo.InvariantCulture)));
            var scriptPath = Path.Combine(folder.FullName, "check.py");
            File.WriteAllText(scriptPath, $$"""
                import json, sys
                import numpy as np
                X = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
                try:
                    labels = np.loadtxt(sys.argv[2], dtype=int, ndmin=1)
                except Exception:
                    labels = None
                {{script}}
                """.Replace("\n                ", "\n"));

            var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(scriptPath);
            start.ArgumentList.Add(dataPath);
            start.ArgumentList.Add(labelsPath);
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
                    throw new InvalidOperationException($"{package} check failed (install Debian's {package}; test.sh does): {errors}");
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
