using System.CommandLine;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Spectre.Console;

namespace ProfileGrid.Cli;

/// <summary>
/// <c>profilegrid keys create|list|revoke</c>: manages a grid's API keys through its REST admin API, with an operator
/// key (--key, --key-file or PROFILEGRID_API_KEY).
/// </summary>
/// <remarks>
/// Through the public API rather than as an Orleans client: key management is itself guarded by a key, and an Orleans
/// client would mint keys for anyone who reaches the cluster's network, past every check and log line the gateway keeps.
/// The first operator key comes from the silo's ProfileGrid:Auth:BootstrapKeyFile (docs/security.md).
/// </remarks>
internal static class KeysCommand
{
    public const string KeyVariable = "PROFILEGRID_API_KEY";

    /// <summary>--key and --key-file for a command that calls the grid's public API.</summary>
    public static (Option<string?> Key, Option<FileInfo?> KeyFile) KeyOptions(string scope) =>
        (new Option<string?>("--key") { Description = $"An API key with the {scope} scope on the tenant; default: --key-file, then ${KeyVariable}." },
         new Option<FileInfo?>("--key-file") { Description = "A file holding the API key (.profilegrid/admin.key under ./run.sh)." }.AcceptExistingOnly());

    public static Command Build(IAnsiConsole console)
    {
        var grid = new Option<string>("--grid") { Description = "The grid's REST address, e.g. http://127.0.0.1:7080.", Required = true };
        var key = new Option<string?>("--key") { Description = $"An operator key (admin scope, every tenant); default: --key-file, then ${KeyVariable}." };
        var keyFile = new Option<FileInfo?>("--key-file") { Description = "A file holding the operator key, such as the silo's bootstrap key file (.profilegrid/admin.key under ./run.sh)." }.AcceptExistingOnly();
        Option[] common = [grid, key, keyFile];

        var name = new Option<string>("--name") { Description = "A display name (the app or person the key is for).", Required = true };
        var scopes = new Option<string>("--scopes") { Description = "Comma-separated: ingest, read, admin.", Required = true };
        var tenants = new Option<string[]>("--tenant", "--tenants")
        {
            Description = "A tenant the key is bound to; repeat for more (a comma is part of a tenant's name, never a separator).",
            AllowMultipleArgumentsPerToken = false,
        };
        var allTenants = new Option<bool>("--all-tenants") { Description = "Every tenant, present and future: with admin scope, an operator key." };
        var rate = new Option<int?>("--rate") { Description = "This key's requests per second (default: the grid's ProfileGrid:Auth:PermitsPerSecond)." };
        var burst = new Option<int?>("--burst") { Description = "This key's burst (default: ProfileGrid:Auth:Burst)." };
        var create = new Command("create", "Create a key; its secret is printed once and stored nowhere.") { name, scopes, tenants, allTenants, rate, burst };
        var list = new Command("list", "List the keys: id, name, scopes, tenants, created and revoked times (never secrets).");
        var id = new Argument<string>("id") { Description = "The key's id (as listed)." };
        var revoke = new Command("revoke", "Revoke a key: refused at once on the silo that answers, within ProfileGrid:Auth:CacheFor (5 s) on the others.") { id };
        foreach (var command in new[] { create, list, revoke })
        {
            foreach (var option in common)
            {
                command.Options.Add(option);
            }
        }

        create.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), parse.GetValue(key), parse.GetValue(keyFile)) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            var body = new
            {
                name = parse.GetRequiredValue(name),
                scopes = parse.GetRequiredValue(scopes).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                tenants = parse.GetValue(tenants) ?? [],
                allTenants = parse.GetValue(allTenants),
                permitsPerSecond = parse.GetValue(rate),
                burst = parse.GetValue(burst),
            };
            using var response = await SendAsync(console, () => http.PostAsJsonAsync("/v1/admin/keys", body, cancellationToken));
            if (response is null)
            {
                return 1;
            }

            using var document = await Answer(console, response, cancellationToken);
            if (document is null)
            {
                return 1;
            }

            var table = KeyTable();
            AddRow(table, document.RootElement.GetProperty("key"));
            console.Write(table);
            console.MarkupLine("[bold]Secret (shown once; keep it safe, send it as 'Authorization: Bearer <key>'):[/]");
            console.WriteLine(document.RootElement.GetProperty("secret").GetString()!);
            return EvaluateCommand.Ok;
        });

        list.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), parse.GetValue(key), parse.GetValue(keyFile)) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            using var response = await SendAsync(console, () => http.GetAsync("/v1/admin/keys", cancellationToken));
            using var document = response is null ? null : await Answer(console, response, cancellationToken);
            if (document is null)
            {
                return 1;
            }

            var table = KeyTable();
            foreach (var item in document.RootElement.GetProperty("keys").EnumerateArray())
            {
                AddRow(table, item);
            }

            console.Write(table);
            return EvaluateCommand.Ok;
        });

        revoke.SetAction(async (parse, cancellationToken) =>
        {
            if (Client(console, parse.GetRequiredValue(grid), parse.GetValue(key), parse.GetValue(keyFile)) is not { } http)
            {
                return EvaluateCommand.BadInput;
            }

            using var _ = http;
            var keyId = parse.GetRequiredValue(id);
            using var response = await SendAsync(console, () => http.PostAsync($"/v1/admin/keys/{Uri.EscapeDataString(keyId)}/revoke", null, cancellationToken));
            using var document = response is null ? null : await Answer(console, response, cancellationToken);
            if (document is null)
            {
                return 1;
            }

            console.MarkupLineInterpolated($"Key {keyId} revoked at {document.RootElement.GetProperty("revokedAt").GetDateTimeOffset():u}.");
            return EvaluateCommand.Ok;
        });

        return new Command("keys", "Manage API keys (create, list, revoke) through the grid's admin API.") { create, list, revoke };
    }

    /// <summary>The key from --key, else --key-file, else $PROFILEGRID_API_KEY; null when none is given.</summary>
    public static string? ResolveKey(string? key, FileInfo? keyFile) =>
        (key ?? (keyFile is { Exists: true } ? File.ReadAllText(keyFile.FullName) : null) ?? Environment.GetEnvironmentVariable(KeyVariable))?.Trim() is { Length: > 0 } found
            ? found
            : null;

    /// <summary>
    /// gRPC to the grid, sending <paramref name="key"/> (when there is one) as "authorization: Bearer" on every call; a
    /// call the grid does not answer within <paramref name="limit"/> (by default <see cref="GridConnection.CallLimit"/>)
    /// fails with DeadlineExceeded.
    /// </summary>
    public static GridConnection Connect(Uri address, string? key, int? maxSendMessageSize = null, TimeSpan? limit = null) => new(
        key is null
            ? Grpc.Net.Client.GrpcChannel.ForAddress(address, new Grpc.Net.Client.GrpcChannelOptions { MaxSendMessageSize = maxSendMessageSize })
            : Grpc.Net.Client.GrpcChannel.ForAddress(address, new Grpc.Net.Client.GrpcChannelOptions
            {
                MaxSendMessageSize = maxSendMessageSize,
                Credentials = Grpc.Core.ChannelCredentials.Create(
                    address.Scheme == "https" ? Grpc.Core.ChannelCredentials.SecureSsl : Grpc.Core.ChannelCredentials.Insecure,
                    Grpc.Core.CallCredentials.FromInterceptor((_, metadata) =>
                    {
                        metadata.Add("authorization", "Bearer " + key);
                        return Task.CompletedTask;
                    })),
                UnsafeUseInsecureChannelCallCredentials = address.Scheme != "https",
            }),
        limit ?? GridConnection.CallLimit);

    internal static HttpClient? Client(IAnsiConsole console, string grid, string? key, FileInfo? keyFile)
    {
        if (!Uri.TryCreate(grid, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
        {
            console.MarkupLineInterpolated($"[red]error:[/] --grid: an http(s) address such as http://127.0.0.1:7080 ('{grid}')");
            return null;
        }

        if (key is null && keyFile is not null)
        {
            if (!keyFile.Exists)
            {
                console.MarkupLineInterpolated($"[red]error:[/] --key-file: no such file {keyFile.FullName}");
                return null;
            }

            key = File.ReadAllText(keyFile.FullName).Trim();
        }

        key ??= Environment.GetEnvironmentVariable(KeyVariable);
        if (string.IsNullOrWhiteSpace(key))
        {
            console.MarkupLineInterpolated($"[red]error:[/] an operator key is needed: --key, --key-file or ${KeyVariable}");
            return null;
        }

        var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Trim());
        return http;
    }

    internal static async Task<HttpResponseMessage?> SendAsync(IAnsiConsole console, Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send();
        }
        catch (HttpRequestException ex)
        {
            console.MarkupLineInterpolated($"[red]error:[/] the grid did not answer: {ex.Message}");
            return null;
        }
    }

    /// <summary>The answer's JSON; null (after saying why) when the grid refused.</summary>
    internal static async Task<JsonDocument?> Answer(IAnsiConsole console, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return JsonDocument.Parse(text);
        }

        string? error = null;
        try
        {
            error = JsonDocument.Parse(text).RootElement.GetProperty("error").GetString();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
        }

        console.MarkupLineInterpolated($"[red]error:[/] the grid answered {(int)response.StatusCode} {response.ReasonPhrase}: {error ?? text}{GrpcErrors.RestHint(text)}");
        return null;
    }

    private static Table KeyTable() =>
        new Table().AddColumns("id", "name", "scopes", "tenants", "created", "revoked", "rate/s", "burst");

    private static void AddRow(Table table, JsonElement key)
    {
        static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "";
        static string Time(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetDateTimeOffset().ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "";
        table.AddRow(
            Markup.Escape(Text(key, "id")),
            Markup.Escape(Text(key, "name")),
            Markup.Escape(string.Join(",", key.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()))),
            Markup.Escape(string.Join(" ", key.GetProperty("tenants").EnumerateArray().Select(s => s.GetString()))),
            Time(key, "createdAt"),
            Time(key, "revokedAt"),
            Text(key, "permitsPerSecond"),
            Text(key, "burst"));
    }
}
