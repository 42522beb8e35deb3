using System.Reflection;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// Binds gRPC services as grpc-dotnet's own binder does, with one difference: a request whose bytes are not a valid
/// protobuf message of the method's type is refused with <see cref="StatusCode.InvalidArgument"/> saying so. grpc-dotnet
/// reads the request before any interceptor runs, and answered a parse failure with Unknown ("Exception was thrown by
/// handler."), which a client cannot tell from a fault of ours. JSON transcoding binds its routes separately and is
/// unaffected.
/// </summary>
public sealed class SafeRequestBinding<TService> : IServiceMethodProvider<TService>
    where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (BindMethod() is not { } bind)
        {
            return;
        }

        bind.Invoke(null, [new Binder(context), null]);
    }

    /// <summary>The static BindService(ServiceBinderBase, TBase) that the generated base class names in [BindServiceMethod].</summary>
    private static MethodInfo? BindMethod()
    {
        for (var type = typeof(TService); type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is { } attribute)
            {
                return attribute.BindType
                    .GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                    .FirstOrDefault(m => m.Name == attribute.BindMethodName && m.GetParameters() is [{ ParameterType: var first }, _] && first == typeof(ServiceBinderBase));
            }
        }

        return null;
    }

    /// <summary>Requests parse errors as InvalidArgument; responses as they are.</summary>
    internal static Marshaller<T> Safe<T>(Marshaller<T> inner) => new(inner.ContextualSerializer, context =>
    {
        try
        {
            return inner.ContextualDeserializer(context);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"(request): the bytes are not a valid {typeof(T).Name} protobuf message: {ex.Message}"));
        }
    });

    private sealed class Binder(ServiceMethodProviderContext<TService> context) : ServiceBinderBase
    {
        private static Method<TRequest, TResponse> Wrap<TRequest, TResponse>(Method<TRequest, TResponse> method)
            where TRequest : class where TResponse : class =>
            new(method.Type, method.ServiceName, method.Name, Safe(method.RequestMarshaller), method.ResponseMarshaller);

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<UnaryServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(TRequest), typeof(ServerCallContext)]);
            context.AddUnaryMethod(Wrap(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<ClientStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(ServerCallContext)]);
            context.AddClientStreamingMethod(Wrap(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<ServerStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(TRequest), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)]);
            context.AddServerStreamingMethod(Wrap(method), metadata, invoker);
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var (invoker, metadata) = Model<DuplexStreamingServerMethod<TService, TRequest, TResponse>>(method.Name, [typeof(IAsyncStreamReader<TRequest>), typeof(IServerStreamWriter<TResponse>), typeof(ServerCallContext)]);
            context.AddDuplexStreamingMethod(Wrap(method), metadata, invoker);
        }

        /// <summary>The invoker and endpoint metadata, made as grpc-dotnet's binder makes them (type attributes, then the method's).</summary>
        private static (TDelegate Invoker, List<object> Metadata) Model<TDelegate>(string name, Type[] parameters)
            where TDelegate : Delegate
        {
            MethodInfo? handler = null;
            for (var type = typeof(TService); type is not null && handler is null; type = type.BaseType)
            {
                handler = type.GetMethod(name, BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly, null, parameters, null);
            }

            if (handler is null)
            {
                throw new InvalidOperationException($"Could not find '{name}' on {typeof(TService)}.");
            }

            var metadata = new List<object>();
            metadata.AddRange(typeof(TService).GetCustomAttributes(inherit: true));
            metadata.AddRange(handler.GetCustomAttributes(inherit: true));
            metadata.Add(new HttpMethodMetadata(["POST"], acceptCorsPreflight: true));
            return ((TDelegate)Delegate.CreateDelegate(typeof(TDelegate), handler), metadata);
        }
    }
}
