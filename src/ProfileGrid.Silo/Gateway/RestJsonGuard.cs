using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Unicode;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using ProfileGrid.Contracts;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Reads a transcoded REST request's JSON body before JSON transcoding does, because transcoding answers every
/// unreadable body with one generic message. Here malformed JSON gets its line and position, and a value of the
/// wrong type gets its field (<c>events[3].purchase.lines[0].quantity: expected a number, got a string</c>),
/// checked against the request's proto descriptor with the rules transcoding applies (proto3 JSON: numbers may be
/// quoted, null is the default, unknown fields are ignored). A null in the events of an ingest request is one
/// rejected event, not a refused request: it is replaced by an empty event and reported to the gateway by index.
/// </summary>
public sealed class RestJsonGuard(RequestDelegate next)
{
    private const string RefusedEventsKey = "profilegrid.refused-events";
    private const string IngestMethod = "profilegrid.v1.ProfileGateway.IngestEvents";

    /// <summary>
    /// Requests where a field the contract does not have is refused rather than ignored: a misspelt "segmnet" in a rule
    /// would otherwise make a rule for everyone, an "availabel": false leave an item on sale, a "neighbors" train with
    /// the default.
    /// </summary>
    private static readonly HashSet<string> StrictMethods = new(StringComparer.Ordinal)
    {
        "profilegrid.v1.RecommendationService.CreateRule",
        "profilegrid.v1.RecommendationService.UpdateRule",
        "profilegrid.v1.RecommendationService.ReplaceRules",
        "profilegrid.v1.RecommendationService.UpsertItems",
        "profilegrid.v1.RecommendationService.DeleteItems",
        "profilegrid.v1.RecommendationService.TrainRecommender",
        "profilegrid.v1.RecommendationService.EvaluateRecommender",

        // A misspelt "asof" would answer as of now (probe58).
        "profilegrid.v1.ProfileGateway.GetProfiles",

        // A misspelt "demographcs" or "valeu" would answer 200 and change nothing (or, for a preference, remove it).
        "profilegrid.v1.ProfileGateway.UpsertAttributes",
        "profilegrid.v1.ProfileGateway.SetPreferences",

        // A misspelt "trafic" or "targetting" would start an experiment on everyone.
        "profilegrid.v1.ExperimentService.CreateExperiment",
        "profilegrid.v1.ExperimentService.UpdateExperiment",
    };

    /// <summary>
    /// Services where a query parameter the request does not read is refused rather than ignored: <c>?N=3</c> or
    /// <c>?nn=5</c> would otherwise answer with the default n, <c>?asof=2011-01-01</c> a profile as of now, and the client
    /// would never learn why.
    /// </summary>
    private static readonly HashSet<string> StrictQueryServices = new(StringComparer.Ordinal)
    {
        "profilegrid.v1.RecommendationService",
        "profilegrid.v1.ProfileGateway",
        "profilegrid.v1.SegmentService",
        "profilegrid.v1.ExperimentService",
    };

    /// <summary>The largest oversized body read (and dropped) so that its sender gets the 400 instead of a reset connection.</summary>
    private const long OversizedBodyDrainLimit = 64L * 1024 * 1024;

    private static bool HasNoBody(HttpRequest request) =>
        request.ContentLength == 0 || (request.ContentLength is null && !request.Headers.ContainsKey("Transfer-Encoding"));

    private static bool ExpectsContinue(HttpRequest request) =>
        request.Headers.Expect.Any(value => value is not null && value.Contains("100-continue", StringComparison.OrdinalIgnoreCase));

    private static async Task DrainAsync(HttpContext http)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await http.Request.Body.ReadAsync(buffer, http.RequestAborted) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException or OperationCanceledException)
        {
            // The client stopped sending: the answer is written (or not) all the same.
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The whole body; null when it is longer than <paramref name="limit"/> (then read to its end and dropped, or until
    /// Kestrel's own limit ends it).
    /// </summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpContext http, long? limit)
    {
        using var buffer = new MemoryStream();
        if (limit is null)
        {
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            return buffer.ToArray();
        }

        var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            int read;
            while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    await DrainAsync(http);
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    public async Task InvokeAsync(HttpContext http)
    {
        var transcoding = http.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>();
        if (transcoding is not null && (CheckRoute(http, transcoding) ?? CheckQuery(http, transcoding)) is { } queryProblem)
        {
            await WriteErrorAsync(http, queryProblem.ToString());
            return;
        }

        if (transcoding is not null && transcoding.HttpRule.Body.Length > 0
            && http.Request.Headers.ContentEncoding.ToString() is { Length: > 0 } encoding && !string.Equals(encoding, "identity", StringComparison.OrdinalIgnoreCase))
        {
            // Read as it came, a gzip body was "not UTF-8 (byte 2 ...)", which sends its sender looking in the wrong place.
            await WriteUnsupportedAsync(http, $"Content-Encoding: '{encoding}' is not accepted; send the JSON body uncompressed (no Content-Encoding header)");
            return;
        }

        if (transcoding is not null && transcoding.HttpRule.Body.Length > 0 && HasNoBody(http.Request) && string.IsNullOrEmpty(http.Request.ContentType))
        {
            // An action that carries nothing (POST .../experiments/x:start, curl without -d) has no Content-Type, which
            // transcoding refuses as "content type '' is not a known JSON content type": it is read as the empty object.
            http.Request.ContentType = "application/json";
            http.Request.Body = new MemoryStream("{}"u8.ToArray());
            http.Request.ContentLength = 2;
        }

        if (transcoding is not null && transcoding.HttpRule.Body.Length > 0 && ForeignCharset(http.Request) is { } charset)
        {
            // Transcoded as labelled, a UTF-8 body sent as iso-8859-1 became another user ("café" read as "cafÃ©"),
            // acknowledged without a word (probe68); JSON text is UTF-8 (RFC 8259), which gives charset no meaning.
            await WriteUnsupportedAsync(http, $"Content-Type: charset '{charset}' is not accepted; JSON is UTF-8: send the body as UTF-8, with no charset or charset=utf-8");
            return;
        }

        if (transcoding is not null && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var labelled)
            && labelled.Charset.HasValue && labelled.Charset.ToString().Trim('"') is var spelt
            && (spelt.Equals("utf8", StringComparison.OrdinalIgnoreCase) || (spelt.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && labelled.Charset.ToString() != spelt)))
        {
            // Spellings of UTF-8 that the transcoder does not know (utf8, "utf-8" quoted): it failed with "Exception was
            // thrown by handler".
            labelled.Charset = "utf-8";
            http.Request.ContentType = labelled.ToString();
        }

        if (transcoding is null || transcoding.HttpRule.Body.Length == 0 || !IsUtf8Json(http.Request))
        {
            await next(http);
            return;
        }

        var bodySize = http.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>();
        if (bodySize?.MaxRequestBodySize is { } limit && http.Request.ContentLength > limit)
        {
            // Refused before reading: a client that sent "Expect: 100-continue" never has to upload the body at all. One
            // that did not is already uploading it: answering now and closing would reset the connection under its
            // write, so that it never reads the answer. Its body is read to the end and dropped first, up to a bound.
            if (!ExpectsContinue(http.Request) && http.Request.ContentLength <= OversizedBodyDrainLimit && !bodySize.IsReadOnly)
            {
                bodySize.MaxRequestBodySize = null;
                await DrainAsync(http);
            }

            await WriteErrorAsync(http, $"Request body too large. The max request body size is {limit} bytes.");
            return;
        }

        // A body of unknown length (chunked) shows its size only as it is read, so it cannot be refused before its upload,
        // with or without Expect: 100-continue. Kestrel's limit would end the read and the connection together, under the
        // sender's write; the limit is enforced here instead, and the rest of an oversized body read and dropped (up to
        // the same bound as above) so that the sender reads the 400.
        long? ownLimit = null;
        if (bodySize is { IsReadOnly: false, MaxRequestBodySize: { } kestrelLimit } && http.Request.ContentLength is null &&
            kestrelLimit < OversizedBodyDrainLimit)
        {
            bodySize.MaxRequestBodySize = OversizedBodyDrainLimit;
            ownLimit = kestrelLimit;
        }

        byte[] body;
        try
        {
            if (await ReadBodyAsync(http, ownLimit) is not { } read)
            {
                await WriteErrorAsync(http, $"Request body too large. The max request body size is {ownLimit} bytes.");
                return;
            }

            body = read;
        }
        catch (BadHttpRequestException ex)
        {
            // Over Kestrel's MaxRequestBodySize, or a broken upload: the message says which.
            await WriteErrorAsync(http, ownLimit is { } limitShown && ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"Request body too large. The max request body size is {limitShown} bytes."
                : ex.Message);
            return;
        }

        if (body.Length == 0)
        {
            await WriteErrorAsync(http, "Request JSON payload is not correctly formatted: the body is empty; send a JSON object (at least {}).");
            return;
        }

        if (!Utf8.IsValid(body))
        {
            // JSON text is UTF-8 (RFC 8259). The parser reads string contents lazily, so a stray byte would otherwise fail
            // later, wherever a check or a rewrite first touched that string.
            await WriteErrorAsync(http, $"Request JSON payload is not correctly formatted: the body is not UTF-8 (byte {FirstInvalidUtf8(body) + 1} is no UTF-8 sequence); send JSON as UTF-8.");
            return;
        }

        JsonNode? root;
        FieldError? problem;
        var refused = new SortedDictionary<int, FieldError>();
        t_rewritten = false;
        try
        {
            root = JsonNode.Parse(body);
            var isIngest = transcoding.MethodDescriptor.FullName == IngestMethod;
            var strict = StrictMethods.Contains(transcoding.MethodDescriptor.FullName);
            // The body is the whole request ("*") or one of its fields (a rule): check it against that field's message.
            var bodyField = transcoding.HttpRule.Body == "*" ? null : transcoding.MethodDescriptor.InputType.FindFieldByName(transcoding.HttpRule.Body);
            problem = root is null
                ? new FieldError(Name(bodyField?.Name ?? string.Empty), "expected an object, got null")
                : bodyField is { MessageType: { } bodyType }
                    ? CheckMessage(root, bodyType, bodyField.Name, null, strict)
                    : CheckMessage(root, transcoding.MethodDescriptor.InputType, string.Empty, isIngest ? refused : null, strict);
        }
        catch (JsonException ex)
        {
            await WriteErrorAsync(http, "Request JSON payload is not correctly formatted: " + Describe(ex));
            return;
        }
        catch (ArgumentException)
        {
            // JsonObject refuses a property name that appears twice in one object.
            await WriteErrorAsync(http, "Request JSON payload is not correctly formatted: a property appears twice in one object.");
            return;
        }
        catch (InvalidOperationException)
        {
            // A string escape that is half a surrogate pair ("\ud800") where no check names it: a property name, or a field
            // this request does not have. JSON allows the escape, but it is no text.
            await WriteErrorAsync(http, "Request JSON payload is not correctly formatted: a property name or a field this request does not have holds half of a UTF-16 surrogate pair (a string cut inside an emoji?).");
            return;
        }

        problem ??= transcoding.HttpRule.Body == "*" && root is JsonObject bodyObject ? CheckBodyAgainstPath(http, transcoding, bodyObject) : null;
        if (problem is not null)
        {
            await WriteErrorAsync(http, problem.ToString());
            return;
        }

        if (t_rewritten)
        {
            // Quoted numbers made plain, because transcoding refuses them in proto3 optional fields (the whole request),
            // and integers written 1e3 or 1000.0 likewise, which transcoding's reader refuses.
            t_rewritten = false;
            body = JsonSerializer.SerializeToUtf8Bytes(root);
        }

        if (refused.Count > 0)
        {
            var events = root!["events"]!.AsArray();
            foreach (var index in refused.Keys)
            {
                // The event id stays when it is readable, so that the reject names it as validation rejects do.
                var id = (events[index] as JsonObject)?.FirstOrDefault(p => p.Key is "eventId" or "event_id").Value;
                events[index] = id is JsonValue text && text.GetValueKind() == JsonValueKind.String && IsUnicode(text)
                    ? new JsonObject { ["eventId"] = text.GetValue<string>() }
                    : new JsonObject();
            }

            body = JsonSerializer.SerializeToUtf8Bytes(root);
            http.Items[RefusedEventsKey] = refused;
        }

        http.Request.Body = new MemoryStream(body, writable: false);
        http.Request.ContentLength = body.Length;
        await next(http);
    }

    // Set by the checks when they made a number plain (the check runs synchronously on one thread).
    [ThreadStatic]
    private static bool t_rewritten;

    /// <summary>
    /// Query parameters that name a field of the request but cannot be read as its type, or that repeat a single field:
    /// transcoding's own message names neither (<c>The input string 'abc' was not in a correct format.</c>). For the
    /// services in <see cref="StrictQueryServices"/>, also a parameter the request does not read.
    /// </summary>
    private static FieldError? CheckQuery(HttpContext http, GrpcJsonTranscodingMetadata transcoding)
    {
        var descriptor = transcoding.MethodDescriptor.InputType;
        // Ingest takes everything in its body; a stray parameter there is no reason to refuse a batch of valid events.
        var strict = StrictQueryServices.Contains(transcoding.MethodDescriptor.Service.FullName) && transcoding.MethodDescriptor.FullName != IngestMethod;
        foreach (var (name, values) in http.Request.Query)
        {
            // Matched as transcoding matches it: the JSON name or the proto name, case-sensitive.
            var field = descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == name || f.Name == name);
            if (strict && (field is null || !IsQueryParameter(field, http, transcoding)))
            {
                return UnknownQueryParameter(name, field, http, transcoding);
            }

            if (field is null || field.FieldType is FieldType.Message or FieldType.Group)
            {
                continue;
            }

            if (!field.IsRepeated && values.Count > 1)
            {
                return new FieldError(field.Name, $"is given {values.Count} times; give it once");
            }

            foreach (var value in values)
            {
                var ok = field.FieldType switch
                {
                    FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                    FieldType.UInt32 or FieldType.Fixed32 => uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                    FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                    FieldType.UInt64 or FieldType.Fixed64 => ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                    FieldType.Double or FieldType.Float => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
                    FieldType.Bool => value is "true" or "false",
                    _ => true,
                };
                if (!ok)
                {
                    return new FieldError(field.Name, $"expected {Expected(field)}, got '{Truncate(value ?? "")}'");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Path values bound to a number field (<c>/segments/{segment_id}/members</c>) that are not a number of its type:
    /// transcoding answers with .NET's parse message (<c>Value was either too large or too small for an Int32.</c>),
    /// naming neither the field nor the value.
    /// </summary>
    private static FieldError? CheckRoute(HttpContext http, GrpcJsonTranscodingMetadata transcoding)
    {
        foreach (var name in RouteParameters(http))
        {
            var field = transcoding.MethodDescriptor.InputType.FindFieldByName(name);
            if (field is null || !IsInteger(field) || http.Request.RouteValues[name] is not string value)
            {
                continue;
            }

            var ok = field.FieldType switch
            {
                FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
                FieldType.UInt32 or FieldType.Fixed32 => uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                FieldType.UInt64 or FieldType.Fixed64 => ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out _),
                _ => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _),
            };
            if (!ok)
            {
                return new FieldError(field.Name, $"expected {Expected(field)} in the path, got '{Truncate(value)}'");
            }
        }

        return null;
    }

    /// <summary>
    /// A body that names another tenant or user than the path (PUT .../users/a/attributes with "userId": "b"): transcoding
    /// takes the path's and drops the body's without a word, so a client that meant b wrote to a (probe60). The same
    /// value in both is fine.
    /// </summary>
    private static FieldError? CheckBodyAgainstPath(HttpContext http, GrpcJsonTranscodingMetadata transcoding, JsonObject body)
    {
        foreach (var name in RouteParameters(http))
        {
            var field = transcoding.MethodDescriptor.InputType.FindFieldByName(name);
            if (field is null || field.FieldType != FieldType.String || http.Request.RouteValues[name] is not string routed)
            {
                continue;
            }

            foreach (var spelling in new[] { field.JsonName, field.Name })
            {
                if (body[spelling] is JsonValue value && value.GetValueKind() == JsonValueKind.String && IsUnicode(value)
                    && value.GetValue<string>() is var named && named != routed && named != GatewayPaths.FromRawPath(http, name))
                {
                    return new FieldError(spelling,
                        $"the body names '{Truncate(named)}' but the path names '{Truncate(GatewayPaths.FromRawPath(http, name) ?? routed)}': the path says whom the call is for; leave {spelling} out of the body");
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Whether transcoding binds <paramref name="field"/> from the query string: a field of the request that is not in
    /// the route and not in the body (a body of "*" takes every field), and not a message (these requests have none that
    /// a query could set).
    /// </summary>
    private static bool IsQueryParameter(FieldDescriptor field, HttpContext http, GrpcJsonTranscodingMetadata transcoding) =>
        transcoding.HttpRule.Body != "*"
        && field.Name != transcoding.HttpRule.Body
        && field.FieldType is not (FieldType.Message or FieldType.Group)
        && !RouteParameters(http).Contains(field.Name);

    private static HashSet<string> RouteParameters(HttpContext http) =>
        http.GetEndpoint() is Microsoft.AspNetCore.Routing.RouteEndpoint endpoint
            ? endpoint.RoutePattern.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase)
            : [];

    private static FieldError UnknownQueryParameter(string name, FieldDescriptor? field, HttpContext http, GrpcJsonTranscodingMetadata transcoding)
    {
        var descriptor = transcoding.MethodDescriptor.InputType;
        var accepted = descriptor.Fields.InDeclarationOrder().Where(f => IsQueryParameter(f, http, transcoding)).ToList();
        var list = accepted.Count == 0
            ? "this request takes no query parameters"
            : "the query parameters are " + string.Join(", ", accepted.Select(f => f.JsonName == f.Name ? f.Name : $"{f.JsonName} (or {f.Name})"));
        if (field is not null)
        {
            // A field of the request given in the query although the path or the body carries it.
            return new FieldError(name, $"is not read from the query string here; {list}");
        }

        var near = accepted.FirstOrDefault(f => string.Equals(f.JsonName, name, StringComparison.OrdinalIgnoreCase) || string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        var hint = near is null ? "" : $" ('{Truncate(name)}' is not '{(string.Equals(near.JsonName, name, StringComparison.OrdinalIgnoreCase) ? near.JsonName : near.Name)}')";
        return new FieldError(Truncate(name), $"is not a query parameter of this request; names are case-sensitive{hint}; {list}");
    }

    /// <summary>
    /// For the routes that are not transcoded: the first query parameter that is not one of <paramref name="accepted"/>
    /// (compared exactly: ASP.NET Core binds "asof" to asOf, which the transcoded routes refuse), as a refusal; null when
    /// every one is accepted.
    /// </summary>
    public static FieldError? UnexpectedQueryParameter(HttpContext http, params string[] accepted)
    {
        foreach (var name in http.Request.Query.Keys)
        {
            if (Array.IndexOf(accepted, name) < 0)
            {
                var near = accepted.FirstOrDefault(a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase));
                var hint = near is null ? "" : $" ('{Truncate(name)}' is not '{near}')";
                var list = accepted.Length == 0 ? "this request takes no query parameters" : "the query parameters are " + string.Join(", ", accepted);
                return new FieldError(Truncate(name), $"is not a query parameter of this request; names are case-sensitive{hint}; {list}");
            }
        }

        return null;
    }

    /// <summary>Events of this REST request refused before transcoding (by index), or null.</summary>
    public static IReadOnlyDictionary<int, FieldError>? RefusedEvents(ServerCallContext context) =>
        context.GetHttpContext().Items.TryGetValue(RefusedEventsKey, out var refused) ? (IReadOnlyDictionary<int, FieldError>?)refused : null;

    /// <summary>A 415 with the gRPC status body the routes' other errors have.</summary>
    private static Task WriteUnsupportedAsync(HttpContext http, string message)
    {
        http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { code = (int)StatusCode.InvalidArgument, message, details = Array.Empty<object>() }));
    }

    /// <summary>The charset of a JSON body's Content-Type when it is not UTF-8 (quoted or not); null otherwise.</summary>
    private static string? ForeignCharset(HttpRequest request) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
        && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
        && type.Charset.HasValue && type.Charset.ToString().Trim('"') is var charset
        && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) && !charset.Equals("utf8", StringComparison.OrdinalIgnoreCase)
            ? charset
            : null;

    private static bool IsUtf8Json(HttpRequest request) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
        && (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || type.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
        && (!type.Charset.HasValue || type.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || type.Charset.Equals("utf8", StringComparison.OrdinalIgnoreCase));

    private static FieldError? CheckMessage(JsonNode node, MessageDescriptor descriptor, string path, IDictionary<int, FieldError>? refusedEvents, bool strict = false)
    {
        if (descriptor.FullName.StartsWith("google.protobuf.", StringComparison.Ordinal))
        {
            return null; // Well-known types have JSON forms of their own; none is part of this API's requests.
        }

        if (node is not JsonObject message)
        {
            return new FieldError(Name(path), "expected an object, got " + Describe(node));
        }

        List<(string Name, JsonNode Value)>? rewrites = null;
        foreach (var (name, value) in message)
        {
            var field = descriptor.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == name || f.Name == name);
            if (field is null)
            {
                if (strict)
                {
                    var known = string.Join(", ", descriptor.Fields.InDeclarationOrder().Select(f => f.Name));
                    return new FieldError(path.Length == 0 ? name : $"{path}.{name}", $"is not a field here; the fields are {known}");
                }

                continue; // Transcoding ignores unknown fields.
            }

            var at = path.Length == 0 ? field.Name : $"{path}.{field.Name}";
            if (value is null)
            {
                // Null is the default value of a single field; transcoding cannot assign it to a list or a map.
                if (field.IsRepeated)
                {
                    return new FieldError(at, $"is null; expected {(field.IsMap ? "an object" : "an array")} (leave the field out instead)");
                }

                continue;
            }

            var problem = field.IsMap ? CheckMap(value, field, at, strict)
                : field.IsRepeated ? CheckRepeated(value, field, at, path.Length == 0 && field.Name == "events" ? refusedEvents : null, strict)
                : CheckValue(value, field, at, strict);
            if (problem is not null)
            {
                return problem;
            }

            if (!field.IsRepeated && field.FieldType is FieldType.Double or FieldType.Float && value is JsonValue quoted
                && quoted.GetValueKind() == JsonValueKind.String && quoted.ToString() is not ("Infinity" or "-Infinity" or "NaN")
                && double.TryParse(quoted.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                // A quoted number beyond double's range ("1e400") is infinite, as the same number unquoted reads; transcoding
                // refused it quoted, and the whole request with it, without naming the field.
                (rewrites ??= []).Add((name, double.IsFinite(number) ? JsonValue.Create(number) : JsonValue.Create(number > 0 ? "Infinity" : "-Infinity")));
            }
            else if (!field.IsRepeated && PlainInteger(value, field) is { } plain)
            {
                (rewrites ??= []).Add((name, plain));
            }
        }

        foreach (var (name, rewritten) in rewrites ?? [])
        {
            message[name] = rewritten;
            t_rewritten = true;
        }

        return null;
    }

    /// <summary>
    /// An integer field's number written with an exponent or a fraction (1e3, 1000.0) as the plain integer it is, which
    /// proto3 JSON allows and transcoding's reader does not take; null when the value needs no rewriting.
    /// </summary>
    private static JsonValue? PlainInteger(JsonNode node, FieldDescriptor field) =>
        IsInteger(field) && node is JsonValue value && value.GetValueKind() == JsonValueKind.Number
        && value.ToJsonString() is var text && text.AsSpan().IndexOfAny(".eE") >= 0 && JsonIntegers.TryParse(text, out var integer)
            ? JsonValue.Create(integer)
            : null;

    private static bool IsInteger(FieldDescriptor field) => field.FieldType is FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32
        or FieldType.UInt32 or FieldType.Fixed32 or FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64;

    private static FieldError? CheckRepeated(JsonNode node, FieldDescriptor field, string at, IDictionary<int, FieldError>? refusedEvents, bool strict = false)
    {
        if (node is not JsonArray array)
        {
            return new FieldError(at, "expected an array, got " + Describe(node));
        }

        for (var i = 0; i < array.Count; i++)
        {
            var item = array[i];
            var itemAt = $"{at}[{i}]";
            if (item is null)
            {
                if (refusedEvents is not null)
                {
                    refusedEvents[i] = new FieldError(itemAt, "is null; an event is a JSON object");
                    continue;
                }

                return new FieldError(itemAt, "is null; expected " + Expected(field));
            }

            if (CheckValue(item, field, itemAt, strict) is { } problem)
            {
                if (refusedEvents is not null)
                {
                    // One event with a value of the wrong type is that event's reject, not the whole batch's.
                    refusedEvents[i] = problem;
                    continue;
                }

                return problem;
            }

            if (PlainInteger(item, field) is { } plain)
            {
                array[i] = plain;
                t_rewritten = true;
            }
        }

        return null;
    }

    private static FieldError? CheckMap(JsonNode node, FieldDescriptor field, string at, bool strict = false)
    {
        if (node is not JsonObject map)
        {
            return new FieldError(at, "expected an object, got " + Describe(node));
        }

        var valueField = field.MessageType.FindFieldByNumber(2);
        List<(string Key, JsonNode Value)>? rewrites = null;
        foreach (var (key, value) in map)
        {
            var entryAt = $"{at}[{key}]";
            if (value is null)
            {
                return new FieldError(entryAt, "is null; expected " + Expected(valueField));
            }

            if (CheckValue(value, valueField, entryAt, strict) is { } problem)
            {
                return problem;
            }

            if (PlainInteger(value, valueField) is { } plain)
            {
                (rewrites ??= []).Add((key, plain));
            }
        }

        foreach (var (key, rewritten) in rewrites ?? [])
        {
            map[key] = rewritten;
            t_rewritten = true;
        }

        return null;
    }

    private static FieldError? CheckValue(JsonNode node, FieldDescriptor field, string at, bool strict = false)
    {
        if (field.FieldType is FieldType.Message or FieldType.Group)
        {
            return CheckMessage(node, field.MessageType, at, null, strict);
        }

        if (field.FieldType != FieldType.String && node is JsonValue odd && odd.GetValueKind() == JsonValueKind.String && !IsUnicode(odd))
        {
            // Read as text, half a surrogate pair throws; say what it is instead.
            return new FieldError(at, $"expected {Expected(field)}, got {Describe(node)}");
        }

        if (field.FieldType == FieldType.String && node is JsonValue text && text.GetValueKind() == JsonValueKind.String && !IsUnicode(text))
        {
            // "\ud83d" alone: JSON's escapes allow it (a JavaScript client that cut a string inside an emoji sends it),
            // but it is no text; transcoding would refuse the whole request without saying where.
            return new FieldError(at, "is not valid Unicode: it holds half of a UTF-16 surrogate pair (a string cut inside an emoji?)");
        }

        var ok = node is JsonValue value && field.FieldType switch
        {
            FieldType.String or FieldType.Bytes => value.GetValueKind() == JsonValueKind.String,
            FieldType.Bool => value.GetValueKind() is JsonValueKind.True or JsonValueKind.False,
            // Transcoding reads 32-bit integers from JSON numbers only (not from quoted numbers, which proto3 JSON allows).
            // A number in exponent or fraction form that is an exact integer (1e3, 1000.0) is fine, as proto3 JSON has it:
            // CheckMessage rewrites it plain for transcoding.
            FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => value.GetValueKind() == JsonValueKind.Number && Integer(value, out var int32) && int32 is >= int.MinValue and <= int.MaxValue,
            FieldType.UInt32 or FieldType.Fixed32 => value.GetValueKind() == JsonValueKind.Number && Integer(value, out var uint32) && uint32 is >= 0 and <= uint.MaxValue,
            FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Integer(value, out _),
            FieldType.UInt64 or FieldType.Fixed64 => value.GetValueKind() == JsonValueKind.Number
                ? value.TryGetValue<ulong>(out _) || (Integer(value, out var uint64) && uint64 >= 0)
                : ulong.TryParse(value.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out _),
            FieldType.Double or FieldType.Float => value.GetValueKind() == JsonValueKind.Number
                || (value.GetValueKind() == JsonValueKind.String && (value.ToString() is "NaN" or "Infinity" or "-Infinity" || double.TryParse(value.ToString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _))),
            FieldType.Enum => value.GetValueKind() is JsonValueKind.String or JsonValueKind.Number,
            _ => true,
        };
        return ok ? null : new FieldError(at, $"expected {Expected(field)}, got {Describe(node)}");
    }

    private static bool IsUnicode(JsonValue value)
    {
        string? text;
        try
        {
            text = value.GetValue<string>();
        }
        catch (InvalidOperationException)
        {
            return false;
        }

        var span = text.AsSpan();
        for (var at = span.IndexOfAnyInRange('\uD800', '\uDFFF'); at >= 0 && at < span.Length; at++)
        {
            if (char.IsHighSurrogate(span[at]) && at + 1 < span.Length && char.IsLowSurrogate(span[at + 1]))
            {
                at++;
            }
            else if (char.IsSurrogate(span[at]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Integer(JsonValue value, out long number)
    {
        number = 0;
        return value.GetValueKind() switch
        {
            JsonValueKind.Number => value.TryGetValue(out number) || JsonIntegers.TryParse(value.ToJsonString(), out number),
            JsonValueKind.String => long.TryParse(value.ToString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out number),
            _ => false,
        };
    }

    private static string Expected(FieldDescriptor field) => field.FieldType switch
    {
        FieldType.String => "a string",
        FieldType.Bytes => "a base64 string",
        FieldType.Bool => "true or false",
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 or FieldType.UInt32 or FieldType.Fixed32
            or FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64 => "a number (a whole number in range)",
        FieldType.Double or FieldType.Float => "a number",
        FieldType.Enum => "a string",
        _ => "an object",
    };

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue value => value.GetValueKind() switch
        {
            // Written back as JSON, half a surrogate pair throws: name it instead.
            JsonValueKind.String => IsUnicode(value) ? $"the string {Truncate(value.ToJsonString())}" : "a string that is not valid Unicode (half of a UTF-16 surrogate pair)",
            JsonValueKind.Number => $"the number {Truncate(value.ToJsonString())}",
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => Truncate(value.ToJsonString()),
        },
        _ => "a value of another type",
    };

    private static string Describe(JsonException exception)
    {
        // System.Text.Json ends its messages with " LineNumber: 0 | BytePositionInLine: 17."; say it plainly instead.
        var message = exception.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        var reason = (cut > 0 ? message[..cut] : message).TrimEnd('.', ' ');
        return exception.LineNumber is { } line && exception.BytePositionInLine is { } position
            ? $"{reason} (line {line + 1}, byte {position + 1})."
            : reason + ".";
    }

    private static int FirstInvalidUtf8(byte[] body)
    {
        var chars = new char[body.Length];
        Utf8.ToUtf16(body, chars, out var read, out _, replaceInvalidSequences: false);
        return read;
    }

    private static string Name(string path) => path.Length == 0 ? "(request body)" : path;

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "...";

    private static async Task WriteErrorAsync(HttpContext http, string message)
    {
        // The shape JSON transcoding gives every error: google.rpc.Status.
        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(JsonSerializer.Serialize(new { code = (int)StatusCode.InvalidArgument, message, details = Array.Empty<object>() }));
    }
}
