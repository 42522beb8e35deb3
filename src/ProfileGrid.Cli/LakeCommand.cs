using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>
/// <c>profilegrid lake status|archive|rebuild|snapshot</c>: the data lake's operator routes (/v1/admin/lake, see
/// docs/lake.md) with an operator key, through the grid's REST API like <c>profilegrid keys</c>.
/// </summary>
internal static class LakeCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var grid = new Option<string>("--grid") { Description = "The grid's REST address, e.g. http://127.0.0.1:7080.", Required = true };
        var key = new Option<string?>("--key") { Description = $"An operator key (admin scope, every tenant); default: --key-file, then ${KeysCommand.KeyVariable}." };
        var keyFile = new Option<FileInfo?>("--key-file") { Description = "A file holding the operator key (.profilegrid/admin.key under ./run.sh)." }.AcceptExistingOnly();
        var tenant = new Option<string>("--tenant") { Description = "The tenant.", Required = true };
        var user = new Option<string?>("--user") { Description = "One user's profile only (an anonymous visitor's as anon:<id>); default: every profile of the tenant." };

        var status = new Command("status", "Where the lake is and how far each log partition is archived.");
        var archive = new Command("archive", "Archive every log partition now (one step each) and trim the log behind.");
        var rebuild = new Command("rebuild", "Rebuild a tenant's profiles (or one user's) from the lake and the log not yet archived, through the current rules.") { tenant, user };
        var snapshot = new Command("snapshot", "Take (or retake) today's profile snapshot of a tenant.") { tenant };
        foreach (var command in new[] { status, archive, rebuild, snapshot })
        {
            command.Options.Add(grid);
            command.Options.Add(key);
            command.Options.Add(keyFile);
        }

        status.SetAction((parse, cancellationToken) => CallAsync(console, parse, grid, key, keyFile, http => http.GetAsync("/v1/admin/lake", cancellationToken), answer =>
        {
            console.MarkupLineInterpolated($"Lake: {answer.GetProperty("location").GetString()}");
            var table = new Table().AddColumns("partition", "archived through", "pending");
            foreach (var partition in answer.GetProperty("partitions").EnumerateArray())
            {
                var pending = partition.GetProperty("pendingFirst").ValueKind == JsonValueKind.Null ? "" : $"{partition.GetProperty("pendingFirst")}-{partition.GetProperty("pendingLast")}";
                table.AddRow(partition.GetProperty("partition").ToString(), partition.GetProperty("archivedThrough").ToString(), pending);
            }

            console.Write(table);
        }, cancellationToken));

        archive.SetAction((parse, cancellationToken) => CallAsync(console, parse, grid, key, keyFile, http => http.PostAsync("/v1/admin/lake/archive", null, cancellationToken), answer =>
        {
            var table = new Table().AddColumns("partition", "archived through");
            foreach (var partition in answer.GetProperty("partitions").EnumerateArray())
            {
                table.AddRow(partition.GetProperty("partition").ToString(), partition.GetProperty("archivedThrough").ToString());
            }

            console.Write(table);
        }, cancellationToken));

        rebuild.SetAction((parse, cancellationToken) => CallAsync(console, parse, grid, key, keyFile,
            http => http.PostAsJsonAsync("/v1/admin/lake/rebuild", new { tenant = parse.GetRequiredValue(tenant), userId = parse.GetValue(user) }, cancellationToken),
            answer => console.MarkupLineInterpolated(
                $"Rebuilt {answer.GetProperty("profilesRebuilt").GetInt32():N0} profile(s) of tenant {answer.GetProperty("tenant").GetString()} from {answer.GetProperty("events").GetInt64():N0} events."),
            cancellationToken));

        snapshot.SetAction((parse, cancellationToken) => CallAsync(console, parse, grid, key, keyFile,
            http => http.PostAsJsonAsync("/v1/admin/lake/snapshot", new { tenant = parse.GetRequiredValue(tenant) }, cancellationToken),
            answer => console.MarkupLineInterpolated(
                $"Snapshot of {answer.GetProperty("date").GetString()}: {answer.GetProperty("profiles").GetInt32():N0} profiles in {answer.GetProperty("file").GetString()}"),
            cancellationToken));

        return new Command("lake", "The data lake: status, archive now, rebuild profiles from it, take a snapshot (docs/lake.md).") { status, archive, rebuild, snapshot };
    }

    private static async Task<int> CallAsync(
        IAnsiConsole console, ParseResult parse, Option<string> grid, Option<string?> key, Option<FileInfo?> keyFile,
        Func<HttpClient, Task<HttpResponseMessage>> send, Action<JsonElement> show, CancellationToken cancellationToken)
    {
        if (KeysCommand.Client(console, parse.GetRequiredValue(grid), parse.GetValue(key), parse.GetValue(keyFile)) is not { } http)
        {
            return EvaluateCommand.BadInput;
        }

        using var _ = http;
        // A tenant's rebuild reads all of its lake files: far longer than a key call.
        http.Timeout = TimeSpan.FromMinutes(30);
        using var response = await KeysCommand.SendAsync(console, () => send(http));
        using var document = response is null ? null : await KeysCommand.Answer(console, response, cancellationToken);
        if (document is null)
        {
            return 1;
        }

        show(document.RootElement);
        return EvaluateCommand.Ok;
    }
}
