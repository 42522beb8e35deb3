using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The same error policy as <see cref="ErrorMappingInterceptor"/> for the plain REST endpoints (the document view and
/// the admin pages), which do not go through gRPC: 503 for a failure a retry can cure, otherwise 500 with an error id
/// that the log line carries too; never exception text.
/// </summary>
public sealed partial class RestErrorHandler(RequestDelegate next, ILogger<RestErrorHandler> logger)
{
    public async Task InvokeAsync(HttpContext http)
    {
        try
        {
            await next(http);
        }
        catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted)
        {
            string message;
            if (GatewayErrors.IsTransient(ex))
            {
                LogTransientFailure(http.Request.Path, ex);
                http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                message = GatewayErrors.UnavailableMessage;
            }
            else
            {
                var errorId = GatewayErrors.NewErrorId();
                LogInternalFailure(http.Request.Path, errorId, ex);
                http.Response.StatusCode = StatusCodes.Status500InternalServerError;
                message = GatewayErrors.InternalMessage(errorId);
            }

            await http.Response.WriteAsJsonAsync(new RestEndpoints.ErrorBody(message));
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "{Path} failed transiently; answered 503")]
    private partial void LogTransientFailure(string path, Exception exception);

    [LoggerMessage(EventId = 111, Level = LogLevel.Error, Message = "{Path} failed with error id {ErrorId}; answered 500")]
    private partial void LogInternalFailure(string path, string errorId, Exception exception);
}
