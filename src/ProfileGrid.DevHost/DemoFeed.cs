using System.Diagnostics;
using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.DevHost;

/// <summary>Settings of the demo feed (configuration section "ProfileGrid:Demo", read by the dev host only).</summary>
public sealed class DemoSettings
{
    public const string Section = "ProfileGrid:Demo";

    /// <summary>Feed the grid the demo stream; false: just run the grid.</summary>
    public bool Enabled { get; set; } = true;

    public int Users { get; set; } = 3000;

    public int Seed { get; set; } = 42;

    public string Tenant { get; set; } = "demo";

    public int EventsPerRequest { get; set; } = 500;

    public int Concurrency { get; set; } = 4;

    /// <summary>Visits per simulated user in the A/B test that closes the demo; 0 skips the test.</summary>
    public int ExperimentVisits { get; set; } = 2;

    /// <summary>How long to wait for every profile to reflect the stream before summarising anyway.</summary>
    public TimeSpan ApplyTimeout { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Feeds a running grid a seeded e-commerce stream through its public gRPC endpoint, the way an SDK or a collector
/// would, waits until the profiles reflect it, segments the users and prints what a user would want to see first.
/// </summary>
internal sealed class DemoFeed(DemoSettings demo, GridSettings grid)
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation("  "));

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            await FeedAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (RpcException ex) when (!stoppingToken.IsCancellationRequested)
        {
            Console.Error.WriteLine($"The demo feed stopped: {ex.Status.StatusCode}: {ex.Status.Detail}");
        }
    }

    private async Task FeedAsync(CancellationToken stoppingToken)
    {
        using var channel = grid.Channel();
        var client = new ProfileGateway.ProfileGatewayClient(channel);

        var stream = new SyntheticStream(new SimulationOptions { Users = demo.Users, Seed = demo.Seed, Tenant = demo.Tenant });
        var expected = stream.ComputeExpectedTotals();
        var userIds = expected.Users.Keys.ToList();

        var before = await ProfileReader.GetAllAsync(client, demo.Tenant, userIds, stoppingToken);
        Console.WriteLine();
        Console.WriteLine(before.Count == 0
            ? $"Replaying a year of e-commerce history: {expected.Users.Count:N0} users, {expected.Events:N0} events (seed {demo.Seed})."
            : $"Found {before.Count:N0} profiles from an earlier run ({before.Values.Sum(p => p.EventsApplied):N0} events applied). " +
              "Replaying the same stream: its event ids are known, so nothing should change.");

        var requests = stream.IngestRequests(demo.EventsPerRequest);
        var replayer = new GatewayReplayer(client, new ReplayOptions { MaxConcurrency = demo.Concurrency });
        var lastPrinted = Stopwatch.StartNew();
        var progress = new Progress<ReplayProgress>(p =>
        {
            if (lastPrinted.Elapsed > TimeSpan.FromSeconds(2))
            {
                lastPrinted.Restart();
                Console.WriteLine($"  sent {p.EventsSent,9:N0} events in {p.Elapsed.TotalSeconds,5:0.0} s ({p.EventsSent / Math.Max(p.Elapsed.TotalSeconds, 0.001):N0}/s acknowledged)");
            }
        });
        var total = Stopwatch.StartNew();
        var report = await replayer.ReplayAsync(requests, progress, stoppingToken);

        // Whether this run starts fresh, repeats a finished run or completes an interrupted one, the end state is the same.
        var after = await WaitUntilAppliedAsync(client, userIds, expected.Events, stoppingToken);
        total.Stop();

        var sample = PrintSummary(stream, expected, report, total.Elapsed, before, after);
        var segmented = await SegmentAsync(channel, client, stream, after.Count, stoppingToken);
        var shown = await RecommendAsync(channel, stream, segmented, stoppingToken);
        if (demo.ExperimentVisits > 0)
        {
            var labels = segmented.Values.Where(p => p.Segment is not null).Select(p => p.Segment.Label).ToHashSet(StringComparer.Ordinal);
            // Lapsed buyers do not come back for a home page: a visit is activity, and would move them out of "dormant"
            // in the live segments right after the case study printed them there.
            var visitors = stream.Users.Select(u => u.UserId)
                .Where(u => !(segmented.TryGetValue(u, out var p) && p.Segment?.Label == "dormant")).ToList();
            await new DemoExperiment(demo, grid).RunAsync(channel, stream, labels, visitors, stoppingToken);
        }

        var http = grid.HttpAddress;
        Console.WriteLine();
        var curl = grid.KeyFileShown is { } keyFile ? $"curl -s -H \"Authorization: Bearer $(cat {keyFile})\"" : "curl -s";
        Console.WriteLine($"The grid keeps running. Try: {curl} '{http}/v1/tenants/{demo.Tenant}/users/{sample ?? "u-000001"}/profile'");
        Console.WriteLine($"                         or: {curl} '{http}/v1/tenants/{demo.Tenant}/segments'");
        Console.WriteLine($"                         or: {curl} '{http}/v1/tenants/{demo.Tenant}/users/{shown ?? "u-000001"}/recommendations?n=5'");
        Console.WriteLine($"                         or: {curl} '{http}/v1/tenants/{demo.Tenant}/experiments/{DemoExperiment.ExperimentId}/results'");
        Console.WriteLine($"                         or: {curl} '{http}/v1/tenants/{demo.Tenant}/fairness'");
        if (grid.DashboardAddress(demo.Tenant) is { } dashboard)
        {
            Console.WriteLine($"Dashboard: {dashboard}");
        }

        Console.WriteLine($"gRPC on {grid.GrpcAddress} (reflection on). Press Ctrl-C to stop{(grid.DataLocation is null ? "" : $"; profiles stay in {grid.DataLocation}")}.");
    }

    /// <summary>
    /// Segments the replayed users through the public API once every profile's features have reached the shards, and
    /// compares the segments found with the behaviour types the stream planted.
    /// </summary>
    private async Task<Dictionary<string, Profile>> SegmentAsync(
        GrpcChannel channel, ProfileGateway.ProfileGatewayClient profiles, SyntheticStream stream, int users, CancellationToken cancellationToken)
    {
        var segments = new SegmentService.SegmentServiceClient(channel);
        // Profiles send their features when they write their state (within the flush interval); wait for all of them,
        // or until no more arrive for a while.
        long held = -1;
        var lastGrowth = DateTime.UtcNow;
        while (DateTime.UtcNow - lastGrowth < TimeSpan.FromSeconds(20))
        {
            var listed = await segments.ListSegmentsAsync(new ListSegmentsRequest { Tenant = demo.Tenant }, cancellationToken: cancellationToken);
            if (listed.UsersWithFeatures >= users)
            {
                break;
            }

            if (listed.UsersWithFeatures > held)
            {
                held = listed.UsersWithFeatures;
                lastGrowth = DateTime.UtcNow;
            }

            await Task.Delay(500, cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        var run = await segments.RunSegmentationAsync(new RunSegmentationRequest { Tenant = demo.Tenant }, cancellationToken: cancellationToken);
        clock.Stop();
        var byUser = await ProfileReader.GetAllAsync(profiles, demo.Tenant, stream.Users.Select(u => u.UserId).ToList(), cancellationToken);

        Console.WriteLine();
        Console.WriteLine($"Segments (model {run.ModelVersion}, {run.Algorithm} on {run.TrainedOn:N0} users in {clock.Elapsed.TotalSeconds:0.0} s; " +
                          $"silhouette {run.Silhouette:0.000}, bootstrap ARI {(run.HasStabilityAdjustedRandIndex ? run.StabilityAdjustedRandIndex.ToString("0.000", CultureInfo.InvariantCulture) : "not measured")})");
        Console.WriteLine($"  {run.KReason}");
        Console.WriteLine("  id  label           users  share  recency(d)  orders  revenue  stability  sets it apart");
        foreach (var segment in run.Segments)
        {
            double Centroid(string feature) => segment.Centroid.FirstOrDefault(c => c.Feature == feature)?.Value ?? double.NaN;
            var apart = string.Join(", ", segment.DistinguishingFeatures.Select(d => $"{d.Feature} {(d.ZScore >= 0 ? "+" : "")}{d.ZScore:0.0}σ"));
            Console.WriteLine(
                $"  {segment.Id,2}  {segment.Label,-13} {segment.Size,7:N0} {segment.Share,6:P0} {Centroid("recency_days"),11:0} " +
                $"{Centroid("frequency"),7:0.0} {Centroid("monetary"),8:N0} {(segment.HasStability ? segment.Stability.ToString("0.00", CultureInfo.InvariantCulture) : "-"),10}  {apart}");
        }

        Console.WriteLine();
        foreach (var segment in run.Segments)
        {
            Console.WriteLine($"  {segment.Label}: {segment.Description}");
        }

        foreach (var warning in run.Warnings)
        {
            Console.WriteLine($"  note: {warning}");
        }

        var planted = stream.Users.Where(u => byUser.GetValueOrDefault(u.UserId)?.Segment is not null).ToList();
        var found = planted.Select(u => byUser[u.UserId].Segment.SegmentId).ToArray();
        var ari = ProfileGrid.Segmentation.ClusterMetrics.AdjustedRandIndex(planted.Select(u => (int)u.Type).ToArray(), found);
        Console.WriteLine();
        Console.WriteLine($"Planted types against segments (adjusted Rand index {ari:0.000}; 1 = the planted types recovered exactly):");
        Console.WriteLine("  planted type " + string.Concat(run.Segments.Select(s => $"{s.Label,14}")));
        foreach (var group in planted.GroupBy(u => u.Type).OrderBy(g => g.Key))
        {
            var counts = run.Segments.Select(s => group.Count(u => byUser[u.UserId].Segment.SegmentId == s.Id));
            Console.WriteLine($"  {group.Key,-12} " + string.Concat(counts.Select(c => $"{c,14:N0}")));
        }

        return byUser;
    }

    /// <summary>
    /// Trains the recommender on what the profiles pushed to the interaction shards, shows a list with its sources and
    /// reasons for a user of each segment, and the offline evaluation of every algorithm on this history. Returns a user
    /// shown, for the closing hint.
    /// </summary>
    private async Task<string?> RecommendAsync(
        GrpcChannel channel, SyntheticStream stream, Dictionary<string, Profile> profiles, CancellationToken cancellationToken)
    {
        var recommendations = new RecommendationService.RecommendationServiceClient(channel);
        var withItems = stream.Interactions().Count;
        var lastGrowth = DateTime.UtcNow;
        long held = -1;
        while (DateTime.UtcNow - lastGrowth < TimeSpan.FromSeconds(20))
        {
            var status = await recommendations.GetRecommenderStatusAsync(new GetRecommenderStatusRequest { Tenant = demo.Tenant }, cancellationToken: cancellationToken);
            if (status.UsersWithInteractions >= withItems)
            {
                break;
            }

            if (status.UsersWithInteractions > held)
            {
                (held, lastGrowth) = (status.UsersWithInteractions, DateTime.UtcNow);
            }

            await Task.Delay(500, cancellationToken);
        }

        var trained = await recommendations.TrainRecommenderAsync(new TrainRecommenderRequest { Tenant = demo.Tenant }, cancellationToken: cancellationToken);
        Console.WriteLine();
        Console.WriteLine($"Recommendations (model {trained.Version}: hybrid of {trained.CandidateAlgorithm} and popularity per segment, trained on {trained.Users:N0} users, " +
                          $"{trained.Items:N0} products, {trained.Interactions:N0} user-product pairs in {trained.TrainingSeconds:0.0} s)");
        string? shown = null;
        foreach (var member in profiles.Values.Where(p => p.Segment is not null).GroupBy(p => p.Segment.SegmentId).OrderBy(g => g.Key).Select(g => g.OrderBy(p => p.UserId, StringComparer.Ordinal).First()))
        {
            var list = await recommendations.RecommendAsync(new RecommendRequest { Tenant = demo.Tenant, UserId = member.UserId, N = 4 }, cancellationToken: cancellationToken);
            shown ??= member.UserId;
            Console.WriteLine($"  {member.UserId} ({member.Segment.Label}{(list.ColdStart ? ", no product history: cold start" : "")}):");
            foreach (var item in list.Items)
            {
                var why = item.Source switch
                {
                    "cf" or "ease" => $"because they {(item.Because.Length > 0 ? $"had {item.Because}" : "have similar items")}",
                    "segment-popular" => $"popular with '{item.Because}'",
                    "rule" => $"rule {item.Because}",
                    _ => "popular",
                };
                Console.WriteLine($"    {item.ItemId,-18} {item.Category,-12} {item.Price,9} {item.Currency,-3}  {item.Source,-15} {why}");
            }
        }

        var evaluation = await recommendations.EvaluateRecommenderAsync(new EvaluateRecommenderRequest { Tenant = demo.Tenant, K = 10 }, cancellationToken: cancellationToken);
        Console.WriteLine();
        Console.WriteLine($"Offline evaluation on this history ({evaluation.Split} split {evaluation.Ratio:P0}/{1 - evaluation.Ratio:P0}, seed {evaluation.Seed}; " +
                          $"{evaluation.TestUsers:N0} test users, {evaluation.HeldOutPairs:N0} held-out pairs; top {evaluation.K}, seen items removed):");
        Console.WriteLine("  algorithm    precision  recall    nDCG     MAP  hit rate  coverage  novelty");
        foreach (var algorithm in evaluation.Algorithms)
        {
            var m = algorithm.Metrics;
            Console.WriteLine($"  {algorithm.Algorithm,-11} {m.Precision,10:0.000} {m.Recall,7:0.000} {m.Ndcg,7:0.000} {m.Map,7:0.000} {m.HitRate,9:0.000} {m.Coverage,9:0.000} {m.Novelty,8:0.00}");
        }

        return shown;
    }

    private async Task<Dictionary<string, Profile>> WaitUntilAppliedAsync(
        ProfileGateway.ProfileGatewayClient client, List<string> userIds, long expectedEvents, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + demo.ApplyTimeout;
        while (true)
        {
            var profiles = await ProfileReader.GetAllAsync(client, demo.Tenant, userIds, cancellationToken);
            var applied = profiles.Values.Sum(p => p.EventsApplied);
            if (applied >= expectedEvents || DateTime.UtcNow > deadline)
            {
                return profiles;
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>Prints the replay summary and a sample profile; returns the sample's user id.</summary>
    private string? PrintSummary(
        SyntheticStream stream, ExpectedTotals expected, ReplayReport report, TimeSpan elapsed,
        IReadOnlyDictionary<string, Profile> before, IReadOnlyDictionary<string, Profile> after)
    {
        var applied = after.Values.Sum(p => p.EventsApplied);
        Console.WriteLine();
        Console.WriteLine("ProfileGrid demo summary");
        Console.WriteLine($"  users with a profile   {after.Count:N0} of {expected.Users.Count:N0}");
        Console.WriteLine($"  events sent            {report.EventsSent:N0} in {report.Requests:N0} requests ({report.Accepted:N0} accepted, {report.Rejected:N0} rejected)");
        var appliedBefore = before.Values.Sum(p => p.EventsApplied);
        Console.WriteLine(appliedBefore > expected.Events
            ? $"  events applied         {applied:N0} (expected {appliedBefore:N0}: the stream's {expected.Events:N0} and {appliedBefore - expected.Events:N0} feedback events of an earlier run's A/B test; replays are recognised by event id)"
            : $"  events applied         {applied:N0} (expected {expected.Events:N0}; replays are recognised by event id)");
        Console.WriteLine($"  acknowledged {(grid.IsEphemeral ? "(memory)" : "(durable)"),-10}{report.EventsPerSecond:N0} events/s; all applied to profiles after {elapsed.TotalSeconds:0.0} s ({expected.Events / elapsed.TotalSeconds:N0} events/s end to end)");
        Console.WriteLine($"  storage / ingest       {grid.Storage} / {(grid.UsesStreams ? $"{grid.Streams} stream" : "event log, profile state written behind")}");
        Console.WriteLine();
        Console.WriteLine("  planted type   users   mean orders   mean revenue (USD)   mean events   dormant");
        foreach (var group in stream.Users.GroupBy(u => u.Type).OrderBy(g => g.Key))
        {
            var profiles = group.Select(u => after.GetValueOrDefault(u.UserId)).OfType<Profile>().ToList();
            if (profiles.Count == 0)
            {
                continue;
            }

            Console.WriteLine(
                $"  {group.Key,-12} {profiles.Count,7:N0} {profiles.Average(p => p.Behavior.Orders),13:0.0} " +
                $"{profiles.Average(p => decimal.Parse(p.Behavior.Monetary.Amount, System.Globalization.CultureInfo.InvariantCulture)),20:N2} " +
                $"{profiles.Average(p => p.EventsApplied),13:0} {profiles.Count(p => p.Dormant) * 100.0 / profiles.Count,8:0}%");
        }

        var sample = stream.Users.Where(u => u.Type == UserType.HighValue).Select(u => after.GetValueOrDefault(u.UserId)).OfType<Profile>().FirstOrDefault()
            ?? after.Values.FirstOrDefault();
        if (sample is not null)
        {
            var shown = sample.Clone();
            var actions = shown.Behavior.RecentActions.TakeLast(3).ToList();
            shown.Behavior.RecentActions.Clear();
            shown.Behavior.RecentActions.AddRange(actions);
            Console.WriteLine();
            Console.WriteLine($"Sample profile ({sample.UserId}, the last 3 of its recent actions shown):");
            Console.WriteLine(Json.Format(shown));
        }

        return sample?.UserId;
    }
}
