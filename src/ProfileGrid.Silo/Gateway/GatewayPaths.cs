using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Path values of REST routes, decoded exactly once. Kestrel decodes the path before routing except for "%2F", so a
/// route value is neither the raw text nor fully decoded: "t%2F1" stays escaped while "w%2541" arrives as "w%41", and
/// decoding it again would turn user "w%41" into "wA". The value is therefore taken from the request's raw target,
/// the segment under the route parameter, and decoded once. gRPC fields are never escaped.
/// </summary>
internal static class GatewayPaths
{
    /// <summary>
    /// A path value of a transcoded method, decoded once; a REST path that does not name anything as it is
    /// (<see cref="AmbiguityOf"/>) is refused with InvalidArgument.
    /// </summary>
    public static string FromPath(string value, ServerCallContext context, string parameter)
    {
        RefuseAmbiguousPath(context);
        return RoutedValue(value, context, parameter);
    }

    /// <summary>
    /// Refuses (InvalidArgument) a transcoded REST call whose path does not name anything as it is; for a method
    /// without path values (ingest), which <see cref="FromPath"/> never sees.
    /// </summary>
    public static void RefuseAmbiguousPath(ServerCallContext context)
    {
        var http = context.GetHttpContext();
        if (!IsGrpc(http) && AmbiguityOf(http) is { } ambiguity)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, ambiguity));
        }
    }

    /// <summary>
    /// The value the route names, never refused: what the access check judges (it runs before the method, and a foreign
    /// key is told so before anything about the path).
    /// </summary>
    public static string RoutedValue(string value, ServerCallContext context, string parameter)
    {
        var http = context.GetHttpContext();
        return IsGrpc(http) ? value : FromRawPath(http, parameter) ?? value;
    }

    /// <summary>A gRPC call proper: HTTP/2 with a gRPC content type (a REST request that only says "application/grpc" is not one).</summary>
    private static bool IsGrpc(HttpContext http) =>
        HttpProtocol.IsHttp2(http.Request.Protocol)
        && http.Request.ContentType is { } contentType && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Why an API path (<c>/v1/...</c>) reaches something other than what it spells, or null when it does not:
    /// <list type="bullet">
    /// <item>a '.' or '..' segment (also as <c>%2E</c>), resolved before routing: <c>/users/%2E/profile</c> reached the
    /// user named "profile", <c>/items/%2E/similar</c> the item named "similar", and a PUT of
    /// <c>/recommendation-rules/%2E</c> replaced every rule of the tenant;</item>
    /// <item>an empty segment, a trailing '/' included, which routing ignores: <c>DELETE /users/kim/</c> erased user "kim"
    /// while the client meant "kim/" sent unescaped.</item>
    /// </list>
    /// No id can be empty or a dot segment, so such a path never names anything as it is.
    /// </summary>
    internal static string? AmbiguityOf(HttpContext http)
    {
        var routed = http.Request.Path.Value ?? "";
        // "//v1/..." is an API path with an empty first segment (probe60: it was 404 "not a route").
        if (RawPath(http) is not { } raw || !IsApiPath("/" + raw.TrimStart('/')) && !IsApiPath(routed))
        {
            return null;
        }

        if (HasDotSegment(raw))
        {
            var shown = routed.Length > 120 ? routed[..120] + "..." : routed;
            return $"path: a '.' or '..' segment (also as %2E) cannot be part of an API path: it is resolved before routing, so this {http.Request.Method} would reach {shown}, not what it names; no id can be '.' or '..'";
        }

        return HasEmptySegment(raw)
            ? "path: an empty segment ('//', or a '/' at the end) cannot be part of an API path: routing would ignore it and reach another resource; ids are never empty, and a '/' inside an id is sent as %2F"
            : null;
    }

    /// <summary>Routing matches paths without regard to case, so "/V1/..." reaches the same routes (an outside probe: it did, unchecked).</summary>
    private static bool IsApiPath(string path) =>
        path.StartsWith("/v1/", StringComparison.OrdinalIgnoreCase) || path.Equals("/v1", StringComparison.OrdinalIgnoreCase);

    /// <summary>The route parameter <paramref name="parameter"/> as the client wrote it, decoded once; null when not in the path.</summary>
    public static string? FromRawPath(HttpContext http, string parameter)
    {
        if (http.GetEndpoint() is not RouteEndpoint endpoint || RawPath(http) is not { } path)
        {
            return null;
        }

        var pattern = endpoint.RoutePattern.PathSegments;
        var index = -1;
        for (var i = 0; i < pattern.Count; i++)
        {
            if (pattern[i].Parts is [RoutePatternParameterPart part] && string.Equals(part.Name, parameter, StringComparison.OrdinalIgnoreCase))
            {
                index = i;
            }
        }

        var segments = path.TrimStart('/').Split('/');
        var routed = (http.Request.Path.Value ?? "/").TrimStart('/').Split('/');
        if (index < 0 || index >= segments.Length || segments.Length != routed.Length
            || (segments.Length != pattern.Count && !(segments.Length == pattern.Count + 1 && segments[^1].Length == 0)))
        {
            // Kestrel resolved dot segments (or the route has a catch-all): the raw path no longer lines up.
            return null;
        }

        for (var i = 0; i < segments.Length; i++)
        {
            if (!string.Equals(DecodeAsKestrel(segments[i]), routed[i], StringComparison.Ordinal))
            {
                // The raw text does not spell the path that was routed, segment for segment: taking a value from it
                // would act on another tenant or user than the route names.
                return null;
            }
        }

        return Uri.UnescapeDataString(segments[index]);
    }

    /// <summary>A raw path segment decoded as Kestrel decodes the path it routes: every escape but "%2F", which stays as it is.</summary>
    private static string DecodeAsKestrel(string segment)
    {
        if (!segment.Contains('%', StringComparison.Ordinal))
        {
            return segment;
        }

        var builder = new System.Text.StringBuilder(segment.Length);
        var start = 0;
        for (var i = segment.IndexOf("%2F", StringComparison.OrdinalIgnoreCase); i >= 0; i = segment.IndexOf("%2F", start, StringComparison.OrdinalIgnoreCase))
        {
            builder.Append(Uri.UnescapeDataString(segment[start..i])).Append(segment, i, 3);
            start = i + 3;
        }

        return builder.Append(Uri.UnescapeDataString(segment[start..])).ToString();
    }

    /// <summary>
    /// The request's raw path as the client wrote it (escapes kept), without the query, in origin form; null when the
    /// server has no raw target. A request target has no fragment: Kestrel reads a '#' as a character of the path, so
    /// only '?' ends it here too.
    /// </summary>
    internal static string? RawPath(HttpContext http)
    {
        if (http.Features.Get<IHttpRequestFeature>()?.RawTarget is not { Length: > 0 } path)
        {
            return null;
        }

        var query = path.IndexOf('?');
        if (query >= 0)
        {
            path = path[..query];
        }

        if (!path.StartsWith('/') && path.Contains("://", StringComparison.Ordinal))
        {
            // Absolute form (through a proxy): drop scheme and authority. An origin-form path may hold "://" as text.
            var start = path.IndexOf('/', path.IndexOf("://", StringComparison.Ordinal) + 3);
            path = start < 0 ? "/" : path[start..];
        }

        return path;
    }

    /// <summary>Whether the request's raw path had a '.' or '..' segment (also as %2E), which Kestrel resolved before routing.</summary>
    internal static bool HadDotSegment(HttpContext http) => RawPath(http) is { } path && HasDotSegment(path);

    /// <summary>Whether a raw path has a '.' or '..' segment, also escaped ("%2E", "%2e%2E").</summary>
    internal static bool HasDotSegment(string rawPath)
    {
        foreach (var segment in rawPath.Split('/'))
        {
            if (segment.Length is > 0 and <= 6 && Uri.UnescapeDataString(segment) is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a raw path has an empty segment after its leading '/': "//a", "a//b", or a '/' at the end.</summary>
    internal static bool HasEmptySegment(string rawPath) =>
        rawPath.Length > 1 && (rawPath.EndsWith('/') || rawPath.Contains("//", StringComparison.Ordinal));
}
