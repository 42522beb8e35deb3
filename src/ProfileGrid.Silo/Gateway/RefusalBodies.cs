using System.Text.Json;
using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Gives a reason to the refusals ASP.NET Core answers with an empty body: a path that is no route (404), a method the
/// route does not take (405, with <c>Allow</c>), a body of another content type (415) or one that the plain REST routes
/// could not bind (400), a body over the limit (413). A client, or a person with curl, otherwise sees a bare status
/// and has to guess. Answers that carry a body already are left as they are.
/// </summary>
public sealed class RefusalBodies(RequestDelegate next)
{
    public async Task InvokeAsync(HttpContext http)
    {
        await next(http);
        var response = http.Response;
        if (response.HasStarted || response.ContentLength is > 0 || !string.IsNullOrEmpty(response.ContentType)
            || Reason(http) is not { } reason)
        {
            return;
        }

        response.ContentType = "application/json; charset=utf-8";
        await response.WriteAsync(JsonSerializer.Serialize(new { code = (int)reason.Code, message = reason.Message, details = Array.Empty<object>() }));
    }

    private static (StatusCode Code, string Message)? Reason(HttpContext http)
    {
        var request = http.Request;
        var path = request.Path.Value is { Length: > 120 } longPath ? longPath[..120] + "..." : request.Path.Value;
        if (http.Response.StatusCode is StatusCodes.Status404NotFound or StatusCodes.Status405MethodNotAllowed && GatewayPaths.HadDotSegment(http))
        {
            // "/users/./profile" arrives as "/users/profile": its 405 would advise the DELETE of a user named "profile".
            return (StatusCode.InvalidArgument,
                $"path: a '.' or '..' segment (also as %2E) cannot be an id: it is resolved before routing, so {request.Method} reached {path}, which is not what was asked");
        }

        return http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => (StatusCode.NotFound,
                $"path: {request.Method} {path} is not a route of this API (GET / lists them; a '.' or '..' segment is resolved before routing)"),
            StatusCodes.Status405MethodNotAllowed => (StatusCode.Unimplemented,
                $"method: {request.Method} is not allowed on {path}; it takes {(http.Response.Headers.Allow.Count > 0 ? string.Join(", ", http.Response.Headers.Allow.ToArray()) : "other methods")}"),
            StatusCodes.Status415UnsupportedMediaType => (StatusCode.InvalidArgument,
                $"Content-Type: '{request.ContentType}' is not accepted here; send the body as application/json (UTF-8)"),
            StatusCodes.Status413PayloadTooLarge => (StatusCode.ResourceExhausted,
                "Request body too large: it is over ProfileGrid:Gateway:MaxRequestBytes"),
            StatusCodes.Status400BadRequest => (StatusCode.InvalidArgument,
                "Request body or parameters could not be read: send a JSON object of this route's fields (see the README) with Content-Type: application/json"),
            _ => null,
        };
    }
}
