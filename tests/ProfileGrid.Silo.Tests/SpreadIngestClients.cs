using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using ProfileGrid.Contracts;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Silo.Tests;

/// <summary>
/// Several gRPC clients sending ingest requests to a cluster, each taking the silos of its list in turn (client-side
/// balancing, each client starting on its own silo) and, when a silo fails a call, sending the same request again to
/// the next one, as a client given a list of gateway addresses does. A request counts as acknowledged only when a silo answered it; the test then knows exactly
/// which events the grid owes. Requests are released by the test in steps, so that silos die while ingest goes on.
/// </summary>
public sealed class SpreadIngestClients : IAsyncDisposable
{
    private readonly IReadOnlyList<(int Port, ProfileGateway.ProfileGatewayClient Client)> _silos;
    private readonly List<GrpcChannel> _channels = [];
    private readonly Channel<IngestEventsRequest> _queue = Channel.CreateUnbounded<IngestEventsRequest>();
    private readonly ConcurrentQueue<IngestEventsRequest> _acknowledged = new();
    private readonly ConcurrentDictionary<int, int> _acknowledgedByPort = new();
    private readonly ConcurrentDictionary<StatusCode, int> _failedCalls = new();
    private readonly ConcurrentQueue<string> _rejections = new();
    private readonly Task[] _clients;
    private readonly TimeSpan _callDeadline;
    private int _released;

    /// <param name="grpcPorts">The silos' gRPC ports; a silo restarted on the same port is reached again through the same address.</param>
    public SpreadIngestClients(IReadOnlyList<int> grpcPorts, int clients, TimeSpan callDeadline)
    {
        _callDeadline = callDeadline;
        var silos = new List<(int, ProfileGateway.ProfileGatewayClient)>();
        foreach (var port in grpcPorts)
        {
            // A channel whose silo died backs off before it connects again (by default up to 2 minutes), and meanwhile fails
            // every call at once: a client given a list of gateways keeps that short, so a silo back on its port is used soon.
            var channel = GrpcChannel.ForAddress(
                $"http://127.0.0.1:{port}",
                new GrpcChannelOptions { InitialReconnectBackoff = TimeSpan.FromMilliseconds(200), MaxReconnectBackoff = TimeSpan.FromSeconds(1) });
            _channels.Add(channel);
            silos.Add((port, new ProfileGateway.ProfileGatewayClient(channel.Intercept(new DefaultDeadline(TimeSpan.FromMinutes(5))))));
        }

        _silos = silos;
        _clients = Enumerable.Range(0, clients).Select(i => Task.Run(() => SendAsync(i % grpcPorts.Count))).ToArray();
    }

    /// <summary>Requests answered by a silo; each one's events are owed exactly once.</summary>
    public IReadOnlyCollection<IngestEventsRequest> Acknowledged => _acknowledged;

    public int AcknowledgedCount => _acknowledged.Count;

    /// <summary>Requests answered, by the gRPC port of the silo that answered.</summary>
    public IReadOnlyDictionary<int, int> AcknowledgedByPort => _acknowledgedByPort;

    /// <summary>Calls that failed (and were sent again elsewhere), by status.</summary>
    public IReadOnlyDictionary<StatusCode, int> FailedCalls => _failedCalls;

    /// <summary>Events a silo refused ("request: index: reason"); none are expected from the simulator.</summary>
    public IReadOnlyCollection<string> Rejections => _rejections;

    public int Released => _released;

    /// <summary>The client that sends to <paramref name="port"/>, over the same channel the senders use.</summary>
    public ProfileGateway.ProfileGatewayClient ClientFor(int port) => _silos.Single(s => s.Port == port).Client;

    public void Release(IEnumerable<IngestEventsRequest> requests)
    {
        foreach (var request in requests)
        {
            Interlocked.Increment(ref _released);
            _queue.Writer.TryWrite(request);
        }
    }

    /// <summary>Polls until at least <paramref name="count"/> requests are acknowledged.</summary>
    public async Task WaitForAcknowledgedAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_acknowledged.Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{_acknowledged.Count} of {count} requests acknowledged within {timeout}; failed calls: {Describe(_failedCalls)}");
            }

            if (_clients.FirstOrDefault(c => c.IsFaulted) is { } faulted)
            {
                await faulted; // a client gave up: its exception says why
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Sends what was released, then ends the clients.</summary>
    public async Task CompleteAsync(TimeSpan timeout)
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_clients).WaitAsync(timeout);
    }

    public static string Describe<TKey>(IReadOnlyDictionary<TKey, int> counts) where TKey : notnull =>
        counts.Count == 0 ? "none" : string.Join(", ", counts.OrderBy(c => c.Key.ToString()).Select(c => $"{c.Key}: {c.Value}"));

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        try
        {
            await Task.WhenAll(_clients).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
            // The test has its verdict already; a client still retrying is abandoned with its channel.
        }

        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    private async Task SendAsync(int silo)
    {
        await foreach (var request in _queue.Reader.ReadAllAsync())
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
            while (true)
            {
                var (port, client) = _silos[silo];
                try
                {
                    var answer = await client.IngestEventsAsync(request, deadline: DateTime.UtcNow + _callDeadline);
                    foreach (var rejection in answer.Rejected)
                    {
                        _rejections.Enqueue($"{request.Events[rejection.Index].EventId}: {rejection.Field}: {rejection.Reason}");
                    }

                    _acknowledgedByPort.AddOrUpdate(port, 1, (_, n) => n + 1);
                    _acknowledged.Enqueue(request);
                    silo = (silo + 1) % _silos.Count;
                    break;
                }
                catch (RpcException ex) when (DateTime.UtcNow < deadline)
                {
                    // Not acknowledged: the events may or may not be recorded, so the same request (same event ids)
                    // goes to the next silo; a repeat is recognised by the profiles and changes nothing.
                    _failedCalls.AddOrUpdate(ex.StatusCode, 1, (_, n) => n + 1);
                    silo = (silo + 1) % _silos.Count;
                    await Task.Delay(200); // back off a little: the next silo may be the dead one too
                }
            }
        }
    }
}
