using System.CommandLine;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>The <c>profilegrid</c> command line: its commands, with the console injected so tests run it in-process.</summary>
public static class CliApp
{
    public static RootCommand Build(IAnsiConsole console) =>
        new("profilegrid: tools for ProfileGrid: bulk import of e-commerce exports (CSV, JSONL), export of profiles and segments, offline evaluation of a ratings file and its import, API keys, the data lake, and identity (merges and unmerges)")
        {
            EvaluateCommand.Build(console),
            ImportCommand.Build(console),
            BulkImport.ImportEventsCommand.Build(console),
            BulkImport.RetailFileGenerator.Build(console),
            Export.ExportCommand.Build(console),
            KeysCommand.Build(console),
            LakeCommand.Build(console),
            IdentityCommand.Build(console),
            UsersCommand.Build(console),
        };

    /// <summary>Parses and runs <paramref name="args"/>; parse errors and help go to <paramref name="output"/> and <paramref name="error"/>.</summary>
    /// <remarks>
    /// A command line that does not parse (an option that is not a number, a key file that does not exist) exits 2, as
    /// every command's own checks of its options do: 1 means the grid failed, which a wrapper script retries (probe71).
    /// </remarks>
    public static int Run(string[] args, IAnsiConsole console, TextWriter output, TextWriter error)
    {
        var parse = Build(console).Parse(args);
        var code = parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
        return parse.Errors.Count > 0 && code == 1 ? 2 : code;
    }
}
