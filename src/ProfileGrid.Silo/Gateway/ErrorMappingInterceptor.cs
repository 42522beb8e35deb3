using Grpc.Core;
using Grpc.Core.Interceptors;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Turns failures that a retry can cure (a silo leaving the cluster, a timeout, storage briefly away) into
/// <see cref="StatusCode.Unavailable"/>, which gRPC clients retry, instead of an opaque Unknown.
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
        catch (Exception ex) when (ex is not RpcException && !context.CancellationToken.IsCancellationRequested)
        {
            LogCallFailed(context.Method, ex);
            throw new RpcException(new Status(
                StatusCode.Unavailable,
                "The grid could not complete the call (a silo may be leaving the cluster or storage may be busy); retry it."));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} failed; answered Unavailable")]
    private partial void LogCallFailed(string method, Exception exception);
}
