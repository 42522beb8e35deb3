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
    public static string FromPath(string value, ServerCallContext context, string parameter)
    {
        var http = context.GetHttpContext();
        var contentType = http.Request.ContentType;
        var isGrpc = contentType is not null && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
        return isGrpc ? value : FromRawPath(http, parameter) ?? value;
    }

    /// <summary>The route parameter <paramref name="parameter"/> as the client wrote it, decoded once; null when not in the path.</summary>
    public static string? FromRawPath(HttpContext http, string parameter)
    {
        if (http.GetEndpoint() is not RouteEndpoint endpoint || http.Features.Get<IHttpRequestFeature>()?.RawTarget is not { } rawTarget)
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

        var path = rawTarget;
        var query = path.IndexOfAny(['?', '#']);
        if (query >= 0)
        {
            path = path[..query];
        }

        if (path.Contains("://", StringComparison.Ordinal))
        {
            // Absolute form (through a proxy): drop scheme and authority.
            var start = path.IndexOf('/', path.IndexOf("://", StringComparison.Ordinal) + 3);
            path = start < 0 ? "/" : path[start..];
        }

        var segments = path.TrimStart('/').Split('/');
        if (index < 0 || (segments.Length != pattern.Count && !(segments.Length == pattern.Count + 1 && segments[^1].Length == 0)))
        {
            // Kestrel resolved dot segments (or the route has a catch-all): the raw path no longer lines up.
            return null;
        }

        return Uri.UnescapeDataString(segments[index]);
    }
}
