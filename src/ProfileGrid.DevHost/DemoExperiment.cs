using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using ProfileGrid.Contracts.V1;
using ProfileGrid.Simulator;

namespace ProfileGrid.DevHost;

/// <summary>
/// The case study's closing loop: segment rules on top of the hybrid, an A/B test of the hybrid against popularity on
/// the home slot, the simulated users responding to what each was shown (the response model's hidden tastes and position
/// bias), and the result per variant, per segment, and the fairness audit, all through the public API.
/// </summary>
internal sealed class DemoExperiment(DemoSettings demo, GridSettings grid)
{
    public const string ExperimentId = "home-hybrid-vs-popular";

    public async Task RunAsync(GrpcChannel channel, SyntheticStream stream, IReadOnlyCollection<string> segmentLabels, IReadOnlyList<string> visitors, CancellationToken cancellationToken)
    {
        var gateway = new ProfileGateway.ProfileGatewayClient(channel);
        var recommendations = new RecommendationService.RecommendationServiceClient(channel);
        var experiments = new ExperimentService.ExperimentServiceClient(channel);

        var rules = await SetRulesAsync(recommendations, segmentLabels, cancellationToken);
        var experiment = await StartExperimentAsync(experiments, cancellationToken);
        Console.WriteLine();
        Console.WriteLine($"A/B test '{ExperimentId}' (number {experiment.Number}) on the home slot: 'popular' (control: the bestseller list, no rules) " +
                          $"against 'hybrid' (the trained model with {rules} segment rule{(rules == 1 ? "" : "s")} on top), half the users each.");

        // A second run of the demo finds the experiment running with the first run's lists in it.
        var earlier = (await experiments.GetExperimentResultsAsync(new ExperimentRequest { Tenant = demo.Tenant, ExperimentId = ExperimentId }, cancellationToken: cancellationToken))
            .Variants.Sum(v => (long)v.Impressions);
        var loop = new ExperimentLoop(gateway, recommendations, new ResponseSimulator(stream), demo.Tenant);
        var users = visitors;
        var rounds = demo.ExperimentVisits;
        var away = stream.Users.Count - users.Count;
        Console.WriteLine($"  {users.Count:N0} simulated users visit {rounds} times each{(away > 0 ? $" (the {away:N0} dormant ones stay away)" : "")}; each visit is served 10 items and responds (impression, clicks, carts, purchases)...");
        var expected = await loop.RunAsync(users, new ExperimentLoopOptions { Rounds = rounds, DrawSalt = $"demo-{demo.Seed}" }, cancellationToken);
        var served = expected.Values.Where(v => v.Variant.Length > 0).ToList();
        Console.WriteLine($"  sent {expected.Values.Sum(v => v.EventsSent):N0} feedback events for {expected.Values.Sum(v => v.Lists):N0} lists " +
                          $"({expected.GetValueOrDefault("")?.Users ?? 0:N0} users opted out of personalization: default lists, outside the test)");

        var results = await WaitForResultsAsync(experiments, earlier + served.Sum(v => v.Lists), cancellationToken);
        if (earlier > 0)
        {
            Console.WriteLine($"  (the experiment has run since an earlier run of the demo: its figures below include that run's {earlier:N0} lists; " +
                              "the true effect is this run's)");
        }

        PrintResults(results, expected);
        await PrintFairnessAsync(cancellationToken);
    }

    /// <summary>The tenant's rules: premium items first for top spenders, bestsellers for new customers, at most four items of a category for everyone.</summary>
    private async Task<int> SetRulesAsync(RecommendationService.RecommendationServiceClient recommendations, IReadOnlyCollection<string> segmentLabels, CancellationToken cancellationToken)
    {
        var request = new ReplaceRulesRequest { Tenant = demo.Tenant };
        request.Rules.Add(new RecommendationRule
        {
            Id = "diversity", Name = "At most four of a category", Segment = "*", Priority = 30,
            Action = new RuleAction { Type = "limit_per_category", MaxPerCategory = 4 },
        });
        if (segmentLabels.Contains("high-value"))
        {
            request.Rules.Add(new RecommendationRule
            {
                Id = "premium-for-top-spenders", Name = "High-value users see premium items first", Segment = "high-value", Priority = 10,
                Action = new RuleAction { Type = "boost", Factor = 1.5, Match = new RuleMatch { PriceBand = new PriceBand { Min = "100", Currency = "USD" } } },
            });
        }

        if (segmentLabels.Contains("casual"))
        {
            request.Rules.Add(new RecommendationRule
            {
                Id = "no-repeats-for-casual", Name = "Casual users are not shown what they saw this week", Segment = "casual", Priority = 20,
                Action = new RuleAction { Type = "filter", ExcludeSeenWithinDays = 7 },
            });
        }

        var set = await recommendations.ReplaceRulesAsync(request, cancellationToken: cancellationToken);
        return set.Rules.Count;
    }

    /// <summary>Creates and starts the experiment; a later run finds it running and adds to it.</summary>
    private async Task<ExperimentDefinition> StartExperimentAsync(ExperimentService.ExperimentServiceClient experiments, CancellationToken cancellationToken)
    {
        var request = new ExperimentRequest { Tenant = demo.Tenant, ExperimentId = ExperimentId };
        try
        {
            await experiments.CreateExperimentAsync(new PutExperimentRequest
            {
                Tenant = demo.Tenant,
                Experiment = new ExperimentDefinition
                {
                    Id = ExperimentId,
                    Name = "Hybrid with segment rules against popularity",
                    Slot = "home",
                    Variants =
                    {
                        new ExperimentVariant { Key = "popular", Control = true, Algorithm = "popular", Rules = false },
                        new ExperimentVariant { Key = "hybrid", Algorithm = "model", Rules = true },
                    },
                },
            }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
        {
            // An earlier run made it.
        }

        var existing = await experiments.GetExperimentAsync(request, cancellationToken: cancellationToken);
        return existing.Status == "draft" ? await experiments.StartExperimentAsync(request, cancellationToken: cancellationToken) : existing;
    }

    /// <summary>The results once every list shown has reached the feedback shards (profiles push after their write), or after a minute.</summary>
    private async Task<ExperimentResults> WaitForResultsAsync(ExperimentService.ExperimentServiceClient experiments, long lists, CancellationToken cancellationToken)
    {
        var request = new ExperimentRequest { Tenant = demo.Tenant, ExperimentId = ExperimentId };
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while (true)
        {
            var results = await experiments.GetExperimentResultsAsync(request, cancellationToken: cancellationToken);
            if (results.Variants.Sum(v => v.Impressions) >= lists || DateTime.UtcNow > deadline)
            {
                return results;
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private static void PrintResults(ExperimentResults results, IReadOnlyDictionary<string, VariantExpectation> expected)
    {
        Console.WriteLine();
        Console.WriteLine($"Results per variant (per exposed user; 95% intervals; revenue in the reporting currency):");
        Console.WriteLine("  variant     users   lists     CTR (clicks/list)     conversion          revenue/user");
        foreach (var v in results.Variants)
        {
            Console.WriteLine($"  {v.Key,-9} {v.Users,7:N0} {v.Impressions,7:N0} {v.Ctr,12:0.000}        {v.ConversionRate,12:P1}        {v.RevenuePerUser,12:N2}");
        }

        var split = results.SampleRatio;
        if (split is not null)
        {
            Console.WriteLine($"  sample-ratio check: users {string.Join(" / ", split.Observed)} against {string.Join(" / ", split.Expected.Select(e => e.ToString("N0", CultureInfo.InvariantCulture)))} expected; " +
                              $"chi-square p = {split.PValue:0.000} {(split.Mismatch ? "MISMATCH: the split is broken" : "(the split is sound)")}");
        }

        foreach (var c in results.Comparisons)
        {
            var truth = expected.GetValueOrDefault(c.Variant) is { } treatment && expected.GetValueOrDefault(results.Variants.First(v => v.Control).Key) is { } control
                ? (Ctr: treatment.ExpectedCtr - control.ExpectedCtr, Conversion: treatment.ExpectedConversionRate - control.ExpectedConversionRate)
                : ((double Ctr, double Conversion)?)null;
            Console.WriteLine();
            Console.WriteLine($"  {c.Variant} against the control:");
            Metric("CTR", c.Ctr, truth?.Ctr);
            Metric("conversion", c.Conversion, truth?.Conversion);
            Metric("revenue/user", c.RevenuePerUser, null);
            Metric("revenue/user CUPED", c.RevenuePerUserCuped, null);
            Console.WriteLine($"    CUPED (28-day pre-period revenue) removed {c.CupedVarianceReduction:P1} of the revenue difference's variance");
            Console.WriteLine($"    probability to beat control on conversion {c.BayesianConversion.ProbabilityToBeatControl:P1}; expected loss choosing it " +
                              $"{c.BayesianConversion.ExpectedLossChoosingTreatment:0.0000}");
            Console.WriteLine($"    verdict: {c.Verdict}");
        }

        foreach (var note in results.Notes)
        {
            Console.WriteLine($"  note: {note}");
        }
    }

    private static void Metric(string name, MetricComparison m, double? truth)
    {
        var lift = m.HasRelativeLift ? $" ({m.RelativeLift:+0.0%;-0.0%})" : "";
        var sequential = m.Sequential is { } s ? $"; always-valid p = {s.PValue:0.0000}" : "";
        var trueEffect = truth is { } t ? $"; true effect (response model) {t:+0.0000;-0.0000}" : "";
        Console.WriteLine($"    {name,-19} {m.Control,9:0.0000} -> {m.Treatment,9:0.0000}  difference {m.Difference:+0.0000;-0.0000}{lift} " +
                          $"[{Bound(m.Interval.HasLower, m.Interval.Lower)}, {Bound(m.Interval.HasUpper, m.Interval.Upper)}]; p = {m.PValue:0.0000}{sequential}{trueEffect}");
    }

    private static string Bound(bool has, double value) => has ? value.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture) : "open";

    /// <summary>The experiment's effect per segment and the fairness audit, over REST as a dashboard would read them.</summary>
    private async Task PrintFairnessAsync(CancellationToken cancellationToken)
    {
        using var http = grid.Http();
        using var document = await http.GetFromJsonAsync<JsonDocument>($"/v1/tenants/{demo.Tenant}/fairness?experiment_id={ExperimentId}", cancellationToken);
        var root = document!.RootElement;
        Console.WriteLine();
        Console.WriteLine("Effect per segment (hybrid against popular; 95% intervals of the difference):");
        Console.WriteLine("  segment          users (control / hybrid)   CTR difference                 conversion difference");
        var segments = root.GetProperty("experiment").GetProperty("dimensions").EnumerateArray().First(d => d.GetProperty("dimension").GetString() == "segment");
        foreach (var group in segments.GetProperty("groups").EnumerateArray())
        {
            foreach (var effect in group.GetProperty("effects").EnumerateArray())
            {
                Console.WriteLine($"  {group.GetProperty("group").GetString(),-16} {effect.GetProperty("control_users").GetInt64(),8:N0} / {effect.GetProperty("treatment_users").GetInt64(),-8:N0}      " +
                                  $"{Effect(effect.GetProperty("ctr")),-30} {Effect(effect.GetProperty("conversion"))}" +
                                  $"{(effect.GetProperty("too_small").GetBoolean() ? "  (too few users to judge)" : "")}{(effect.GetProperty("flagged").GetBoolean() ? "  FLAGGED: hurts this segment" : "")}");
            }
        }

        Console.WriteLine();
        foreach (var line in root.GetProperty("summary").GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Console.WriteLine($"  {line}");
        }
    }

    private static string Effect(JsonElement effect)
    {
        static string Number(JsonElement value) => value.ValueKind == JsonValueKind.Number ? value.GetDouble().ToString("+0.000;-0.000", CultureInfo.InvariantCulture) : "n/a";
        return $"{Number(effect.GetProperty("difference"))} [{Number(effect.GetProperty("lower"))}, {Number(effect.GetProperty("upper"))}]";
    }
}
