using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using ProfileGrid.Contracts.V1;
using Xunit.Abstractions;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Access control fuzzed as outside reviewers fuzz it, with API keys on: every REST route and gRPC method called with no
/// key, malformed keys (empty, huge, control and non-ASCII characters, a real id with a wrong secret, odd Bearer
/// spelling, two Authorization headers, the key in the wrong header), a key without the scope, a key of another tenant
/// (tenants that differ only by case, percent-encoding, a trailing dot or space, Unicode normalisation, a '/'), a
/// revoked key, and a good key of tenant A with tenant B named in the path or the body. After every request: 401 / 403
/// with a reason where a refusal is due, never 5xx or Internal, never a word of tenant B's data; at the end, nothing
/// of tenant B changed. Seeded: PROFILEGRID_FUZZ_SEED chooses another run, PROFILEGRID_ACCESS_FUZZ_REQUESTS its
/// length; a failure prints the seed and the request.
/// </summary>
[Collection(KeyedSiloCollection.Name)]
public sealed class AccessFuzzTests(KeyedSiloFixture fixture, ITestOutputHelper output)
{
    private const int DefaultSeed = 20261204;
    private const int DefaultRequests = 2500;

    private SiloProcess Silo => fixture.Silo;

    private string[] AllTenants { get; set; } = [];

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    // ---------------------------------------------------------------- tenants: A, and B tenants that are near misses of A

    private sealed record Tenants(string A, string Z, string[] Others)
    {
        /// <summary>Every tenant of the run: A, the near misses of A, and Z (the tenant of the other key).</summary>
        public IEnumerable<string> All => Others.Prepend(Z).Prepend(A);
    }

    /// <summary>Words seeded in each tenant's data, found in no answer to a key of another tenant.</summary>
    private static string Marker(string tenant) => "secret-" + Convert.ToHexString(Encoding.UTF8.GetBytes(tenant));

    /// <summary>Tenant A and tenants that differ from it only by case, encoding, a trailing dot or space, normalisation, a '/'.</summary>
    private static Tenants NewTenants()
    {
        var s = Guid.NewGuid().ToString("N")[..8];
        var a = $"tA{s}\u00e9"; // NFC é
        return new Tenants(a, $"tZ{s}",
        [
            $"ta{s}\u00e9", // case
            $"t%41{s}\u00e9", // the percent-encoding of A, as a name of its own
            a + ".", // a trailing dot
            a + " ", // a trailing space
            " " + a, // a leading space
            $"tA{s}e\u0301", // NFD: the same text to a reader
            $"t\uff21{s}\u00e9", // a full-width A (NFKC folds it to A)
            a + "/x", // A, a '/', more
            "x/" + a,
            a + "%2F", // the encoded '/' as text
        ]);
    }

    /// <summary>Ways to write a tenant in a path that all decode (once) to it.</summary>
    private static string EncodePath(string tenant, Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                // Every byte escaped, hex case mixed.
                var builder = new StringBuilder();
                foreach (var b in Encoding.UTF8.GetBytes(tenant))
                {
                    builder.Append('%').Append(b.ToString(random.Next(2) == 0 ? "X2" : "x2", CultureInfo.InvariantCulture));
                }

                return builder.ToString();
            case 1:
                // Only what must be escaped (Kestrel refuses a raw non-ASCII request line itself, 400).
                var raw = new StringBuilder();
                foreach (var c in tenant)
                {
                    raw.Append(c is '/' or '%' or ' ' or '?' or '#' or > '~' ? Uri.EscapeDataString(c.ToString()) : c.ToString());
                }

                return raw.ToString();
            default:
                return Uri.EscapeDataString(tenant);
        }
    }

    // ---------------------------------------------------------------- routes

    private sealed record Route(string Method, string Path, string Scope, Func<string, JsonNode?>? Body = null, bool Ingest = false, bool TenantInPath = true);

    private static readonly Route[] Routes =
    [
        new("POST", "/v1/events:ingest", "ingest", t => IngestBody(t, t, "u-9"), Ingest: true, TenantInPath: false),
        new("GET", "/users/u-1/profile", "read"),
        new("GET", "/users/u-1/document", "read"),
        new("POST", "/profiles:batchGet", "read", t => new JsonObject { ["tenant"] = t, ["userIds"] = new JsonArray("u-1", "u-2") }),
        new("GET", "/profiles", "read"),
        new("PUT", "/users/u-1/attributes", "ingest", t => JsonNode.Parse($$$"""{"tenant": {{{JsonSerializer.Serialize(t)}}}, "traits": {"tier": "fuzzed"}}""")),
        new("PUT", "/users/u-1/preferences", "ingest", t => JsonNode.Parse($$$"""{"tenant": {{{JsonSerializer.Serialize(t)}}}, "preference": {"key": "newsletter", "value": "fuzzed", "emailOptIn": true}}""")),
        new("DELETE", "/users/u-2", "admin"),
        new("GET", "/users/u-1/export", "admin"),
        new("GET", "/segments", "read"),
        new("POST", "/segments:run", "admin", t => new JsonObject { ["tenant"] = t, ["k"] = 2 }),
        new("GET", "/users/u-1/segment", "read"),
        new("GET", "/users/u-1/segment:explain", "read"),
        new("GET", "/segments/0/members", "read"),
        new("GET", "/segments/map", "read"),
        new("GET", "/segments/curves", "read"),
        new("GET", "/rfm", "read"),
        new("GET", "/rfm/champions/members", "read"),
        new("GET", "/users/u-1/recommendations", "read"),
        new("GET", "/items/i-1/similar", "read"),
        new("POST", "/recommender:train", "admin", t => new JsonObject { ["tenant"] = t }),
        new("GET", "/recommender", "read"),
        new("POST", "/recommender:evaluate", "admin", t => new JsonObject { ["tenant"] = t, ["k"] = 5 }),
        new("POST", "/reranker:train", "admin", t => new JsonObject { ["tenant"] = t }),
        new("GET", "/reranker", "read"),
        new("POST", "/items:upsert", "admin", t => JsonNode.Parse($$"""{"tenant": {{JsonSerializer.Serialize(t)}}, "items": [{"itemId": "i-1", "category": "fuzzed"}]}""")),
        new("POST", "/items:delete", "admin", t => new JsonObject { ["tenant"] = t, ["itemIds"] = new JsonArray("i-1") }),
        new("GET", "/items/i-1", "read"),
        new("GET", "/items", "read"),
        new("GET", "/recommendation-rules", "read"),
        new("GET", "/recommendation-rules/r-1", "read"),
        new("POST", "/recommendation-rules", "admin", t => JsonNode.Parse("""{"id": "r-2", "action": {"type": "exclude", "items": ["i-9"]}}""")),
        new("PUT", "/recommendation-rules/r-1", "admin", t => JsonNode.Parse("""{"action": {"type": "exclude", "items": ["i-8"]}}""")),
        new("DELETE", "/recommendation-rules/r-1", "admin"),
        new("PUT", "/recommendation-rules", "admin", t => JsonNode.Parse($$"""{"tenant": {{JsonSerializer.Serialize(t)}}, "rules": []}""")),
        new("GET", "/experiments", "read"),
        new("GET", "/experiments/x-1", "read"),
        new("POST", "/experiments", "admin", t => ExperimentBody("x-2")),
        new("PUT", "/experiments/x-1", "admin", t => ExperimentBody("x-1")),
        new("POST", "/experiments/x-1:start", "admin", t => new JsonObject { ["tenant"] = t }),
        new("POST", "/experiments/x-1:stop", "admin", t => new JsonObject { ["tenant"] = t }),
        new("POST", "/experiments/x-1:archive", "admin", t => new JsonObject { ["tenant"] = t }),
        new("GET", "/experiments/x-1/results", "read"),
        new("GET", "/fairness", "read"),
        new("GET", "/stats", "read"),
        new("GET", "/stats/series", "read"),
        new("GET", "/identity/u-1", "read"),
        new("GET", "/identity/merges/m-1", "read"),
        new("POST", "/identity/merges/m-1/unmerge", "admin"),
    ];

    private static JsonNode IngestBody(string requestTenant, string eventTenant, string user) => new JsonObject
    {
        ["tenant"] = requestTenant,
        ["events"] = new JsonArray(new JsonObject
        {
            ["eventId"] = "e-" + Guid.NewGuid().ToString("N")[..12], ["type"] = "page_view", ["userId"] = user, ["tenant"] = eventTenant,
            ["occurredAt"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"), ["source"] = "web", ["page"] = new JsonObject { ["url"] = "/fuzzed" },
        }),
    };

    private static JsonNode ExperimentBody(string id) => JsonNode.Parse($$$"""
        {"id": "{{{id}}}", "name": "fuzz", "slot": "home", "layer": "l1", "traffic": 0.5,
         "variants": [{"key": "control", "control": true, "algorithm": "popular", "weight": 50}, {"key": "b", "algorithm": "model", "weight": 50}]}
        """)!;

    // ---------------------------------------------------------------- credentials

    /// <summary>What a request carries, and what the gateway must make of it.</summary>
    private enum Expect
    {
        /// <summary>A good key with every scope: served when the request names only the key's tenant, 403 when it names another.</summary>
        Good,

        /// <summary>401 (or Kestrel's own 400 for a header it will not read).</summary>
        Unauthenticated,

        /// <summary>403 whatever the tenant.</summary>
        Forbidden,
    }

    /// <summary>What a request carries; <paramref name="Own"/> is the tenant of a good key (served there, 403 anywhere else).</summary>
    private sealed record Credential(string Name, IReadOnlyList<(string Header, string Value)> Headers, Expect Expect, string? Own = null, string? Query = null);

    private sealed record Keys(string ATenant, string ZTenant, string A, string OtherTenant, string Revoked, IReadOnlyDictionary<string, string> SingleScope, string AId, string OtherSecret);

    private static Credential PickCredential(Keys keys, Random random, string routeScope)
    {
        var a = keys.A;
        var bearer = (string v) => new[] { ("Authorization", v) };
        switch (random.Next(14))
        {
            case 0 or 1 or 2 or 3:
                return new("Bearer (good)", bearer("Bearer " + a), Expect.Good, keys.ATenant);
            case 4:
                return random.Next(3) switch
                {
                    0 => new Credential("x-api-key (good)", [("x-api-key", a)], Expect.Good, keys.ATenant),
                    1 => new Credential("Basic (good)", bearer("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("any:" + a))), Expect.Good, keys.ATenant),
                    _ => new Credential("Bearer odd case and spacing (good)", bearer(new[] { "bearer ", "BEARER ", "Bearer  ", "bEaReR   " }[random.Next(4)] + a + new[] { "", " ", "  " }[random.Next(3)]), Expect.Good, keys.ATenant),
                };
            case 5:
                var malformed = new (string, string)[]
                {
                    ("empty Bearer", "Bearer "), ("Bearer alone", "Bearer"), ("spaces", "Bearer    "), ("huge", "Bearer pgk_" + new string('a', 8000)),
                    ("real id, wrong secret", $"Bearer pgk_{keys.AId}_{keys.OtherSecret}"), ("key and one more character", "Bearer " + a + "x"),
                    ("key cut short", "Bearer " + a[..^1]), ("key upper-cased", "Bearer " + a.ToUpperInvariant()), ("tab after Bearer", "Bearer\t" + a),
                    ("no space after Bearer", "Bearer" + a), ("colon after Bearer", "Bearer: " + a), ("Token scheme", "Token " + a), ("no scheme", a),
                    ("Basic of no colon", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(a))), ("Basic not base64", "Basic %%%"),
                    ("Basic, key as user name", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(a + ":"))), ("Bearer of a comma list", $"Bearer {a},{a}"),
                    ("percent-encoded key", "Bearer " + Uri.EscapeDataString(a).Replace("_", "%5F", StringComparison.Ordinal)),
                    ("key with a DEL", "Bearer " + a + "\u007f"), ("non-ASCII key", "Bearer pgk_\u00e9\u00e9"), ("key with a control character", "Bearer " + a[..10] + "\u0001" + a[10..]),
                };
                var (name, value) = malformed[random.Next(malformed.Length)];
                return new("malformed: " + name, bearer(value), Expect.Unauthenticated);
            case 6:
                return random.Next(4) switch
                {
                    0 => new Credential("two Authorization headers (good, garbage)", [("Authorization", "Bearer " + a), ("Authorization", "Bearer pgk_nope")], Expect.Unauthenticated),
                    1 => new Credential("two Authorization headers (garbage, good)", [("Authorization", "Bearer pgk_nope"), ("Authorization", "Bearer " + a)], Expect.Unauthenticated),
                    2 => new Credential("two x-api-key headers (good, good)", [("x-api-key", a), ("x-api-key", a)], Expect.Unauthenticated),
                    _ => new Credential("two Authorization headers (good, other tenant's)", [("Authorization", "Bearer " + a), ("Authorization", "Bearer " + keys.OtherTenant)], Expect.Unauthenticated),
                };
            case 7:
                var wrongHeader = new[] { "api-key", "x-api-token", "x-auth-token", "Proxy-Authorization", "Cookie" }[random.Next(5)];
                return random.Next(4) == 0
                    ? new Credential("key in the query string", [], Expect.Unauthenticated, Query: "key=" + a + "&api_key=" + a + "&access_token=" + a)
                    : new Credential($"key in {wrongHeader}", [(wrongHeader, wrongHeader == "Cookie" ? "x-api-key=" + a : a)], Expect.Unauthenticated);
            case 8 or 9:
                var scopes = keys.SingleScope.Keys.Where(s => s != routeScope).ToArray();
                var scope = scopes[random.Next(scopes.Length)];
                return new($"key of A with only '{scope}'", bearer("Bearer " + keys.SingleScope[scope]), Expect.Forbidden);
            case 10 or 11:
                return new("key of tenant Z (every scope)", bearer("Bearer " + keys.OtherTenant), Expect.Good, keys.ZTenant);
            case 12:
                return new("revoked key of A", bearer("Bearer " + keys.Revoked), Expect.Unauthenticated);
            default:
                return new("no key", [], Expect.Unauthenticated);
        }
    }

    // ---------------------------------------------------------------- the test

    [Fact]
    public async Task Keys_scopes_and_tenants_hold_on_every_route_and_method_under_mutation()
    {
        var seed = EnvInt("PROFILEGRID_FUZZ_SEED", DefaultSeed);
        var count = EnvInt("PROFILEGRID_ACCESS_FUZZ_REQUESTS", DefaultRequests);
        output.WriteLine($"access fuzz seed {seed} (PROFILEGRID_FUZZ_SEED), {count} REST requests (PROFILEGRID_ACCESS_FUZZ_REQUESTS)");
        var random = new Random(seed);
        var started = DateTime.UtcNow;

        var tenants = NewTenants();
        AllTenants = tenants.All.ToArray();
        foreach (var tenant in tenants.All)
        {
            await SeedAsync(tenant);
        }

        var keys = await KeysAsync(tenants);
        var before = await SnapshotAsync(tenants.Others);

        var statuses = new SortedDictionary<int, int>();
        var collect = Environment.GetEnvironmentVariable("PROFILEGRID_FUZZ_COLLECT") == "1";
        var failures = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var request = NextRequest(tenants, keys, random);
            var response = await SendAsync(request);
            statuses[response.Status] = statuses.GetValueOrDefault(response.Status) + 1;
            try
            {
                Check(seed, i, request, response);
            }
            catch (Xunit.Sdk.XunitException ex) when (collect)
            {
                // PROFILEGRID_FUZZ_COLLECT=1: go on and list every failure, to triage a run at once.
                failures.Add(ex.Message);
            }
        }

        foreach (var failure in failures)
        {
            output.WriteLine(failure + "\n");
        }

        Assert.True(failures.Count == 0, $"{failures.Count} failures; see the output");

        output.WriteLine($"{count} REST requests in {(DateTime.UtcNow - started).TotalSeconds:F1} s; statuses: {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}");
        await GrpcAsync(seed, random, tenants, keys, Math.Max(100, count / 4));
        await RateLimitsAsync(tenants, keys);

        // Nothing of any B tenant changed, and the silo still serves.
        var after = await SnapshotAsync(tenants.Others);
        foreach (var (what, value) in before)
        {
            Assert.True(after[what] == value, $"seed {seed}: {what} changed during the fuzz run:\nbefore: {value}\nafter:  {after[what]}");
        }

        Assert.False(Silo.HasExited, "The silo exited during the fuzz run:\n" + Silo.OutputTail(80));
        // (Tenant A's own users may be gone: its good key erases them, over gRPC's DeleteUser.)
        var (status, body) = await GetAsync($"/v1/tenants/{Uri.EscapeDataString(tenants.A)}/users/u-1/profile", fixture.OperatorKey);
        Assert.True(status is 200 or 404, body);
        Assert.Equal(200, (await GetAsync($"/v1/tenants/{Uri.EscapeDataString(tenants.Others[0])}/users/u-1/profile", fixture.OperatorKey)).Status);
        output.WriteLine($"done in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
    }

    // ---------------------------------------------------------------- requests

    private sealed record FuzzRequest(string Method, string Target, IReadOnlyList<(string Header, string Value)> Headers, string? Body, string Description, Credential Credential, IReadOnlyList<string> Named, string ContentType = "application/json");

    private FuzzRequest NextRequest(Tenants tenants, Keys keys, Random random)
    {
        var route = Routes[random.Next(Routes.Length)];
        var credential = PickCredential(keys, random, route.Scope);
        var foreign = tenants.Others.Append(tenants.Z).ToArray();
        var other = foreign[random.Next(foreign.Length)];
        var description = new List<string> { credential.Name };

        // The tenant the path names (A most of the time), and the tenants the body names.
        var pathTenant = random.Next(3) == 0 ? other : tenants.A;
        var bodyTenant = random.Next(4) == 0 ? other : tenants.A;
        var eventTenant = random.Next(3) switch { 0 => "", 1 => other, _ => tenants.A };
        string target;
        var named = new List<string>();
        string? body = null;
        if (route.TenantInPath)
        {
            var encoded = EncodePath(pathTenant, random);
            target = "/v1/tenants/" + encoded + route.Path;
            description.Add($"path tenant '{pathTenant}' as {encoded}");
            named.Add(pathTenant);
            if (random.Next(5) == 0)
            {
                // A detour: the path of another tenant (and user) first, then dot segments (raw, encoded, or after a '#')
                // back to this one; or the absolute form a proxy sends. The route names the tenant after the detour.
                var detour = "/v1/tenants/" + EncodePath(other, random) + route.Path.Replace("u-1", "u-2", StringComparison.Ordinal);
                var back = detour.Split('/').Length - 3;
                var kind = random.Next(4);
                var dots = string.Concat(Enumerable.Repeat(kind == 2 ? "/%2E%2E" : "/..", back));
                target = kind switch
                {
                    0 => detour + "#" + dots + target["/v1/tenants".Length..],
                    1 or 2 => detour + dots + target["/v1/tenants".Length..],
                    _ => $"http://127.0.0.1:{Silo.HttpPort}" + target,
                };
                description.Add(kind switch { 0 => "detour with '#'", 1 => "detour with ..", 2 => "detour with %2E%2E", _ => "absolute form" } + $" through '{other}'");
            }

            if (route.Body is null && random.Next(4) == 0)
            {
                // The tenant again in the query string: the path decides, and the query must reach nothing.
                target += "?tenant=" + Uri.EscapeDataString(bodyTenant);
                description.Add($"query tenant '{bodyTenant}'");
            }
            else if (route.Body is not null)
            {
                body = route.Body(bodyTenant)!.ToJsonString();
                if (bodyTenant != tenants.A)
                {
                    // The path decides; the body's tenant is overridden by it (JSON transcoding) and must reach nothing.
                    description.Add($"body tenant '{bodyTenant}'");
                }
            }
        }
        else
        {
            target = route.Path;
            var requestTenant = random.Next(5) == 0 ? "" : bodyTenant;
            body = IngestBody(requestTenant, eventTenant, "u-9").ToJsonString();
            description.Add($"request tenant '{requestTenant}', event tenant '{eventTenant}'");
            var effective = eventTenant.Length > 0 ? eventTenant : requestTenant;
            if (effective.Length > 0)
            {
                named.Add(effective);
            }
        }

        if (credential.Query is not null)
        {
            target += (target.Contains('?', StringComparison.Ordinal) ? "&" : "?") + credential.Query;
        }

        // Now and then a content type that is not JSON: a REST route still answers HTTP (a refusal is no 200).
        var contentType = random.Next(12) == 0 ? new[] { "application/grpc", "application/grpc+proto", "text/plain" }[random.Next(3)] : "application/json";
        if (contentType != "application/json")
        {
            description.Add("Content-Type " + contentType);
        }

        return new FuzzRequest(route.Method, target, credential.Headers, body, $"{route.Method} {route.Path} ({route.Scope}): {string.Join("; ", description)}", credential, named, contentType);
    }

    private sealed record FuzzResponse(int Status, string Headers, string Body);

    private async Task<FuzzResponse> SendAsync(FuzzRequest request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Silo.HttpPort, timeout.Token);
        await using var stream = client.GetStream();
        var bytes = request.Body is null ? [] : Encoding.UTF8.GetBytes(request.Body);
        var head = new StringBuilder()
            .Append($"{request.Method} {request.Target} HTTP/1.1\r\n")
            .Append($"Host: 127.0.0.1:{Silo.HttpPort}\r\n")
            .Append("Connection: close\r\n");
        foreach (var (name, value) in request.Headers)
        {
            head.Append($"{name}: {value}\r\n");
        }

        if (request.Body is not null || request.ContentType != "application/json")
        {
            head.Append($"Content-Type: {request.ContentType}\r\n").Append($"Content-Length: {bytes.Length}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head.ToString()), timeout.Token);
        try
        {
            await stream.WriteAsync(bytes, timeout.Token);
        }
        catch (IOException)
        {
            // Answered (and closed) before the body was read: the answer is still there.
        }

        var (headers, content, raw) = await RawHttp.ReadAnswerAsync(stream, timeout.Token);
        Assert.True(headers.Length > 0, $"No HTTP answer to {request.Description}: {Encoding.UTF8.GetString(raw)}");
        return new FuzzResponse(int.Parse(headers.Split(' ')[1], CultureInfo.InvariantCulture), headers, Encoding.UTF8.GetString(content));
    }

    private static readonly HashSet<int> ServedStatuses = [200, 201, 204, 400, 404, 409, 415, 503];

    private void Check(int seed, int index, FuzzRequest request, FuzzResponse response)
    {
        var headers = string.Join("\n    ", request.Headers.Select(h => $"{h.Header}: {Shorten(h.Value)}"));
        var what = $"""
            Access fuzz request #{index} (seed {seed}; rerun with PROFILEGRID_FUZZ_SEED={seed}):
              {request.Method} {Shorten(request.Target)}
              {request.Description}
              headers: {headers}
              body: {Shorten(request.Body ?? "")}
            answered {response.Status}: {Shorten(response.Body, 600)}
            """;
        Assert.True(response.Status < 500, "A server error. " + what);
        foreach (var tenant in AllTenants.Where(t => t != request.Credential.Own))
        {
            Assert.False(response.Body.Contains(Marker(tenant), StringComparison.Ordinal), $"Data of tenant '{tenant}' in the answer. " + what);
        }

        var expected = request.Credential.Expect switch
        {
            Expect.Unauthenticated => "401",
            Expect.Forbidden => "403",
            _ when request.Named.Any(t => t != request.Credential.Own) => "403",
            _ => "served",
        };
        var ok = expected switch
        {
            "401" => response.Status == 401 || (response.Status == 400 && response.Body.Length == 0 && request.Headers.Any(h => h.Value.Any(c => c < 0x20 || c >= 0x7f))),
            // Another tenant in the query string, a body that is not JSON, or a body naming another tenant than the path,
            // is refused as bad input once the key is known: a transcoded method reads the request before its tenant is
            // checked, and nothing is read or written.
            "403" => response.Status == 403 || (response.Status == 400 && request.Credential.Expect == Expect.Good
                && (request.Description.Contains("query tenant", StringComparison.Ordinal) || (request.Body is not null && request.ContentType != "application/json")
                    || response.Body.Contains("tenant: the body names", StringComparison.Ordinal))),
            _ => ServedStatuses.Contains(response.Status),
        };

        // Kestrel decodes "%2F" in an absolute-form target (a proxy's), so a tenant holding '/' is no route that way: 404.
        ok |= response.Status == 404 && request.Description.Contains("absolute form", StringComparison.Ordinal) && request.Named.Any(t => t.Contains('/', StringComparison.Ordinal));
        Assert.True(ok, $"Expected {expected}. " + what);

        if (response.Status is 401 or 403)
        {
            var message = ErrorMessage(response.Body);
            Assert.True(message is { Length: >= 10 }, "A refusal that does not say why. " + what);
            if (response.Status == 401)
            {
                Assert.Contains("WWW-Authenticate: Bearer", response.Headers, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    private static string? ErrorMessage(string body)
    {
        try
        {
            var node = JsonNode.Parse(body);
            return (node?["error"] ?? node?["message"])?.GetValue<string>();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static string Shorten(string text, int max = 160) => text.Length <= max ? text : $"{text[..(max - 20)]}...({text.Length} chars)";

    // ---------------------------------------------------------------- gRPC

    private static readonly ServiceDescriptor[] Services =
        [ProfileGateway.Descriptor, SegmentService.Descriptor, RecommendationService.Descriptor, ExperimentService.Descriptor];

    private async Task GrpcAsync(int seed, Random random, Tenants tenants, Keys keys, int count)
    {
        var methods = Services.SelectMany(s => s.Methods).ToList();
        var codes = new SortedDictionary<string, int>();
        for (var i = 0; i < count; i++)
        {
            var method = methods[random.Next(methods.Count)];
            var scope = Rule(method);
            var credential = PickCredential(keys, random, scope);
            if (credential.Query is not null || credential.Headers.Any(h => h.Value.Any(c => c < 0x20 || c >= 0x7f) || h.Header == "Cookie"))
            {
                // gRPC has no query string; metadata values must be printable ASCII (the client refuses others).
                credential = new("no key", [], Expect.Unauthenticated);
            }

            var foreign = tenants.Others.Append(tenants.Z).ToArray();
            var tenant = random.Next(3) == 0 ? foreign[random.Next(foreign.Length)] : tenants.A;
            IMessage message;
            var named = tenant;
            if (method.Name == "IngestEvents")
            {
                var eventTenant = random.Next(3) switch { 0 => "", 1 => foreign[random.Next(foreign.Length)], _ => tenants.A };
                message = JsonParser.Default.Parse(IngestBody(tenant, eventTenant, "u-9").ToJsonString(), method.InputType);
                named = eventTenant.Length > 0 ? eventTenant : tenant;
            }
            else
            {
                message = (IMessage)Activator.CreateInstance(method.InputType.ClrType)!;
                method.InputType.FindFieldByName("tenant").Accessor.SetValue(message, tenant);
                foreach (var (field, value) in new[] { ("user_id", "u-1"), ("item_id", "i-1"), ("rule_id", "r-1"), ("experiment_id", "x-1"), ("cell", "champions") })
                {
                    if (method.InputType.FindFieldByName(field) is { FieldType: FieldType.String } f)
                    {
                        f.Accessor.SetValue(message, value);
                    }
                }
            }

            var metadata = new Metadata();
            foreach (var (header, value) in credential.Headers)
            {
                metadata.Add(header.ToLowerInvariant(), value);
            }

            var (code, detail) = await CallAsync(method, message.ToByteArray(), metadata);
            codes[code.ToString()] = codes.GetValueOrDefault(code.ToString()) + 1;
            var what = $"""
                Access fuzz gRPC call #{i} (seed {seed}): {method.FullName} ({scope}), {credential.Name}, tenant '{tenant}'
                  message: {Shorten(message.ToString() ?? string.Empty, 400)}
                answered {code}: {Shorten(detail, 400)}
                """;
            Assert.False(code is StatusCode.Internal or StatusCode.Unknown or StatusCode.Unavailable or StatusCode.DataLoss, "A server error. " + what);
            var expected = credential.Expect switch
            {
                Expect.Unauthenticated => StatusCode.Unauthenticated,
                Expect.Forbidden => StatusCode.PermissionDenied,
                _ when named != credential.Own => StatusCode.PermissionDenied,
                _ => (StatusCode?)null,
            };
            if (expected is { } must)
            {
                Assert.True(code == must, $"Expected {must}. " + what);
                Assert.True(detail.Length >= 10, "A refusal that does not say why. " + what);
            }
            else
            {
                Assert.False(code is StatusCode.Unauthenticated or StatusCode.PermissionDenied or StatusCode.ResourceExhausted, "A good key refused. " + what);
            }
        }

        output.WriteLine($"{count} gRPC calls; codes: {string.Join(", ", codes.Select(c => $"{c.Key}: {c.Value}"))}");
    }

    private static string Rule(MethodDescriptor method) =>
        Access.AccessPolicy.Methods[$"/{method.Service.FullName}/{method.Name}"].Scope!;

    private async Task<(StatusCode Code, string Detail)> CallAsync(MethodDescriptor method, byte[] payload, Metadata metadata)
    {
        var (code, detail, _) = await CallAsync(method, payload, metadata, withTrailers: false);
        return (code, detail);
    }

    private async Task<(StatusCode Code, string Detail, string? Pushback)> CallAsync(MethodDescriptor method, byte[] payload, Metadata metadata, bool withTrailers)
    {
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var call = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, bytes, bytes);
        try
        {
            await Silo.Calls.AsyncUnaryCall(call, null, new CallOptions(metadata, DateTime.UtcNow.AddSeconds(30)), payload);
            return (StatusCode.OK, "", null);
        }
        catch (RpcException ex)
        {
            return (ex.StatusCode, ex.Status.Detail, withTrailers ? ex.Trailers.GetValue("grpc-retry-pushback-ms") : null);
        }
    }

    // ---------------------------------------------------------------- rate limits

    /// <summary>
    /// A burst past a key's bucket, over REST and gRPC at once: 429 with Retry-After and a reason / ResourceExhausted with
    /// grpc-retry-pushback-ms; the good key of the same tenant is served all along; random keys in bulk refuse quickly.
    /// </summary>
    private async Task RateLimitsAsync(Tenants tenants, Keys keys)
    {
        var (status, body) = await SendJsonAsync(HttpMethod.Post, "/v1/admin/keys", fixture.OperatorKey,
            JsonSerializer.SerializeToNode(new { name = "slow", scopes = new[] { "read" }, tenants = new[] { tenants.A }, permitsPerSecond = 1, burst = 3 }));
        Assert.True(status == 201, body);
        var slow = (string)JsonNode.Parse(body)!["secret"]!;
        var path = $"/v1/tenants/{Uri.EscapeDataString(tenants.A)}/segments";
        var credential = new Credential("slow key", [("Authorization", "Bearer " + slow)], Expect.Good, tenants.A);

        var rest = Enumerable.Range(0, 30).Select(_ => SendAsync(new FuzzRequest("GET", path, credential.Headers, null, "burst", credential, [tenants.A]))).ToList();
        var grpc = Enumerable.Range(0, 10).Select(_ => CallAsync(SegmentService.Descriptor.FindMethodByName("ListSegments"),
            new ListSegmentsRequest { Tenant = tenants.A }.ToByteArray(), new Metadata { { "authorization", "Bearer " + slow } }, withTrailers: true)).ToList();
        var others = Enumerable.Range(0, 10).Select(_ => GetAsync(path, keys.A)).ToList();
        var answers = await Task.WhenAll(rest);
        var calls = await Task.WhenAll(grpc);
        Assert.All(await Task.WhenAll(others), o => Assert.True(o.Status == 200, $"another key of the tenant during the burst: {o.Status} {o.Body}"));

        Assert.True(answers.Count(a => a.Status == 200) + calls.Count(c => c.Code == StatusCode.OK) <= 3 + 2, "more served than the burst (3) and a second's refill");
        var limited = answers.Where(a => a.Status == 429).ToList();
        Assert.True(limited.Count >= 20, $"{limited.Count} of 30 over the limit answered 429: {string.Join(", ", answers.Select(a => a.Status))}");
        foreach (var answer in limited)
        {
            Assert.Matches(@"(?im)^Retry-After: [1-9][0-9]*\r?$", answer.Headers);
            Assert.Contains("over its rate limit", ErrorMessage(answer.Body) ?? "", StringComparison.Ordinal);
        }

        Assert.All(answers, a => Assert.True(a.Status is 200 or 429, $"{a.Status} {a.Body}"));
        foreach (var (code, detail, pushback) in calls.Where(c => c.Code != StatusCode.OK))
        {
            Assert.True(code == StatusCode.ResourceExhausted && detail.Contains("over its rate limit", StringComparison.Ordinal) && pushback is { Length: > 0 },
                $"gRPC over the limit: {code} '{detail}', pushback '{pushback}'");
        }

        // Keys no one made, in bulk: each refused at once with 401, and the good key still served within a second.
        var started = DateTime.UtcNow;
        var random = new Random(1);
        var bogus = Enumerable.Range(0, 300).Select(i =>
        {
            var id = Convert.ToHexStringLower(BitConverter.GetBytes(random.NextInt64()));
            var headers = new[] { ("Authorization", $"Bearer pgk_{id}_{new string('x', 43)}") };
            return SendAsync(new FuzzRequest("GET", path, headers, null, "unknown key", new Credential("unknown key", headers, Expect.Unauthenticated), [tenants.A]));
        }).ToList();
        Assert.All(await Task.WhenAll(bogus), b => Assert.Equal(401, b.Status));
        var served = DateTime.UtcNow;
        Assert.Equal(200, (await GetAsync(path, keys.A)).Status);
        output.WriteLine($"rate limits: {limited.Count}/30 REST and {calls.Count(c => c.Code == StatusCode.ResourceExhausted)}/10 gRPC over the limit; " +
            $"300 unknown keys refused in {(served - started).TotalMilliseconds:F0} ms, a good key served {(DateTime.UtcNow - served).TotalMilliseconds:F0} ms later");
    }

    // ---------------------------------------------------------------- set-up and the state of the B tenants

    private async Task<(int Status, string Body)> SendJsonAsync(HttpMethod method, string path, string key, JsonNode? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        }

        using var response = await Silo.Http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<(int Status, string Body)> GetAsync(string path, string key) => SendJsonAsync(HttpMethod.Get, path, key);

    private async Task SeedAsync(string tenant)
    {
        var op = fixture.OperatorKey;
        var t = Uri.EscapeDataString(tenant);
        var marker = Marker(tenant);
        var results = new[]
        {
            await SendJsonAsync(HttpMethod.Post, "/v1/events:ingest", op, IngestBody(tenant, "", "u-1")),
            await SendJsonAsync(HttpMethod.Post, "/v1/events:ingest", op, IngestBody(tenant, "", "u-2")),
            await SendJsonAsync(HttpMethod.Put, $"/v1/tenants/{t}/users/u-1/attributes", op, JsonNode.Parse($$$"""{"traits": {"marker": "{{{marker}}}"}}""")),
            await SendJsonAsync(HttpMethod.Post, $"/v1/tenants/{t}/items:upsert", op, JsonNode.Parse($$$"""{"items": [{"itemId": "i-1", "category": "books", "attributes": {"marker": "{{{marker}}}"}}]}""")),
            await SendJsonAsync(HttpMethod.Post, $"/v1/tenants/{t}/recommendation-rules", op, JsonNode.Parse("""{"id": "r-1", "action": {"type": "exclude", "items": ["i-7"]}}""")),
            await SendJsonAsync(HttpMethod.Post, $"/v1/tenants/{t}/experiments", op, ExperimentBody("x-1")),
        };
        foreach (var (status, body) in results)
        {
            Assert.True(status is 200 or 201, $"seeding tenant '{tenant}': {status} {body}");
        }

        // The attributes are in the profile before the fuzz starts (a snapshot must not see them arrive).
        await SegmentScenario.PollAsync(
            async () => (await GetAsync($"/v1/tenants/{t}/users/u-1/profile", op)).Body,
            body => body.Contains(marker, StringComparison.Ordinal) && body.Contains("\"eventsApplied\"", StringComparison.Ordinal),
            $"the profile of u-1 in '{tenant}'");
        await SegmentScenario.PollAsync(
            async () => (await GetAsync($"/v1/tenants/{t}/users/u-2/profile", op)).Status,
            status => status == 200,
            $"the profile of u-2 in '{tenant}'");
        await SegmentScenario.PollAsync(
            async () => (await GetAsync($"/v1/tenants/{t}/profiles", op)).Body,
            body => body.Contains("\"u-1\"", StringComparison.Ordinal) && body.Contains("\"u-2\"", StringComparison.Ordinal),
            $"u-1 and u-2 listed in '{tenant}'");
    }

    private async Task<Keys> KeysAsync(Tenants tenants)
    {
        async Task<(string Id, string Secret)> CreateAsync(string[] scopes, string tenant)
        {
            var (status, body) = await SendJsonAsync(HttpMethod.Post, "/v1/admin/keys", fixture.OperatorKey,
                JsonSerializer.SerializeToNode(new { name = "access fuzz", scopes, tenants = new[] { tenant }, permitsPerSecond = 100_000, burst = 100_000 }));
            Assert.True(status == 201, body);
            var root = JsonNode.Parse(body)!;
            return ((string)root["key"]!["id"]!, (string)root["secret"]!);
        }

        string[] all = ["ingest", "read", "admin"];
        var (aId, a) = await CreateAsync(all, tenants.A);
        var (_, other) = await CreateAsync(all, tenants.Z);
        var (revokedId, revoked) = await CreateAsync(all, tenants.A);
        Assert.Equal(200, (await GetAsync($"/v1/tenants/{Uri.EscapeDataString(tenants.A)}/segments", revoked)).Status);
        Assert.Equal(200, (await SendJsonAsync(HttpMethod.Post, $"/v1/admin/keys/{revokedId}/revoke", fixture.OperatorKey)).Status);
        var single = new Dictionary<string, string>();
        foreach (var scope in all)
        {
            single[scope] = (await CreateAsync([scope], tenants.A)).Secret;
        }

        return new Keys(tenants.A, tenants.Z, a, other, revoked, single, aId, other.Split('_')[^1]);
    }

    /// <summary>What a B tenant holds, as its operator reads it; compared before and after the fuzz.</summary>
    private async Task<Dictionary<string, string>> SnapshotAsync(IEnumerable<string> tenants)
    {
        var snapshot = new Dictionary<string, string>();
        foreach (var tenant in tenants)
        {
            var t = Uri.EscapeDataString(tenant);
            foreach (var user in new[] { "u-1", "u-2", "u-9" })
            {
                var (status, body) = await GetAsync($"/v1/tenants/{t}/users/{user}/profile", fixture.OperatorKey);
                var node = status == 200 ? JsonNode.Parse(body) : null;
                snapshot[$"'{tenant}' {user}"] = node is null ? status.ToString(CultureInfo.InvariantCulture)
                    : $"{node["updatedAt"]} events {node["eventsApplied"]} {node["demographics"]?.ToJsonString()} {node["preferences"]?.ToJsonString()}";
            }

            foreach (var path in new[] { "/items", "/recommendation-rules", "/experiments", "/profiles" })
            {
                var (status, body) = await GetAsync($"/v1/tenants/{t}{path}", fixture.OperatorKey);
                snapshot[$"'{tenant}' {path}"] = $"{status} {Volatile(body)}";
            }
        }

        return snapshot;
    }

    /// <summary>The body without the figures a read computes at its own instant (as of, staleness, recency).</summary>
    private static string Volatile(string body)
    {
        if (JsonNode.Parse(body) is not { } node)
        {
            return body;
        }

        Strip(node);
        return node.ToJsonString();

        static void Strip(JsonNode node)
        {
            if (node is JsonObject o)
            {
                foreach (var name in o.Select(p => p.Key).ToList())
                {
                    if (name is "asOf" or "stalenessDays" or "recencyDays" or "dormant" or "behavior" or "completeness" or "segment")
                    {
                        o.Remove(name);
                    }
                    else if (o[name] is { } child)
                    {
                        Strip(child);
                    }
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    if (child is not null)
                    {
                        Strip(child);
                    }
                }
            }
        }
    }
}
