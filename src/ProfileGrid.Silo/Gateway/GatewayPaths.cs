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

        // A request target has no fragment: Kestrel reads a '#' as a character of the path, so only '?' ends it here too.
        var path = rawTarget;
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

    /// <summary>Whether the request's raw path had a '.' or '..' segment (also as %2E), which Kestrel resolved before routing.</summary>
    internal static bool HadDotSegment(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw))
        {
            return false;
        }

        var query = raw.IndexOf('?');
        foreach (var segment in (query < 0 ? raw : raw[..query]).Split('/'))
        {
            if (segment.Length is > 0 and <= 6 && Uri.UnescapeDataString(segment) is "." or "..")
            {
                return true;
            }
        }

        return false;
    }
}
