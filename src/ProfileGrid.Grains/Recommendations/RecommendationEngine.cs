using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ProfileGrid.Abstractions;
using ProfileGrid.Abstractions.Grains;
using ProfileGrid.Abstractions.Profiles;
using ProfileGrid.Abstractions.Recommendations;
using ProfileGrid.Domain;
using ProfileGrid.Experiments.Design;
using ProfileGrid.Grains.Segments;
using ProfileGrid.Recommendations;
using ProfileGrid.Recommendations.Rules;
using ProfileGrid.Reranking;

namespace ProfileGrid.Grains.Recommendations;

/// <summary>A Recommend call, validated at the edge.</summary>
public sealed record RecommendCall(
    string Tenant,
    string UserId,
    int Count,
    string? Slot = null,
    string? PageItem = null,
    IReadOnlyList<string>? Exclusions = null);

/// <summary>One item of a served list: the model's or a rule's, every rule that touched it, and what the catalog knows of it.</summary>
public sealed record ServedItem(string ItemId, double Score, string Source, string? Because, IReadOnlyList<string> Rules, CatalogItem? Catalog);

/// <summary>A served list and what it was served from.</summary>
/// <param name="Reranker">The fingerprint of the re-ranker that ordered the list; null when it is in the base order.</param>
public sealed record ServedList(
    string RecommendationId,
    long ModelVersion,
    long RulesVersion,
    bool Personalized,
    bool ColdStart,
    int? SegmentId,
    string? SegmentLabel,
    IReadOnlyList<ServedItem> Items,
    string? ExperimentId = null,
    string? Variant = null,
    string? Reranker = null,
    string? ServedFor = null);

/// <summary>Why a Recommend call could not be served.</summary>
public sealed class RecommendationUnavailableException(string message) : Exception(message);

/// <summary>
/// Serves recommendations in the silo that takes the request: the model, catalog and rules from the silo's
/// <see cref="RecommendationServing"/> cache, the user's item history and consent from their profile grain, their
/// segment from their feature shard (both asked at once). No hot grain is on the path.
/// </summary>
public sealed partial class RecommendationEngine(
    RecommendationServing serving,
    IGrainFactory grains,
    IOptions<RecommendationOptions> options,
    IOptions<SegmentationOptions> segmentationOptions,
    IOptions<RerankingOptions> rerankingOptions,
    TimeProvider clock,
    ILogger<RecommendationEngine> logger,
    IMeterFactory? meters = null,
    Stats.StatsCollector? stats = null)
{
    /// <summary>Meter <c>ProfileGrid.Recommendations</c>: what operators watch of serving (dotnet-counters, OpenTelemetry).</summary>
    public const string MeterName = "ProfileGrid.Recommendations";

    private readonly Histogram<double> _duration = (meters?.Create(MeterName) ?? new Meter(MeterName)).CreateHistogram<double>(
        "profilegrid.recommend.duration", "ms", "Time a Recommend call spends in the silo that serves it, from the call to its list");

    public async Task<ServedList> RecommendAsync(RecommendCall call)
    {
        var started = Stopwatch.GetTimestamp();
        var served = await ServeAsync(call);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        _duration.Record(elapsed, new KeyValuePair<string, object?>("cold_start", served.ColdStart));
        stats?.For(call.Tenant)?.Recommended(elapsed, served.Items, static item => item.ItemId, static item => item.Source);
        return served;
    }

    private async Task<ServedList> ServeAsync(RecommendCall call, bool resolvedMerge = false)
    {
        var profileKey = new ProfileKey(call.Tenant, call.UserId).ToString();
        // Cached in the silo (a refresh interval old at most): it says whether an experiment needs the user's attributes.
        var snapshot = await serving.GetAsync(call.Tenant);
        var experimented = InExperiment(snapshot.Running, call.Slot, out var targetsAttributes);
        var reranking = rerankingOptions.Value;
        // The re-ranker's features include gender and age band: ask for them only when this list will be logged (drawn now,
        // so that the 95% of calls that are not do not build them) or may be re-ranked.
        var logThisList = ShouldLog(reranking.LogShare);
        var rerankerMayRun = logThisList || (snapshot.Reranker is not null && snapshot.Running.Any(e => e.Variants.Any(v => v.Config.Reranker)));
        var inputTask = GrainReferences<IUserProfileGrain>.Get(grains, IdSpan.Create(profileKey), () => grains.GetGrain<IUserProfileGrain>(profileKey))
            .GetRecommendationInputAsync(targetsAttributes || rerankerMayRun);
        var segmentTask = SegmentOfAsync(call.Tenant, profileKey);
        var input = await inputTask;
        if (input.MergedInto is { } canonical && canonical != call.UserId && !resolvedMerge)
        {
            // A merged profile (a visitor who logged in) is served as the person it is part of, as GetProfile answers: one
            // hop, as merges never chain (a merged profile has no members).
            segmentTask.Ignore();
            return await ServeAsync(call with { UserId = canonical }, resolvedMerge: true) with { ServedFor = canonical };
        }

        var segment = await segmentTask;
        if (snapshot.Package is not { } package)
        {
            throw new RecommendationUnavailableException(
                $"tenant '{call.Tenant}' has no recommender model yet: train one (POST /v1/tenants/{{tenant}}/recommender:train) once events with products have arrived; one trained through another silo is served here within ProfileGrid:Recommendations:ServingRefreshInterval");
        }

        var now = clock.GetUtcNow();
        // A user who opted out of personalization gets the list everyone gets, and is in no experiment.
        var consented = input.PersonalizationOptIn != false;
        var assigned = experimented && consented
            ? Assignment.Assign(snapshot.Running, call.Tenant, call.UserId, call.Slot, Facts(segment, input.Targeting, now), ExposedVariants(input))
            : null;
        var variant = assigned?.Variant.Config;
        // The popularity variant is the list everyone gets, as for a user who opted out: no history, no segment.
        var personalized = consented && variant?.Algorithm != Algorithms.Popular;
        var history = new List<(string ItemId, double Weight)>(personalized ? input.Items.Length : 0);
        var owned = 0;
        if (personalized)
        {
            foreach (var i in input.Items)
            {
                var weight = package.Weights.Weigh(new ItemInteraction(i.ItemId, i.Views, i.CartAdds, i.Purchases, i.Rating, i.LastAt), now);
                if (weight > 0)
                {
                    history.Add((i.ItemId, weight));
                }

                if (i.Purchases > 0 || i.Rating is not null)
                {
                    owned++; // the serving filters drop these (bought or rated) from the candidates
                }
            }

            // And those the profile forgot but knows by hash (a heavy buyer's oldest), as many as the items it remembers.
            owned += Math.Min(input.ForgottenOwned?.Length ?? 0, MaxForgottenOwnedCandidates);

            // What the tenant's exclude rules keep out of lists (postage, fees) does not speak for the user's taste either.
            if (history.Count > 0 && variant is not { Rules: false })
            {
                var excluded = snapshot.Rules.Exclusion(snapshot.ItemLookup, new ServingContext
                {
                    Count = call.Count,
                    Now = now,
                    Segments = ServingRules.SegmentNames(segment),
                    Personalized = input.PersonalizationOptIn,
                });
                history.RemoveAll(h => excluded(h.ItemId));
            }
        }

        var exclude = NoExclusions;
        if (call.Exclusions is { Count: > 0 } || call.PageItem is not null)
        {
            var set = new HashSet<string>(call.Exclusions ?? [], StringComparer.Ordinal);
            if (call.PageItem is { } page)
            {
                set.Add(page);
            }

            exclude = set;
        }

        var segmentKey = personalized && segment is not null ? RecommenderGrain.SegmentKey(segment.SegmentId) : null;
        // A variant with the re-ranker on, once one is published, orders n of CandidateFactor x n base items; without
        // a published re-ranker it serves the base list (the response names no re-ranker).
        var reranker = consented && variant is { Reranker: true } ? snapshot.Reranker : null;
        var listSize = reranker is null ? call.Count : call.Count * reranking.CandidateFactor;
        // Enough candidates that filters (purchased, recently seen, unavailable) and rules still leave n; when rules
        // removed more (a category excluded, a per-category limit), ask the model for four times as many, a few times.
        var wanted = listSize * options.Value.CandidateFactor + owned;
        IReadOnlyList<ScoredItem> candidates;
        IReadOnlyList<ServedItem> items;
        long rulesVersion;
        bool segmentRuleInForce;
        var rounds = 0;
        var ignored = personalized ? IgnoredItems(input.Ignored) : null;
        HashSet<string>? demoted = null;
        while (true)
        {
            candidates = package.Model.Recommend(new RecommendationQuery(history, segmentKey, wanted, exclude));
            if (ignored is not null)
            {
                candidates = Demote(candidates, ignored, options.Value.IgnoredDemotionFactor, ref demoted);
            }

            (items, rulesVersion, segmentRuleInForce) = ServingRules.Apply(snapshot, candidates, input, exclude, call.PageItem, segment, listSize, now, variant is { Rules: false } ? NoRules : null);
            if (items.Count >= listSize || candidates.Count < wanted || ++rounds == MaxCandidateRounds)
            {
                break;
            }

            wanted *= 4;
        }

        if (segment is not null && segmentKey is not null && items.Any(item => item.Source == RecommendationSources.SegmentPopular))
        {
            // The model names segments by id (ids carry over between segmentations); people read labels.
            items = items.Select(item => item.Source == RecommendationSources.SegmentPopular && item.Because == segmentKey
                ? item with { Because = segment.Label }
                : item).ToList();
        }

        if (demoted is not null)
        {
            items = items.Select(item => demoted.Contains(item.ItemId) ? item with { Rules = [.. item.Rules, DemotedIgnored] } : item).ToList();
        }

        // The segment the user is in now travels in the id (also for a user who opted out of personalization: segments are
        // not personalization), so feedback on the list is grouped by it later, whatever the list led to (the fairness audit).
        var recommendationId = NewRecommendationId(
            now,
            segment is not null ? ServedSegment.Tag(segment.SegmentId) : null,
            assigned is null ? null : ExperimentTag.Of(assigned.Experiment.Number, assigned.VariantIndex, call.UserId));
        if (reranker is not null && items.Count > 0)
        {
            try
            {
                var user = RerankUserSummary.Create(RerankServing.User(input, segment, now), snapshot.CategoryOf, now);
                var rerankCandidates = RerankServing.Candidates(items, call.Slot, snapshot.Popularity, RerankServing.TimesIgnored(input));
                items = RerankServing.Rerank(reranker.Model, user, items, rerankCandidates, call.Count);
            }
            catch (ArgumentException ex)
            {
                // The re-ranker only reorders: a candidate it cannot describe leaves the user the base list.
                LogRerankFailed(call.Tenant, ex);
                reranker = null;
                items = items.Take(call.Count).ToList();
            }
        }
        else if (consented && items.Count > 0 && logThisList)
        {
            // One one-way message per list to the shard of the user's feedback, which will know whether it was shown.
            // Users who opted out of personalization are not logged: their profile does not feed models.
            try
            {
                var user = RerankUserSummary.Create(RerankServing.User(input, segment, now), snapshot.CategoryOf, now);
                var logged = RerankServing.Log(recommendationId, now, call.Slot, user,
                    RerankServing.Candidates(items, call.Slot, snapshot.Popularity, RerankServing.TimesIgnored(input)));
                var shard = SegmentKeys.Shard(call.Tenant, SegmentKeys.ShardOf(profileKey, segmentationOptions.Value.Shards));
                _ = grains.GetGrain<IRerankLogShardGrain>(shard).LogAsync(logged);
            }
            catch (ArgumentException ex)
            {
                LogRerankFailed(call.Tenant, ex); // training data lost, never the list
            }
        }

        // Personalized says the list drew on something of this user's own: their history, or their segment (its popular
        // items, or a rule for it). A user whose segment has no popular items and no rules got everyone's list.
        var drewOnSegment = segmentKey is not null
            && (segmentRuleInForce || items.Any(item => item.Source == RecommendationSources.SegmentPopular));
        var drewOnOwn = personalized && (history.Count > 0 || drewOnSegment);
        return new ServedList(
            recommendationId,
            package.Version,
            variant is { Rules: false } ? 0 : rulesVersion,
            drewOnOwn,
            // Cold start says the user has no history of their own, whatever their list was made from: an opted-out user
            // (or one in a popularity variant) with history is not one, and personalized false says why their list is everyone's.
            ColdStart: personalized ? history.Count == 0 : !HasHistory(input.Items, package.Weights, now),
            drewOnOwn ? segment?.SegmentId : null,
            drewOnOwn ? segment?.Label : null,
            items,
            assigned?.Experiment.Id,
            assigned?.Variant.Key,
            reranker is not null && items.Count > 0 ? reranker.Fingerprint : null);
    }

    [LoggerMessage(EventId = 3435, Level = LogLevel.Warning, Message = "Recommend {Tenant}: the re-ranker's features could not be computed; the list is served in its base order and not logged")]
    private partial void LogRerankFailed(string tenant, Exception exception);

    private const int MaxForgottenOwnedCandidates = 2000;

    /// <summary>True when any item weighs above 0 for the user, as their history would for a personalized list.</summary>
    private static bool HasHistory(ItemInteractionView[] items, InteractionWeights weights, DateTimeOffset now)
    {
        foreach (var i in items)
        {
            if (weights.Weigh(new ItemInteraction(i.ItemId, i.Views, i.CartAdds, i.Purchases, i.Rating, i.LastAt), now) > 0)
            {
                return true;
            }
        }

        return false;
    }

    private static bool ShouldLog(double share) => share >= 1 || (share > 0 && Random.Shared.NextDouble() < share);

    private static readonly CompiledRuleSet NoRules = RuleEngine.Compile(RuleSet.Empty);

    /// <summary>Whether a running experiment changes lists of <paramref name="slot"/>, and whether one targets attributes.</summary>
    private static bool InExperiment(IReadOnlyList<Experiment> running, string? slot, out bool targetsAttributes)
    {
        var any = false;
        targetsAttributes = false;
        foreach (var experiment in running)
        {
            if (Assignment.AppliesTo(experiment, slot))
            {
                any = true;
                targetsAttributes |= experiment.Targeting is { Attributes.Count: > 0 };
            }
        }

        return any;
    }

    private static UserFacts Facts(UserSegment? segment, UserTargeting? targeting, DateTimeOffset now)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (targeting is not null)
        {
            Add("country", targeting.Country);
            Add("language", targeting.Language);
            Add("gender", targeting.Gender is { } gender ? WireNames.Of(gender) : null);
            Add("age_band", ProfileView.AgeBandOf(targeting.BirthYear, now));
            Add("channel", targeting.Channel is { } channel ? WireNames.Of(channel) : null);
            Add("device", targeting.Device is { } device ? WireNames.Of(device) : null);
        }

        return new UserFacts(segment is null ? null : (segment.SegmentId, segment.Label), attributes);

        void Add(string name, string? value)
        {
            if (value is not null)
            {
                attributes[name] = value;
            }
        }
    }

    private async Task<UserSegment?> SegmentOfAsync(string tenant, string profileKey)
    {
        try
        {
            var shard = SegmentKeys.Shard(tenant, SegmentKeys.ShardOf(profileKey, segmentationOptions.Value.Shards));
            return await GrainReferences<IFeatureShardGrain>.Get(grains, IdSpan.Create(shard), () => grains.GetGrain<IFeatureShardGrain>(shard))
                .GetSegmentAsync(profileKey);
        }
        catch (Exception)
        {
            return null; // segments refine the list; without one the user gets what a user without a segment gets
        }
    }

    private const int MaxCandidateRounds = 4;

    /// <summary>Named among a served item's rules when its score was lowered because the user kept passing it by.</summary>
    public const string DemotedIgnored = "demoted:ignored";

    /// <summary>The items shown often enough without a click to be demoted; null when none (or the demotion is off).</summary>
    private Dictionary<string, int>? IgnoredItems(ShownItem[]? shown)
    {
        var threshold = options.Value.IgnoredAfterImpressions;
        if (shown is null || threshold == 0)
        {
            return null;
        }

        Dictionary<string, int>? ignored = null;
        foreach (var item in shown)
        {
            if (item.ShownSinceClick >= threshold)
            {
                (ignored ??= new Dictionary<string, int>(StringComparer.Ordinal))[item.ItemId] = item.ShownSinceClick;
            }
        }

        return ignored;
    }

    /// <summary>The candidates with the ignored ones' scores multiplied by <paramref name="factor"/>, best first again.</summary>
    private static IReadOnlyList<ScoredItem> Demote(IReadOnlyList<ScoredItem> candidates, Dictionary<string, int> ignored, double factor, ref HashSet<string>? demoted)
    {
        List<ScoredItem>? changed = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates[i];
            if (ignored.ContainsKey(candidate.ItemId))
            {
                changed ??= [.. candidates];
                changed[i] = candidate with { Score = candidate.Score * factor };
                (demoted ??= new HashSet<string>(StringComparer.Ordinal)).Add(candidate.ItemId);
            }
        }

        if (changed is null)
        {
            return candidates;
        }

        // A stable sort: candidates of equal score keep the model's order.
        return [.. changed.Select((item, index) => (item, index)).OrderByDescending(x => x.item.Score).ThenBy(x => x.index).Select(x => x.item)];
    }

    private static Dictionary<int, int>? ExposedVariants(RecommendationInput input) =>
        input.ExposedVariants is { Length: > 0 } exposed ? exposed.ToDictionary(e => e.Experiment, e => e.Variant) : null;

    private static readonly IReadOnlySet<string> NoExclusions = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Time-ordered (a UUID v7 of the serving instant, on the engine's clock as experiments' start times are), so lists
    /// order by time and feedback dated before the list was served counts from the serving on (<see cref="ServedTime"/>);
    /// a list served in an experiment ends in its tag (-x{number}v{variant}), so that its feedback counts for the variant.
    /// </summary>
    private static string NewRecommendationId(DateTimeOffset servedAt, string? segmentTag, string? experimentTag)
    {
        var id = string.Create(36, Guid.CreateVersion7(servedAt), static (text, id) =>
        {
            "rec-".CopyTo(text);
            id.TryFormat(text[4..], out _, "N");
        });
        return id + segmentTag + experimentTag;
    }
}
