using System.Text.Json;
using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Refuses a DELETE whose raw path had a '.' or '..' segment (also as <c>%2E</c>). Reads resolve dot segments as HTTP
/// says (a proxy would too), but an erasure cannot be taken back, and <c>DELETE /users/%2E/profile</c> resolves to the
/// erasure of the user named "profile": a destructive request must name its target as it is. Runs after the access
/// checks, so a bad or foreign key is still told so first.
/// </summary>
public sealed class DotSegmentErasures(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        if (!HttpMethods.IsDelete(http.Request.Method) || !GatewayPaths.HadDotSegment(http))
        {
            return next(http);
        }

        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            code = (int)StatusCode.InvalidArgument,
            message = $"path: a DELETE must name what it erases as it is: a '.' or '..' segment (also as %2E) would be resolved first, so this one reached {http.Request.Path}",
            details = Array.Empty<object>(),
        }));
    }
}
