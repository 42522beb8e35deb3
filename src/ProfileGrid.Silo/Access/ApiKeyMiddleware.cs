using System.Text;
using System.Text.Json;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Access;

/// <summary>
/// Checks the API key on every request (after routing, so the endpoint's rule is known): 401 / Unauthenticated without a
/// valid key, 403 / PermissionDenied without the scope, or for a tenant in the path the key is not bound to. Tenants in
/// gRPC messages (and REST bodies) are checked by <see cref="TenantAccessInterceptor"/>, once the message is read.
/// </summary>
public sealed partial class ApiKeyMiddleware(RequestDelegate next, ApiKeyStore store, ILogger<ApiKeyMiddleware> logger)
{
    public const string ApiKeyHeader = "x-api-key";

    // The endpoint routing answers a known path with when the method is not one of its routes' (ASP.NET Core's name for it).
    private const string MethodNotAllowedEndpoint = "405 HTTP Method Not Supported";

    private static readonly JsonSerializerOptions Json = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public async Task InvokeAsync(HttpContext http)
    {
        var endpoint = http.GetEndpoint();
        var rule = AccessPolicy.For(endpoint, http.Request.Path);
        if (rule is null)
        {
            if (endpoint is null || endpoint.DisplayName == MethodNotAllowedEndpoint)
            {
                // Static files, 404s and 405s (a route's methods, with Allow): nothing of a tenant's behind them.
                await next(http);
                return;
            }

            LogNoRule(endpoint.DisplayName ?? http.Request.Path.Value ?? "");
            await RefuseAsync(http, StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, $"{http.Request.Path} has no access rule, so it answers no one.");
            return;
        }

        if (rule.Kind == AccessKind.Open)
        {
            await next(http);
            return;
        }

        var text = KeyOf(http.Request);
        if (text is null)
        {
            await RefuseAsync(http, StatusCodes.Status401Unauthorized, StatusCode.Unauthenticated,
                "An API key is required: send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>' (see docs/security.md).");
            return;
        }

        ApiKeyIdentity? identity;
        try
        {
            identity = await store.CheckAsync(text);
        }
        catch (Exception ex) when (GatewayErrors.IsTransient(ex) && !http.RequestAborted.IsCancellationRequested)
        {
            // The key's grain could not be reached (a silo leaving, storage down): the caller may retry; it is not refused.
            LogCheckFailed(ex);
            await RefuseAsync(http, StatusCodes.Status503ServiceUnavailable, StatusCode.Unavailable, "The API key could not be checked just now; retry shortly.");
            return;
        }

        if (identity is null)
        {
            await RefuseAsync(http, StatusCodes.Status401Unauthorized, StatusCode.Unauthenticated, "The API key is not valid: unknown, malformed or revoked.");
            return;
        }

        http.Features.Set(identity);
        if (rule.Kind == AccessKind.Operator ? !identity.IsOperator : !identity.Has(rule.Scope!))
        {
            var needs = rule.Kind == AccessKind.Operator ? "an operator key (admin scope on every tenant)" : $"the '{rule.Scope}' scope";
            await RefuseAsync(http, StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, $"API key {identity.Id} cannot reach {http.Request.Path}: it needs {needs}.");
            return;
        }

        if (rule.Kind == AccessKind.Tenant && endpoint?.Metadata.GetMetadata<GrpcMethodMetadata>() is null
            && (GatewayPaths.FromRawPath(http, "tenant") ?? http.GetRouteValue("tenant") as string) is { } tenant
            && !identity.Allows(tenant))
        {
            await RefuseAsync(http, StatusCodes.Status403Forbidden, StatusCode.PermissionDenied, TenantRefused(identity, tenant));
            return;
        }

        await next(http);
    }

    /// <summary>The same words whether the tenant exists or not.</summary>
    public static string TenantRefused(ApiKeyIdentity identity, string tenant) => $"API key {identity.Id} is not bound to tenant '{tenant}'.";

    /// <summary>
    /// The key from "Authorization: Bearer ...", "x-api-key", or "Authorization: Basic" with the key as the password: a
    /// browser asks for Basic credentials itself and sends them with every request of the page, which is how the Orleans
    /// dashboard (whose own scripts send no headers) is opened with a key. Null when there is none.
    /// </summary>
    public static string? KeyOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length > 7 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization[7..].Trim();
        }

        if (authorization.Length > 6 && authorization.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                var pair = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[6..].Trim()));
                return pair.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 && pair.Length > colon + 1 ? pair[(colon + 1)..] : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }

        return request.Headers[ApiKeyHeader].ToString() is { Length: > 0 } key ? key.Trim() : null;
    }

    /// <summary>
    /// A gRPC call: a gRPC content type to a gRPC method's own endpoint. A REST route (a JSON transcoding of a method, or
    /// a plain one) answers HTTP whatever the content type says, or a refusal would be a 200 with an empty body.
    /// </summary>
    public static bool IsGrpc(HttpContext http) =>
        http.Request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
        && http.GetEndpoint()?.Metadata is { } metadata
        && metadata.GetMetadata<GrpcMethodMetadata>() is not null
        && metadata.GetMetadata<Microsoft.AspNetCore.Grpc.JsonTranscoding.GrpcJsonTranscodingMetadata>() is null;

    /// <summary>An HTTP error with a JSON body on REST; a trailers-only gRPC status on gRPC.</summary>
    public static Task RefuseAsync(HttpContext http, int httpStatus, StatusCode grpcStatus, string message, IReadOnlyDictionary<string, string>? headers = null)
    {
        var response = http.Response;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            response.Headers[name] = value;
        }

        if (IsGrpc(http))
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = ((int)grpcStatus).ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = PercentEncode(message);
            return Task.CompletedTask;
        }

        response.StatusCode = httpStatus;
        if (httpStatus == StatusCodes.Status401Unauthorized)
        {
            // The Orleans dashboard is opened in a browser, which prompts for Basic credentials (the key as the password).
            response.Headers.WWWAuthenticate = http.Request.Path.StartsWithSegments("/orleans", StringComparison.OrdinalIgnoreCase)
                ? "Basic realm=\"ProfileGrid operator key (any user name, the key as the password)\", charset=\"UTF-8\""
                : "Bearer";
        }

        // The shape of the transcoded routes' own errors (google.rpc.Status: code, message, details), so that a client
        // reads a refused key as it reads any other error of /v1/events:ingest or /v1/tenants/...; "error" as the plain
        // REST routes answer, the same text.
        response.ContentType = "application/json; charset=utf-8";
        return response.WriteAsync(JsonSerializer.Serialize(new { code = (int)grpcStatus, message, details = Array.Empty<object>(), error = message }, Json));
    }

    /// <summary>grpc-message is percent-encoded UTF-8 (tenant names can be anything).</summary>
    private static string PercentEncode(string message)
    {
        var builder = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E and not (byte)'%')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    [LoggerMessage(EventId = 1206, Level = LogLevel.Warning, Message = "An API key could not be checked; answered Unavailable")]
    private partial void LogCheckFailed(Exception exception);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "Endpoint {Endpoint} has no access rule in AccessPolicy; it was refused")]
    private partial void LogNoRule(string endpoint);
}
