using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Grpc.Core;
using HdrHistogram;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Benchmarks;

/// <summary>What one load phase measured. Latencies in milliseconds.</summary>
public sealed record LoadStats(
    string Phase,
    long Requests,
    long Errors,
    double Seconds,
    double? TargetRate,
    double P50,
    double P90,
    double P99,
    double P999,
    double Max,
    double? ServiceP50,
    double? ServiceP99,
    double? SendLagP99,
    CpuUsage Cpu,
    AnswerSummary Answers,
    string? FirstError)
{
    public double RequestsPerSecond => Seconds > 0 ? Requests / Seconds : 0;

    /// <summary>The host's CPU per answered or failed call, in microseconds.</summary>
    public double HostMicrosPerRequest => Requests > 0 ? Cpu.Server * Cpu.Seconds * 1e6 / Requests : 0;

    public double ClientMicrosPerRequest => Requests > 0 ? Cpu.Client * Cpu.Seconds * 1e6 / Requests : 0;
}

/// <summary>What the answers held: how many lists were cold start, short, from which sources.</summary>
public sealed record AnswerSummary(
    long Answers, long KnownAnswers, long KnownColdStart, long UnknownAnswers, long UnknownNotColdStart, long ShortLists, long EmptyLists,
    double MeanItems, IReadOnlyDictionary<string, long> Sources)
{
    public string Describe(int n) =>
        $"{Answers:N0} answers: known users {KnownAnswers:N0} (cold start {KnownColdStart:N0}), unknown users {UnknownAnswers:N0} " +
        $"(not cold start {UnknownNotColdStart:N0}); lists shorter than {n}: {ShortLists:N0} (empty {EmptyLists:N0}), {MeanItems:F2} items on average; " +
        $"items by source: {string.Join(", ", Sources.OrderByDescending(s => s.Value).Select(s => $"{s.Key} {s.Value:N0}"))}";
}

/// <summary>
/// Drives Recommend over gRPC: an open loop that sends on a fixed schedule whatever the answers do and measures each
/// call from its scheduled send time, and a closed loop of callers with one call in flight each.
/// </summary>
public sealed class RecommendDriver(RecommendationService.RecommendationServiceClient client, RecommendOptions options, Func<CpuMeter> startMeter)
{
    private const long HighestMicros = 60_000_000;
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sends --rate calls per second for <paramref name="seconds"/>: call i is due at start + i/rate and sent by one
    /// scheduler thread as soon as it is due (all that are due at once when it fell behind), never waiting for answers.
    /// Latency counts from the due time, so a host that queues (or a client that sends late) shows in the percentiles
    /// instead of silently lowering the rate (coordinated omission). The time from sending and the sender's own delay
    /// are kept apart too, to show which side any queueing was on.
    /// </summary>
    public async Task<LoadStats> OpenLoopAsync(string phase, int rate, int seconds, int seed)
    {
        var recorder = new Recorder();
        var random = new Random(seed);
        var meter = startMeter();
        var elapsed = await ScheduleAsync(rate, seconds, "recommend-open-loop", (i, due) =>
        {
            var (request, known) = NextRequest(random, phase, i);
            return CallAsync(request, known, due, recorder);
        });
        return recorder.Stats(phase, elapsed, rate, meter.Stop(), open: true);
    }

    /// <summary>
    /// Sends call i at start + i/rate from one thread of its own, never waiting for answers, then waits for them all;
    /// returns the seconds from start to the last answer.
    /// </summary>
    private static async Task<double> ScheduleAsync(int rate, int seconds, string name, Func<long, long, Task> send)
    {
        var total = (long)rate * seconds;
        // Answered calls are counted down, not kept: a list of every call's task kept every answer alive to the end of the
        // phase, so this client's own collections promoted tens of MB and paused it for 10-40 ms at a time, which the
        // latencies of the answers arriving meanwhile then showed as the host's.
        long outstanding = 1;
        AggregateException? firstFailure = null;
        var allAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Answered()
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                allAnswered.TrySetResult();
            }
        }

        var start = Stopwatch.GetTimestamp();
        var scheduler = new Thread(() =>
        {
            for (long i = 0; i < total; i++)
            {
                var due = start + (long)(i * (double)Stopwatch.Frequency / rate);
                WaitUntil(due);
                Interlocked.Increment(ref outstanding);
                send(i, due).ContinueWith(call =>
                {
                    if (call.Exception is { } failure)
                    {
                        Interlocked.CompareExchange(ref firstFailure, failure, null);
                    }

                    Answered();
                }, TaskScheduler.Default);
            }

            Answered(); // the scheduler's own count: the phase ends when every call it sent has answered
        })
        { IsBackground = true, Name = name, Priority = ThreadPriority.AboveNormal };
        scheduler.Start();
        await Task.Run(scheduler.Join);
        await allAnswered.Task;
        if (firstFailure is not null)
        {
            throw firstFailure; // what awaiting every call would have thrown: a failure other than an RPC's status
        }

        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary><paramref name="concurrency"/> callers, each sending its next call when the last one answered, for <paramref name="seconds"/>.</summary>
    public async Task<LoadStats> ClosedLoopAsync(string phase, int concurrency, int seconds, int seed)
    {
        var recorder = new Recorder();
        var meter = startMeter();
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * (double)Stopwatch.Frequency);
        long issued = 0;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var random = new Random(seed * 1000 + worker);
            while (Stopwatch.GetTimestamp() < end)
            {
                var (request, known) = NextRequest(random, phase, Interlocked.Increment(ref issued));
                await CallAsync(request, known, Stopwatch.GetTimestamp(), recorder);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return recorder.Stats(phase, elapsed, null, meter.Stop(), open: false);
    }

    /// <summary>
    /// The same closed loop over the standard gRPC health check on the same connection: what Kestrel, HTTP/2, gRPC and
    /// this client cost per call on this machine, the floor under any Recommend.
    /// </summary>
    public async Task<LoadStats> FloorAsync(Grpc.Health.V1.Health.HealthClient health, int concurrency, int seconds)
    {
        var recorder = new Recorder();
        var meter = startMeter();
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(seconds * (double)Stopwatch.Frequency);
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Stopwatch.GetTimestamp() < end)
            {
                await CheckAsync(health, Stopwatch.GetTimestamp(), recorder).ConfigureAwait(false);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        return recorder.Stats("gRPC health check (transport floor)", Stopwatch.GetElapsedTime(start).TotalSeconds, null, meter.Stop(), open: false);
    }

    /// <summary>
    /// The health check at the open loop's rate, scheduled the same way: the floor under the open loop's percentiles (the
    /// transport, this client and the machine at that rate), so that what Recommend adds to it can be told apart.
    /// </summary>
    public async Task<LoadStats> OpenFloorAsync(Grpc.Health.V1.Health.HealthClient health, int rate, int seconds)
    {
        var recorder = new Recorder();
        var meter = startMeter();
        var elapsed = await ScheduleAsync(rate, seconds, "health-open-loop", (_, due) => CheckAsync(health, due, recorder));
        return recorder.Stats("gRPC health check (open-loop floor)", elapsed, rate, meter.Stop(), open: true);
    }

    private async Task CheckAsync(Grpc.Health.V1.Health.HealthClient health, long due, Recorder recorder)
    {
        var sent = Stopwatch.GetTimestamp();
        string? error = null;
        try
        {
            await health.CheckAsync(new Grpc.Health.V1.HealthCheckRequest(), deadline: DateTime.UtcNow + CallTimeout).ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            error = $"{ex.StatusCode}: {ex.Status.Detail}";
        }

        recorder.Record(Stopwatch.GetTimestamp(), due, sent, known: false, null, error, options.N);
    }

    /// <summary>A random user with a history, or (--unknown-share of the calls) an id never seen: a first-time visitor.</summary>
    private (RecommendRequest Request, bool Known) NextRequest(Random random, string phase, long i)
    {
        var known = random.NextDouble() >= options.UnknownShare;
        var userId = known ? RecommendWorkload.UserId(random.Next(options.Users)) : $"new-{phase}-{i}";
        return (new RecommendRequest { Tenant = RecommendWorkload.Tenant, UserId = userId, N = options.N }, known);
    }

    private async Task CallAsync(RecommendRequest request, bool known, long due, Recorder recorder)
    {
        var sent = Stopwatch.GetTimestamp();
        RecommendResponse? response = null;
        string? error = null;
        try
        {
            response = await client.RecommendAsync(request, deadline: DateTime.UtcNow + CallTimeout).ResponseAsync.ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            error = $"{ex.StatusCode}: {ex.Status.Detail}";
        }

        recorder.Record(Stopwatch.GetTimestamp(), due, sent, known, response, error, options.N);
    }

    /// <summary>
    /// Sleeps until <paramref name="due"/> with usleep: Thread.Sleep's whole milliseconds would make every call up to a
    /// millisecond late (and counted so), and spinning would take a core from a two-core host.
    /// </summary>
    private static void WaitUntil(long due)
    {
        while (true)
        {
            var wait = due - Stopwatch.GetTimestamp();
            if (wait <= 0)
            {
                return;
            }

            var micros = wait * 1_000_000 / Stopwatch.Frequency;
            if (micros < 20)
            {
                Thread.Yield();
            }
            else
            {
                _ = usleep((uint)Math.Min(micros, 100_000));
            }
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int usleep(uint microseconds);

    /// <summary>Histograms and answer counts of one phase; calls complete on many threads, so recording takes a lock.</summary>
    private sealed class Recorder
    {
        private readonly Lock _gate = new();
        private readonly LongHistogram _latency = new(HighestMicros, 3);
        private readonly LongHistogram _service = new(HighestMicros, 3);
        private readonly LongHistogram _sendLag = new(HighestMicros, 3);
        private readonly ConcurrentDictionary<string, long> _sources = new(StringComparer.Ordinal);
        private long _errors;
        private long _answers;
        private long _known;
        private long _knownCold;
        private long _unknown;
        private long _unknownWarm;
        private long _short;
        private long _empty;
        private long _items;
        private string? _firstError;

        public void Record(long end, long due, long sent, bool known, RecommendResponse? response, string? error, int n)
        {
            static long Micros(long ticks) => Math.Clamp(ticks * 1_000_000 / Stopwatch.Frequency, 1, HighestMicros);
            lock (_gate)
            {
                _latency.RecordValue(Micros(end - due));
                _service.RecordValue(Micros(end - sent));
                _sendLag.RecordValue(Micros(Math.Max(sent - due, 0)));
                if (error is not null)
                {
                    _errors++;
                    _firstError ??= error;
                    return;
                }

                if (response is null)
                {
                    return; // a call that answers nothing to count (the transport floor)
                }

                _answers++;
                if (known)
                {
                    _known++;
                    _knownCold += response.ColdStart ? 1 : 0;
                }
                else
                {
                    _unknown++;
                    _unknownWarm += response.ColdStart ? 0 : 1;
                }

                _items += response.Items.Count;
                _short += response.Items.Count < n ? 1 : 0;
                _empty += response.Items.Count == 0 ? 1 : 0;
            }

            foreach (var item in response!.Items)
            {
                _sources.AddOrUpdate(item.Source, 1, (_, c) => c + 1);
            }
        }

        public LoadStats Stats(string phase, double seconds, double? rate, CpuUsage cpu, bool open)
        {
            lock (_gate)
            {
                static double Ms(long micros) => micros / 1000.0;
                var answers = new AnswerSummary(
                    _answers, _known, _knownCold, _unknown, _unknownWarm, _short, _empty, _answers > 0 ? (double)_items / _answers : 0,
                    new Dictionary<string, long>(_sources));
                return new LoadStats(
                    phase, _latency.TotalCount, _errors, seconds, rate,
                    Ms(_latency.GetValueAtPercentile(50)), Ms(_latency.GetValueAtPercentile(90)), Ms(_latency.GetValueAtPercentile(99)),
                    Ms(_latency.GetValueAtPercentile(99.9)), Ms(_latency.GetMaxValue()),
                    open ? Ms(_service.GetValueAtPercentile(50)) : null, open ? Ms(_service.GetValueAtPercentile(99)) : null,
                    open ? Ms(_sendLag.GetValueAtPercentile(99)) : null,
                    cpu, answers, _firstError);
            }
        }
    }
}
