using Spectre.Console;

namespace ProfileGrid.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        var console = AnsiConsole.Console;
        if (Console.IsOutputRedirected)
        {
            // Written to a file or a pipe there is no terminal to fit: keep each table row on one line.
            console.Profile.Width = 200;
        }

        return CliApp.Run(args, console, Console.Out, Console.Error);
    }
}
