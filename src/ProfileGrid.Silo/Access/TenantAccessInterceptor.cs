using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Core.Interceptors;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Silo.Gateway;

namespace ProfileGrid.Silo.Access;

/// <summary>
/// Refuses a call whose message names a tenant the key is not bound to: the request's <c>tenant</c> field (taken from the
/// REST path exactly as the service takes it), and for ingest every event's own tenant. A batch with one event of another
/// tenant is refused whole: an access error is not bad input to set aside, and nothing of the batch is acknowledged.
/// </summary>
public sealed class TenantAccessInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (context.GetHttpContext().Features.Get<ApiKeyIdentity>() is { } identity && !identity.IsOperator)
        {
            Check(request, context, identity);
        }

        return continuation(request, context);
    }

    private static void Check(object? request, ServerCallContext context, ApiKeyIdentity identity)
    {
        if (request is IngestEventsRequest ingest)
        {
            for (var i = 0; i < ingest.Events.Count; i++)
            {
                var tenant = string.IsNullOrEmpty(ingest.Events[i].Tenant) ? ingest.Tenant : ingest.Events[i].Tenant;
                if (!string.IsNullOrEmpty(tenant) && !identity.Allows(tenant))
                {
                    throw new RpcException(new Status(StatusCode.PermissionDenied, $"events[{i}]: {ApiKeyMiddleware.TenantRefused(identity, tenant)} Nothing of this batch was accepted."));
                }
            }

            return;
        }

        if (request is IMessage message && message.Descriptor.FindFieldByName("tenant") is { FieldType: FieldType.String } field)
        {
            var tenant = GatewayPaths.RoutedValue((string)field.Accessor.GetValue(message), context, "tenant");
            // An empty tenant reaches nothing: the service refuses it with its own words (InvalidArgument).
            if (tenant.Length > 0 && !identity.Allows(tenant))
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, ApiKeyMiddleware.TenantRefused(identity, tenant)));
            }
        }
    }
}
