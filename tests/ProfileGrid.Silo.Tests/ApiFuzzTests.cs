using System.Collections;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
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
/// The public API fuzzed as outside reviewers fuzz it: valid requests of every REST route and gRPC method, mutated
/// (wrong JSON types, nulls, missing and unknown fields, huge and odd strings, encoded path segments, extreme numbers
/// and dates, broken bodies, wrong content types and methods), against one real host over loopback. After every
/// request: an allowed status, a refusal that says why, no exception or stack text. At the end: the host still
/// answers, and every valid event sent in a mixed batch was applied. Seeded: PROFILEGRID_FUZZ_SEED chooses another
/// run, PROFILEGRID_FUZZ_REQUESTS its length; a failure prints the seed and the request.
/// </summary>
public sealed class ApiFuzzTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int DefaultSeed = 20261203;
    private const int DefaultRequests = 5000;
    private const string Tenant = "fz";

    private static readonly HashSet<int> AllowedRestStatuses = [200, 201, 204, 400, 404, 405, 409, 413, 414, 415, 431];

    /// <summary>Text that only an exception's message or a stack trace puts in an answer.</summary>
    private static readonly string[] LeakMarkers =
    [
        "Exception", " at ProfileGrid.", "   at ", "System.", "Microsoft.", "Google.Protobuf", "Parameter '", "Value was either too large",
        "was not in a correct format", "Object reference not set", "Index was outside", "Sequence contains", "Nullable object must",
        "An item with the same key", "Specified argument was out of the range", "Arithmetic operation resulted", "Input string was not",
    ];

    private SiloProcess _silo = null!;
    private readonly string _counterUser = "counter-" + Guid.NewGuid().ToString("N")[..8];
    private int _counterEvents;
    private int _eventSerial;

    public async Task InitializeAsync() => _silo = await SiloProcess.StartEphemeralAsync();

    public async Task DisposeAsync() => await _silo.DisposeAsync();

    private static int EnvInt(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    [Fact]
    public async Task Mutated_requests_on_every_route_get_clear_refusals_and_the_valid_rest_of_each_batch_is_applied()
    {
        var seed = EnvInt("PROFILEGRID_FUZZ_SEED", DefaultSeed);
        var count = EnvInt("PROFILEGRID_FUZZ_REQUESTS", DefaultRequests);
        output.WriteLine($"fuzz seed {seed} (PROFILEGRID_FUZZ_SEED), {count} requests (PROFILEGRID_FUZZ_REQUESTS)");
        var random = new Random(seed);
        await SeedDataAsync();

        var routes = Routes();
        var weights = routes.Sum(r => r.Weight);
        var started = DateTime.UtcNow;
        var statuses = new SortedDictionary<int, int>();
        var collect = Environment.GetEnvironmentVariable("PROFILEGRID_FUZZ_COLLECT") == "1";
        var failures = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var pick = random.Next(weights);
            var route = routes.First(r => (pick -= r.Weight) < 0);
            var request = Mutate(route, random);
            var response = await SendAsync(request);
            statuses[response.Status] = statuses.GetValueOrDefault(response.Status) + 1;
            try
            {
                Check(seed, i, request, response);
            }
            catch (Exception ex) when (collect && ex is Xunit.Sdk.XunitException)
            {
                // PROFILEGRID_FUZZ_COLLECT=1: go on and list every failure, to triage a run at once.
                failures.Add(ex.Message);
            }
        }

        foreach (var failure in failures)
        {
            output.WriteLine(failure + "\n");
        }

        if (collect)
        {
            // What the silo logged about them: each exception type and its first frames once.
            var lines = _silo.Output.Split('\n');
            foreach (var at in Enumerable.Range(0, lines.Length).Where(i => lines[i].Contains("Exception:", StringComparison.Ordinal)).DistinctBy(i => lines[i].Trim()))
            {
                output.WriteLine(string.Join('\n', lines.Skip(at).Take(6)));
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} failures; see the output");

        output.WriteLine($"{count} REST requests in {(DateTime.UtcNow - started).TotalSeconds:F1} s; statuses: {string.Join(", ", statuses.Select(s => $"{s.Key}: {s.Value}"))}");
        await GrpcFuzzAsync(seed, random, Math.Max(50, count / 6));
        await MalformedGrpcFramesAsync();
        await AssertStillServingAsync();
    }

    // ---------------------------------------------------------------- the routes and their valid requests

    private sealed record Route(string Method, string Path, Func<Random, JsonNode?>? Body, Func<Random, string> Query, int Weight = 10, bool IsIngest = false);

    private sealed record FuzzRequest(string Method, string Target, byte[]? Body, string? ContentType, string Mutation, bool WholeRequestMayFail, IReadOnlyList<int> CounterEventIndexes, int EventCount);

    private sealed record FuzzResponse(int Status, string Body, TimeSpan Took);

    private List<Route> Routes()
    {
        string NoQuery(Random _) => "";
        var t = "/v1/tenants/{tenant}";
        return
        [
            new("POST", "/v1/events:ingest", IngestBody, NoQuery, Weight: 60, IsIngest: true),
            new("GET", t + "/users/{user}/profile", null, r => Maybe(r, "asOf", AsOfValue(r))),
            new("GET", t + "/users/{user}/document", null, r => Maybe(r, "asOf", AsOfValue(r))),
            new("POST", t + "/profiles:batchGet", r => new JsonObject { ["userIds"] = new JsonArray("v-1", _counterUser), ["asOf"] = DateTimeOffset.UtcNow.AddDays(-1).ToString("O") }, NoQuery),
            new("GET", t + "/profiles", null, r => Maybe(r, "pageSize", "50") + Maybe(r, "pageToken", "abc") + Maybe(r, "asOf", AsOfValue(r))),
            new("PUT", t + "/users/{user}/attributes", _ => JsonNode.Parse("""{"demographics": {"birthYear": 1990, "gender": "female", "country": "DE", "language": "de", "city": "Berlin"}, "traits": {"tier": "gold"}}"""), NoQuery),
            new("PUT", t + "/users/{user}/preferences", _ => JsonNode.Parse("""{"preference": {"key": "newsletter", "value": "weekly", "emailOptIn": true}}"""), NoQuery),
            new("DELETE", t + "/users/{user}", null, NoQuery, Weight: 3),
            new("GET", t + "/users/{user}/export", null, NoQuery, Weight: 3),
            new("GET", t + "/segments", null, NoQuery, Weight: 5),
            new("POST", t + "/segments:run", _ => JsonNode.Parse("""{"algorithm": "kmeans", "k": 3, "features": ["recency_days", "frequency", "monetary"], "window": "lifetime", "logRecency": true, "dormantAfterDays": 365}"""), NoQuery, Weight: 4),
            new("GET", t + "/users/{user}/segment", null, NoQuery, Weight: 5),
            new("GET", t + "/users/{user}/segment:explain", null, NoQuery, Weight: 5),
            new("GET", t + "/segments/{segment}/members", null, r => Maybe(r, "pageSize", "10") + Maybe(r, "pageToken", "x"), Weight: 5),
            new("GET", t + "/segments/map", null, r => Maybe(r, "maxPoints", "100"), Weight: 3),
            new("GET", t + "/segments/curves", null, NoQuery, Weight: 3),
            new("GET", t + "/rfm", null, NoQuery, Weight: 3),
            new("GET", t + "/rfm/{cell}/members", null, r => Maybe(r, "pageSize", "10") + Maybe(r, "pageToken", "x"), Weight: 3),
            new("GET", t + "/users/{user}/recommendations", null, r => Maybe(r, "n", "5") + Maybe(r, "slot", "home") + Maybe(r, "pageItem", "i-1") + Maybe(r, "exclude", "i-2")),
            new("GET", t + "/items/{item}/similar", null, r => Maybe(r, "n", "5")),
            new("POST", t + "/recommender:train", _ => JsonNode.Parse("""{"candidateAlgorithm": "cf", "weights": {"view": 1, "purchase": 5}, "neighbours": 20}"""), NoQuery, Weight: 3),
            new("GET", t + "/recommender", null, NoQuery, Weight: 3),
            new("POST", t + "/recommender:evaluate", _ => JsonNode.Parse("""{"k": 5, "split": "leave-last-out", "algorithms": ["popular"], "slices": ["segment"]}"""), NoQuery, Weight: 2),
            new("POST", t + "/reranker:train", _ => new JsonObject(), NoQuery, Weight: 2),
            new("GET", t + "/reranker", null, NoQuery, Weight: 3),
            new("POST", t + "/items:upsert", _ => JsonNode.Parse("""{"items": [{"itemId": "i-9", "category": "books", "price": "12.50", "currency": "EUR", "available": true, "tags": ["new"], "attributes": {"author": "x"}}]}"""), NoQuery),
            new("POST", t + "/items:delete", _ => JsonNode.Parse("""{"itemIds": ["i-8"]}"""), NoQuery, Weight: 4),
            new("GET", t + "/items/{item}", null, NoQuery, Weight: 4),
            new("GET", t + "/items", null, r => Maybe(r, "pageSize", "10") + Maybe(r, "after", "i-1"), Weight: 4),
            new("GET", t + "/recommendation-rules", null, NoQuery, Weight: 3),
            new("GET", t + "/recommendation-rules/{rule}", null, NoQuery, Weight: 3),
            new("POST", t + "/recommendation-rules", _ => JsonNode.Parse("""{"id": "r-new", "segment": "*", "priority": 5, "startsAt": "2026-01-01T00:00:00Z", "action": {"type": "boost", "match": {"category": "books", "priceBand": {"min": "1", "max": "100", "currency": "EUR"}}, "factor": 2}}"""), NoQuery),
            new("PUT", t + "/recommendation-rules/{rule}", _ => JsonNode.Parse("""{"segment": "vip", "action": {"type": "pin", "items": ["i-1"], "position": 1}}"""), NoQuery),
            new("DELETE", t + "/recommendation-rules/{rule}", null, NoQuery, Weight: 3),
            new("PUT", t + "/recommendation-rules", _ => JsonNode.Parse("""{"rules": [{"id": "r-1", "action": {"type": "exclude", "items": ["i-7"]}}], "expectedVersion": "0"}"""), NoQuery, Weight: 4),
            new("GET", t + "/experiments", null, NoQuery, Weight: 3),
            new("GET", t + "/experiments/{experiment}", null, NoQuery, Weight: 3),
            new("POST", t + "/experiments", _ => ExperimentBody("x-new"), NoQuery),
            new("PUT", t + "/experiments/{experiment}", _ => ExperimentBody("x-1"), NoQuery),
            new("POST", t + "/experiments/{experiment}:start", _ => new JsonObject(), NoQuery, Weight: 3),
            new("POST", t + "/experiments/{experiment}:stop", _ => new JsonObject(), NoQuery, Weight: 3),
            new("POST", t + "/experiments/{experiment}:archive", _ => new JsonObject(), NoQuery, Weight: 2),
            new("GET", t + "/experiments/{experiment}/results", null, NoQuery, Weight: 3),
            new("GET", t + "/fairness", null, r => Maybe(r, "experimentId", "x-1"), Weight: 3),
            new("GET", "/v1/tenants", null, NoQuery, Weight: 2),
            new("GET", t + "/stats", null, NoQuery, Weight: 3),
            new("GET", t + "/stats/series", null, r => Maybe(r, "resolution", r.Next(2) == 0 ? "minute" : "hour"), Weight: 3),
            new("GET", t + "/identity/{user}", null, NoQuery, Weight: 3),
            new("GET", t + "/identity/merges/{merge}", null, NoQuery, Weight: 3),
            new("POST", t + "/identity/merges/{merge}/unmerge", null, NoQuery, Weight: 3),
            new("GET", "/v1/admin/ingest", null, NoQuery, Weight: 2),
            new("GET", "/v1/admin/cluster", null, NoQuery, Weight: 2),
            new("GET", "/v1/admin/lake", null, NoQuery, Weight: 1),
            new("POST", "/v1/admin/lake/rebuild", _ => new JsonObject { ["tenant"] = Tenant, ["userId"] = "v-1" }, NoQuery, Weight: 2),
            new("POST", "/v1/admin/lake/snapshot", _ => new JsonObject { ["tenant"] = Tenant }, NoQuery, Weight: 2),
        ];
    }

    private static JsonNode ExperimentBody(string id) => JsonNode.Parse($$$"""
        {"id": "{{{id}}}", "name": "fuzz", "slot": "home", "layer": "l1", "traffic": 0.5,
         "variants": [{"key": "control", "control": true, "algorithm": "popular", "rules": false, "weight": 50}, {"key": "b", "algorithm": "model", "weight": 50}],
         "targeting": {"segments": ["vip"]}}
        """)!;

    private static string Maybe(Random random, string name, string value) =>
        random.Next(2) == 0 ? "" : $"&{name}={Uri.EscapeDataString(value)}";

    private static string AsOfValue(Random random) => DateTimeOffset.UtcNow.AddDays(-random.Next(0, 400)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Recently() => DateTimeOffset.UtcNow.AddMinutes(-10).ToString("O");

    private JsonObject ValidEvent(Random random, string user)
    {
        var id = $"e-{Interlocked.Increment(ref _eventSerial)}";
        var e = new JsonObject { ["eventId"] = id, ["userId"] = user, ["occurredAt"] = Recently(), ["source"] = "web" };
        switch (random.Next(6))
        {
            case 0:
                e["type"] = "page_view";
                e["page"] = new JsonObject { ["url"] = "/p", ["title"] = "t", ["referrer"] = "https://example.com/" };
                e["context"] = new JsonObject { ["device"] = "mobile", ["country"] = "DE", ["locale"] = "de-DE", ["sessionId"] = "s1", ["userAgent"] = "ua" };
                break;
            case 1:
                e["type"] = "product_view";
                e["product"] = new JsonObject { ["productId"] = "i-1", ["category"] = "books", ["unitPrice"] = "9.90", ["currency"] = "EUR" };
                break;
            case 2:
                e["type"] = "purchase";
                e["purchase"] = new JsonObject
                {
                    ["orderId"] = "o-" + id, ["currency"] = "EUR",
                    ["lines"] = new JsonArray(new JsonObject { ["productId"] = "i-1", ["category"] = "books", ["quantity"] = 2, ["unitPrice"] = "9.90" }),
                };
                break;
            case 3:
                e["type"] = "search";
                e["search"] = new JsonObject { ["query"] = "red shoes", ["resultCount"] = 3 };
                break;
            case 4:
                e["type"] = "add_to_cart";
                e["product"] = new JsonObject { ["productId"] = "i-2", ["category"] = "toys", ["quantity"] = 1, ["unitPrice"] = "5.00", ["currency"] = "EUR" };
                break;
            default:
                e["type"] = "rating";
                e["rating"] = new JsonObject { ["productId"] = "i-3", ["value"] = 4.5, ["category"] = "books" };
                break;
        }

        return e;
    }

    private JsonNode IngestBody(Random random)
    {
        var events = new JsonArray();
        for (var i = random.Next(1, 6); i > 0; i--)
        {
            events.Add(ValidEvent(random, "v-" + random.Next(1, 41)));
        }

        return new JsonObject { ["tenant"] = Tenant, ["events"] = events };
    }

    private static string PathValue(string name, Random random) => name switch
    {
        "tenant" => Tenant,
        "user" => "v-" + random.Next(1, 41),
        "item" => "i-" + random.Next(1, 4),
        "rule" => "r-1",
        "experiment" => "x-1",
        "segment" => random.Next(0, 3).ToString(CultureInfo.InvariantCulture),
        "cell" => "champions",
        "merge" => "m-1",
        _ => throw new ArgumentException(name),
    };

    // ---------------------------------------------------------------- mutations

    private static readonly string[] BadPathSegments =
    [
        "%2F", "a%2Fb", "%252F", "a%252Fb", "%00", "a%00b", "..", ".", "%2E%2E", "%2E", "..%2F..%2F", "%C3", "%FF", "%ED%A0%80", "%",
        "%zz", "a%2", "%E2%80%AE", "%F0%9F%98%80", "%D7%A9%D7%9C%D7%95%D7%9D", "%D9%85%D8%B1%D8%AD%D8%A8%D8%A7", "%0A", "%0D%0A", "%09",
        "%20", "+", "anon:x", "anon%3Ax", "%7F", "%C2%85", "%E2%80%A8", "%EF%BF%BF", "%25", "%2525", "a;b", "%3B", "a:b", "~", "%7E",
        "-1", "99999999999", "2147483648", "-2147483649", "1e3", "0x10", "NaN",
    ];

    private static string LongSegment(Random random) => new('a', random.Next(4) switch { 0 => 255, 1 => 257, 2 => 2049, _ => 6000 });

    private FuzzRequest Mutate(Route route, Random random)
    {
        var target = new StringBuilder();
        var mutation = new List<string>();
        var segments = route.Path.Split('/');
        var placeholders = segments.Select((s, i) => (s, i)).Where(p => p.s.Contains('{')).Select(p => p.i).ToList();
        var mutatePath = placeholders.Count > 0 && random.Next(4) == 0;
        var mutatedIndex = mutatePath ? placeholders[random.Next(placeholders.Count)] : -1;
        for (var i = 0; i < segments.Length; i++)
        {
            if (i > 0)
            {
                target.Append('/');
            }

            var segment = segments[i];
            var open = segment.IndexOf('{');
            if (open < 0)
            {
                target.Append(segment);
                continue;
            }

            var close = segment.IndexOf('}');
            var name = segment[(open + 1)..close];
            string value;
            if (i == mutatedIndex)
            {
                value = random.Next(6) == 0 ? LongSegment(random) : BadPathSegments[random.Next(BadPathSegments.Length)];
                if (random.Next(3) == 0)
                {
                    value = PathValue(name, random) + value; // inside an otherwise fine id
                }

                mutation.Add($"path {{{name}}} = {Shorten(value)}");
            }
            else
            {
                value = PathValue(name, random);
            }

            target.Append(segment[..open]).Append(value).Append(segment[(close + 1)..]);
        }

        var query = route.Query(random);
        if (random.Next(4) == 0)
        {
            query += MutateQuery(route, random, mutation);
        }

        if (query.Length > 0)
        {
            target.Append('?').Append(query.TrimStart('&'));
        }

        var method = route.Method;
        if (random.Next(30) == 0)
        {
            method = new[] { "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS" }[random.Next(7)];
            mutation.Add("method " + method);
        }

        if (route.Body is null)
        {
            var bodyless = random.Next(20) == 0 ? Encoding.UTF8.GetBytes("{\"x\": 1}") : null;
            if (bodyless is not null)
            {
                mutation.Add("a body on a bodyless route");
            }

            return new FuzzRequest(method, target.ToString(), bodyless, bodyless is null ? null : "application/json", string.Join("; ", mutation), true, [], 0);
        }

        var body = route.Body(random)!;
        var counterEvents = new HashSet<JsonNode>(ReferenceEqualityComparer.Instance);
        var eventCount = 0;
        if (route.IsIngest)
        {
            // Mixed batches: valid events of the counter user (each naming its tenant, so that a change to the request's
            // tenant leaves them valid) between the events that get mutated. Mutations never reach inside them.
            var events = body["events"]!.AsArray();
            for (var n = random.Next(0, 3); n > 0; n--)
            {
                var valid = ValidEvent(random, _counterUser);
                valid["tenant"] = Tenant;
                counterEvents.Add(valid);
                events.Insert(random.Next(events.Count + 1), valid);
            }
        }

        var raws = new Dictionary<string, string>();
        var wholeMayFail = true;
        var contentType = "application/json";
        var kind = random.Next(100);
        if (kind < 55)
        {
            // A JSON-level change of one value (or more): a wrong type, a null, an odd string or number, a missing field.
            JsonNode scope = body;
            var others = route.IsIngest ? body["events"]!.AsArray().Where(e => !counterEvents.Contains(e!)).ToList() : [];
            if (others.Count > 0 && random.Next(4) != 0)
            {
                scope = others[random.Next(others.Count)]!;
                wholeMayFail = false; // a problem inside one event rejects that event only
            }

            for (var n = random.Next(1, 4); n > 0; n--)
            {
                mutation.Add(MutateValue(scope, random, raws, counterEvents));
            }
        }
        else if (kind < 62)
        {
            var objects = Positions(body, counterEvents).Select(p => p.Parent).OfType<JsonObject>().Append(body.AsObject()).Where(o => !counterEvents.Contains(o)).ToList();
            var into = objects[random.Next(objects.Count)];
            var name = new[] { "unknownField", "évènement", "__proto__", "constructor", "a\u0000b", "", "tenant2", "EVENTS", "event_id" }[random.Next(9)];
            if (!into.ContainsKey(name))
            {
                into[name] = BadValue(random, raws);
            }

            mutation.Add($"unknown field '{Shorten(name)}'");
        }
        else if (kind < 66)
        {
            var depth = random.Next(2) == 0 ? random.Next(10, 60) : random.Next(65, 5000);
            var raw = string.Concat(Enumerable.Repeat(random.Next(2) == 0 ? "[" : "{\"a\":", depth)) + "1";
            raw += string.Concat(raw.Reverse().Where(c => c is '[' or '{').Select(c => c == '[' ? ']' : '}'));
            SetRandom(body, random, Raw(raws, raw), counterEvents);
            mutation.Add($"nesting {depth} deep");
        }
        else if (kind < 70 && route.IsIngest)
        {
            var events = body["events"]!.AsArray();
            var n = random.Next(2) == 0 ? 1000 : 1001;
            while (events.Count < n)
            {
                events.Add(ValidEvent(random, "v-big"));
            }

            mutation.Add($"{n} events");
        }
        else if (kind < 70)
        {
            SetRandom(body, random, new JsonArray(Enumerable.Range(0, random.Next(500, 3000)).Select(i => (JsonNode?)$"id-{i}").ToArray()), counterEvents);
            mutation.Add("a long array");
        }
        else if (kind < 73)
        {
            contentType = new[] { "text/plain", "application/xml", "application/json; charset=utf-16", "application/json; charset=latin1", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "application/grpc", "", "application/json+fuzz", "*/*" }[random.Next(10)];
            mutation.Add($"content type '{contentType}'");
        }

        // The counter user's events still in the batch, untouched, by index: those must be accepted if the batch is.
        var counterIndexes = new List<int>();
        if (route.IsIngest && body["events"] is JsonArray final)
        {
            eventCount = final.Count;
            counterIndexes.AddRange(final.Select((e, i) => (e, i)).Where(p => p.e is not null && counterEvents.Contains(p.e)).Select(p => p.i));
        }

        var text = body.ToJsonString();
        foreach (var (placeholder, raw) in raws)
        {
            text = text.Replace($"\"{placeholder}\"", raw, StringComparison.Ordinal);
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        if (kind is >= 73 and < 78)
        {
            bytes = bytes[..random.Next(bytes.Length)];
            mutation.Add($"truncated at byte {bytes.Length}");
        }
        else if (kind is >= 78 and < 82)
        {
            // Duplicate a property: the first object's first property written twice.
            var at = text.IndexOf("{\"", StringComparison.Ordinal);
            var end = FindPropertyEnd(text, at + 1);
            if (at >= 0 && end > at)
            {
                text = text[..(at + 1)] + text[(at + 1)..end] + "," + text[(at + 1)..];
                bytes = Encoding.UTF8.GetBytes(text);
                mutation.Add("a property written twice");
            }
        }
        else if (kind is >= 82 and < 86)
        {
            // Bytes that are not UTF-8 inside a string value.
            var quotes = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] == (byte)'"').ToList();
            if (quotes.Count > 0)
            {
                var at = quotes[random.Next(quotes.Count)] + 1;
                var bad = new[] { new byte[] { 0xC3 }, [0xFF], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0xF8, 0x88, 0x80, 0x80, 0x80], [0x80] }[random.Next(6)];
                bytes = [.. bytes[..at], .. bad, .. bytes[at..]];
                mutation.Add($"invalid UTF-8 {Convert.ToHexString(bad)} at byte {at}");
            }
        }
        else if (kind is >= 86 and < 88)
        {
            bytes = new byte[random.Next(1, 200)];
            random.NextBytes(bytes);
            mutation.Add("random bytes");
        }
        else if (kind is >= 88 and < 90)
        {
            bytes = Encoding.UTF8.GetBytes(new[] { "", " ", "null", "[]", "\"x\"", "1", "true", "{", "}", "{}}", "{\"a\":1}{}", "\uFEFF{}", "/* */{}", "{'a':1}", "{a:1}", "{\"a\":1,}" }[random.Next(16)]);
            mutation.Add($"body '{Encoding.UTF8.GetString(bytes)}'");
        }
        else if (kind == 90 && random.Next(8) == 0)
        {
            // Over MaxRequestBytes (4 MiB).
            bytes = Encoding.UTF8.GetBytes("{\"tenant\": \"" + new string('x', 4 * 1024 * 1024 + 16) + "\"}");
            mutation.Add("a body over 4 MiB");
        }

        if (mutation.Count == 0)
        {
            mutation.Add("none (valid)");
        }

        // Anything that breaks the JSON text or the envelope may refuse the whole request; a change inside one event may not.
        var textLevel = kind >= 62 && kind != 70;
        return new FuzzRequest(method, target.ToString(), bytes, contentType.Length == 0 ? null : contentType, string.Join("; ", mutation),
            wholeMayFail || textLevel || method != route.Method || mutatePath, route.IsIngest ? counterIndexes : [], eventCount);
    }

    private static int FindPropertyEnd(string text, int start)
    {
        // The end of "name": value starting at start (a simple scanner: strings, nesting).
        var depth = 0;
        var inString = false;
        for (var i = start; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\')
                {
                    i++;
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"': inString = true; break;
                case '{' or '[': depth++; break;
                case '}' or ']':
                    if (depth == 0)
                    {
                        return i;
                    }

                    depth--;
                    break;
                case ',' when depth == 0: return i;
            }
        }

        return -1;
    }

    private static string MutateQuery(Route route, Random random, List<string> mutation)
    {
        var names = new[] { "asOf", "as_of", "n", "pageSize", "page_size", "pageToken", "after", "maxPoints", "resolution", "experimentId", "slot", "exclude", "N", "nn", "unknown", "" };
        var name = names[random.Next(names.Length)];
        var values = new[]
        {
            "", "abc", "-1", "0", "1", "2147483647", "2147483648", "-2147483649", "9223372036854775808", "1e3", "1.5", "NaN", "Infinity", "-Infinity", " 5", "5 ",
            "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z", "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00:00", "2026-01-01T25:00:00Z", "+275760-09-13T00:00:00Z", "T", "1e10", "2026-01-01T00:00:00.123456789123Z",
            "\u0000", "\u202Eabc", "\U0001F600", "\uD800", "%", "%C3", "x\r\ny", new string('z', 3000), "AAAA", "eyJ4IjoxfQ", "////", "-", "true",
        };
        var value = values[random.Next(values.Length)];
        var encoded = value == "\uD800" ? "%ED%A0%80" : value == "%C3" ? "%C3" : Uri.EscapeDataString(value);
        var repeat = random.Next(5) == 0;
        mutation.Add($"query {name}={Shorten(value)}{(repeat ? " (twice)" : "")}");
        var part = $"&{Uri.EscapeDataString(name)}={encoded}";
        return repeat ? part + part : part;
    }

    private static IEnumerable<(JsonNode Parent, string? Name, int Index)> Positions(JsonNode node, ISet<JsonNode> skip)
    {
        if (skip.Contains(node))
        {
            yield break;
        }

        switch (node)
        {
            case JsonObject o:
                foreach (var (name, value) in o.ToList())
                {
                    yield return (o, name, -1);
                    if (value is not null)
                    {
                        foreach (var p in Positions(value, skip))
                        {
                            yield return p;
                        }
                    }
                }

                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    yield return (a, null, i);
                    if (a[i] is { } item)
                    {
                        foreach (var p in Positions(item, skip))
                        {
                            yield return p;
                        }
                    }
                }

                break;
        }
    }

    private static void SetRandom(JsonNode scope, Random random, JsonNode? value, ISet<JsonNode> skip)
    {
        var positions = Positions(scope, skip).ToList();
        if (positions.Count == 0)
        {
            if (scope is JsonObject o)
            {
                o["fuzz"] = value;
            }

            return;
        }

        var (parent, name, index) = positions[random.Next(positions.Count)];
        if (name is not null)
        {
            parent.AsObject()[name] = value;
        }
        else
        {
            parent.AsArray()[index] = value;
        }
    }

    private static string MutateValue(JsonNode scope, Random random, Dictionary<string, string> raws, ISet<JsonNode> skip)
    {
        var positions = Positions(scope, skip).ToList();
        if (positions.Count == 0)
        {
            return "nothing to mutate";
        }

        var (parent, name, index) = positions[random.Next(positions.Count)];
        var where = name ?? $"[{index}]";
        if (name is not null && random.Next(6) == 0)
        {
            parent.AsObject().Remove(name);
            return $"removed '{name}'";
        }

        var value = BadValue(random, raws);
        if (name is not null)
        {
            parent.AsObject()[name] = value;
        }
        else
        {
            parent.AsArray()[index] = value;
        }

        return $"{where} = {Shorten(value is JsonValue v && v.TryGetValue<string>(out var s) && raws.TryGetValue(s, out var raw) ? raw : value?.ToJsonString() ?? "null")}";
    }

    private static JsonNode Raw(Dictionary<string, string> raws, string json)
    {
        var placeholder = $"@@RAW{raws.Count}@@";
        raws[placeholder] = json;
        return JsonValue.Create(placeholder);
    }

    private static readonly string[] RawValues =
    [
        // Numbers at and beyond the limits of int32, int64, decimal and double.
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551616", "79228162514264337593543950335", "79228162514264337593543950336", "1e308", "1.7976931348623157e309", "-1e400",
        "1e-400", "-0", "0.0000001", "1E2", "1.0", "123456789012345678901234567890", "-1", "0", "1.5",
        // Strings proto3 JSON reads as numbers, or nearly.
        "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e400\"", "\"79228162514264337593543950336\"", "\"-0\"", "\"0x10\"", "\"1,5\"", "\" 1 \"", "\"١٢٣\"",
        "\"9223372036854775808\"", "\"-9223372036854775809\"", "\"12.345678901234567890123\"", "\"-5.00\"", "\"1e3\"",
        // Dates far away and malformed.
        "\"0001-01-01T00:00:00Z\"", "\"9999-12-31T23:59:59Z\"", "\"1969-12-31T23:59:59Z\"", "\"1970-01-01T00:00:00Z\"", "\"2026-02-30T00:00:00Z\"",
        "\"2026-13-01T00:00:00Z\"", "\"not-a-date\"", "\"2026-01-01\"", "\"2026-01-01T00:00:00\"", "\"2026-01-01T25:00:00Z\"", "\"+275760-09-13T00:00:00Z\"",
        "\"0001-01-01T00:00:00+14:00\"", "\"9999-12-31T23:59:59-14:00\"", "\"2100-01-01T00:00:00Z\"",
        // Control characters, lone surrogates, emoji, right-to-left text, ids a URL cannot name.
        "\"\\u0000\"", "\"a\\u0001\\u001fb\"", "\"\\r\\n\"", "\"\\u007f\"", "\"\\u0085\"", "\"\\u2028\"", "\"\\ud800\"", "\"\\udfff\"", "\"ab\\ud83d\"",
        "\"😀\"", "\"👩‍👩‍👧\"", "\"שלום\"", "\"مرحبا\"", "\"\\u202egnp.exe\"", "\"..\"", "\".\"", "\"/\"", "\"a/b\"", "\"%2F\"", "\"anon:x\"", "\" i1 \"",
        "\"\"", "\" \"", "\"x\"", "\"*\"", "\"EUR\"", "\"XXX\"", "\"de-DE\"", "\"purchase\"", "\"refund\"", "\"identify\"", "\"boost\"", "\"pin\"",
        // Wrong JSON types.
        "true", "false", "null", "[]", "{}", "[1,\"a\",null]", "{\"a\":1}", "[[]]", "[{}]",
    ];

    private static JsonNode? BadValue(Random random, Dictionary<string, string> raws)
    {
        if (random.Next(5) == 0)
        {
            // Huge strings, at and beyond the documented limits (256, 2,048) and far beyond.
            var length = new[] { 255, 256, 257, 1024, 2048, 2049, 10_000, 70_000 }[random.Next(8)];
            var unit = new[] { "a", "é", "😀", "ש", "\u0301", "%" }[random.Next(6)];
            var text = new StringBuilder();
            while (text.Length < length)
            {
                text.Append(unit);
            }

            return Raw(raws, JsonSerializer.Serialize(text.ToString(0, length)));
        }

        return Raw(raws, RawValues[random.Next(RawValues.Length)]);
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : $"{text[..60]}...({text.Length} chars)";

    // ---------------------------------------------------------------- sending and checking

    private async Task<FuzzResponse> SendAsync(FuzzRequest request)
    {
        var started = DateTime.UtcNow;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _silo.HttpPort, timeout.Token);
        await using var stream = client.GetStream();
        var head = new StringBuilder()
            .Append($"{request.Method} {request.Target} HTTP/1.1\r\n")
            .Append($"Host: 127.0.0.1:{_silo.HttpPort}\r\n")
            .Append("Connection: close\r\n");
        if (request.Body is not null)
        {
            if (request.ContentType is not null)
            {
                head.Append($"Content-Type: {request.ContentType}\r\n");
            }

            head.Append($"Content-Length: {request.Body.Length}\r\n");
        }

        head.Append("\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head.ToString()), timeout.Token);
        if (request.Body is not null)
        {
            try
            {
                await stream.WriteAsync(request.Body, timeout.Token);
            }
            catch (IOException)
            {
                // The server answered (and closed) before reading the whole body: the answer is still there to read.
            }
        }

        var (headers, content, raw) = await RawHttp.ReadAnswerAsync(stream, timeout.Token);
        Assert.True(headers.Length > 0, $"No HTTP answer to {request.Method} {Shorten(request.Target)} ({request.Mutation}): {Encoding.UTF8.GetString(raw)}");
        var status = int.Parse(headers.Split(' ')[1], CultureInfo.InvariantCulture);

        // An answer in the charset the request named (transcoding answers a UTF-16 request in UTF-16).
        var charset = headers.Split("\r\n").FirstOrDefault(h => h.StartsWith("Content-Type:", StringComparison.OrdinalIgnoreCase)) is { } type
            && type.Contains("charset=utf-16", StringComparison.OrdinalIgnoreCase) ? Encoding.Unicode : Encoding.UTF8;
        return new FuzzResponse(status, charset.GetString(content), DateTime.UtcNow - started);
    }

    private void Check(int seed, int index, FuzzRequest request, FuzzResponse response)
    {
        var body = request.Body is null ? "" : Encoding.UTF8.GetString(request.Body);
        var what = $"""
            Fuzz request #{index} (seed {seed}; rerun with PROFILEGRID_FUZZ_SEED={seed}):
              {request.Method} {Shorten(request.Target)}  Content-Type: {request.ContentType}
              mutation: {request.Mutation}
              body: {Shorten(body.Length > 600 ? body[..600] : body)}
            answered {response.Status} in {response.Took.TotalMilliseconds:F0} ms: {(response.Body.Length > 600 ? response.Body[..600] + "..." : response.Body)}
            """;
        Assert.True(AllowedRestStatuses.Contains(response.Status), "Status not allowed. " + what);
        Assert.True(response.Took < TimeSpan.FromSeconds(20), "Too slow (a wedged silo?). " + what);
        foreach (var marker in LeakMarkers)
        {
            Assert.False(response.Body.Contains(marker, StringComparison.Ordinal), $"The answer holds '{marker}'. " + what);
        }

        if (response.Status >= 400 && response.Status is not (414 or 431) && !(response.Status == 400 && request.Target.Contains("%00", StringComparison.Ordinal))
            && request.Method != "HEAD")
        {
            // Kestrel's own refusals of a request line it will not read (a target too long, 414; a NUL in the path, 400) or
            // of headers (431) come before any middleware and carry no body; an answer to HEAD never has one.
            var message = ErrorMessage(response.Body);
            Assert.True(message is { Length: >= 10 }, "A refusal that does not say why. " + what);
        }

        if (request.EventCount > 0)
        {
            if (response.Status != 200)
            {
                Assert.True(request.WholeRequestMayFail, "A problem inside one event refused the whole batch. " + what);
                return;
            }

            var answer = JsonNode.Parse(response.Body)!;
            var rejected = answer["rejected"]?.AsArray().Select(r => (int)r!["index"]!).ToHashSet() ?? [];
            foreach (var valid in request.CounterEventIndexes)
            {
                Assert.False(rejected.Contains(valid), $"The valid event at index {valid} was rejected. " + what);
            }

            _counterEvents += request.CounterEventIndexes.Count;
        }
    }

    private static string? ErrorMessage(string body)
    {
        try
        {
            var node = JsonNode.Parse(body);
            return (node?["message"] ?? node?["error"])?.GetValue<string>();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    // ---------------------------------------------------------------- before and after

    private async Task SeedDataAsync()
    {
        // Enough users with purchases for a segmentation model and a recommender, so that the segment, RFM, explain,
        // recommendation and experiment routes run their real paths rather than answering "no model yet".
        var random = new Random(1);
        var events = new JsonArray();
        for (var user = 1; user <= 40; user++)
        {
            for (var i = 0; i < 1 + user % 7; i++)
            {
                events.Add(ValidEvent(random, $"v-{user}"));
            }
        }

        await PostAsync("/v1/events:ingest", new JsonObject { ["tenant"] = Tenant, ["events"] = events });
        await PostAsync($"/v1/tenants/{Tenant}/items:upsert", JsonNode.Parse("""{"items": [{"itemId": "i-1", "category": "books", "price": "9.90", "currency": "EUR"}, {"itemId": "i-2", "category": "toys"}, {"itemId": "i-3", "category": "books"}]}""")!);
        await PostAsync($"/v1/tenants/{Tenant}/recommendation-rules", JsonNode.Parse("""{"id": "r-1", "action": {"type": "exclude", "items": ["i-7"]}}""")!);
        await PostAsync($"/v1/tenants/{Tenant}/experiments", ExperimentBody("x-1"));
        await SegmentScenario.PollAsync(
            async () =>
            {
                using var run = await _silo.Http.PostAsync($"/v1/tenants/{Tenant}/segments:run", new StringContent("""{"k": 3}""", Encoding.UTF8, "application/json"));
                return run.StatusCode;
            },
            status => status == HttpStatusCode.OK,
            "a first segmentation run");
        await PostAsync($"/v1/tenants/{Tenant}/recommender:train", new JsonObject());
        await PostAsync($"/v1/tenants/{Tenant}/experiments/x-1:start", new JsonObject());
    }

    private async Task PostAsync(string path, JsonNode body)
    {
        using var response = await _silo.Http.PostAsync(path, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task AssertStillServingAsync()
    {
        Assert.False(_silo.HasExited, "The silo exited during the fuzz run:\n" + _silo.OutputTail(80));

        // Every valid event of the mixed batches answered 200 was applied, and no other event reached that profile.
        output.WriteLine($"{_counterEvents} valid events sent in mixed batches to {_counterUser}");
        if (_counterEvents > 0)
        {
            var profile = await SegmentScenario.PollAsync(
                async () => await _silo.Client.GetProfileAsync(new GetProfileRequest { Tenant = Tenant, UserId = _counterUser }),
                p => p.EventsApplied >= _counterEvents,
                $"{_counterEvents} events applied to {_counterUser}");
            Assert.Equal(_counterEvents, profile!.EventsApplied);
        }

        // A valid ingest and read, over REST, still work.
        var user = "after-" + Guid.NewGuid().ToString("N")[..8];
        var ingest = await _silo.Http.PostAsync("/v1/events:ingest", new StringContent(
            $$$"""{"tenant": "{{{Tenant}}}", "events": [{"eventId": "a1", "type": "purchase", "userId": "{{{user}}}", "occurredAt": "{{{Recently()}}}", "source": "web", "purchase": {"orderId": "o1", "currency": "EUR", "lines": [{"productId": "i-1", "category": "books", "quantity": 2, "unitPrice": "4.50"}]}}]}""",
            Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, ingest.StatusCode);
        Assert.Equal(1, (int)JsonNode.Parse(await ingest.Content.ReadAsStringAsync())!["accepted"]!);
        var read = await SegmentScenario.PollAsync(
            async () =>
            {
                using var response = await _silo.Http.GetAsync($"/v1/tenants/{Tenant}/users/{user}/profile");
                return response.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
            },
            p => p is not null,
            $"the profile of {user} over REST");
        Assert.Equal(1, (int)read!["behavior"]!["orders"]!);
        Assert.Equal("9.00", (string)read["behavior"]!["monetaryByCurrency"]![0]!["amount"]!);
    }

    // ---------------------------------------------------------------- gRPC

    private static readonly ServiceDescriptor[] Services =
        [ProfileGateway.Descriptor, SegmentService.Descriptor, RecommendationService.Descriptor, ExperimentService.Descriptor];

    private static readonly HashSet<StatusCode> AllowedGrpcCodes =
    [
        StatusCode.OK, StatusCode.InvalidArgument, StatusCode.NotFound, StatusCode.FailedPrecondition, StatusCode.AlreadyExists, StatusCode.Aborted,
        StatusCode.OutOfRange, StatusCode.ResourceExhausted,
    ];

    private static readonly string[] GrpcStrings =
    [
        "", " ", "..", ".", "/", "a/b", "%2F", "\0", "a\u0001b", "\r\n", "\u2028", "\uD800", "ab\uD83D", "😀", "👩‍👩‍👧", "שלום", "\u202Egnp.exe", "anon:x", " i1 ",
        "NaN", "Infinity", "-1", "1e400", "79228162514264337593543950336", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00", "not-a-date", "2026-02-30T00:00:00Z", new string('a', 257), new string('a', 2049), new string('é', 70_000),
    ];

    /// <summary>Valid requests as JSON, parsed into each method's message and then mutated field by field.</summary>
    private string ValidGrpcJson(string method) => method switch
    {
        "IngestEvents" => IngestBody(new Random(7)).ToJsonString(),
        "GetProfile" or "UpsertAttributes" or "SetPreferences" or "DeleteUser" or "GetUserSegment" or "ExplainUserSegment" or "Recommend" =>
            $$"""{"tenant": "{{Tenant}}", "userId": "v-1"}""",
        "GetProfiles" => $$"""{"tenant": "{{Tenant}}", "userIds": ["v-1", "v-2"]}""",
        "SimilarItems" or "GetItem" => $$"""{"tenant": "{{Tenant}}", "itemId": "i-1"}""",
        "UpsertItems" => $$"""{"tenant": "{{Tenant}}", "items": [{"itemId": "i-5", "category": "books", "price": "1.00", "currency": "EUR", "tags": ["t"]}]}""",
        "DeleteItems" => $$"""{"tenant": "{{Tenant}}", "itemIds": ["i-5"]}""",
        "GetRule" or "DeleteRule" => $$"""{"tenant": "{{Tenant}}", "ruleId": "r-1"}""",
        "CreateRule" or "UpdateRule" => $$$$"""{"tenant": "{{{{Tenant}}}}", "ruleId": "r-1", "rule": {"id": "r-1", "action": {"type": "boost", "match": {"category": "books"}, "factor": 2}}}""",
        "ReplaceRules" => $$$"""{"tenant": "{{{Tenant}}}", "rules": [{"id": "r-1", "action": {"type": "exclude", "items": ["i-7"]}}]}""",
        "CreateExperiment" or "UpdateExperiment" => $$"""{"tenant": "{{Tenant}}", "experimentId": "x-1", "experiment": {{ExperimentBody("x-1").ToJsonString()}}}""",
        "GetExperiment" or "StartExperiment" or "StopExperiment" or "ArchiveExperiment" or "GetExperimentResults" => $$"""{"tenant": "{{Tenant}}", "experimentId": "x-1"}""",
        "ListSegmentMembers" => $$"""{"tenant": "{{Tenant}}", "segmentId": 0, "pageSize": 10}""",
        "ListRfmMembers" => $$"""{"tenant": "{{Tenant}}", "cell": "champions", "pageSize": 10}""",
        "RunSegmentation" => $$"""{"tenant": "{{Tenant}}", "k": 3}""",
        "EvaluateRecommender" => $$"""{"tenant": "{{Tenant}}", "k": 5}""",
        _ => $$"""{"tenant": "{{Tenant}}"}""",
    };

    private async Task GrpcFuzzAsync(int seed, Random random, int count)
    {
        var methods = Services.SelectMany(s => s.Methods).ToList();
        var started = DateTime.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var method = methods[random.Next(methods.Count)];
            var message = JsonParser.Default.Parse(ValidGrpcJson(method.Name), method.InputType);
            var mutation = new List<string>();
            for (var n = random.Next(1, 4); n > 0; n--)
            {
                mutation.Add(MutateMessage(message, random));
            }

            var (code, detail) = await CallAsync(method, message.ToByteArray());
            var what = $"gRPC fuzz call #{i} (seed {seed}): {method.FullName} {Shorten(Printable(message))} ({string.Join("; ", mutation)}) answered {code}: {detail}";
            Assert.True(AllowedGrpcCodes.Contains(code), what);
            foreach (var marker in LeakMarkers)
            {
                Assert.False(detail.Contains(marker, StringComparison.Ordinal), $"The answer holds '{marker}'. " + what);
            }

            if (code != StatusCode.OK)
            {
                Assert.True(detail.Length >= 10, "A refusal that does not say why. " + what);
            }
        }

        output.WriteLine($"{count} gRPC calls in {(DateTime.UtcNow - started).TotalSeconds:F1} s");
    }

    private static string Printable(IMessage message)
    {
        try
        {
            return message.ToString() ?? string.Empty;
        }
        catch (ArgumentException)
        {
            // Protobuf's JSON formatter refuses half a surrogate pair; the mutation list says what was sent.
            return "(a message holding half a surrogate pair)";
        }
    }

    private static string MutateMessage(IMessage message, Random random)
    {
        var fields = message.Descriptor.Fields.InDeclarationOrder();
        var field = fields[random.Next(fields.Count)];
        var accessor = field.Accessor;
        if (field.FieldType == FieldType.Message && !field.IsRepeated && !field.IsMap)
        {
            var inner = accessor.GetValue(message) as IMessage;
            if (inner is null || random.Next(4) == 0)
            {
                if (inner is null)
                {
                    accessor.SetValue(message, field.MessageType.Parser.ParseFrom(ByteString.Empty));
                    return $"{field.Name} = {{}}";
                }

                accessor.Clear(message);
                return $"{field.Name} cleared";
            }

            return $"{field.Name}.{MutateMessage(inner, random)}";
        }

        if (field.IsMap)
        {
            var map = (IDictionary)accessor.GetValue(message);
            var key = GrpcStrings[random.Next(GrpcStrings.Length)];
            if (field.MessageType.FindFieldByNumber(2).FieldType == FieldType.String)
            {
                map[key] = GrpcStrings[random.Next(GrpcStrings.Length)];
                return $"{field.Name}[{Shorten(key)}] = ...";
            }

            return $"{field.Name} unchanged";
        }

        if (field.IsRepeated)
        {
            var list = (IList)accessor.GetValue(message);
            if (field.FieldType == FieldType.String)
            {
                var n = random.Next(3) == 0 ? random.Next(500, 1500) : random.Next(0, 3);
                list.Clear();
                for (var i = 0; i < n; i++)
                {
                    list.Add(GrpcStrings[random.Next(GrpcStrings.Length)]);
                }

                return $"{field.Name} = {n} odd strings";
            }

            if (field.FieldType == FieldType.Message && list.Count > 0)
            {
                if (random.Next(3) == 0)
                {
                    var copy = (IMessage)list[0]!;
                    for (var i = 0; i < random.Next(1, 1200); i++)
                    {
                        list.Add(copy);
                    }

                    return $"{field.Name} x{list.Count}";
                }

                return $"{field.Name}[0].{MutateMessage((IMessage)list[random.Next(list.Count)]!, random)}";
            }

            list.Clear();
            return $"{field.Name} cleared";
        }

        object value = field.FieldType switch
        {
            FieldType.String => GrpcStrings[random.Next(GrpcStrings.Length)],
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => new[] { int.MinValue, -1, 0, 1, int.MaxValue }[random.Next(5)],
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => new[] { long.MinValue, -1L, 0L, long.MaxValue }[random.Next(4)],
            FieldType.UInt32 or FieldType.Fixed32 => new[] { 0u, uint.MaxValue }[random.Next(2)],
            FieldType.UInt64 or FieldType.Fixed64 => new[] { 0ul, ulong.MaxValue }[random.Next(2)],
            FieldType.Double => new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, -double.MaxValue, -0.0, double.Epsilon, 1e-300 }[random.Next(8)],
            FieldType.Float => new[] { float.NaN, float.PositiveInfinity, float.MaxValue }[random.Next(3)],
            FieldType.Bool => random.Next(2) == 0,
            FieldType.Enum => random.Next(-5, 100),
            FieldType.Bytes => ByteString.CopyFrom(new byte[] { 0xFF, 0x00 }),
            _ => throw new InvalidOperationException(field.FieldType.ToString()),
        };
        accessor.SetValue(message, value);
        return $"{field.Name} = {Shorten(value is string s ? JsonSerializer.Serialize(s) : Convert.ToString(value, CultureInfo.InvariantCulture)!)}";
    }

    private async Task<(StatusCode Code, string Detail)> CallAsync(MethodDescriptor method, byte[] payload)
    {
        var bytes = Marshallers.Create<byte[]>(b => b, b => b);
        var call = new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, bytes, bytes);
        try
        {
            await _silo.Calls.AsyncUnaryCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), payload);
            return (StatusCode.OK, "");
        }
        catch (RpcException ex)
        {
            return (ex.StatusCode, ex.Status.Detail);
        }
    }

    /// <summary>Bytes that are no valid protobuf, and frames that break the gRPC framing, sent to every method.</summary>
    private async Task MalformedGrpcFramesAsync()
    {
        var payloads = new (string What, byte[] Bytes)[]
        {
            ("0xFF 0xFF 0xFF", [0xFF, 0xFF, 0xFF]),
            ("a truncated varint", [0x08, 0x80]),
            ("a length past the end", [0x0A, 0x64, 0x61]),
            ("a group start without its end", [0x0B]),
            ("field 0", [0x00, 0x01]),
            ("a string field sent as a varint", [0x08, 0x01]),
            ("a string field sent as fixed64", [0x09, 1, 2, 3, 4, 5, 6, 7, 8]),
            ("a message field sent as a varint", [0x12, 0x01, 0x10, 0x05]),
            ("invalid UTF-8 in a string", [0x0A, 0x02, 0xC3, 0x28]),
            ("a 10-byte varint overflowing", [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]),
            ("wire type 7", [0x0F]),
            ("random bytes", [.. Enumerable.Range(0, 64).Select(i => (byte)(i * 37 + 11))]),
        };
        foreach (var method in Services.SelectMany(s => s.Methods))
        {
            foreach (var (what, bytes) in payloads)
            {
                var (code, detail) = await CallAsync(method, bytes);
                var report = $"{method.FullName} with {what} ({Convert.ToHexString(bytes)}) answered {code}: {detail}";
                Assert.True(code is not (StatusCode.Internal or StatusCode.Unknown or StatusCode.Unavailable or StatusCode.DataLoss), report);
                foreach (var marker in LeakMarkers)
                {
                    Assert.False(detail.Contains(marker, StringComparison.Ordinal), $"The answer holds '{marker}'. " + report);
                }
            }
        }

        // Frames that break gRPC's own framing, over a raw HTTP/2 call.
        using var http2 = new HttpClient { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        var frames = new (string What, byte[] Bytes)[]
        {
            ("no frame at all", []),
            ("a frame header cut short", [0x00, 0x00, 0x00]),
            ("a frame longer than its bytes", [0x00, 0x00, 0x00, 0x00, 0x10, 0x0A]),
            ("a compressed frame without grpc-encoding", [0x01, 0x00, 0x00, 0x00, 0x02, 0x0A, 0x00]),
            ("two messages for a unary call", [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
            ("a frame of 5 MB announced", [0x00, 0x00, 0x50, 0x00, 0x00]),
        };
        foreach (var (what, bytes) in frames)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_silo.GrpcPort}/profilegrid.v1.ProfileGateway/GetProfile")
            {
                Content = new ByteArrayContent(bytes),
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
            request.Headers.TryAddWithoutValidation("TE", "trailers");
            using var response = await http2.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var status = response.TrailingHeaders.TryGetValues("grpc-status", out var s) ? s.First()
                : response.Headers.TryGetValues("grpc-status", out var h) ? h.First() : "(none)";
            var message = response.TrailingHeaders.TryGetValues("grpc-message", out var m) ? Uri.UnescapeDataString(m.First())
                : response.Headers.TryGetValues("grpc-message", out var hm) ? Uri.UnescapeDataString(hm.First()) : "";
            var report = $"GetProfile with {what} answered HTTP/{response.Version} {(int)response.StatusCode}, grpc-status {status}: {message} {text}";
            output.WriteLine(report);
            Assert.True(status is not ("2" or "13" or "14" or "15" or "(none)"), report);
            foreach (var marker in LeakMarkers)
            {
                Assert.False(message.Contains(marker, StringComparison.Ordinal), $"The answer holds '{marker}'. " + report);
            }
        }
    }
}
