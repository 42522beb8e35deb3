using System.Text.Json;
using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Refuses (400) an API request whose raw path would reach something other than what it spells
/// (<see cref="GatewayPaths.AmbiguityOf"/>): a dot segment, which the server resolves before routing, or an empty
/// segment, which routing ignores. Runs after the access checks, so a bad or foreign key is still told so first. A
/// transcoded gRPC method is left to <see cref="GatewayPaths.FromPath"/>, which refuses the same paths once the
/// method's own tenant check (an interceptor, after this middleware) has run.
/// </summary>
public sealed class AmbiguousPathRefusals(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not null || GatewayPaths.AmbiguityOf(http) is not { } reason)
        {
            return next(http);
        }

        http.Response.StatusCode = StatusCodes.Status400BadRequest;
        http.Response.ContentType = "application/json; charset=utf-8";
        return http.Response.WriteAsync(JsonSerializer.Serialize(new { code = (int)StatusCode.InvalidArgument, message = reason, details = Array.Empty<object>() }));
    }
}
