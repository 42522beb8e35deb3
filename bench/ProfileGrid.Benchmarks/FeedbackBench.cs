using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Benchmarks;

/// <summary>
/// <c>bench.sh feedback</c>: issue 10's feedback benchmark on the real host, after the recommend benchmark's history
/// and training: impressions of 10 items (and a click on one list in three) for every user through IngestEvents,
/// acknowledged and end to end (every impression counted by the feedback shards); then Recommend with 16 in flight
/// before any feedback, after it (ignored items demoted), and with an experiment running (assignment, tagging), so the
/// cost feedback and experiments add to a call shows as host CPU per call and latency in the same run.
/// </summary>
public static class FeedbackBench
{
    private const int ItemsPerImpression = 10;
    private const int ImpressionsPerUser = 2;

    public static async Task<int> RunAsync(string[] args)
    {
        RecommendOptions? options;
        try
        {
            options = RecommendOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            return 2;
        }

        if (options is null)
        {
            Console.WriteLine("bench.sh feedback takes the options of bench.sh recommend (--users, --items, --closed-seconds, ...).");
            return 0;
        }

        var total = Stopwatch.StartNew();
        void Log(string message) => Console.WriteLine($"[{total.Elapsed:mm\\:ss}] {message}");
        Console.WriteLine("# ProfileGrid feedback benchmark (issue 10)");
        Console.WriteLine();
        foreach (var line in MachineInfo.Capture().Lines())
        {
            Console.WriteLine(line);
        }

        Console.WriteLine($"command:         bench.sh feedback {string.Join(' ', args)}".TrimEnd());
        Console.WriteLine($"host:            {options.Config.Description}");
        Console.WriteLine();

        await using var host = await BenchHost.StartAsync(options.Config, options.Batch, Log);
        try
        {
            using var channel = host.OpenChannel();
            var recommendations = new RecommendationService.RecommendationServiceClient(channel);
            var setup = await RecommendBench.SetUpAsync(host, recommendations, options, Log);
            using var serveChannel = host.OpenChannel();
            var driver = new RecommendDriver(new RecommendationService.RecommendationServiceClient(serveChannel), options, host.StartCpuMeter);

            // Both Recommend phases meet the profiles packed, as a grid whose load is long past would serve them.
            var settle = options.SettleSeconds - setup.SinceLoaded.Elapsed.TotalSeconds;
            if (settle > 0)
            {
                Log($"settling {settle:F0} s more, so that idle profiles have packed (--settle-seconds {options.SettleSeconds} from the end of loading)");
                await Task.Delay(TimeSpan.FromSeconds(settle));
            }

            Log($"Recommend closed loop before any feedback: {options.ClosedConcurrency} in flight for {options.ClosedSeconds} s (after a 10 s warm-up)");
            await driver.ClosedLoopAsync("warmup", options.ClosedConcurrency, 10, options.Seed + 10);
            var before = await driver.ClosedLoopAsync("before feedback", options.ClosedConcurrency, options.ClosedSeconds, options.Seed + 11);
            Log($"  {RecommendBench.Line(before)}");

            var (requests, impressions, events) = FeedbackRequests(options);
            Log($"feedback: {impressions:N0} impressions of {ItemsPerImpression} items and {events - impressions:N0} clicks for {options.Users:N0} users, " +
                $"{requests.Count:N0} requests, {options.Concurrency} in flight");
            var meter = host.StartCpuMeter();
            var clock = Stopwatch.StartNew();
            using (var gate = new SemaphoreSlim(options.Concurrency))
            {
                await Task.WhenAll(requests.Select(async request =>
                {
                    await gate.WaitAsync();
                    try
                    {
                        var answer = await host.Client.IngestEventsAsync(request, deadline: DateTime.UtcNow.AddSeconds(60));
                        if (answer.Rejected.Count > 0)
                        {
                            throw new InvalidOperationException($"the gateway refused {answer.Rejected.Count} feedback events, e.g. {answer.Rejected[0]}");
                        }
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
            }

            var ackSeconds = clock.Elapsed.TotalSeconds;
            var ingestCpu = meter.Stop();
            Log($"  acknowledged in {ackSeconds:F1} s: {events / ackSeconds:N0} events/s; host {ingestCpu.Server:F2} cores, " +
                $"{ingestCpu.Server * ingestCpu.Seconds * 1e6 / events:F0} us per event");
            var counted = await WaitUntilCountedAsync(host.Http, impressions, clock, Log);
            var endToEnd = clock.Elapsed.TotalSeconds;
            Log($"  every impression counted by the feedback shards after {endToEnd:F1} s ({events / endToEnd:N0} events/s end to end; {counted:N0} counted)");

            // As before the first phase: the profiles the feedback woke pack again 30-60 s after their last write, and the
            // shards write behind; measured on top of that, every call would be charged with it.
            Log($"settling {options.SettleSeconds} s (--settle-seconds), so that the profiles the feedback woke have packed again");
            await Task.Delay(TimeSpan.FromSeconds(options.SettleSeconds));
            var after = await driver.ClosedLoopAsync("after feedback", options.ClosedConcurrency, options.ClosedSeconds, options.Seed + 12);
            Log($"  after feedback: {RecommendBench.Line(after)}");
            // Again 30 s later: what stays is the feedback's cost, what goes was the background work after it.
            await Task.Delay(TimeSpan.FromSeconds(30));
            var afterAgain = await driver.ClosedLoopAsync("after feedback, 30 s later", options.ClosedConcurrency, options.ClosedSeconds, options.Seed + 14);
            Log($"  after feedback, 30 s later: {RecommendBench.Line(afterAgain)}");

            var experiments = new ExperimentService.ExperimentServiceClient(channel);
            await experiments.CreateExperimentAsync(new PutExperimentRequest
            {
                Tenant = RecommendWorkload.Tenant,
                Experiment = new ExperimentDefinition
                {
                    Id = "bench",
                    Variants =
                    {
                        new ExperimentVariant { Key = "control", Control = true, Algorithm = "popular", Rules = false },
                        new ExperimentVariant { Key = "model", Algorithm = "model" },
                    },
                },
            });
            await experiments.StartExperimentAsync(new ExperimentRequest { Tenant = RecommendWorkload.Tenant, ExperimentId = "bench" });
            var withExperiment = await driver.ClosedLoopAsync("with experiment", options.ClosedConcurrency, options.ClosedSeconds, options.Seed + 13);
            Log($"  with an experiment running: {RecommendBench.Line(withExperiment)}");
            var resultClock = Stopwatch.StartNew();
            await experiments.GetExperimentResultsAsync(new ExperimentRequest { Tenant = RecommendWorkload.Tenant, ExperimentId = "bench" });
            var resultMs = resultClock.Elapsed.TotalMilliseconds;

            Console.WriteLine();
            Console.WriteLine("## Results");
            Console.WriteLine();
            Console.WriteLine($"Feedback ingest: {events:N0} events ({impressions:N0} impressions of {ItemsPerImpression} items, {events - impressions:N0} clicks) " +
                              $"acknowledged at {events / ackSeconds:N0} events/s ({ingestCpu.Server * ingestCpu.Seconds * 1e6 / events:F0} us of host CPU each), " +
                              $"all counted by the feedback shards after {endToEnd:F1} s ({events / endToEnd:N0} events/s end to end). " +
                              $"The history before it loaded at the figure above, in the same run.");
            Console.WriteLine();
            Console.WriteLine("| Recommend, closed loop | calls/s | p50 ms | p99 ms | host CPU per call |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var s in new[] { before, after, afterAgain, withExperiment })
            {
                Console.WriteLine($"| {s.Phase} | {s.RequestsPerSecond:N0} | {s.P50:F3} | {s.P99:F3} | {s.HostMicrosPerRequest:F0} us |");
            }

            Console.WriteLine();
            Console.WriteLine($"GetExperimentResults over gRPC with {options.Users:N0} users in the shards: {resultMs:F0} ms.");
            Console.WriteLine($"Total run time {total.Elapsed.TotalSeconds:F0} s.");
            return before.Errors + after.Errors + afterAgain.Errors + withExperiment.Errors == 0 ? 0 : 1;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Log($"FAILED: {ex.Message}\n--- last host output ---\n{host.Process.Tail}");
            return 1;
        }
    }

    private static (List<IngestEventsRequest> Requests, long Impressions, long Events) FeedbackRequests(RecommendOptions options)
    {
        var random = new Random(options.Seed + 99);
        var now = DateTimeOffset.UtcNow;
        var requests = new List<IngestEventsRequest>();
        var request = new IngestEventsRequest { Tenant = RecommendWorkload.Tenant };
        long impressions = 0, events = 0;
        for (var u = 0; u < options.Users; u++)
        {
            var userId = RecommendWorkload.UserId(u);
            for (var k = 0; k < ImpressionsPerUser; k++)
            {
                var recommendationId = $"rec-fb-{u:D7}-{k}";
                var shownAt = now.AddMinutes(-30 + (k * 10));
                var feedback = new Feedback { RecommendationId = recommendationId, Slot = "home" };
                var shown = new HashSet<int>();
                while (shown.Count < ItemsPerImpression)
                {
                    shown.Add(random.Next(options.Items));
                }

                feedback.ItemIds.AddRange(shown.Select(RecommendWorkload.ItemId));
                request.Events.Add(new Event
                {
                    EventId = $"{recommendationId}-i", Type = "impression", UserId = userId, Source = "web",
                    OccurredAt = Time(shownAt), Feedback = feedback,
                });
                impressions++;
                events++;
                if (random.Next(3) == 0)
                {
                    request.Events.Add(new Event
                    {
                        EventId = $"{recommendationId}-c", Type = "click", UserId = userId, Source = "web", OccurredAt = Time(shownAt.AddSeconds(20)),
                        Feedback = new Feedback { RecommendationId = recommendationId, Slot = "home", ItemId = feedback.ItemIds[random.Next(ItemsPerImpression)] },
                    });
                    events++;
                }
            }

            if (request.Events.Count >= options.Batch)
            {
                requests.Add(request);
                request = new IngestEventsRequest { Tenant = RecommendWorkload.Tenant };
            }
        }

        if (request.Events.Count > 0)
        {
            requests.Add(request);
        }

        return (requests, impressions, events);
    }

    private static string Time(DateTimeOffset at) => at.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>Polls the fairness audit (every user's feedback totals, summed over the shards) until every impression counts.</summary>
    private static async Task<long> WaitUntilCountedAsync(HttpClient http, long impressions, Stopwatch clock, Action<string> log)
    {
        var deadline = clock.Elapsed + TimeSpan.FromMinutes(10);
        var lastReport = clock.Elapsed;
        while (true)
        {
            using var audit = await http.GetFromJsonAsync<JsonDocument>($"/v1/tenants/{RecommendWorkload.Tenant}/fairness");
            var counted = audit!.RootElement.GetProperty("audit").GetProperty("dimensions")[0].GetProperty("impressions").GetInt64();
            if (counted >= impressions || clock.Elapsed > deadline)
            {
                return counted;
            }

            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                log($"  feedback shards count {counted:N0} of {impressions:N0} impressions");
                lastReport = clock.Elapsed;
            }

            await Task.Delay(1000);
        }
    }
}
