using System.Diagnostics;
using Grpc.Core;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>
/// Sends ingest requests through the public gRPC gateway with a bounded number in flight, retrying transient
/// failures. Re-sending a request is safe because the gateway deduplicates events by id.
/// </summary>
public sealed class GatewayReplayer
{
    private readonly ProfileGateway.ProfileGatewayClient client;
    private readonly ReplayOptions options;

    /// <summary>Creates a replayer over a channel to the gateway, e.g. a <c>GrpcChannel</c>.</summary>
    public GatewayReplayer(ChannelBase channel, ReplayOptions? options = null)
        : this(new ProfileGateway.ProfileGatewayClient(channel), options)
    {
    }

    /// <summary>Creates a replayer over a generated gateway client.</summary>
    public GatewayReplayer(ProfileGateway.ProfileGatewayClient client, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        this.client = client;
        this.options = options ?? new ReplayOptions();
        this.options.Validate();
    }

    /// <summary>
    /// Sends every request of <paramref name="requests"/>, enumerating it lazily, and sums the gateway's answers.
    /// </summary>
    /// <param name="requests">The requests, e.g. <see cref="SyntheticStream.IngestRequests"/>.</param>
    /// <param name="progress">Told after each answered request; never called concurrently.</param>
    /// <param name="cancellationToken">Stops sending; the replay then throws <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="RpcException">
    /// A request failed with a status that is not transient, or still failed after <see cref="ReplayOptions.MaxAttempts"/>.
    /// </exception>
    public async Task<ReplayReport> ReplayAsync(
        IEnumerable<IngestEventsRequest> requests,
        IProgress<ReplayProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var tally = new Tally(options.MaxRejectionSamples, progress);
        var parallelism = new ParallelOptions { MaxDegreeOfParallelism = options.MaxConcurrency, CancellationToken = cancellationToken };

        await Parallel.ForEachAsync(requests, parallelism, async (request, token) =>
        {
            var (response, retries) = await SendWithRetriesAsync(request, token).ConfigureAwait(false);
            tally.Add(request, response, retries);
        }).ConfigureAwait(false);

        return tally.ToReport();
    }

    private async Task<(IngestEventsResponse Response, int Retries)> SendWithRetriesAsync(IngestEventsRequest request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var call = client.IngestEventsAsync(
                    request, deadline: DateTime.UtcNow + options.RequestTimeout, cancellationToken: cancellationToken);
                return (await call.ResponseAsync.ConfigureAwait(false), attempt - 1);
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The replay was cancelled.", exception, cancellationToken);
            }
            catch (RpcException exception) when (IsTransient(exception.StatusCode) && attempt < options.MaxAttempts)
            {
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(StatusCode status) => status is StatusCode.Unavailable or StatusCode.DeadlineExceeded;

    private TimeSpan Backoff(int attempt)
    {
        var ceiling = Math.Min(
            options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1),
            options.MaxBackoff.TotalMilliseconds);
        // Jitter spreads the retries of concurrent requests that failed together.
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (Random.Shared.NextDouble() * 0.5)));
    }

    /// <summary>Sums answers from concurrent requests; progress is reported under the lock so it never goes backwards.</summary>
    private sealed class Tally(int maxRejectionSamples, IProgress<ReplayProgress>? progress)
    {
        private readonly Lock gate = new();
        private readonly Stopwatch stopwatch = Stopwatch.StartNew();
        private readonly List<string> rejectionSamples = [];
        private int requests;
        private long eventsSent;
        private long accepted;
        private long duplicates;
        private long rejected;
        private int retries;

        public void Add(IngestEventsRequest request, IngestEventsResponse response, int requestRetries)
        {
            lock (gate)
            {
                requests++;
                eventsSent += request.Events.Count;
                accepted += response.Accepted;
                duplicates += response.Duplicates;
                rejected += response.Rejected.Count;
                retries += requestRetries;
                foreach (var rejection in response.Rejected.Take(maxRejectionSamples - rejectionSamples.Count))
                {
                    rejectionSamples.Add($"{rejection.EventId}, {rejection.Field}: {rejection.Reason}");
                }

                progress?.Report(new ReplayProgress(requests, eventsSent, accepted, rejected, stopwatch.Elapsed));
            }
        }

        public ReplayReport ToReport()
        {
            lock (gate)
            {
                return new ReplayReport(
                    requests, eventsSent, accepted, duplicates, rejected, rejectionSamples.ToList(), retries, stopwatch.Elapsed);
            }
        }
    }
}
