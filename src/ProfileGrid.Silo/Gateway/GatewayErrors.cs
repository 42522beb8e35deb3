using System.Net.Sockets;
using Grpc.Core;
using Orleans.Storage;

namespace ProfileGrid.Silo.Gateway;

/// <summary>
/// The one place that decides what an unexpected failure means to a client. Only failures a retry can cure (a silo
/// leaving, a timeout, storage briefly away or throttling) are <see cref="StatusCode.Unavailable"/>, which clients
/// retry; anything else is a fault of ours, <see cref="StatusCode.Internal"/>, with an error id that the log line
/// carries too, so a report can be matched to its cause without putting exception text in the answer.
/// </summary>
public static class GatewayErrors
{
    public const string UnavailableMessage =
        "The grid could not complete the call (a silo may be leaving the cluster or storage may be busy); retry it.";

    public static bool IsTransient(Exception exception) => exception switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient),
        SiloUnavailableException or OrleansMessageRejectionException or GatewayTooBusyException => true,
        TimeoutException => true,
        // Another activation wrote the state first (a silo died mid-call); the next call reads it afresh.
        InconsistentStateException => true,
        Azure.RequestFailedException failed => failed.Status is 0 or 408 or 429 or >= 500,
        // A malformed or oversized request is the client's to fix, though it is an IOException.
        BadHttpRequestException => false,
        HttpRequestException or SocketException or IOException => true,
        // Not the client's cancellation (that is filtered out by the callers): a storage or messaging timeout.
        OperationCanceledException => true,
        _ => exception.InnerException is { } inner && IsTransient(inner),
    };

    /// <summary>A new short id for one failure, written both into the answer and into the log line.</summary>
    public static string NewErrorId() => Guid.NewGuid().ToString("N")[..12];

    public static string InternalMessage(string errorId) =>
        $"Internal error {errorId}: the grid failed to complete the call. Retrying will not help; report the error id (the server log has the details under it).";
}
