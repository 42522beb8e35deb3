using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Refuses a request whose path percent-encodes bytes that are not UTF-8 (<c>/users/%C3</c>). Decoding leaves such a
/// sequence as it is, so <c>%C3</c> and <c>%25C3</c> would both name the user "%C3": two paths reaching one user. No id
/// holds such bytes, so the request is refused (400, InvalidArgument) before routing, access checks or any grain.
/// </summary>
public sealed class PathEncodingGuard(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        var raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (raw is null || !raw.Contains('%') || IsUtf8(raw))
        {
            return next(http);
        }

        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            code = (int)StatusCode.InvalidArgument,
            message = "path: percent-encodes bytes that are not UTF-8 (for example a lone %C3); encode ids as UTF-8 before escaping them",
            details = Array.Empty<object>(),
        }));
    }

    /// <summary>Whether the path (up to the query) decodes to UTF-8; a '%' not followed by two hex digits is a character.</summary>
    internal static bool IsUtf8(string rawTarget)
    {
        var end = rawTarget.IndexOf('?'); // Kestrel reads a '#' as part of the path
        var path = end < 0 ? rawTarget.AsSpan() : rawTarget.AsSpan(0, end);
        var bytes = new List<byte>(path.Length);
        Span<byte> encoded = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            if (path[i] == '%' && i + 2 < path.Length
                && byte.TryParse(path.Slice(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                bytes.Add(value);
                i += 2;
            }
            else if (path[i] < 0x80)
            {
                bytes.Add((byte)path[i]);
            }
            else
            {
                // Kestrel reads a raw non-ASCII target as UTF-8 already; its characters are text.
                var length = System.Text.Encoding.UTF8.GetBytes(path.Slice(i, char.IsHighSurrogate(path[i]) && i + 1 < path.Length ? 2 : 1), encoded);
                bytes.AddRange(encoded[..length]);
                if (length == 4)
                {
                    i++;
                }
            }
        }

        return Utf8.IsValid(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
    }
}
