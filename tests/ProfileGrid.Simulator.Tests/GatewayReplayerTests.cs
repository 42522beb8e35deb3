using Grpc.Core;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator.Tests;

public class GatewayReplayerTests
{
    private static readonly ReplayOptions FastRetries = new() { InitialBackoff = TimeSpan.FromMilliseconds(1), MaxBackoff = TimeSpan.FromMilliseconds(5) };

    [Fact]
    public async Task Replaying_the_stream_sends_every_event_once_and_sums_the_answers()
    {
        var gateway = new FakeGateway();
        var requests = SampleStream.Requests;

        var report = await new GatewayReplayer(gateway, FastRetries).ReplayAsync(requests);

        Assert.Equal(requests.Count, report.Requests);
        Assert.Equal(SampleStream.Events.Count(), report.EventsSent);
        Assert.Equal(report.EventsSent, report.Accepted);
        Assert.Equal(SampleStream.Events.Select(@event => @event.EventId).Order(), gateway.ReceivedEventIds.Order());
        Assert.Equal((0, 0, 0), (report.Rejected, report.Duplicates, report.Retries));
        Assert.True(report.EventsPerSecond > 0);
    }

    [Fact]
    public async Task No_more_than_the_configured_number_of_requests_are_in_flight()
    {
        var gateway = new FakeGateway { Latency = TimeSpan.FromMilliseconds(10) };

        await new GatewayReplayer(gateway, FastRetries with { MaxConcurrency = 3 }).ReplayAsync(Requests(count: 24, eventsEach: 2));

        Assert.Equal(3, gateway.MaxInFlight);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable)]
    [InlineData(StatusCode.DeadlineExceeded)]
    public async Task Transient_failures_are_retried_until_the_request_goes_through(StatusCode transient)
    {
        var gateway = new FakeGateway { FailuresBeforeSuccess = 2, Failure = transient };

        var report = await new GatewayReplayer(gateway, FastRetries).ReplayAsync(Requests(count: 5, eventsEach: 4));

        Assert.Equal(20, report.Accepted);
        Assert.Equal(10, report.Retries);
    }

    [Fact]
    public async Task A_request_that_keeps_failing_ends_the_replay_after_the_attempt_limit()
    {
        var gateway = new FakeGateway { FailuresBeforeSuccess = int.MaxValue, Failure = StatusCode.Unavailable };

        var failure = await Assert.ThrowsAsync<RpcException>(() =>
            new GatewayReplayer(gateway, FastRetries with { MaxAttempts = 3, MaxConcurrency = 1 }).ReplayAsync(Requests(count: 1, eventsEach: 1)));

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Equal(3, gateway.Attempts);
    }

    [Fact]
    public async Task A_failure_that_is_not_transient_is_not_retried()
    {
        var gateway = new FakeGateway { FailuresBeforeSuccess = int.MaxValue, Failure = StatusCode.PermissionDenied };

        var failure = await Assert.ThrowsAsync<RpcException>(() =>
            new GatewayReplayer(gateway, FastRetries with { MaxConcurrency = 1 }).ReplayAsync(Requests(count: 1, eventsEach: 1)));

        Assert.Equal(StatusCode.PermissionDenied, failure.StatusCode);
        Assert.Equal(1, gateway.Attempts);
    }

    [Fact]
    public async Task Rejections_and_duplicates_are_counted_and_the_first_reasons_kept()
    {
        var gateway = new FakeGateway { RejectEvery = 3 };
        var requests = Requests(count: 4, eventsEach: 6);
        requests.Add(requests[0].Clone());

        var report = await new GatewayReplayer(gateway, FastRetries with { MaxConcurrency = 1, MaxRejectionSamples = 3 }).ReplayAsync(requests);

        Assert.Equal(30, report.EventsSent);
        Assert.Equal(10, report.Rejected);
        Assert.Equal(20, report.Accepted);
        Assert.Equal(4, report.Duplicates);
        Assert.Equal(3, report.RejectionSamples.Count);
        Assert.Contains("events[2].occurred_at: is in the future", report.RejectionSamples[0]);
    }

    [Fact]
    public async Task Progress_is_reported_after_every_request_and_never_goes_backwards()
    {
        var progress = new RecordingProgress();

        await new GatewayReplayer(new FakeGateway(), FastRetries).ReplayAsync(Requests(count: 20, eventsEach: 5), progress);

        Assert.Equal(Enumerable.Range(1, 20), progress.Reports.Select(report => report.Requests));
        Assert.Equal(100, progress.Reports[^1].EventsSent);
    }

    [Fact]
    public async Task Cancelling_stops_the_replay()
    {
        using var cancellation = new CancellationTokenSource();
        var gateway = new FakeGateway { Latency = TimeSpan.FromMilliseconds(5) };
        var progress = new RecordingProgress(onReport: report =>
        {
            if (report.Requests == 3)
            {
                cancellation.Cancel();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new GatewayReplayer(gateway, FastRetries with { MaxConcurrency = 1 }).ReplayAsync(Requests(count: 1000, eventsEach: 1), progress, cancellation.Token));

        Assert.InRange(gateway.Attempts, 3, 5);
    }

    private static List<IngestEventsRequest> Requests(int count, int eventsEach) => Enumerable.Range(0, count)
        .Select(request => new IngestEventsRequest
        {
            Tenant = "demo",
            Events = { Enumerable.Range(0, eventsEach).Select(n => new Event { EventId = $"evt-{request}-{n}", Type = "page_view", UserId = "u-1" }) },
        })
        .ToList();

    private sealed class RecordingProgress(Action<ReplayProgress>? onReport = null) : IProgress<ReplayProgress>
    {
        public List<ReplayProgress> Reports { get; } = [];

        public void Report(ReplayProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    /// <summary>A gateway that answers in process: it dedupes by event id and fails or rejects on demand.</summary>
    private sealed class FakeGateway : ProfileGateway.ProfileGatewayClient
    {
        private readonly Lock gate = new();
        private readonly HashSet<string> seen = [];
        private readonly Dictionary<IngestEventsRequest, int> failuresByRequest = new(ReferenceEqualityComparer.Instance);
        private int inFlight;

        public TimeSpan Latency { get; init; }
        public int FailuresBeforeSuccess { get; init; }
        public StatusCode Failure { get; init; } = StatusCode.Unavailable;
        public int RejectEvery { get; init; }
        public int Attempts { get; private set; }
        public int MaxInFlight { get; private set; }
        public List<string> ReceivedEventIds { get; } = [];

        public override AsyncUnaryCall<IngestEventsResponse> IngestEventsAsync(IngestEventsRequest request, CallOptions options) =>
            new(AnswerAsync(request, options.CancellationToken), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });

        private async Task<IngestEventsResponse> AnswerAsync(IngestEventsRequest request, CancellationToken cancellationToken)
        {
            lock (gate)
            {
                Attempts++;
                MaxInFlight = Math.Max(MaxInFlight, ++inFlight);
            }

            try
            {
                await Task.Delay(Latency, cancellationToken);
                lock (gate)
                {
                    var failures = failuresByRequest.GetValueOrDefault(request);
                    if (failures < FailuresBeforeSuccess)
                    {
                        failuresByRequest[request] = failures + 1;
                        throw new RpcException(new Status(Failure, "simulated failure"));
                    }

                    var response = new IngestEventsResponse();
                    for (var index = 0; index < request.Events.Count; index++)
                    {
                        var @event = request.Events[index];
                        if (RejectEvery > 0 && index % RejectEvery == RejectEvery - 1)
                        {
                            response.Rejected.Add(new EventRejection { Index = index, EventId = @event.EventId, Field = $"events[{index}].occurred_at", Reason = "is in the future" });
                            continue;
                        }

                        response.Accepted++;
                        ReceivedEventIds.Add(@event.EventId);
                        if (!seen.Add(@event.EventId))
                        {
                            response.Duplicates++;
                        }
                    }

                    return response;
                }
            }
            finally
            {
                lock (gate)
                {
                    inFlight--;
                }
            }
        }
    }
}
