using Grpc.Core;
using ProfileGrid.Contracts.V1;

namespace ProfileGrid.Simulator;

/// <summary>How the closed loop serves and responds.</summary>
public sealed record ExperimentLoopOptions
{
    /// <summary>Lists served to each user (one visit each).</summary>
    public int Rounds { get; init; } = 2;

    /// <summary>Items per list.</summary>
    public int ListSize { get; init; } = 10;

    /// <summary>The slot asked for (experiments of that slot apply).</summary>
    public string Slot { get; init; } = "home";

    /// <summary>Recommend calls in flight at once.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Mixed into every response's random draws: two loops with different salts respond independently.</summary>
    public string DrawSalt { get; init; } = "loop";

    /// <summary>
    /// How long the responses to a list take, from when it was served to the latest purchase (the response model's
    /// <see cref="ResponseModelOptions.MaxPurchaseDelay"/>, a day, played faster). Lists are shown when the grid serves
    /// them: feedback dated earlier counts from the serving (docs/experiments.md), so a purchase dated before it would not
    /// be credited, and the gateway refuses events more than 5 minutes ahead of its clock. This machine's clock is the
    /// grid's, as in the tests and the demo.
    /// </summary>
    public TimeSpan ResponseSpan { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>What the response model expected of the lists one variant served, and what was sent.</summary>
public sealed record VariantExpectation
{
    public required string Variant { get; init; }

    public int Users { get; init; }

    public int Lists { get; init; }

    public double ItemsShown { get; init; }

    /// <summary>Expected clicks over the lists served (the true CTR, clicks per list shown, is this over <see cref="Lists"/>).</summary>
    public double ExpectedClicks { get; init; }

    /// <summary>Expected purchases over the lists served.</summary>
    public double ExpectedPurchases { get; init; }

    /// <summary>Sum over users of the chance that they bought at least once (the true conversion rate is this over <see cref="Users"/>).</summary>
    public double ExpectedConverters { get; init; }

    public int EventsSent { get; init; }

    /// <summary>Click events sent: what the experiment's click count must equal.</summary>
    public int ClicksSent { get; init; }

    /// <summary>Purchase events sent (all attributed to the list clicked: each follows its click within a day).</summary>
    public int PurchasesSent { get; init; }

    public double ExpectedCtr => Lists > 0 ? ExpectedClicks / Lists : 0;

    public double ExpectedConversionRate => Users > 0 ? ExpectedConverters / Users : 0;
}

/// <summary>
/// Closes the feedback loop against a running grid: every user visits a few times, each visit asks Recommend for a list
/// (the grid assigns the experiment's variant), the simulated user responds to it (impression, clicks, carts, purchases
/// from the response model, position bias included), and the responses go back through the public ingest API. It also
/// sums what the response model expected of each variant's lists, the true effect the experiment should find.
/// </summary>
public sealed class ExperimentLoop(
    ProfileGateway.ProfileGatewayClient gateway,
    RecommendationService.RecommendationServiceClient recommendations,
    ResponseSimulator simulator,
    string tenant)
{
    /// <summary>Runs the visits of <paramref name="userIds"/> and returns, per variant served (empty: no experiment), the expectation.</summary>
    public async Task<IReadOnlyDictionary<string, VariantExpectation>> RunAsync(
        IReadOnlyList<string> userIds, ExperimentLoopOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new ExperimentLoopOptions();
        var perUser = new UserOutcome[userIds.Count];
        using var gate = new SemaphoreSlim(options.Concurrency);
        var tasks = userIds.Select(async (userId, index) =>
        {
            await gate.WaitAsync(cancellationToken);
            try
            {
                perUser[index] = await VisitAsync(userId, options, cancellationToken);
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(tasks);

        return perUser.Where(u => u is not null).GroupBy(u => u.Variant).ToDictionary(group => group.Key, group => new VariantExpectation
        {
            Variant = group.Key,
            Users = group.Count(),
            Lists = group.Sum(u => u.Lists),
            ItemsShown = group.Sum(u => u.ItemsShown),
            ExpectedClicks = group.Sum(u => u.Clicks),
            ExpectedPurchases = group.Sum(u => u.Purchases),
            ExpectedConverters = group.Sum(u => 1 - u.NoPurchaseChance),
            EventsSent = group.Sum(u => u.Events),
            ClicksSent = group.Sum(u => u.ClicksSent),
            PurchasesSent = group.Sum(u => u.PurchasesSent),
        });
    }

    private async Task<UserOutcome> VisitAsync(string userId, ExperimentLoopOptions options, CancellationToken cancellationToken)
    {
        var outcome = new UserOutcome();
        var timeScale = options.ResponseSpan / simulator.Model.Options.MaxPurchaseDelay;
        for (var round = 0; round < options.Rounds; round++)
        {
            var served = await recommendations.RecommendAsync(
                new RecommendRequest { Tenant = tenant, UserId = userId, N = options.ListSize, Slot = options.Slot }, cancellationToken: cancellationToken);
            if (served.Items.Count == 0)
            {
                continue;
            }

            outcome.Variant = served.Variant;
            var itemIds = served.Items.Select(item => item.ItemId).ToList();
            // Drawn by user and visit, not by the served id (random per call), so that a rerun responds alike.
            var list = new ServedList(served.RecommendationId, options.Slot, itemIds, DateTimeOffset.UtcNow, $"{options.DrawSalt}/{userId}/{round}", timeScale);
            var expectation = simulator.Expect(userId, itemIds);
            outcome.Lists++;
            outcome.ItemsShown += itemIds.Count;
            outcome.Clicks += expectation.Clicks;
            outcome.Purchases += expectation.Purchases;
            foreach (var position in expectation.Positions)
            {
                outcome.NoPurchaseChance *= 1 - position.Purchases;
            }

            var events = simulator.Respond(userId, list);
            var request = new IngestEventsRequest { Tenant = tenant };
            foreach (var e in events)
            {
                e.UserId = userId;
                request.Events.Add(e);
            }

            var response = await gateway.IngestEventsAsync(request, cancellationToken: cancellationToken);
            if (response.Rejected.Count > 0)
            {
                throw new RpcException(new Status(StatusCode.Internal,
                    $"The grid refused {response.Rejected.Count} of user {userId}'s responses: {string.Join("; ", response.Rejected.Select(r => $"{r.Field}: {r.Reason}"))}"));
            }

            outcome.Events += events.Count;
            outcome.ClicksSent += events.Count(e => e.Type == "click");
            outcome.PurchasesSent += events.Count(e => e.Type == "purchase");
        }

        return outcome;
    }

    private sealed class UserOutcome
    {
        public string Variant { get; set; } = "";

        public int Lists { get; set; }

        public double ItemsShown { get; set; }

        public double Clicks { get; set; }

        public double Purchases { get; set; }

        public double NoPurchaseChance { get; set; } = 1;

        public int Events { get; set; }

        public int ClicksSent { get; set; }

        public int PurchasesSent { get; set; }
    }
}
