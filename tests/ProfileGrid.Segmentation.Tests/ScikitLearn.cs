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
    // Debian's interpreter, where apt puts python3-sklearn; a pyenv python3 on PATH would not see it.
    private const string Python = "/usr/bin/python3";

    public static JsonElement Run(string script, double[][] points, int[]? labels = null)
    {
        var folder = Directory.CreateTempSubdirectory("profilegrid-sklearn-");
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
                throw new InvalidOperationException($"{Python} is missing; install Debian's python3-sklearn (test.sh does).", ex);
            }

            using (process)
            {
                var output = process.StandardOutput.ReadToEndAsync();
                var errors = process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode != 0)
                {
                    throw new InvalidOperationException($"scikit-learn check failed (install Debian's python3-sklearn; test.sh does): {errors}");
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
