using System.Net;

namespace ProfileGrid.Silo.Hosting.Operations;

/// <summary>
/// The access rule of the operator surface (the admin API, the detailed health report and the Orleans dashboard):
/// answered to callers on this machine only, unless ProfileGrid:Admin:AllowRemote is set. Whether they exist at all is
/// ProfileGrid:Admin:Enabled, decided where they are mapped. With API keys on, they also need an operator key (docs/security.md).
/// </summary>
public sealed class AdminAccess(RequestDelegate next, AdminSettings settings)
{
    /// <summary>The path prefixes the rule guards.</summary>
    public static IReadOnlyList<PathString> Paths { get; } = ["/v1/admin", TelemetryExtensions.HealthDetailPath, TelemetryExtensions.OrleansDashboardPath];

    public Task InvokeAsync(HttpContext http)
    {
        if (settings.AllowRemote || !IsGuarded(http.Request.Path) || IsLocal(http.Connection))
        {
            return next(http);
        }

        http.Response.StatusCode = StatusCodes.Status403Forbidden;
        return http.Response.WriteAsync(
            $"{http.Request.Path} answers callers on the silo's own machine only. Set ProfileGrid:Admin:AllowRemote=true to open it to the network " +
            "(only behind a boundary that admits operators alone; an operator API key is needed as well when keys are on).");
    }

    public static bool IsGuarded(PathString path)
    {
        foreach (var prefix in Paths)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsLocal(ConnectionInfo connection) =>
        connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote);
}
