using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using ProfileGrid.Contracts;

namespace ProfileGrid.Cli;

/// <summary>
/// A channel to the grid and the calls made through it. Every call the CLI makes is a unary one (pages, batches), so
/// each is given a limit (<see cref="CallLimit"/> unless a test gives another): a grid that stops answering fails the
/// call with DeadlineExceeded instead of leaving the command waiting forever. import-events and the exports retry it
/// (their calls are idempotent); import reports it.
/// </summary>
public sealed class GridConnection(GrpcChannel channel, TimeSpan callLimit) : IDisposable
{
    public static readonly TimeSpan CallLimit = TimeSpan.FromMinutes(2);

    public CallInvoker Calls { get; } = channel.Intercept(new DefaultDeadline(callLimit));

    public void Dispose() => channel.Dispose();
}
