using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Maps what a call throws to a status a client can act on: an <see cref="RpcException"/> (domain errors:
/// InvalidArgument, NotFound, FailedPrecondition...) keeps its code; a failure a retry can cure becomes
/// <see cref="StatusCode.Unavailable"/>; anything else <see cref="StatusCode.Internal"/> with an error id that the
/// log line carries as well (see <see cref="GatewayErrors"/>).
/// </summary>
public sealed partial class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (RpcException ex) when (ex.Status.Detail.Length > MaxDetailLength)
        {
            throw new RpcException(new Status(ex.StatusCode, Bound(ex.Status.Detail)), ex.Trailers);
        }
        catch (Exception ex) when (ex is not RpcException && !context.CancellationToken.IsCancellationRequested)
        {
            throw Map(context.Method, ex);
        }
    }

    /// <summary>
    /// The longest message a refusal carries. A message that quotes what the client sent (a 70,000-character RFM cell)
    /// would otherwise carry all of it: over gRPC, percent-encoded in the grpc-message header, past the 64 KiB of headers
    /// a client accepts, so the client saw an unreadable answer (Unavailable) instead of InvalidArgument.
    /// </summary>
    internal const int MaxDetailLength = 1000;

    internal static string Bound(string detail)
    {
        var cut = MaxDetailLength;
        if (char.IsHighSurrogate(detail[cut - 1]))
        {
            cut--;
        }

        return $"{detail[..cut]}... ({detail.Length - cut} more characters left out)";
    }

    internal RpcException Map(string method, Exception exception)
    {
        if (GatewayErrors.IsTransient(exception))
        {
            LogTransientFailure(method, exception);
            return new RpcException(new Status(StatusCode.Unavailable, GatewayErrors.UnavailableMessage));
        }

        var errorId = GatewayErrors.NewErrorId();
        LogInternalFailure(method, errorId, exception);
        return new RpcException(new Status(StatusCode.Internal, GatewayErrors.InternalMessage(errorId)));
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "{Method} failed transiently; answered Unavailable")]
    private partial void LogTransientFailure(string method, Exception exception);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "{Method} failed with error id {ErrorId}; answered Internal")]
    private partial void LogInternalFailure(string method, string errorId, Exception exception);
}
