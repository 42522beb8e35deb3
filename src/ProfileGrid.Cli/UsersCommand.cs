using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>
/// <c>profilegrid users delete|export</c>: a user's erasure and export through the grid's REST API (docs/privacy.md), with
/// an admin key of the tenant (--key, --key-file or PROFILEGRID_API_KEY). Over the public API, as an operator's tool
/// outside the cluster: one request each, so an Orleans client would save nothing.
/// </summary>
public static class UsersCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var grid = new Option<string>("--grid") { Description = "The grid's REST address, e.g. http://127.0.0.1:7080.", Required = true };
        var tenant = new Option<string>("--tenant") { Description = "The user's tenant.", Required = true };
        var user = new Option<string>("--user") { Description = "The user id (an anonymous visitor: anon:<id>).", Required = true };
        var (key, keyFile) = KeysCommand.KeyOptions("admin");
        var output = new Option<FileInfo>("--out") { Description = "Where to write the export (JSON).", Required = true };

        var delete = new Command("delete", "Erase the user everywhere (profile, linked anonymous profiles, shards, log, lake) and print the receipt.")
            { grid, tenant, user, key, keyFile };
        var export = new Command("export", "Write everything the grid holds about the user as JSON.") { grid, tenant, user, key, keyFile, output };

        delete.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), KeysCommand.ResolveKey(parse.GetValue(key), parse.GetValue(keyFile))) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            using var response = await http.DeleteAsync(UserPath(parse.GetRequiredValue(tenant), parse.GetRequiredValue(user)), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!body.TrimStart().StartsWith('{'))
            {
                console.MarkupLineInterpolated($"[red]error:[/] {(int)response.StatusCode} {response.ReasonPhrase}: {body}{GrpcErrors.RestHint(body)}");
                return 1;
            }

            using var receipt = JsonDocument.Parse(body);
            if (receipt.RootElement.TryGetProperty("error", out var error))
            {
                console.MarkupLineInterpolated($"[red]error:[/] {(int)response.StatusCode}: {error.GetString()}");
                return 1;
            }

            var table = new Table().AddColumns("store", "removed", "note");
            foreach (var step in receipt.RootElement.GetProperty("steps").EnumerateArray())
            {
                var removed = string.Join(", ", step.GetProperty("removed").EnumerateObject().Select(p => $"{p.Name} {p.Value}"));
                var note = step.GetProperty("error").ValueKind == JsonValueKind.String ? "FAILED: " + step.GetProperty("error").GetString() : step.GetProperty("note").GetString() ?? "";
                table.AddRow(Markup.Escape(step.GetProperty("store").GetString()!), Markup.Escape(removed), Markup.Escape(note));
            }

            console.Write(table);
            var complete = receipt.RootElement.GetProperty("complete").GetBoolean();
            var profiles = string.Join(", ", receipt.RootElement.GetProperty("profilesErased").EnumerateArray().Select(p => p.GetString()));
            if (complete && receipt.RootElement.TryGetProperty("nothingHeld", out var nothing) && nothing.GetBoolean())
            {
                console.MarkupLineInterpolated($"Nothing held: no store had anything of '{parse.GetRequiredValue(user)}' (never ingested, or erased already). The erasure is recorded: events of this id from before now will not be applied.");
            }
            else if (complete)
            {
                console.MarkupLineInterpolated($"Erased: {profiles}.");
            }
            else
            {
                console.MarkupLine("[red]Not complete:[/] the erasure stays pending and the grid finishes it by itself; run the command again to finish it now.");
            }

            return complete ? EvaluateCommand.Ok : 1;
        });

        export.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), KeysCommand.ResolveKey(parse.GetValue(key), parse.GetValue(keyFile))) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            using var response = await http.GetAsync(UserPath(parse.GetRequiredValue(tenant), parse.GetRequiredValue(user)) + "/export", cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                console.MarkupLineInterpolated($"[red]error:[/] {(int)response.StatusCode} {response.ReasonPhrase}: {body}{GrpcErrors.RestHint(body)}");
                return 1;
            }

            var file = parse.GetRequiredValue(output);
            await File.WriteAllTextAsync(file.FullName, body, cancellationToken);
            using var document = JsonDocument.Parse(body);
            console.MarkupLineInterpolated($"Wrote {file.FullName}: {document.RootElement.GetProperty("events").GetArrayLength()} events.");
            return EvaluateCommand.Ok;
        });

        return new Command("users", "A user's rights: erase them everywhere, or export everything held about them (admin key).") { delete, export };
    }

    private static string UserPath(string tenant, string user) => $"/v1/tenants/{Uri.EscapeDataString(tenant)}/users/{Uri.EscapeDataString(user)}";

    private static HttpClient? Client(IAnsiConsole console, string grid, string? key)
    {
        if (!Uri.TryCreate(grid, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            console.MarkupLineInterpolated($"[red]error:[/] --grid: an http(s) address such as http://127.0.0.1:7080 ('{grid}')");
            return null;
        }

        if (key is null)
        {
            console.MarkupLineInterpolated($"[red]error:[/] an admin key of the tenant is needed: --key, --key-file or ${KeysCommand.KeyVariable}");
            return null;
        }

        // An erasure of a large tenant's history rewrites its lake files: minutes, not seconds.
        var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }
}
