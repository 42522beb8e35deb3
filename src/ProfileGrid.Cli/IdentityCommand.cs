using System.CommandLine;
using System.Net.Http.Headers;
using System.Text.Json;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>
/// <c>profilegrid identity show|unmerge</c>: a profile's identifiers and merge history, and the reversal of one merge,
/// through the grid's REST identity API (docs/identity.md).
/// </summary>
/// <remarks>Through the public API, as <c>keys</c>: an unmerge is an operator's decision the gateway records with the key that made it.</remarks>
internal static class IdentityCommand
{
    public static Command Build(IAnsiConsole console)
    {
        var grid = new Option<string>("--grid") { Description = "The grid's REST address, e.g. http://127.0.0.1:7080.", Required = true };
        var (key, keyFile) = KeysCommand.KeyOptions("read (show) or admin (unmerge)");
        var tenant = new Option<string>("--tenant") { Description = "The tenant.", Required = true };
        var user = new Option<string>("--user") { Description = "The user id (an anonymous visitor: anon:<id>).", Required = true };
        var mergeId = new Argument<string>("merge-id") { Description = "The merge's id (as 'show' lists it)." };
        var show = new Command("show", "A profile's identifiers (email and phone as hashes), where it is merged, what is merged into it, its merges and conflicts.") { grid, key, keyFile, tenant, user };
        var unmerge = new Command("unmerge", "Reverse one merge: both profiles as if it had never happened; the record stays, marked reversed.") { grid, key, keyFile, tenant, mergeId };

        show.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), KeysCommand.ResolveKey(parse.GetValue(key), parse.GetValue(keyFile))) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            var path = $"/v1/tenants/{Uri.EscapeDataString(parse.GetRequiredValue(tenant))}/identity/{Uri.EscapeDataString(parse.GetRequiredValue(user))}";
            using var document = await SendAsync(console, () => http.GetAsync(path, cancellationToken), cancellationToken);
            if (document is null)
            {
                return 1;
            }

            var root = document.RootElement;
            console.MarkupLineInterpolated($"[bold]{root.GetProperty("userId").GetString()}[/] in tenant {root.GetProperty("tenant").GetString()}");
            if (root.TryGetProperty("mergedInto", out var into) && into.ValueKind == JsonValueKind.String)
            {
                console.MarkupLineInterpolated($"merged into [bold]{into.GetString()}[/] (reads answer as that profile)");
            }

            console.MarkupLineInterpolated($"identifiers: {string.Join(", ", root.GetProperty("identifiers").EnumerateArray().Select(i => i.GetString()))}");
            console.MarkupLineInterpolated($"members: {string.Join(", ", root.GetProperty("members").EnumerateArray().Select(i => i.GetString()))}");
            var merges = new Table().AddColumns("merge", "from", "into", "rule", "identifier", "event", "at", "status", "reversed by");
            foreach (var m in root.GetProperty("merges").EnumerateArray())
            {
                merges.AddRow([.. new[] { "mergeId", "from", "into", "rule", "identifier", "eventId", "at", "status", "reversedBy" }.Select(p => Markup.Escape(Text(m, p)))]);
            }

            console.Write(merges);
            foreach (var c in root.GetProperty("conflicts").EnumerateArray())
            {
                console.MarkupLineInterpolated($"conflict: {Text(c, "identifier")} held by {Text(c, "heldBy")}, shown by {Text(c, "shownBy")} ({Text(c, "reason")})");
            }

            return EvaluateCommand.Ok;
        });

        unmerge.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), KeysCommand.ResolveKey(parse.GetValue(key), parse.GetValue(keyFile))) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            var path = $"/v1/tenants/{Uri.EscapeDataString(parse.GetRequiredValue(tenant))}/identity/merges/{Uri.EscapeDataString(parse.GetRequiredValue(mergeId))}/unmerge";
            using var document = await SendAsync(console, () => http.PostAsync(path, null, cancellationToken), cancellationToken);
            if (document is null)
            {
                return 1;
            }

            var r = document.RootElement;
            console.MarkupLineInterpolated($"Merge {Text(r, "mergeId")} {Text(r, "status")}: {Text(r, "from")} stands apart from {Text(r, "into")} again.");
            return EvaluateCommand.Ok;
        });

        return new Command("identity", "Identity resolution: show a profile's identity and merges, or reverse a merge.") { show, unmerge };
    }

    private static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "";

    private static HttpClient? Client(IAnsiConsole console, string grid, string? key)
    {
        if (!Uri.TryCreate(grid, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            console.MarkupLineInterpolated($"[red]error:[/] --grid: an http(s) address such as http://127.0.0.1:7080 ('{grid}')");
            return null;
        }

        var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    private static async Task<JsonDocument?> SendAsync(IAnsiConsole console, Func<Task<HttpResponseMessage>> send, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await send();
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return JsonDocument.Parse(text);
            }

            console.MarkupLineInterpolated($"[red]error:[/] the grid answered {(int)response.StatusCode} {response.ReasonPhrase}: {text}{GrpcErrors.RestHint(text)}");
            return null;
        }
        catch (HttpRequestException ex)
        {
            console.MarkupLineInterpolated($"[red]error:[/] the grid did not answer: {ex.Message}");
            return null;
        }
    }
}
