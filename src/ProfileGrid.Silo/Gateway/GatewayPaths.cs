using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

internal static class GatewayPaths
{
    /// <summary>
    /// REST routes leave "%2F" encoded in path values, so a user id holding '/' arrives escaped; gRPC fields never are.
    /// </summary>
    public static string FromPath(string value, ServerCallContext context)
    {
        var contentType = context.GetHttpContext().Request.ContentType;
        var isGrpc = contentType is not null && contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
        return isGrpc || string.IsNullOrEmpty(value) ? value : Uri.UnescapeDataString(value);
    }
}
